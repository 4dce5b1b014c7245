"""Classic clustering baselines under the deepclust API.

k-means, Gaussian mixture and spectral clustering delegate the numerics to
scikit-learn; fuzzy c-means (Bezdek 1981) is implemented here. All follow the same
contract as the deep methods (``fit`` / ``fit_predict`` / ``predict`` where it exists /
``save`` / ``load``) so that the CLI and the benchmarks treat every method alike.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.base import TransformerMixin
from sklearn.cluster import KMeans as _SkKMeans
from sklearn.manifold import spectral_embedding
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture as _SkGaussianMixture
from sklearn.neighbors import kneighbors_graph
from sklearn.utils import check_random_state

from ..base import BaseClusterer
from ..exceptions import ConfigError, DataError
from ..validation import (
    N_CLUSTERS,
    SEED,
    Interval,
    StrOptions,
    non_negative_real,
    positive_int,
    positive_real,
)


def _sq_distances(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between rows of X and rows of C (n x k)."""
    d = (X * X).sum(1)[:, None] - 2.0 * X @ C.T + (C * C).sum(1)[None, :]
    return np.maximum(d, 0.0)


class KMeans(TransformerMixin, BaseClusterer):
    """k-means (Lloyd with k-means++ seeding, best of ``n_init`` runs).

    Parameters
    ----------
    n_clusters : int
    n_init : int
        Restarts; the run with the lowest inertia is kept.
    max_iter : int
    tol : float
    random_state : int or None

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features)
    labels_ : ndarray (n_samples,)
    inertia_ : float
    embedding_ : ndarray (n_samples, n_clusters)
        Distances to the centres (what ``transform`` returns).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "n_init": [positive_int()],
        "max_iter": [positive_int()],
        "tol": [non_negative_real()],
        "random_state": SEED,
    }

    def __init__(
        self,
        n_clusters: int = 8,
        n_init: int = 10,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        km = _SkKMeans(
            n_clusters=self.n_clusters,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        ).fit(X)
        self.cluster_centers_ = km.cluster_centers_
        self.labels_ = km.labels_.astype(np.int64)
        self.inertia_ = float(km.inertia_)
        self.n_iter_ = int(km.n_iter_)
        self.embedding_ = np.sqrt(_sq_distances(X, self.cluster_centers_))

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for each sample."""
        X = self._validate_new_input(X)
        return pairwise_distances_argmin(X, self.cluster_centers_).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances to the cluster centres."""
        X = self._validate_new_input(X)
        return np.sqrt(_sq_distances(X, self.cluster_centers_.astype(X.dtype)))


class GaussianMixture(BaseClusterer):
    """Gaussian mixture fitted by EM; clusters are the most probable components.

    Parameters
    ----------
    n_clusters : int
        Number of components.
    covariance_type : {"auto", "full", "tied", "diag", "spherical"}
        ``"auto"``: ``"full"``, and ``"diag"`` if a full covariance turns out singular
        (a component with fewer samples than dimensions: COIL-20, 1,440 images of 1,024
        pixels in 20 components, fails with it).
    n_init : int
    max_iter : int
    reg_covar : float
        Added to the covariance diagonals for numerical stability.
    random_state : int or None

    Attributes
    ----------
    covariance_type_ : str
        The covariance type used.
    means_, covariances_, weights_, precisions_cholesky_ : ndarray
    labels_ : ndarray (n_samples,)
    embedding_ : ndarray (n_samples, n_clusters)
        Posterior component probabilities.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "covariance_type": [StrOptions({"auto", "full", "tied", "diag", "spherical"})],
        "n_init": [positive_int()],
        "max_iter": [positive_int()],
        "reg_covar": [non_negative_real()],
        "random_state": SEED,
    }

    def __init__(
        self,
        n_clusters: int = 8,
        covariance_type: str = "auto",
        n_init: int = 1,
        max_iter: int = 100,
        reg_covar: float = 1e-6,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.random_state = random_state

    def _sk(self) -> _SkGaussianMixture:
        return _SkGaussianMixture(
            n_components=self.n_clusters,
            covariance_type=getattr(self, "covariance_type_", self.covariance_type),
            n_init=self.n_init,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            random_state=self.random_state,
        )

    def _fit(self, X: np.ndarray) -> None:
        auto = self.covariance_type == "auto"
        cov = self.covariance_type_ = "full" if auto else self.covariance_type
        try:
            gm = self._fit_mixture(X, fallback="diag" if auto else None)
        except ValueError as exc:
            if "ill-defined empirical covariance" not in str(exc):
                raise
            raise DataError(
                f"GaussianMixture: a component's {cov} covariance is singular (too few "
                "samples in it for the dimension); use covariance_type='diag', a larger "
                "reg_covar, or fewer dimensions (--preprocess pca=N)"
            ) from None
        self.means_ = gm.means_
        self.covariances_ = gm.covariances_
        self.weights_ = gm.weights_
        self.precisions_cholesky_ = gm.precisions_cholesky_
        self.converged_ = bool(gm.converged_)
        self.n_iter_ = int(gm.n_iter_)
        self._gm = gm
        self.embedding_ = gm.predict_proba(X)
        self.labels_ = self.embedding_.argmax(1).astype(np.int64)

    def _fit_mixture(self, X: np.ndarray, fallback: str | None) -> _SkGaussianMixture:
        """EM with ``covariance_type_``; on a singular covariance, once more with ``fallback``."""
        try:
            return self._sk().fit(X)
        except ValueError as exc:
            if fallback is None or "ill-defined empirical covariance" not in str(exc):
                raise
        self.covariance_type_ = fallback
        return self._sk().fit(X)

    def _after_load(self) -> None:
        gm = self._sk()
        gm.means_ = self.means_
        gm.covariances_ = self.covariances_
        gm.weights_ = self.weights_
        gm.precisions_cholesky_ = self.precisions_cholesky_
        self._gm = gm

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component."""
        X = self._validate_new_input(X)
        return self._gm.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)


class SpectralClustering(BaseClusterer):
    """Spectral clustering (normalised Laplacian embedding, then k-means).

    Follows von Luxburg (2007) as implemented by scikit-learn: a symmetric affinity
    graph, the ``n_clusters`` smallest eigenvectors of its normalised Laplacian, then
    k-means on the embedding. The affinity is a symmetrised k-nearest-neighbour graph
    (sparse, scales to tens of thousands of samples) or a dense RBF kernel.

    Parameters
    ----------
    n_clusters : int
    affinity : {"nearest_neighbors", "rbf"}
    n_neighbors : int
        Neighbours per sample for the kNN graph.
    gamma : float or None
        RBF kernel width ``exp(-gamma ||x - y||^2)``; None = 1 / n_features.
    n_init : int
        k-means restarts on the embedding.
    random_state : int or None

    Attributes
    ----------
    embedding_ : ndarray (n_samples, n_clusters)
        The spectral embedding.
    labels_ : ndarray (n_samples,)

    Notes
    -----
    There is no ``predict``: the embedding exists only for the fitted samples.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "affinity": [StrOptions({"nearest_neighbors", "rbf"})],
        "n_neighbors": [positive_int()],
        "gamma": [positive_real(), None],
        "n_init": [positive_int()],
        "random_state": SEED,
    }

    def __init__(
        self,
        n_clusters: int = 8,
        affinity: str = "nearest_neighbors",
        n_neighbors: int = 10,
        gamma: float | None = None,
        n_init: int = 10,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.gamma = gamma
        self.n_init = n_init
        self.random_state = random_state

    def _affinity(self, X: np.ndarray) -> Any:
        if self.affinity == "nearest_neighbors":
            k = min(self.n_neighbors, X.shape[0] - 1)
            if k < 1:
                raise ConfigError("spectral clustering needs at least 2 samples")
            A = kneighbors_graph(X, n_neighbors=k, include_self=True)
            return 0.5 * (A + A.T)
        if self.affinity == "rbf":
            gamma = self.gamma if self.gamma is not None else 1.0 / X.shape[1]
            return np.exp(-gamma * _sq_distances(X, X))
        raise ConfigError(
            f"affinity={self.affinity!r} is unknown; expected 'nearest_neighbors' or 'rbf'"
        )

    def _fit(self, X: np.ndarray) -> None:
        A = self._affinity(X.astype(np.float64))
        self.embedding_, self.labels_ = spectral_labels(
            A, self.n_clusters, self.n_init, self.random_state
        )


def spectral_labels(
    affinity: Any, n_clusters: int, n_init: int = 10, random_state: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised-Laplacian embedding of a symmetric affinity (dense or sparse) and
    k-means on it (von Luxburg 2007); returns ``(embedding, labels)``."""
    A = affinity
    if sparse.issparse(A):
        # ARPACK cannot return as many eigenvectors as there are nodes: tiny graphs
        # (n_clusters close to n_samples) go to the dense solver.
        A = A.toarray() if n_clusters >= A.shape[0] - 1 else A.tocsr()
    rs = check_random_state(random_state)
    maps = spectral_embedding(A, n_components=n_clusters, random_state=rs, drop_first=False)
    km = _SkKMeans(n_clusters, n_init=n_init, random_state=rs).fit(maps)
    return maps, km.labels_.astype(np.int64)


def auto_fuzzifier(n_samples: int, n_features: int) -> float:
    """Schwaemmle & Jensen's (2010) fuzzifier for N samples in D dimensions (their eq. 5)."""
    n, d = float(max(n_samples, 2)), float(max(n_features, 1))
    return float(
        1.0
        + (1418.0 / n + 22.05) * d**-2
        + (12.33 / n + 0.243) * d ** (-0.0406 * np.log(n) - 0.1134)
    )


class FuzzyCMeans(TransformerMixin, BaseClusterer):
    """Fuzzy c-means (Bezdek 1981).

    Minimises ``J = sum_i sum_k u_ik^m ||x_i - c_k||^2`` subject to
    ``sum_k u_ik = 1`` by alternating the closed-form updates
    ``c_k = sum_i u_ik^m x_i / sum_i u_ik^m`` and
    ``u_ik = 1 / sum_j (d_ik / d_ij)^(2/(m-1))``.

    Parameters
    ----------
    n_clusters : int
    m : float or "auto"
        Fuzzifier (> 1). 2 is the textbook choice, but in more than a few dimensions it
        makes every membership tend to 1/K (distances concentrate) and the clustering
        collapses. ``"auto"`` takes the rule of Schwaemmle & Jensen (Bioinformatics 2010,
        eq. 5), fitted on simulations across dimension D and size N:
        ``m = 1 + (1418/N + 22.05) D^-2 + (12.33/N + 0.243) D^(-0.0406 ln N - 0.1134)``
        (1.15 for ~3,000 17-D expression profiles, the Mfuzz ``mestimate`` example;
        1.05 for the 64-D digits; large, about 6.8, for 4,000 points in 2-D).
    max_iter : int
    tol : float
        Stop when no membership changes by more than ``tol``.
    n_init : int
        Restarts from random memberships; the lowest objective is kept.
    random_state : int or None

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features)
    membership_ : ndarray (n_samples, n_clusters)
    labels_ : ndarray
        ``argmax`` of the memberships.
    objective_ : float
    m_ : float
        The fuzzifier used.
    n_iter_ : int
    embedding_ : ndarray
        Same as ``membership_``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "m": [Interval(Real, 1, None, closed="neither"), StrOptions({"auto"})],
        "max_iter": [positive_int()],
        "tol": [non_negative_real()],
        "n_init": [positive_int()],
        "random_state": SEED,
    }

    def __init__(
        self,
        n_clusters: int = 8,
        m: float | str = "auto",
        max_iter: int = 300,
        tol: float = 1e-5,
        n_init: int = 1,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.m = m
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state

    def _memberships(self, X: np.ndarray, centers: np.ndarray) -> np.ndarray:
        d2 = _sq_distances(X, centers)
        # u_ik ∝ d_ik^(-2/(m-1)); computed relative to the row minimum for stability,
        # and a sample sitting on a centre gets membership 1 there.
        expo = 1.0 / (self.m_ - 1.0)
        dmin = d2.min(axis=1, keepdims=True)
        on_centre = dmin[:, 0] <= 1e-12
        ratio = np.where(on_centre[:, None], 1.0, dmin / np.maximum(d2, 1e-300))
        u = ratio**expo
        u[on_centre] = (d2[on_centre] <= 1e-12).astype(u.dtype)
        return u / u.sum(axis=1, keepdims=True)

    def _run(self, X: np.ndarray, rs: np.random.RandomState) -> tuple:
        u = rs.dirichlet(np.ones(self.n_clusters), size=X.shape[0])
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - n_iter is reported
            um = u**self.m_
            centers = (um.T @ X) / um.sum(axis=0)[:, None]
            u_new = self._memberships(X, centers)
            shift = float(np.abs(u_new - u).max())
            u = u_new
            if shift < self.tol:
                break
        um = u**self.m_
        centers = (um.T @ X) / um.sum(axis=0)[:, None]
        objective = float((um * _sq_distances(X, centers)).sum())
        return objective, centers, u, n_iter

    def _fit(self, X: np.ndarray) -> None:
        self.m_ = auto_fuzzifier(*X.shape) if self.m == "auto" else float(self.m)
        rs = check_random_state(self.random_state)
        best = min((self._run(X, rs) for _ in range(max(1, self.n_init))), key=lambda r: r[0])
        self.objective_, self.cluster_centers_, u, self.n_iter_ = best
        self.membership_ = self._memberships(X, self.cluster_centers_)
        self.embedding_ = self.membership_
        self.labels_ = self.membership_.argmax(1).astype(np.int64)

    def predict_membership(self, X: Any) -> np.ndarray:
        """Fuzzy memberships of new samples to the fitted centres."""
        X = self._validate_new_input(X)
        return self._memberships(X, self.cluster_centers_.astype(X.dtype))

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_membership(X).argmax(1).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances to the cluster centres."""
        X = self._validate_new_input(X)
        return np.sqrt(_sq_distances(X, self.cluster_centers_.astype(X.dtype)))
