"""k-nearest-neighbour search: exact blocked search for moderate n, faiss above.

Exact search runs as blocked matrix products in torch (memory O(block * n)); for large
n (default above 200,000 points) an HNSW index from faiss gives approximate neighbours
in O(n log n). Self-matches are always excluded.
"""

from __future__ import annotations

import numpy as np
import torch

from ..exceptions import ConfigError

EXACT_LIMIT = 200_000
#: Above this many points HNSW keeps 16 links per node instead of 32: the level-0 links
#: cost ``8 m`` bytes per point (1.3 GB at 10^7 points with ``m = 32``), and 16 links
#: still find the first neighbour of low-dimensional features almost always.
HNSW_SLIM_ABOVE = 2_000_000


def _normalise(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


def _unit_rows(X: np.ndarray, tol: float = 1e-5, block: int = 1 << 16) -> bool:
    """Whether every row already has unit norm (checked in blocks: no full temporary)."""
    for i in range(0, len(X), block):
        sq = np.einsum("ij,ij->i", X[i : i + block], X[i : i + block])
        if np.abs(sq - 1.0).max(initial=0.0) > 2 * tol:
            return False
    return True


def knn_exact(
    X: np.ndarray, k: int, *, metric: str = "euclidean", block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours of every row of ``X`` among the other rows.

    Returns ``(indices, distances)`` of shape (n, k), nearest first. Distances are
    Euclidean, ``1 - cos`` for ``metric="cosine"``, or ``1 - |cos|`` for
    ``metric="abs_cosine"`` (lines through the origin: a vector and its negative are
    the same direction, as in subspace clustering). Ties are broken by the lower
    index (as ``argsort`` with a stable sort would).
    """
    n = X.shape[0]
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    if metric in ("cosine", "abs_cosine"):
        Xf = _normalise(Xf)
    T = torch.from_numpy(Xf)
    sq = (T * T).sum(1)
    idx_out = np.empty((n, k), dtype=np.int64)
    dist_out = np.empty((n, k), dtype=np.float32)
    arange = torch.arange(n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        G = T[start:stop] @ T.T
        if metric == "cosine":
            D = 1.0 - G
        elif metric == "abs_cosine":
            D = 1.0 - G.abs()
        else:
            D = (sq[start:stop, None] - 2.0 * G + sq[None, :]).clamp_min_(0.0)
        D[torch.arange(stop - start), arange[start:stop]] = float("inf")  # no self-match
        if k == 1:  # argmin returns the first minimum: ties go to the lower index
            vals, idx = D.min(dim=1, keepdim=True)
            idx_out[start:stop] = idx.numpy()
            dist_out[start:stop] = vals.numpy()
            continue
        # topk is not stable; order the k smallest by (distance, index) explicitly.
        vals, idx = torch.topk(D, k, dim=1, largest=False, sorted=True)
        order = np.lexsort((idx.numpy(), vals.numpy()), axis=1)
        idx_out[start:stop] = np.take_along_axis(idx.numpy(), order, 1)
        dist_out[start:stop] = np.take_along_axis(vals.numpy(), order, 1)
    if metric == "euclidean":
        dist_out = np.sqrt(dist_out)
    return idx_out, dist_out


def knn_hnsw(
    X: np.ndarray,
    k: int,
    *,
    metric: str = "euclidean",
    m: int | None = None,
    ef_search: int = 128,
    ef_construction: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``k`` nearest neighbours with a faiss HNSW index.

    ``m`` links per node (default 32, or 16 above :data:`HNSW_SLIM_ABOVE` points, to
    bound memory); ``ef_construction`` and ``ef_search`` are candidate-list sizes
    (larger: more exact, slower). Memory: the index's copy of the points (``4 d`` bytes
    each) and ``8 m`` bytes of level-0 links per point.
    """
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "approximate neighbours need faiss: pip install 'deepclust[faiss]' (faiss-cpu)"
        ) from exc
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    if metric in ("cosine", "abs_cosine") and not _unit_rows(Xf):
        # rows that are unit already (SCDSC's FINCH features) are indexed as given: a
        # normalised copy of 10^7 x 32 features would be another 1.3 GB
        Xf = _normalise(Xf)
    # faiss draws HNSW node levels from its own fixed seed; the graph is then
    # reproducible single-threaded, and may differ slightly between multi-threaded runs.
    if m is None:
        m = 16 if len(Xf) > HNSW_SLIM_ABOVE else 32
    index = faiss.IndexHNSWFlat(Xf.shape[1], int(m))
    index.hnsw.efConstruction = ef_construction
    index.hnsw.efSearch = max(ef_search, k + 1)
    index.add(Xf)
    D, I = index.search(Xf, k + 1)
    # Drop the self-match (usually first; if a duplicate came first, drop by identity).
    self_hit = I == np.arange(len(Xf))[:, None]
    keep = ~self_hit
    has_self = self_hit.any(1)
    keep[~has_self, -1] = False  # no self found: drop the farthest instead
    I = I[keep].reshape(len(Xf), k)
    D = D[keep].reshape(len(Xf), k)
    # faiss returns squared L2; on unit vectors ||a-b||^2 = 2 - 2cos, so 1 - cos = half of it.
    D = np.sqrt(np.maximum(D, 0.0)) if metric == "euclidean" else np.maximum(D, 0.0) / 2.0
    return I.astype(np.int64), D.astype(np.float32)


def knn(
    X: np.ndarray,
    k: int,
    *,
    metric: str = "euclidean",
    method: str = "auto",
    exact_limit: int = EXACT_LIMIT,
    ef_search: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` nearest neighbours (excluding self): exact for n <= ``exact_limit``, else HNSW.

    Parameters
    ----------
    X : ndarray (n, d)
    k : int
    metric : {"euclidean", "cosine", "abs_cosine"}
        ``"abs_cosine"`` is searched exactly whatever ``method`` says (HNSW has no such
        metric).
    method : {"auto", "exact", "hnsw"}
    ef_search : int
        HNSW search breadth (accuracy/speed trade-off of the approximate path).
    """
    if metric not in ("euclidean", "cosine", "abs_cosine"):
        raise ConfigError(
            f"metric={metric!r} is unknown; expected 'euclidean', 'cosine' or 'abs_cosine'"
        )
    n = X.shape[0]
    if not 1 <= k < n:
        raise ConfigError(f"k={k} neighbours need 1 <= k < n_samples={n}")
    if method == "auto" or metric == "abs_cosine":
        method = "exact" if n <= exact_limit or metric == "abs_cosine" else "hnsw"
    if method == "exact":
        return knn_exact(X, k, metric=metric)
    if method == "hnsw":
        return knn_hnsw(X, k, metric=metric, ef_search=ef_search)
    raise ConfigError(f"method={method!r} is unknown; expected 'auto', 'exact' or 'hnsw'")
