"""EnSC: elastic-net subspace clustering with the oracle-guided active-set solver.

You, Li, Robinson and Vidal, "Oracle based active set algorithm for scalable elastic
net subspace clustering" (CVPR 2016), a baseline of MLC's Table 1. Every unit-norm
sample ``x_j`` is coded by the others through

    min_c  lam ||c||_1 + (1 - lam) / 2 ||c||_2^2 + gamma / 2 ||x_j - X c||_2^2,  c_j = 0,

and spectral clustering runs on ``|C| + |C|^T``. The solver (ORGEN) never touches all
``n`` atoms at once: it solves the problem on a small active set ``T``, forms the oracle
point ``delta = gamma (x_j - X_T c_T)``, and adds the atoms outside ``T`` with
``|x_i^T delta| > lam`` (exactly those whose inclusion could lower the objective); when
there are none, ``c_T`` solves the full problem. Here blocks of samples advance together:
the restricted problems (``support`` atoms each) are solved by batched FISTA, and the
oracle test is one matrix product per block.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch

from ..base import BaseClusterer
from ..validation import N_CLUSTERS, SEED, positive_int, positive_real, unit_interval
from .classic import spectral_labels

#: FISTA iterations of each restricted problem, and the relative slack of the oracle test
#: (the restricted solutions are iterative, so |x_i^T delta| = lam is met only closely)
_INNER = 500
_SLACK = 1e-3


def elastic_net_fista(
    A: torch.Tensor, x: torch.Tensor, lam: float, gamma: float, iterations: int = 200
) -> torch.Tensor:
    """Batched elastic net: for each ``b``, ``min_c lam |c|_1 + (1-lam)/2 |c|^2 +
    gamma/2 |x_b - A_b c|^2`` with ``A`` (B, D, m), ``x`` (B, D); returns (B, m)."""
    AtA = A.transpose(1, 2) @ A
    Atx = (A.transpose(1, 2) @ x[:, :, None])[..., 0]
    lipschitz = gamma * torch.linalg.matrix_norm(AtA, ord=2) + (1.0 - lam)
    step = (1.0 / lipschitz)[:, None]
    c = torch.zeros_like(Atx)
    y, t = c.clone(), 1.0
    for _ in range(int(iterations)):
        grad = gamma * ((AtA @ y[:, :, None])[..., 0] - Atx) + (1.0 - lam) * y
        v = y - step * grad
        c_next = torch.sign(v) * torch.clamp(v.abs() - step * lam, min=0.0)
        t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t) ** 0.5)
        y = c_next + ((t - 1.0) / t_next) * (c_next - c)
        c, t = c_next, t_next
    return c


def ensc_codes(
    X: np.ndarray,
    lam: float,
    gamma: float,
    support: int,
    max_rounds: int = 10,
    block: int = 256,
) -> tuple[sp.csr_matrix, int]:
    """EnSC codes of the unit-norm rows of ``X`` (row ``j`` codes sample ``j``) by the
    oracle-guided active set; also the number of samples still violating the oracle
    test after ``max_rounds`` (0: every code is optimal)."""
    Xt = torch.as_tensor(X, dtype=torch.float64)
    n = len(Xt)
    m = int(min(support, n - 1))
    rows, cols, vals, unresolved = [], [], [], 0
    for start in range(0, n, block):
        idx = torch.arange(start, min(start + block, n))
        active, coef, left = _orgen_block(Xt, idx, lam, gamma, m, max_rounds)
        unresolved += left
        rows.append(np.repeat(idx.numpy(), m))
        cols.append(active.reshape(-1).numpy())
        vals.append(coef.reshape(-1).numpy())
    data = np.concatenate(vals)
    keep = data != 0
    C = sp.csr_matrix(
        (data[keep], (np.concatenate(rows)[keep], np.concatenate(cols)[keep])), shape=(n, n)
    )
    return C, unresolved


def _orgen_block(
    X: torch.Tensor, idx: torch.Tensor, lam: float, gamma: float, m: int, max_rounds: int
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """ORGEN for the samples ``idx``: active sets (b, m), their codes, unresolved count."""
    b = len(idx)
    target = X[idx]
    corr_all = target @ X.T  # (b, n): the initial guess is the most correlated atoms
    corr_all[torch.arange(b), idx] = 0.0
    active = corr_all.abs().topk(m, dim=1).indices
    left = b
    for _ in range(int(max_rounds)):
        coef = elastic_net_fista(X[active].transpose(1, 2), target, lam, gamma, _INNER)
        delta = gamma * (target - torch.einsum("bm,bmd->bd", coef, X[active]))
        score = (delta @ X.T).abs()  # the oracle test |x_i^T delta| for every atom
        score[torch.arange(b), idx] = 0.0
        inside = torch.zeros_like(score, dtype=torch.bool).scatter_(1, active, True)
        violating = (score > lam * (1 + _SLACK)) & ~inside
        left = int(violating.any(1).sum())
        if left == 0:
            break
        # keep the atoms the code uses, fill the rest with the strongest violators
        used = torch.zeros_like(inside).scatter_(1, active, coef != 0)
        priority = torch.where(used, torch.inf, torch.where(inside, 0.0, score))
        active = priority.topk(m, dim=1).indices
    coef = elastic_net_fista(X[active].transpose(1, 2), target, lam, gamma, _INNER)
    return active, coef, left


class EnSC(BaseClusterer):
    """Elastic-net subspace clustering (ORGEN active-set solver).

    Parameters
    ----------
    n_clusters : int
    l1_ratio : float in (0, 1]
        ``lam``: the l1 share of the regulariser (1 is SSC's l1, near 0 ridge-like).
    gamma : float
        Weight of the self-expression residual.
    support : int
        Size of each sample's active set; it must exceed the number of atoms a code
        uses (the l2 part spreads codes over many same-subspace samples), else the
        oracle test cannot be met and ``unresolved_`` counts the samples concerned.
    max_rounds : int
        Active-set updates per sample (ORGEN usually settles in a few).
    n_init : int
        k-means restarts of the spectral step.
    random_state : int or None

    Attributes
    ----------
    labels_, coefficients_ (sparse, row j codes sample j), affinity_, embedding_,
    unresolved_ (samples whose oracle test still failed after ``max_rounds``)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "l1_ratio": [unit_interval(closed="right")],
        "gamma": [positive_real()],
        "support": [positive_int()],
        "max_rounds": [positive_int()],
        "n_init": [positive_int()],
        "random_state": SEED,
    }

    def __init__(
        self,
        n_clusters: int = 8,
        l1_ratio: float = 0.9,
        gamma: float = 50.0,
        support: int = 50,
        max_rounds: int = 10,
        n_init: int = 10,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.l1_ratio = l1_ratio
        self.gamma = gamma
        self.support = support
        self.max_rounds = max_rounds
        self.n_init = n_init
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        U = X / np.where(norms > 0, norms, 1.0)
        C, self.unresolved_ = ensc_codes(U, float(self.l1_ratio), float(self.gamma),
                                         int(self.support), int(self.max_rounds))  # fmt: skip
        self.coefficients_ = C
        self.affinity_ = (abs(C) + abs(C).T).tocsr()
        self.embedding_, self.labels_ = spectral_labels(
            self.affinity_, self.n_clusters, self.n_init, self.random_state
        )
