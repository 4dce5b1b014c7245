"""Coding rates of MCR^2 (Yu et al. 2020) as used by MLC (Ding et al., ICCV 2023).

Features are rows here: ``Z`` is ``(n, d)`` with unit-norm rows (the paper's ``Z`` is
``d x n`` with unit columns). Every rate is ``log det(I + c W)`` of a positive
semi-definite Gram matrix, computed by a Cholesky factorisation on whichever side is
smaller (Sylvester: ``det(I_d + c Z^T Z) = det(I_n + c Z Z^T)``), so it cannot produce
the NaN a general ``logdet`` gives on a matrix that rounding left a hair indefinite.

* :func:`coding_rate` ``R(Z; eps)`` (MLC eq. 1);
* :func:`compression_rate_labels` ``R_c(Z, Pi; eps)`` of a hard ``n x k`` membership
  (eq. 1, the supervised MCR^2);
* :func:`compression_rate` the ``R_c`` of eq. (4): each of the ``n`` columns of a
  doubly stochastic ``Pi`` is a soft cluster, all in one batched call;
* :func:`mlc_loss` the negative of objective (4), with ``gamma / 2 ||Pi||_F^2``;
* :func:`tcr_loss` the negative of the self-supervised objective (5).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ..precision import in_float32


class _LogdetIdentityPlus(torch.autograd.Function):
    """``log det(I + s G)`` by Cholesky, with the gradient ``s (I + s G)^{-1}`` from the
    factor (``cholesky_inverse``): about 6x cheaper than differentiating through the
    factorisation for a batch of 128 x 128 matrices."""

    @staticmethod
    def forward(ctx, gram: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        m = gram.shape[-1]
        sym = 0.5 * (gram + gram.transpose(-1, -2))
        a = torch.eye(m, dtype=gram.dtype, device=gram.device) + scale * sym
        chol = torch.linalg.cholesky(a)
        ctx.save_for_backward(chol, sym, scale)
        return 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)

    @staticmethod
    @once_differentiable  # the saved factor is detached: no second derivative
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # noqa: ANN001
        chol, sym, scale = ctx.saved_tensors
        inverse = torch.cholesky_inverse(chol) * grad[..., None, None]  # d/dA, times grad
        grad_gram = scale * inverse if ctx.needs_input_grad[0] else None
        grad_scale = None
        if ctx.needs_input_grad[1]:  # d/ds log det(I + s G) = tr((I + s G)^{-1} G)
            grad_scale = (inverse * sym).sum((-1, -2), keepdim=True)
        return grad_gram, grad_scale


@in_float32
def logdet_identity_plus(gram: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """``log det(I + scale * gram)`` for a (batch of) symmetric PSD ``gram``.

    ``scale`` (>= 0) is a number or a tensor broadcast over the batch dimensions. By
    Cholesky: ``2 sum log diag(L)``. Every eigenvalue of ``I + scale * gram`` is at
    least 1, so the factorisation needs no jitter, only symmetry (restored here).
    """
    if torch.is_tensor(scale):
        scale = scale.to(gram.dtype).reshape(scale.shape + (1, 1))
    else:
        scale = torch.tensor(float(scale), dtype=gram.dtype, device=gram.device)
    return _LogdetIdentityPlus.apply(gram, scale)


def weighted_grams(z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``Z^T Diag(w_j) Z`` for every column ``w_j`` of ``weights`` ``(n, m)``: ``(m, d, d)``.

    One matrix product over the ``d (d + 1) / 2`` distinct entries of the symmetric
    results (``O(n m d^2 / 2)``, memory ``n d^2 / 2``), mirrored into full matrices;
    several times faster on a CPU than the equivalent ``einsum``.
    """
    d = z.shape[1]
    rows, cols = torch.triu_indices(d, d, device=z.device)
    upper = weights.T @ (z[:, rows] * z[:, cols])
    grams = upper.new_zeros(weights.shape[1], d, d)
    grams[:, rows, cols] = upper
    grams[:, cols, rows] = upper  # the diagonal is written twice with the same values
    return grams


def _cast(z: torch.Tensor, float64: bool) -> torch.Tensor:
    return z.double() if float64 else z


@in_float32
def coding_rate(z: torch.Tensor, eps2: float, float64: bool = False) -> torch.Tensor:
    """``R(Z; eps) = log det(I + d / (n eps^2) Z^T Z)`` for ``z`` of shape ``(n, d)``.

    ``eps2`` is ``eps^2`` (MLC: 0.1 for eq. 4, 0.2 for the initialisation, eq. 5).
    """
    z = _cast(z, float64)
    n, d = z.shape
    gram = z.T @ z if d <= n else z @ z.T
    return logdet_identity_plus(gram, d / (n * eps2))


@in_float32
def compression_rate_labels(
    z: torch.Tensor, membership: torch.Tensor, eps2: float, float64: bool = False
) -> torch.Tensor:
    """Supervised ``R_c`` of MLC eq. (1) for a membership ``(n, k)`` (one-hot or soft).

    ``sum_j (n_j / n) log det(I + d / (n_j eps^2) Z^T Diag(Pi_j) Z)``, ``n_j`` the
    column sums; empty clusters contribute nothing.
    """
    z, membership = _cast(z, float64), _cast(membership, float64).to(z.dtype)
    n, d = z.shape
    sizes = membership.sum(0)
    keep = sizes > 0
    pi, sizes = membership[:, keep], sizes[keep]
    grams = weighted_grams(z, pi)
    return (sizes / n * logdet_identity_plus(grams, d / (sizes * eps2))).sum()


@in_float32
def compression_rate(
    z: torch.Tensor, pi: torch.Tensor, eps2: float, float64: bool = False
) -> torch.Tensor:
    """``R_c(Z, Pi; eps) = 1/n sum_j log det(I + d / eps^2 Z^T Diag(Pi_j) Z)`` (MLC eq. 4).

    ``pi`` is the ``(n, n)`` doubly stochastic membership; column ``j`` weighs the
    points of the soft cluster around point ``j``. All ``n`` determinants in one
    batched Cholesky, on the ``d x d`` side when ``d <= n`` (memory ``n d^2``) and on
    the ``n x n`` side otherwise (memory ``n^3``).
    """
    z, pi = _cast(z, float64), _cast(pi, float64).to(z.dtype)
    n, d = z.shape
    if d <= n:
        grams = weighted_grams(z, pi)  # Z^T Diag(Pi_j) Z per column j
    else:
        root = pi.clamp_min(0).sqrt().T  # (j, i): Diag(sqrt Pi_j) Z Z^T Diag(sqrt Pi_j)
        grams = root[:, :, None] * (z @ z.T)[None] * root[:, None, :]
    return logdet_identity_plus(grams, d / eps2).sum() / n


@in_float32
def mlc_loss(
    z: torch.Tensor, pi: torch.Tensor, eps2: float = 0.1, gamma: float = 0.05
) -> dict[str, torch.Tensor]:
    """The negative of MLC objective (4): ``-R + R_c + gamma / 2 ||Pi||_F^2``.

    Returns the loss and its three terms (``expansion`` R, ``compression`` R_c,
    ``regulariser`` the Frobenius term) for logging.
    """
    expansion = coding_rate(z, eps2)
    compression = compression_rate(z, pi, eps2)
    regulariser = 0.5 * gamma * pi.pow(2).sum()
    return {
        "loss": -expansion + compression + regulariser,
        "expansion": expansion,
        "compression": compression,
        "regulariser": regulariser,
    }


@in_float32
def tcr_loss(
    z: torch.Tensor, z_other: torch.Tensor, eps2: float = 0.2, lam: float = 1.0
) -> dict[str, torch.Tensor]:
    """The negative of MLC's self-supervised objective (5) for two views ``(n, d)``.

    ``-R((Z + Z') / 2; eps) - lam * mean_i |z_i^T z'_i|``. The paper writes the
    invariance term as a sum over the batch; the mean keeps ``lam`` independent of the
    batch size (NMCE's ``z_weight`` is the weight of the same mean).
    """
    rate = coding_rate(0.5 * (z + z_other), eps2)
    agreement = (z * z_other).sum(1).abs().mean()
    return {"loss": -rate - lam * agreement, "rate": rate, "agreement": agreement}
