"""Clustering quality metrics.

Three groups:

* **External metrics** compare predicted cluster ids with ground-truth class ids
  (ACC/OA, NMI, ARI, Cohen's kappa, per-class accuracy, purity). Ids on both sides
  are arbitrary (e.g. ``[3, 7, -1]``), not necessarily ``0..K-1``; the number of
  clusters may differ from the number of classes.
* **Internal metrics** judge a partition of ``X`` without ground truth (silhouette,
  Davies-Bouldin, Calinski-Harabasz, and the within/between-cluster statistics named
  in the A-DATSC climate paper).
* :func:`numerical_rank`, the energy-based rank of the MLC paper.

Every function takes NumPy arrays and returns a Python ``float`` (or a ``dict``).
Bad input raises :class:`~deepclust.exceptions.DataError` with a one-line message;
a bad parameter raises :class:`~deepclust.exceptions.ConfigError`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import pdist
from sklearn import metrics as skm
from sklearn.utils import check_random_state

from .exceptions import ConfigError, DataError

__all__ = [
    "SILHOUETTE_SAMPLE_SIZE",
    "regime_persistence",
    "contingency",
    "match_clusters",
    "map_labels",
    "cluster_accuracy",
    "overall_accuracy",
    "nmi",
    "ari",
    "cohen_kappa",
    "per_class_accuracy",
    "purity",
    "external_metrics",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "intra_cluster_rmse",
    "average_variance",
    "inter_cluster_distance",
    "internal_metrics",
    "numerical_rank",
]

#: Number of points :func:`silhouette` samples when ``n_samples`` exceeds it and no
#: ``sample_size`` is given (the exact score costs O(n^2) distances).
SILHOUETTE_SAMPLE_SIZE = 10_000

# Rows per block when computing distances to centroids, to bound the temporary copy.
_CHUNK_ROWS = 65_536


# --------------------------------------------------------------------------- checks


def _as_labels(y: Any, name: str) -> np.ndarray:
    """Return ``y`` as a non-empty 1-D array of ids without NaN."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"{name} has shape {arr.shape}; expected a 1-D array of ids")
    if arr.size == 0:
        raise DataError(f"{name} is empty; expected at least one sample")
    if arr.dtype.kind in "fc" and np.isnan(arr).any():
        raise DataError(f"{name} contains NaN; expected integer ids for every sample")
    return arr


def _check_pair(
    a: Any, b: Any, name_a: str = "y_true", name_b: str = "y_pred"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two label vectors of equal length."""
    a = _as_labels(a, name_a)
    b = _as_labels(b, name_b)
    if a.shape[0] != b.shape[0]:
        raise DataError(
            f"{name_a} has {a.shape[0]} samples but {name_b} has {b.shape[0]}; "
            "expected equal lengths"
        )
    return a, b


def _as_matrix(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a finite, non-empty 2-D float64 array."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} is not numeric; expected a 2-D array of numbers") from exc
    if arr.ndim != 2:
        raise DataError(
            f"{name} has shape {arr.shape}; expected a 2-D array (n_samples, n_features)"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(
            f"{name} has shape {arr.shape}; expected at least one sample and one feature"
        )
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise DataError(f"{name} contains {bad} NaN or infinite values; expected finite numbers")
    return arr


def _check_X_labels(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a data matrix and its per-sample cluster ids."""
    X = _as_matrix(X)
    labels = _as_labels(labels, "labels")
    if labels.shape[0] != X.shape[0]:
        raise DataError(
            f"X has {X.shape[0]} samples but labels has {labels.shape[0]}; expected equal lengths"
        )
    return X, labels


def _check_mask(mask: Any, n: int) -> np.ndarray:
    """Validate a boolean sample mask of length ``n`` that selects something."""
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise DataError(f"mask has dtype {arr.dtype}; expected a boolean array")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(
            f"mask has shape {arr.shape} but y_true has {n} samples; "
            "expected one boolean per sample"
        )
    if not arr.any():
        raise DataError("mask selects no samples; expected at least one True entry")
    return arr


# ----------------------------------------------------------------- external metrics


def contingency(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contingency table between true classes and predicted clusters.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class ids (any integers).
    y_pred : array-like of shape (n_samples,)
        Predicted cluster ids (any integers).

    Returns
    -------
    table : ndarray of shape (n_classes, n_clusters), int64
        ``table[i, j]`` is the number of samples with ``y_true == true_ids[i]`` and
        ``y_pred == pred_ids[j]``.
    true_ids : ndarray of shape (n_classes,)
        Sorted distinct values of ``y_true``.
    pred_ids : ndarray of shape (n_clusters,)
        Sorted distinct values of ``y_pred``.

    Raises
    ------
    DataError
        If the inputs are not 1-D, are empty, contain NaN or differ in length.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    table, true_ids, pred_ids, _ = _contingency(y_true, y_pred)
    return table, true_ids, pred_ids


def _contingency(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, ...]:
    """Table, true ids, predicted ids and each sample's cluster position."""
    true_ids, ti = np.unique(y_true, return_inverse=True)
    pred_ids, pi = np.unique(y_pred, return_inverse=True)
    shape = (true_ids.size, pred_ids.size)
    # One bincount over the flattened (class, cluster) index instead of a loop.
    flat = ti.ravel().astype(np.int64) * shape[1] + pi.ravel()
    table = np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape).astype(np.int64)
    return table, true_ids, pred_ids, pi.ravel()


def _assign(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching (rows = classes, cols = clusters) maximising overlap."""
    rows, cols = linear_sum_assignment(table, maximize=True)
    return rows, cols


def match_clusters(y_true: Any, y_pred: Any) -> dict[Any, Any]:
    """One-to-one matching of predicted clusters to true classes (Hungarian algorithm).

    Solves ``max sum_{(i, j) in M} table[i, j]`` over one-to-one matchings ``M`` of
    classes ``i`` and clusters ``j`` (``scipy.optimize.linear_sum_assignment`` on the
    contingency table). The table may be rectangular: ``min(n_classes, n_clusters)``
    pairs are matched, so with more clusters than classes some clusters are absent
    from the result, and with fewer clusters some classes receive no cluster. Ties
    are broken by SciPy's solver.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    dict
        ``{pred_id: true_id}`` for every matched cluster (Python scalars).

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    table, true_ids, pred_ids = contingency(y_true, y_pred)
    rows, cols = _assign(table)
    return dict(zip(pred_ids[cols].tolist(), true_ids[rows].tolist(), strict=True))


def map_labels(y_true: Any, y_pred: Any, unmatched: Any = -1) -> np.ndarray:
    """Relabel predicted clusters into true class ids via :func:`match_clusters`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.
    unmatched : scalar, default -1
        Value given to samples whose cluster was not matched to any class (only
        possible with more clusters than classes). Choose a value that is not a true
        class id if the two must be told apart.

    Returns
    -------
    ndarray of shape (n_samples,)
        ``y_pred`` with each matched cluster id replaced by its class id; the dtype
        is the NumPy promotion of the class-id dtype and ``unmatched``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    table, true_ids, pred_ids, pred_pos = _contingency(y_true, y_pred)
    rows, cols = _assign(table)
    try:
        dtype = np.result_type(true_ids, np.asarray(unmatched))
    except TypeError:
        dtype = np.dtype(object)
    lookup = np.full(pred_ids.size, unmatched, dtype=dtype)
    lookup[cols] = true_ids[rows]
    return lookup[pred_pos]


def _acc_from_table(table: np.ndarray) -> float:
    rows, cols = _assign(table)
    return float(table[rows, cols].sum() / table.sum())


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Clustering accuracy (ACC) under the best one-to-one cluster-to-class mapping.

    ``ACC = max_m (1/n) sum_i 1[y_true_i == m(y_pred_i)]`` where ``m`` ranges over
    one-to-one maps from clusters to classes (DGG paper, eq. 33), found with the
    Hungarian algorithm (:func:`match_clusters`). Samples in clusters left
    unmatched (more clusters than classes) count as errors.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    table, _, _ = contingency(y_true, y_pred)
    return _acc_from_table(table)


def overall_accuracy(y_true: Any, y_pred: Any) -> float:
    """Overall accuracy (OA) of the hyperspectral clustering literature.

    The fraction of samples whose matched prediction equals the true class, after
    the best one-to-one (Hungarian) mapping of clusters to classes; unmatched
    clusters count as errors. Numerically identical to :func:`cluster_accuracy`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    return cluster_accuracy(y_true, y_pred)


def nmi(y_true: Any, y_pred: Any) -> float:
    """Normalised mutual information with arithmetic-mean normalisation.

    ``NMI = I(T; P) / ((H(T) + H(P)) / 2)``, as
    ``sklearn.metrics.normalized_mutual_info_score(average_method="arithmetic")``
    (sklearn's default). Independent of cluster ids and of a matching.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    float
        NMI in ``[0, 1]``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(skm.normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic"))


def ari(y_true: Any, y_pred: Any) -> float:
    """Adjusted Rand index (``sklearn.metrics.adjusted_rand_score``).

    The Rand index over sample pairs, corrected for chance so that random labelings
    score about 0 and identical partitions score 1.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    float
        ARI in ``[-0.5, 1]``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(skm.adjusted_rand_score(y_true, y_pred))


def _kappa_from_table(table: np.ndarray) -> float:
    n_classes = table.shape[0]
    rows, cols = _assign(table)
    n = int(table.sum())
    agree = int(table[rows, cols].sum())
    # Category of each cluster's samples: its matched class, or an extra "unmatched"
    # category (index n_classes) that no true sample belongs to.
    category = np.full(table.shape[1], n_classes)
    category[cols] = rows
    pred_marg = np.bincount(category, weights=table.sum(axis=0), minlength=n_classes + 1)
    true_marg = table.sum(axis=1)
    chance = float(true_marg @ pred_marg[:n_classes])  # n^2 * p_e
    denom = float(n) * n - chance
    if denom == 0:
        # p_e == 1: one class, everything matched to it; kappa is 0/0 (sklearn: NaN).
        return float("nan")
    return (float(n) * agree - chance) / denom


def cohen_kappa(y_true: Any, y_pred: Any) -> float:
    """Cohen's kappa between the true classes and the matched predictions.

    Predictions are first mapped to classes with :func:`match_clusters`; samples of
    unmatched clusters form one extra category that no true class equals. Then
    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the fraction of samples whose
    mapped prediction equals the true class (the ACC) and
    ``p_e = sum_k (n_k^true / n) * (n_k^pred / n)`` the chance agreement from the
    marginals of the true and mapped labels. Equal to
    ``sklearn.metrics.cohen_kappa_score(y_true, map_labels(y_true, y_pred, u))`` for
    a sentinel ``u`` that is not a class id.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    float
        Kappa in ``[-1, 1]``; NaN when ``p_e == 1`` (a single class with every sample
        mapped to it), where kappa is undefined.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    table, _, _ = contingency(y_true, y_pred)
    return _kappa_from_table(table)


def _per_class_from_table(table: np.ndarray, true_ids: np.ndarray) -> dict[Any, float]:
    rows, cols = _assign(table)
    hits = np.zeros(table.shape[0])
    hits[rows] = table[rows, cols]  # classes without a cluster keep 0 hits
    recall = hits / table.sum(axis=1)
    return dict(zip(true_ids.tolist(), recall.tolist(), strict=True))


def per_class_accuracy(y_true: Any, y_pred: Any) -> dict[Any, float]:
    """Per-class accuracy (recall of each class) after Hungarian matching.

    For each true class ``c``: ``|{i : y_true_i == c and m(y_pred_i) == c}| /
    |{i : y_true_i == c}|`` with ``m`` the mapping of :func:`match_clusters`. A class
    that receives no cluster scores 0.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    dict
        ``{true_id: accuracy}`` for every class present in ``y_true``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    table, true_ids, _ = contingency(y_true, y_pred)
    return _per_class_from_table(table, true_ids)


def _purity_from_table(table: np.ndarray) -> float:
    return float(table.max(axis=0).sum() / table.sum())


def purity(y_true: Any, y_pred: Any) -> float:
    """Cluster purity.

    ``purity = (1/n) sum_j max_i table[i, j]``: each cluster is credited with its
    majority class. Not one-to-one (several clusters may share a class), so
    ``purity >= ACC`` and splitting into more clusters never lowers it.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.

    Returns
    -------
    float
        Purity in ``(0, 1]``.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    table, _, _ = contingency(y_true, y_pred)
    return _purity_from_table(table)


def external_metrics(y_true: Any, y_pred: Any, mask: Any = None) -> dict[str, Any]:
    """All external metrics at once.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Ground-truth class ids and predicted cluster ids.
    mask : array-like of bool, shape (n_samples,), optional
        Samples to evaluate (e.g. the labelled pixels of a hyperspectral scene);
        all samples when ``None``. The matching is computed on the selected samples.

    Returns
    -------
    dict
        ``acc`` (:func:`cluster_accuracy`), ``nmi``, ``ari``, ``kappa``
        (:func:`cohen_kappa`), ``purity`` (floats) and ``per_class``
        (:func:`per_class_accuracy`, a dict).

    Raises
    ------
    DataError
        On invalid or mismatched inputs, a mask that is not boolean, of the wrong
        length, or that selects no sample.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    if mask is not None:
        keep = _check_mask(mask, y_true.shape[0])
        y_true, y_pred = y_true[keep], y_pred[keep]
    table, true_ids, _, _ = _contingency(y_true, y_pred)
    return {
        "acc": _acc_from_table(table),
        "nmi": float(skm.normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic")),
        "ari": float(skm.adjusted_rand_score(y_true, y_pred)),
        "kappa": _kappa_from_table(table),
        "purity": _purity_from_table(table),
        "per_class": _per_class_from_table(table, true_ids),
    }


# ----------------------------------------------------------------- internal metrics


def _n_clusters_ok(labels: np.ndarray) -> bool:
    """Silhouette/DB/CH are defined for 2 <= n_clusters <= n_samples - 1."""
    k = np.unique(labels).size
    return 2 <= k <= labels.shape[0] - 1


def _silhouette(
    X: np.ndarray, labels: np.ndarray, sample_size: int | None, random_state: Any
) -> float:
    n = X.shape[0]
    if sample_size is None and n > SILHOUETTE_SAMPLE_SIZE:
        sample_size = SILHOUETTE_SAMPLE_SIZE
    if sample_size is not None:
        if isinstance(sample_size, bool) or not isinstance(sample_size, numbers.Integral):
            raise ConfigError(f"sample_size is {sample_size!r}; expected an integer >= 2")
        if sample_size < 2:
            raise ConfigError(f"sample_size is {sample_size}; expected an integer >= 2")
        # Same draw as sklearn.metrics.silhouette_score(sample_size=..., random_state=...).
        idx = check_random_state(random_state).permutation(n)[:sample_size]
        X, labels = X[idx], labels[idx]
    if not _n_clusters_ok(labels):
        return float("nan")
    return float(skm.silhouette_score(X, labels))


def silhouette(
    X: Any, labels: Any, sample_size: int | None = None, random_state: Any = None
) -> float:
    """Mean silhouette coefficient (``sklearn.metrics.silhouette_score``, Euclidean).

    For sample ``i`` with mean distance ``a_i`` to the other members of its cluster
    and smallest mean distance ``b_i`` to the members of another cluster,
    ``s_i = (b_i - a_i) / max(a_i, b_i)`` (0 for a singleton cluster); the score is
    the mean of ``s_i``.

    The exact score needs all pairwise distances (O(n^2)). When ``n_samples`` is
    larger than :data:`SILHOUETTE_SAMPLE_SIZE` (10000) and ``sample_size`` is
    ``None``, the score is computed on 10000 points drawn at random without
    replacement, so it is an estimate (non-reproducible unless ``random_state`` is
    set). Pass ``sample_size=len(X)`` for the exact value.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.
    sample_size : int, optional
        Number of points to draw; all points when ``sample_size >= n_samples``.
    random_state : int, numpy.random.RandomState or None
        Seed of the draw (as in sklearn: same seed, same subset).

    Returns
    -------
    float
        Score in ``[-1, 1]``; NaN when the (sampled) points hold fewer than two
        clusters or as many clusters as points, where it is undefined.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    ConfigError
        If ``sample_size`` is not an integer >= 2.
    """
    X, labels = _check_X_labels(X, labels)
    return _silhouette(X, labels, sample_size, random_state)


def davies_bouldin(X: Any, labels: Any) -> float:
    """Davies-Bouldin index (``sklearn.metrics.davies_bouldin_score``); lower is better.

    ``DB = (1/K) sum_k max_{l != k} (S_k + S_l) / ||c_k - c_l||`` with ``c_k`` the
    centroid of cluster ``k`` and ``S_k`` the mean Euclidean distance of its members
    to ``c_k``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.

    Returns
    -------
    float
        Index >= 0; NaN with fewer than two clusters or as many clusters as samples.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    X, labels = _check_X_labels(X, labels)
    if not _n_clusters_ok(labels):
        return float("nan")
    return float(skm.davies_bouldin_score(X, labels))


def calinski_harabasz(X: Any, labels: Any) -> float:
    """Calinski-Harabasz index (``sklearn.metrics.calinski_harabasz_score``).

    ``CH = [B / (K - 1)] / [W / (n - K)]`` with
    ``B = sum_k n_k ||c_k - c||^2`` (between-cluster dispersion, ``c`` the global
    mean) and ``W = sum_k sum_{i in k} ||x_i - c_k||^2`` (within-cluster
    dispersion). Higher is better.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.

    Returns
    -------
    float
        Index >= 0; NaN with fewer than two clusters or as many clusters as samples.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    X, labels = _check_X_labels(X, labels)
    if not _n_clusters_ok(labels):
        return float("nan")
    return float(skm.calinski_harabasz_score(X, labels))


def _cluster_stats(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroids (K, d) and mean squared distance to the centroid (K,) per cluster."""
    n = X.shape[0]
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    k = counts.size
    # Sparse one-hot (K, n) @ X sums each cluster's rows in one O(n d) pass.
    onehot = sparse.csr_matrix((np.ones(n), (inv, np.arange(n))), shape=(k, n))
    centroids = np.asarray(onehot @ X) / counts[:, None]
    sq = np.empty(n)
    for start in range(0, n, _CHUNK_ROWS):  # blocks of rows bound the n x d temporary
        stop = start + _CHUNK_ROWS
        diff = X[start:stop] - centroids[inv[start:stop]]
        sq[start:stop] = np.einsum("ij,ij->i", diff, diff)
    msd = np.bincount(inv, weights=sq, minlength=k) / counts
    return centroids, msd


def intra_cluster_rmse(X: Any, labels: Any) -> float:
    """Intra-cluster RMSE, averaged over clusters (unweighted).

    ``RMSE = (1/K) sum_k sqrt( (1/n_k) sum_{i in k} ||x_i - c_k||^2 )`` with ``c_k``
    the centroid (mean) of cluster ``k``, ``n_k`` its size and ``||.||`` the
    Euclidean norm. Lower means tighter clusters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.

    Returns
    -------
    float
        Mean per-cluster RMSE (0 for singleton clusters); defined for one cluster.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    X, labels = _check_X_labels(X, labels)
    _, msd = _cluster_stats(X, labels)
    return float(np.sqrt(msd).mean())


def average_variance(X: Any, labels: Any) -> float:
    """Average within-cluster variance, averaged over features and clusters.

    ``V = (1/K) sum_k (1/d) sum_f var_{i in k}(x_{if})`` with the population variance
    (``ddof=0``). Equivalently ``(1/K) sum_k msd_k / d`` where ``msd_k`` is the mean
    squared Euclidean distance of cluster ``k``'s members to its centroid.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.

    Returns
    -------
    float
        Average variance (0 for singleton clusters); defined for one cluster.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    X, labels = _check_X_labels(X, labels)
    _, msd = _cluster_stats(X, labels)
    return float(msd.mean() / X.shape[1])


def _mean_centroid_distance(centroids: np.ndarray) -> float:
    if centroids.shape[0] < 2:
        return float("nan")
    return float(pdist(centroids).mean())


def inter_cluster_distance(X: Any, labels: Any) -> float:
    """Mean Euclidean distance between all pairs of cluster centroids.

    ``D = (2 / (K (K - 1))) sum_{k < l} ||c_k - c_l||`` with ``c_k`` the centroid
    (mean) of cluster ``k``. Higher means better-separated clusters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.

    Returns
    -------
    float
        Mean pairwise centroid distance; NaN with a single cluster.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    """
    X, labels = _check_X_labels(X, labels)
    centroids, _ = _cluster_stats(X, labels)
    return _mean_centroid_distance(centroids)


def internal_metrics(
    X: Any, labels: Any, sample_size: int | None = None, random_state: Any = None
) -> dict[str, float]:
    """All internal (ground-truth-free) metrics at once.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Cluster id of each sample.
    sample_size, random_state
        Passed to :func:`silhouette` (the only metric that is sampled; 10000 points
        by default when ``n_samples > 10000``).

    Returns
    -------
    dict
        ``silhouette``, ``davies_bouldin``, ``calinski_harabasz``, ``rmse``
        (:func:`intra_cluster_rmse`), ``variance`` (:func:`average_variance`) and
        ``inter_cluster_distance``. With a single cluster, ``silhouette``,
        ``davies_bouldin``, ``calinski_harabasz`` and ``inter_cluster_distance`` are
        NaN (they need at least two clusters) and no exception is raised; the first
        three are also NaN when every sample is its own cluster.

    Raises
    ------
    DataError
        On invalid or mismatched inputs.
    ConfigError
        If ``sample_size`` is not an integer >= 2.
    """
    X, labels = _check_X_labels(X, labels)
    centroids, msd = _cluster_stats(X, labels)
    ok = _n_clusters_ok(labels)
    nan = float("nan")
    return {
        "silhouette": _silhouette(X, labels, sample_size, random_state),
        "davies_bouldin": float(skm.davies_bouldin_score(X, labels)) if ok else nan,
        "calinski_harabasz": float(skm.calinski_harabasz_score(X, labels)) if ok else nan,
        "rmse": float(np.sqrt(msd).mean()),
        "variance": float(msd.mean() / X.shape[1]),
        "inter_cluster_distance": _mean_centroid_distance(centroids),
    }


# ------------------------------------------------------------------ regimes in time


def regime_persistence(labels: Any) -> dict[str, Any]:
    """Mean run length of each regime in a time-ordered label sequence (in time steps).

    A run is a maximal stretch of consecutive steps with the same label. Returns
    ``mean_run_length`` (over all runs), ``per_cluster`` (label -> mean run length of
    its runs) and ``n_runs``. A climatologist reads it as how long a regime persists
    once entered; a clustering of noise gives runs near ``1 / (1 - 1/K)`` steps.
    """
    lab = _as_labels(labels, "labels")
    if lab.size == 0:
        raise DataError("labels is empty; expected one label per time step")
    change = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, lab.size])
    run_labels = lab[starts]
    per = {
        k.item() if hasattr(k, "item") else k: float(lengths[run_labels == k].mean())
        for k in np.unique(run_labels)
    }
    return {
        "mean_run_length": float(lengths.mean()),
        "per_cluster": per,
        "n_runs": int(lengths.size),
    }


# ------------------------------------------------------------------ numerical rank


def numerical_rank(W: Any, energy: float = 0.95) -> int:
    """Energy-based numerical rank of a point matrix (MLC paper).

    With singular values ``s_1 >= s_2 >= ... >= s_m`` of ``W``,
    ``rank = min { r : sum_{i<=r} s_i^2 / sum_{i<=m} s_i^2 > energy }``, i.e. the
    number of leading singular directions needed to hold more than ``energy`` of
    the squared Frobenius norm. The data are not centred.

    Parameters
    ----------
    W : array-like of shape (n_points, d)
        Representations, one row per point.
    energy : float, default 0.95
        Fraction of energy to exceed, in ``[0, 1)``.

    Returns
    -------
    int
        Rank in ``[1, min(n_points, d)]``; 0 for an all-zero matrix.

    Raises
    ------
    DataError
        If ``W`` is not a finite, non-empty 2-D array.
    ConfigError
        If ``energy`` is not in ``[0, 1)``.
    """
    if (
        isinstance(energy, bool)
        or not isinstance(energy, numbers.Real)
        or not 0.0 <= float(energy) < 1.0
    ):
        raise ConfigError(f"energy is {energy!r}; expected a number in [0, 1)")
    W = _as_matrix(W, "W")
    s2 = np.linalg.svd(W, compute_uv=False) ** 2
    total = s2.sum()
    if total == 0:
        return 0
    frac = np.cumsum(s2) / total
    # First index whose cumulative fraction exceeds energy (strictly, as in the paper);
    # clipped because round-off can leave frac[-1] a hair below 1.
    r = int(np.searchsorted(frac, energy, side="right")) + 1
    return min(r, s2.size)
