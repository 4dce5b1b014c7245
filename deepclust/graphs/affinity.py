"""Affinity matrices over k-nearest-neighbour graphs."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..exceptions import ConfigError


def subsample_neighbours(
    indices: np.ndarray, distances: np.ndarray, n_keep: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``n_keep`` of each row's neighbours, chosen uniformly at random.

    DGG §4.2 keeps 20 random neighbours among the 100 nearest. Vectorised: a random key
    per entry, and each row keeps the entries with the ``n_keep`` smallest keys (then
    re-sorted nearest first).
    """
    n, k = indices.shape
    if n_keep >= k:
        return indices, distances
    keys = rng.random((n, k))
    pick = np.argpartition(keys, n_keep - 1, axis=1)[:, :n_keep]
    pick.sort(axis=1)  # columns were nearest-first, keep that order
    return np.take_along_axis(indices, pick, 1), np.take_along_axis(distances, pick, 1)


def gaussian_affinity(distances: np.ndarray, scale: str | float = "median") -> np.ndarray:
    """Row-normalised Gaussian kernel weights on a kNN graph (DGG eq. 32).

    ``w_ij = exp(-d_ij^2 / (2 s_i^2)) / a_i`` for the listed neighbours ``j`` of ``i``,
    with ``a_i`` making each row sum to one.

    Parameters
    ----------
    distances : ndarray (n, k)
        Distances from each sample to its neighbours.
    scale : "median" or float
        The kernel width ``s_i``: the median of the row's neighbour distances (local
        scaling, so dense and sparse regions get comparable weights), or one fixed value.
    """
    d = np.asarray(distances, dtype=np.float64)
    if isinstance(scale, str):
        if scale != "median":
            raise ConfigError(f"scale={scale!r} is unknown; expected 'median' or a number")
        s = np.median(d, axis=1, keepdims=True)
    else:
        s = np.full((d.shape[0], 1), float(scale))
    s = np.maximum(s, 1e-12)
    # Subtracting the row minimum before exp keeps the nearest weight at exp(0) and
    # avoids underflow of all weights when distances are large; it cancels in a_i.
    logits = -(d**2 - (d.min(axis=1, keepdims=True)) ** 2) / (2.0 * s**2)
    w = np.exp(logits)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def neighbour_graph(
    indices: np.ndarray, weights: np.ndarray, n: int | None = None
) -> sparse.csr_matrix:
    """Sparse (n x n) matrix with ``W[i, indices[i, s]] = weights[i, s]``."""
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    n = n or indices.shape[0]
    W = sparse.csr_matrix(
        (np.asarray(weights, dtype=np.float64).ravel(), (rows, indices.ravel())), shape=(n, n)
    )
    W.sum_duplicates()
    return W
