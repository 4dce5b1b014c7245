"""The doubly stochastic projection ``P_{Omega, eta}`` of MLC (Ding et al., ICCV 2023).

``Pi = P_{Omega, eta}(K)`` is the entropy-regularised projection of a similarity ``K``
(``C^T C`` of the cluster head, §2.3) onto the doubly stochastic matrices ``Omega`` of
eq. (3): ``Pi = Diag(u) exp(K / eta) Diag(v)`` with ``Pi 1 = Pi^T 1 = 1``. Computed in
the log domain (``K / eta`` reaches hundreds for ``eta = 0.175``, which ``exp`` cannot
hold in float32) by a fixed number of alternating row and column normalisations, so
the layer is differentiable end to end and costs ``O(iterations n^2)``.
"""

from __future__ import annotations

import torch

from ..precision import in_float32


@in_float32
def sinkhorn_log(similarity: torch.Tensor, eta: float = 0.175, iterations: int = 5) -> torch.Tensor:
    """Doubly stochastic ``Pi`` from an ``(n, n)`` similarity, in the log domain.

    Starting from ``log Pi = K / eta``, each iteration subtracts the row log-sums and
    then the column log-sums. After the last (column) step every column sums to 1
    exactly; rows sum to 1 within the residual of the iteration, which shrinks
    geometrically: for ``C^T C`` of unit vectors and ``eta = 0.175``, 5 iterations leave
    row sums within about 1e-2 of 1 and 20 within 1e-5 (tests). Gradients flow through
    every iteration (no implicit differentiation).

    Parameters
    ----------
    similarity : tensor (n, n)
    eta : float
        Entropy weight: small values approach a permutation, large ones the uniform
        ``1/n`` matrix.
    iterations : int
        Row-then-column passes (MLC uses a few, like CPP's 5 half-steps).
    """
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity must be square (n, n); got {tuple(similarity.shape)}")
    if eta <= 0 or iterations < 1:
        raise ValueError(f"need eta > 0 and iterations >= 1; got {eta}, {iterations}")
    log_pi = similarity / eta
    for _ in range(int(iterations)):
        log_pi = log_pi - torch.logsumexp(log_pi, dim=1, keepdim=True)  # rows
        log_pi = log_pi - torch.logsumexp(log_pi, dim=0, keepdim=True)  # columns
    return log_pi.exp()


@in_float32
def membership(
    c: torch.Tensor, eta: float = 0.175, iterations: int = 5, absolute: bool = False
) -> torch.Tensor:
    """``Pi_theta = P_{Omega, eta}(C^T C)`` for cluster-head features ``c`` (n, d), rows
    on the unit sphere (MLC §2.3). ``absolute=True`` uses ``|C^T C|`` as the CPP code
    does (the paper writes ``C^T C``)."""
    kernel = c @ c.T
    return sinkhorn_log(kernel.abs() if absolute else kernel, eta, iterations)
