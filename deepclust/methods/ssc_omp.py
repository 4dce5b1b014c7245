"""SSC-OMP: sparse subspace clustering by orthogonal matching pursuit.

You, Robinson and Vidal, "Scalable sparse subspace clustering by orthogonal matching
pursuit" (CVPR 2016), a baseline of MLC's Table 1. Every (unit-normalised) sample
``x_j`` is written as a sparse combination of the other samples by OMP: up to
``n_nonzero`` atoms, picked greedily by ``|x_i^T r|`` with the residual ``r``
re-fitted by least squares after each pick, stopping early once ``||r|| <= tol``.
The affinity ``W = |C| + |C|^T`` is sparse (``n_nonzero`` entries per column) and
spectral clustering on it gives the labels.

Vectorised over blocks of samples (all residuals of a block advance together; the least
squares are one batched solve), so the cost is ``O(n * candidates * D * n_nonzero)``:
``n_candidates=None`` searches all samples (the paper), an integer restricts each
sample's dictionary to its nearest neighbours by ``|cos|`` (for 10^5 samples).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch

from ..base import BaseClusterer
from ..graphs.knn import knn
from ..validation import N_CLUSTERS, SEED, non_negative_real, positive_int
from .classic import spectral_labels


def omp_codes(
    X: np.ndarray,
    n_nonzero: int,
    tol: float = 1e-6,
    candidates: np.ndarray | None = None,
    block: int = 512,
) -> sp.csr_matrix:
    """Self-expressive OMP codes: row ``j`` of the result codes ``x_j`` (unit norm) by
    at most ``n_nonzero`` other rows. ``candidates`` (n, m) restricts each row's atoms."""
    Xt = torch.as_tensor(X, dtype=torch.float64)
    n = len(Xt)
    rows, cols, vals = [], [], []
    for start in range(0, n, block):
        idx = torch.arange(start, min(start + block, n))
        dic = None if candidates is None else torch.as_tensor(candidates[idx.numpy()])
        r_idx, c_idx, coef = _omp_block(Xt, idx, dic, n_nonzero, tol)
        rows.append(r_idx)
        cols.append(c_idx)
        vals.append(coef)
    data = np.concatenate(vals)
    keep = data != 0
    return sp.csr_matrix(
        (data[keep], (np.concatenate(rows)[keep], np.concatenate(cols)[keep])), shape=(n, n)
    )


def _omp_block(
    X: torch.Tensor, idx: torch.Tensor, dic: torch.Tensor | None, k: int, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OMP for the samples ``idx`` at once; returns COO entries of their codes."""
    b = len(idx)
    target = X[idx]  # (b, D)
    atoms = X if dic is None else X[dic]  # (n, D) shared, or (b, m, D) per sample
    allowed = torch.ones(b, len(X) if dic is None else dic.shape[1], dtype=torch.bool)
    if dic is None:
        allowed[torch.arange(b), idx] = False  # no sample codes itself
    else:
        allowed &= dic != idx[:, None]
    support = torch.zeros(b, 0, dtype=torch.long)
    residual = target.clone()
    active = torch.ones(b, dtype=torch.bool)
    coef = torch.zeros(b, 0, dtype=X.dtype)
    for _ in range(min(k, allowed.shape[1])):
        corr = residual @ atoms.T if dic is None else torch.einsum("bd,bmd->bm", residual, atoms)
        corr = corr.abs().masked_fill(~allowed, -1.0)
        pick = corr.argmax(1)
        allowed[torch.arange(b), pick] = False
        support = torch.cat([support, pick[:, None]], 1)
        chosen = atoms[support] if dic is None else atoms[torch.arange(b)[:, None], support]
        fresh = torch.linalg.lstsq(chosen.transpose(1, 2), target[:, :, None]).solution[..., 0]
        kept = torch.cat([coef, coef.new_zeros(b, 1)], 1)  # finished: earlier code, new atom 0
        coef = torch.where(active[:, None], fresh, kept)
        residual = target - torch.einsum("bt,btd->bd", coef, chosen)
        active &= residual.norm(dim=1) > tol
        if not active.any():
            break
    cols = support if dic is None else dic.gather(1, support)
    return (
        np.repeat(idx.numpy(), support.shape[1]),
        cols.reshape(-1).numpy(),
        coef.reshape(-1).numpy(),
    )


class SSCOMP(BaseClusterer):
    """Sparse subspace clustering by orthogonal matching pursuit.

    Parameters
    ----------
    n_clusters : int
    n_nonzero : int
        Atoms per sample (the paper's ``k_max``; about the subspace dimension).
    tol : float
        Residual norm at which OMP stops early (the paper's ``epsilon``).
    n_candidates : int or None
        Restrict each sample's dictionary to its nearest neighbours by ``|cos|``
        (None: every sample, the paper).
    n_init : int
        k-means restarts in the spectral step.
    random_state : int or None

    Attributes
    ----------
    labels_ : ndarray (n_samples,)
    coefficients_ : scipy.sparse.csr_matrix (n, n)
        Row ``j``: the code of sample ``j``.
    affinity_ : scipy.sparse.csr_matrix (n, n)
        ``|C| + |C|^T``.
    embedding_ : ndarray (n, n_clusters)
        The spectral embedding.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "n_nonzero": [positive_int()],
        "tol": [non_negative_real()],
        "n_candidates": [positive_int(), None],
        "n_init": [positive_int()],
        "random_state": SEED,
    }

    def __init__(
        self,
        n_clusters: int = 8,
        n_nonzero: int = 10,
        tol: float = 1e-6,
        n_candidates: int | None = None,
        n_init: int = 10,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_nonzero = n_nonzero
        self.tol = tol
        self.n_candidates = n_candidates
        self.n_init = n_init
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        U = X / np.where(norms > 0, norms, 1.0)
        candidates = None
        if self.n_candidates is not None and self.n_candidates < len(U) - 1:
            candidates = knn(U, int(self.n_candidates), metric="abs_cosine")[0]
        C = omp_codes(U, int(self.n_nonzero), float(self.tol), candidates)
        W = abs(C) + abs(C).T
        self.coefficients_, self.affinity_ = C, W.tocsr()
        self.embedding_, self.labels_ = spectral_labels(
            self.affinity_, self.n_clusters, self.n_init, self.random_state
        )
