"""FINCH: parameter-free hierarchical clustering from first-neighbour relations.

Sarfraz, Sharma & Stiefelhagen, "Efficient parameter-free clustering using first
neighbor relations", CVPR 2019. Every point is linked to its first (nearest) neighbour
``kappa_i``; the adjacency of eq. (1) (restated as eq. (1) of SCDSC, Sec. 2.1)

    A(i, j) = 1  if  j = kappa_i  or  kappa_j = i  or  kappa_i = kappa_j,  else 0

has exactly the connected components of the directed first-neighbour graph
``i -> kappa_i`` read with weak connectivity (two points with the same first neighbour
both reach it), so the n edges ``i -> kappa_i`` are all we store. Its components are the
clusters of level 0; each cluster is replaced by the mean of its original members and
the step repeats on the means, giving a hierarchy of ever coarser partitions.

Memory is O(n d) for the data and O(n) for the rest, apart from the neighbour search
(:func:`deepclust.graphs.knn.knn`: blocked exact search up to ``exact_limit`` points,
a faiss HNSW index above). Nothing n x n is ever formed.

Semantics follow the authors' reference package ``finch-clust`` (0.2.3) except where a
comment says otherwise: the hierarchy stops before a level that has one cluster or has
at most one cluster fewer than the level before; exact first neighbours break ties
towards the lower index; ``req_clust`` merges the closest pair of cluster means one at
a time, starting from the partition with the fewest clusters that are still at least
``req_clust``.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..exceptions import ConfigError
from .knn import knn

_METRICS = ("cosine", "euclidean")


@dataclass
class FinchResult:
    """What :func:`finch` returns.

    Attributes
    ----------
    partitions : ndarray of shape (n_samples, n_levels), int64
        Column ``l`` is the partition of level ``l`` with labels ``0..k_l-1`` numbered in
        order of first appearance; column ``l + 1`` is a coarsening of column ``l``.
    n_clusters : list of int
        ``k_l`` for each level, strictly decreasing.
    req_labels : ndarray of shape (n_samples,) or None
        The partition with ``req_clust`` clusters when it was asked for.
    first_neighbours : ndarray of shape (n_samples,), int64
        ``kappa_i`` of level 0 (the first neighbour of every sample).
    first_distances : ndarray of shape (n_samples,), float32
        Distance of every sample to its first neighbour.
    early_exit_threshold : float or None
        Largest level-0 first-neighbour distance; at levels >= 1 first-neighbour links
        longer than this are cut (None when ``ensure_early_exit=False``).
    """

    partitions: np.ndarray
    n_clusters: list[int]
    req_labels: np.ndarray | None
    first_neighbours: np.ndarray
    first_distances: np.ndarray
    early_exit_threshold: float | None = None


def _check_metric(metric: str) -> None:
    if metric not in _METRICS:
        raise ConfigError(f"metric={metric!r} is unknown; expected 'cosine' or 'euclidean'")


def first_neighbours(
    X: np.ndarray,
    *,
    metric: str = "cosine",
    exact_limit: int = 50_000,
    ef_search: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """First (nearest, non-self) neighbour of every row of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), n_samples >= 2
    metric : {"cosine", "euclidean"}
        ``"cosine"`` is ``1 - cos`` of the raw vectors.
    exact_limit : int
        Exact blocked search for ``n_samples <= exact_limit`` (ties go to the lower
        index), a faiss HNSW index above (approximate; ties in arbitrary order).
    ef_search : int
        Search breadth of the HNSW path (larger: more exact, slower).

    Returns
    -------
    idx : ndarray of shape (n_samples,), int64
    dist : ndarray of shape (n_samples,), float32
    """
    _check_metric(metric)
    X = np.asarray(X)
    if metric == "euclidean" and X.shape[0] <= exact_limit:
        # The exact search expands ||a-b||^2 = |a|^2 - 2ab + |b|^2 in float32; centring
        # (distances are translation invariant) keeps the cancellation error small when
        # the data sit far from the origin. Only on the exact path, where n is moderate.
        X = X - X.mean(0, dtype=np.float64).astype(X.dtype)
    idx, dist = knn(X, 1, metric=metric, exact_limit=exact_limit, ef_search=ef_search)
    return idx[:, 0], dist[:, 0]


def _components(nbr: np.ndarray, keep: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Weakly connected components of the graph ``i -> nbr[i]`` (edges where ``keep``).

    Labels are ``0..k-1`` in order of first appearance.
    """
    n = nbr.shape[0]
    valid = nbr >= 0  # faiss marks a missing neighbour with -1
    if keep is not None:
        valid &= keep
    rows = np.flatnonzero(valid)
    cols = nbr[rows]
    graph = sparse.csr_matrix((np.ones(rows.shape[0], dtype=np.int8), (rows, cols)), shape=(n, n))
    k, labels = connected_components(graph, directed=True, connection="weak")
    return _first_appearance(labels, k), int(k)


def _first_appearance(labels: np.ndarray, k: int) -> np.ndarray:
    """Renumber ``labels`` (values ``0..k-1``) in order of first appearance."""
    first = np.full(k, labels.shape[0], dtype=np.int64)
    np.minimum.at(first, labels, np.arange(labels.shape[0]))
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(k)
    return rank[labels]


def _indicator(labels: np.ndarray, k: int, dtype: np.dtype) -> sparse.csr_matrix:
    """The (k, n) 0/1 membership matrix of a partition, built in CSR directly."""
    n = labels.shape[0]
    order = np.argsort(labels, kind="stable")
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(labels, minlength=k), out=indptr[1:])
    return sparse.csr_matrix((np.ones(n, dtype=dtype), order, indptr), shape=(k, n))


def _cluster_means(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Means (in X's float dtype) and sizes of the clusters of ``labels``: one sparse product."""
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    counts = np.bincount(labels, minlength=k)
    sums = _indicator(labels, k, dtype) @ np.asarray(X, dtype=dtype)
    sums /= counts[:, None].astype(dtype)
    return sums, counts


def _merge_means(
    means: np.ndarray, counts: np.ndarray, groups: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Means and sizes after merging clusters by ``groups`` (size-weighted, float64).

    Equal to the means of the original members (up to rounding) without touching X.
    """
    new_counts = np.bincount(groups, weights=counts, minlength=k)
    weighted = means.astype(np.float64) * counts[:, None]
    new_means = _indicator(groups, k, np.float64) @ weighted
    new_means /= new_counts[:, None]
    return new_means, new_counts.astype(np.int64)


# --------------------------------------------------------------- req_clust merging


class _PairMerger:
    """Merge the closest pair of cluster means, one pair at a time, in float64.

    Keeps every active cluster's first neighbour and distance; after a merge only the
    merged cluster and the clusters whose first neighbour was one of the pair are
    searched again, the others just compare with the merged mean. Memory O(k d).
    The merged cluster keeps the lower of the two slots, so slot order equals the
    order of the reference's relabelled clusters and ties go to the lower slot there too.
    """

    def __init__(self, means: np.ndarray, counts: np.ndarray, metric: str) -> None:
        self.metric = metric
        self.means = np.array(means, dtype=np.float64)
        self.counts = counts.astype(np.float64)
        k = self.means.shape[0]
        self.active = np.ones(k, dtype=bool)
        if metric == "cosine":  # unit vectors; 1 - cos is then 1 - dot
            norms = np.linalg.norm(self.means, axis=1, keepdims=True)
            self.feat = self.means / np.maximum(norms, 1e-12)
        else:
            self.feat = self.means.copy()
        self.sq = np.einsum("ij,ij->i", self.feat, self.feat)
        self.nn = np.zeros(k, dtype=np.int64)
        self.nnd = np.full(k, np.inf)
        block = max(1, min(k, (1 << 22) // max(k, 1)))  # block x k float64 temporaries
        for start in range(0, k, block):
            rows = np.arange(start, min(k, start + block))
            self.nn[rows], self.nnd[rows] = self._search(rows)

    def _refresh(self, i: int) -> None:
        m = self.means[i]
        if self.metric == "cosine":
            self.feat[i] = m / max(np.linalg.norm(m), 1e-12)
        else:
            self.feat[i] = m
        self.sq[i] = self.feat[i] @ self.feat[i]

    def _dist(self, rows: np.ndarray) -> np.ndarray:
        """Distances of ``rows`` to all slots (inactive and self set to inf)."""
        G = self.feat[rows] @ self.feat.T
        if self.metric == "cosine":
            D = 1.0 - G
        else:
            D = np.sqrt(np.maximum(self.sq[rows, None] - 2.0 * G + self.sq[None, :], 0.0))
        D[:, ~self.active] = np.inf
        D[np.arange(rows.shape[0]), rows] = np.inf
        return D

    def _search(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        D = self._dist(rows)
        j = D.argmin(1)  # first minimum: ties go to the lower slot
        return j, D[np.arange(rows.shape[0]), j]

    def merge_closest(self) -> tuple[int, int]:
        """Merge the closest pair into its lower slot ``a``; return ``(a, b)``."""
        act = np.flatnonzero(self.active)
        i = act[np.argmin(self.nnd[act])]  # ties: the lower slot
        a, b = sorted((int(i), int(self.nn[i])))
        ca, cb = self.counts[a], self.counts[b]
        self.means[a] = (ca * self.means[a] + cb * self.means[b]) / (ca + cb)
        self.counts[a] = ca + cb
        self.active[b] = False
        self.nnd[b] = np.inf
        self._refresh(a)
        # Clusters that pointed at a or b search again (a included); the rest can only
        # find the new mean closer than their current first neighbour.
        stale = self.active & ((self.nn == a) | (self.nn == b))
        stale[a] = True
        others = np.flatnonzero(self.active & ~stale)
        if others.size:
            d = self._dist(np.array([a]))[0, others]
            cur = self.nnd[others]
            better = (d < cur) | ((d == cur) & (a < self.nn[others]))
            self.nn[others[better]] = a
            self.nnd[others[better]] = d[better]
        rows = np.flatnonzero(stale)
        self.nn[rows], self.nnd[rows] = self._search(rows)
        return a, b


def _merge_to(labels: np.ndarray, X: np.ndarray, k: int, req_clust: int, metric: str) -> np.ndarray:
    """Merge the closest pair of cluster means until ``req_clust`` clusters remain."""
    means, counts = _cluster_means(X, labels, k)
    merger = _PairMerger(means, counts, metric)
    merges = [merger.merge_closest() for _ in range(k - req_clust)]
    owner = np.arange(k)
    for a, b in reversed(merges):  # b is never active again, so its final owner is a's
        owner[b] = owner[a]
    slots = np.unique(owner, return_inverse=True)[1]
    return _first_appearance(slots[labels], req_clust)


# ------------------------------------------------------------------------ FINCH


def finch(
    X: np.ndarray,
    *,
    metric: str = "cosine",
    req_clust: int | None = None,
    ensure_early_exit: bool = True,
    exact_limit: int = 50_000,
    ef_search: int = 128,
    max_levels: int | None = None,
) -> FinchResult:
    """The FINCH hierarchy of partitions of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    metric : {"cosine", "euclidean"}
        Distance of the first-neighbour search; ``"cosine"`` is ``1 - cos`` of the raw
        vectors (and of the raw cluster means at the higher levels).
    req_clust : int or None
        Also return a partition with exactly this many clusters: starting from the
        level with the fewest clusters that are still at least ``req_clust``, the
        closest pair of cluster means (means of the original members) is merged, one
        pair at a time. Above the number of level-0 clusters, level 0 is returned with
        a warning.
    ensure_early_exit : bool
        At levels >= 1, cut first-neighbour links longer than the largest level-0
        first-neighbour distance (on both the exact and the HNSW path). See the note.
    exact_limit : int
        Exact neighbour search up to this many points (per level), HNSW above.
    ef_search : int
        Search breadth of the HNSW path. The HNSW graph is reproducible single-threaded
        and may differ slightly between multi-threaded runs; the exact path is
        deterministic.
    max_levels : int or None
        Stop after this many partitions (SCDSC needs only the first two).

    Returns
    -------
    FinchResult

    Notes
    -----
    ``finch-clust`` 0.2.3 implements ``ensure_early_exit`` by writing zeros into the
    CSR adjacency; ``scipy.sparse.csgraph`` counts stored zeros as edges, so there the
    option changes nothing. Here the links are really cut, as the option describes;
    pass ``ensure_early_exit=False`` to reproduce the reference's partitions.
    """
    _check_metric(metric)
    if not isinstance(exact_limit, numbers.Integral) or exact_limit < 1:
        raise ConfigError(f"exact_limit must be a positive integer, got {exact_limit!r}")
    if req_clust is not None and (
        not isinstance(req_clust, numbers.Integral) or isinstance(req_clust, bool) or req_clust < 1
    ):
        raise ConfigError(f"req_clust must be a positive integer or None, got {req_clust!r}")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ConfigError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    n = X.shape[0]
    if n == 1:
        zero = np.zeros(1, dtype=np.int64)
        req = zero.copy() if req_clust is not None else None
        return FinchResult(zero[:, None], [1], req, zero, np.zeros(1, np.float32), None)

    if max_levels is not None and (not isinstance(max_levels, numbers.Integral) or max_levels < 1):
        raise ConfigError(f"max_levels must be a positive integer or None, got {max_levels!r}")
    kw = {"metric": metric, "exact_limit": exact_limit, "ef_search": ef_search}
    nbr, dist = first_neighbours(X, **kw)
    labels, k = _components(nbr)
    threshold = float(dist.max()) if ensure_early_exit else None
    partitions, counts_per_level = [labels], [k]
    means, sizes = _cluster_means(X, labels, k)
    while k > 1 and (max_levels is None or len(partitions) < max_levels):
        # First neighbours of the current cluster means; the next level groups them.
        mnbr, mdist = first_neighbours(means, **kw)
        keep = mdist <= threshold if threshold is not None else None
        groups, k_new = _components(mnbr, keep)
        if k_new == 1 or k - k_new <= 1:
            break  # the reference drops such a level and stops
        labels = groups[labels]
        partitions.append(labels)
        counts_per_level.append(k_new)
        means, sizes = _merge_means(means, sizes, groups, k_new)
        k = k_new
    P = np.column_stack(partitions).astype(np.int64, copy=False)
    del partitions

    req = None
    if req_clust is not None:
        if req_clust in counts_per_level:
            req = P[:, counts_per_level.index(req_clust)].copy()
        elif req_clust > counts_per_level[0]:
            warnings.warn(
                f"req_clust={req_clust} exceeds the {counts_per_level[0]} clusters of the "
                f"first FINCH partition; returning that partition",
                stacklevel=2,
            )
            req = P[:, 0].copy()
        else:
            lev = max(i for i, c in enumerate(counts_per_level) if c >= req_clust)
            req = _merge_to(P[:, lev], X, counts_per_level[lev], req_clust, metric)
    return FinchResult(P, counts_per_level, req, nbr, dist, threshold)
