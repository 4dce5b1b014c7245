"""FINCH (Sarfraz et al., CVPR 2019) under the deepclust estimator API.

The numerics live in :mod:`deepclust.graphs.finch`; this module wraps them in the
:class:`~deepclust.base.BaseClusterer` contract (validation, ``fit``/``fit_predict``,
``save``/``load``).
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

from ..base import BaseClusterer
from ..exceptions import ConfigError
from ..graphs.finch import _METRICS, finch
from ..validation import N_CLUSTERS, StrOptions, positive_int


class FINCH(BaseClusterer):
    """FINCH: parameter-free hierarchical clustering from first-neighbour relations.

    Every sample is linked to its first (nearest) neighbour ``kappa_i``. The adjacency
    of eq. (1) of Sarfraz et al. (2019), also eq. (1) of SCDSC (Sec. 2.1),

    .. math::

        A(i, j) = 1 \\text{ if } j = \\kappa_i \\text{ or } \\kappa_j = i
        \\text{ or } \\kappa_i = \\kappa_j, \\text{ else } 0,

    links samples that are first neighbours of one another or share a first neighbour;
    its connected components (those of the graph ``i -> kappa_i`` read with weak
    connectivity) are the clusters of level 0. Each cluster is then replaced by the
    mean of its original members and the step is repeated on the means, which gives a
    hierarchy of ever coarser partitions. The hierarchy stops before a level that would
    have a single cluster or only one cluster fewer than the level before (as in the
    authors' ``finch-clust``).

    With ``n_clusters=None`` the method is parameter-free and ``labels_`` is the
    coarsest partition. With an integer, the partition with the fewest clusters that
    are still at least ``n_clusters`` is taken and its closest pair of cluster means is
    merged, one pair at a time, until exactly ``n_clusters`` remain (if the first
    partition already has fewer clusters, it is returned with a warning).

    Parameters
    ----------
    n_clusters : int or None
        None = parameter-free (coarsest level); an integer >= 2 = that many clusters.
    metric : {"cosine", "euclidean"}
        ``"cosine"`` is ``1 - cos`` of the raw vectors (the authors' default).
    ensure_early_exit : bool
        At levels >= 1, cut first-neighbour links longer than the largest level-0
        first-neighbour distance. ``finch-clust`` 0.2.3 names this option but, through
        an explicit-zero quirk of ``scipy.sparse``, never applies it; use ``False`` to
        reproduce its partitions.
    exact_limit : int
        Exact first neighbours (ties to the lower index) up to this many points per
        level; a faiss HNSW index (approximate) above, so that 10^6 samples fit in
        O(n d) memory.
    ef_search : int
        Search breadth of the HNSW path (larger: more exact, slower).

    Attributes
    ----------
    partitions_ : ndarray of shape (n_samples, n_levels)
        Column ``l`` is level ``l`` (labels ``0..k_l-1``); each column coarsens the one
        before. SCDSC's mini-clusters are ``partitions_[:, 1]``.
    n_clusters_per_level_ : ndarray of shape (n_levels,)
    labels_ : ndarray of shape (n_samples,)
    n_clusters_ : int
        Number of clusters in ``labels_``.
    first_neighbours_ : ndarray of shape (n_samples,)
        ``kappa_i`` of level 0.

    Notes
    -----
    There is no ``predict``: the partitions are defined by first-neighbour relations
    among the training samples, and a new sample would change them (it can become the
    first neighbour of training samples and join clusters), so there is no
    out-of-sample rule consistent with the fit. Use ``fit_predict`` on all the data.

    References
    ----------
    M. S. Sarfraz, V. Sharma, R. Stiefelhagen, "Efficient parameter-free clustering
    using first neighbor relations", CVPR 2019, pp. 8934-8943.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": [*N_CLUSTERS, None],
        "metric": [StrOptions({"cosine", "euclidean"})],
        "ensure_early_exit": ["boolean"],
        "exact_limit": [positive_int()],
        "ef_search": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int | None = None,
        metric: str = "cosine",
        ensure_early_exit: bool = True,
        exact_limit: int = 50_000,
        ef_search: int = 128,
    ) -> None:
        self.n_clusters = n_clusters
        self.metric = metric
        self.ensure_early_exit = ensure_early_exit
        self.exact_limit = exact_limit
        self.ef_search = ef_search

    def _fit(self, X: np.ndarray) -> None:
        if self.metric not in _METRICS:
            raise ConfigError(
                f"metric={self.metric!r} is unknown; expected 'cosine' or 'euclidean'"
            )
        if not isinstance(self.exact_limit, numbers.Integral) or self.exact_limit < 1:
            raise ConfigError(f"exact_limit must be a positive integer, got {self.exact_limit!r}")
        result = finch(
            X,
            metric=self.metric,
            req_clust=self.n_clusters,
            ensure_early_exit=bool(self.ensure_early_exit),
            exact_limit=int(self.exact_limit),
            ef_search=int(self.ef_search),
        )
        self.partitions_ = result.partitions
        self.n_clusters_per_level_ = np.asarray(result.n_clusters, dtype=np.int64)
        self.first_neighbours_ = result.first_neighbours
        if result.req_labels is not None:
            self.labels_ = result.req_labels
        else:
            self.labels_ = result.partitions[:, -1].copy()
        self.n_clusters_ = int(self.labels_.max()) + 1
