"""A-DATSC's self-expression and subspace-discriminator terms (§5.1.4, §5.2), as pure functions.

Shapes: latents ``z`` are ``(n, D)``; subspace bases ``U`` are ``(K, D, r)``; a window's
embeddings ``Z`` are ``(B, T, D)`` with coefficients ``C`` ``(B, T, T)``.
"""

from __future__ import annotations

import torch

from ..precision import in_float32


@in_float32
def soft_threshold(c: torch.Tensor, threshold: float) -> torch.Tensor:
    """Shrinkage ``sign(c) max(|c| - threshold, 0)`` (§5.1.4's sparsity operator)."""
    return torch.sign(c) * torch.clamp(c.abs() - threshold, min=0.0)


@in_float32
def temporal_weights(q: torch.Tensor, sigma_t: float) -> torch.Tensor:
    """``w_ts = q_t^T q_s exp(-|t - s| / sigma_t)`` for assignments ``q`` ``(B, T, K)``."""
    t = torch.arange(q.shape[1], device=q.device, dtype=q.dtype)
    decay = torch.exp(-(t[:, None] - t[None, :]).abs() / float(sigma_t))
    return (q @ q.transpose(1, 2)) * decay


@in_float32
def self_expression_loss(
    z: torch.Tensor, c: torch.Tensor, lam: float, centre: bool = False, relative: bool = False
) -> torch.Tensor:
    """Eq. (5): ``||Z - C Z||_F^2 + lam ||C||_1``, summed over windows, divided by the count.

    ``centre=True`` applies it to ``Z`` minus each window's mean (see
    :class:`~deepclust.nn.temporal_subspace.SelfExpressiveTemporal`). ``relative=True``
    divides each window's residual by ``||Z||_F^2``: the printed form is smallest for
    ``Z -> 0``, which a decoder with skip connections does not prevent (the embeddings
    of every time step then coincide); the ratio is unchanged by rescaling ``Z``.
    """
    if centre:
        z = z - z.mean(dim=1, keepdim=True)
    residual = (z - c @ z).pow(2).sum(dim=(1, 2))
    if relative:
        residual = residual / z.pow(2).sum(dim=(1, 2)).clamp_min(1e-12)
    per_window = residual + lam * c.abs().sum(dim=(1, 2))
    return per_window.mean()


@in_float32
def residual_energy(z: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    """``E(z; U_k) = ||z - U_k U_k^T z||^2`` for every latent and every cluster: ``(n, K)``.

    Expanded as ``||z||^2 - 2 ||c||^2 + c^T (U_k^T U_k) c`` with ``c = U_k^T z``, exact
    for any ``U_k`` (orthonormal or not), so that no ``(n, K, D)`` projection is formed:
    O(n K r D) time and O(n K r) memory, which matters for wide latents (a convolutional
    code of a 32 x 32 image has thousands of dimensions).
    """
    coords = torch.einsum("nd,kdr->nkr", z, bases)
    gram = bases.transpose(1, 2) @ bases
    quad = torch.einsum("nkr,krs,nks->nk", coords, gram, coords)
    energy = z.pow(2).sum(-1, keepdim=True) - 2.0 * coords.pow(2).sum(-1) + quad
    return energy.clamp_min(0.0)


@in_float32
def orthogonality_penalty(bases: torch.Tensor) -> torch.Tensor:
    """``sum_k ||U_k^T U_k - I||_F^2``."""
    gram = bases.transpose(1, 2) @ bases
    eye = torch.eye(bases.shape[-1], device=bases.device, dtype=bases.dtype)
    return (gram - eye).pow(2).sum()


@in_float32
def cross_subspace_penalty(bases: torch.Tensor) -> torch.Tensor:
    """``sum_{i != j} ||U_i^T U_j||_F^2``."""
    cross = torch.einsum("idr,jds->ijrs", bases, bases).pow(2).sum(dim=(2, 3))
    return cross.sum() - cross.diagonal().sum()


@in_float32
def discriminator_loss(
    real: torch.Tensor,
    real_cluster: torch.Tensor,
    fake: torch.Tensor,
    fake_cluster: torch.Tensor,
    bases: torch.Tensor,
    margin: float = 1.0,
    beta_orth: float = 1.0,
    beta_cross: float = 1.0,
) -> torch.Tensor:
    """``L_D`` of §5.2: the hinge ``max(0, E(z_real) - E_bar(z_fake) + m)`` plus both penalties.

    Energies are on each point's own cluster's subspace; ``E_bar`` is the mean energy of
    the fakes of the real point's cluster (a cluster without fakes contributes no hinge).
    """
    k = bases.shape[0]
    e_real = residual_energy(real, bases).gather(1, real_cluster[:, None]).squeeze(1)
    e_fake = residual_energy(fake, bases).gather(1, fake_cluster[:, None]).squeeze(1)
    total = torch.zeros(k, device=fake.device, dtype=fake.dtype).index_add_(0, fake_cluster, e_fake)
    count = torch.bincount(fake_cluster, minlength=k).to(fake.dtype)
    has_fake = count[real_cluster] > 0
    mean_fake = (total / count.clamp_min(1.0))[real_cluster]
    hinge = torch.clamp(e_real - mean_fake + margin, min=0.0)
    # the mean over real samples whose cluster has fakes (0 if none): masked, no branch
    hinge = (hinge * has_fake).sum() / has_fake.sum().clamp_min(1)
    return (
        hinge
        + beta_orth * orthogonality_penalty(bases)
        + beta_cross * cross_subspace_penalty(bases)
    )


@in_float32
def adversarial_loss(
    fake: torch.Tensor, fake_cluster: torch.Tensor, bases: torch.Tensor, relative: bool = False
) -> torch.Tensor:
    """``L_adv = E_fake E(z_fake; U)`` on each fake's own cluster's subspace (§5.2).

    ``relative=True`` uses ``E(z; U) / ||z||^2`` (the squared sine of the angle between
    ``z`` and the subspace), which, unlike the energy, cannot be lowered by shrinking
    the embeddings towards zero.
    """
    energy = residual_energy(fake, bases).gather(1, fake_cluster[:, None]).squeeze(1)
    if relative:
        energy = energy / fake.pow(2).sum(-1).clamp_min(1e-12)
    return energy.mean()


@in_float32
def marginal_balance(q: torch.Tensor) -> torch.Tensor:
    """``KL(q_bar || u)`` of eq. (6): batch-average assignment against the uniform."""
    q_bar = q.reshape(-1, q.shape[-1]).mean(0).clamp_min(1e-12)
    return (q_bar * torch.log(q_bar * q.shape[-1])).sum()


@in_float32
def negative_mutual_information(q: torch.Tensor) -> torch.Tensor:
    """``L_MI`` of eq. (6) as ``-I(t; c) = E_t H(q_t) - H(q_bar)`` over the batch.

    The mutual information between a time step and its cluster is high when every
    ``q_t`` is confident and the clusters are used evenly; a degenerate solution (all
    ``q_t`` equal, or one cluster) has ``I = 0``. Balanced one-hot assignments reach the
    minimum ``-log K``.
    """
    flat = q.reshape(-1, q.shape[-1]).clamp_min(1e-12)
    per_step = -(flat * torch.log(flat)).sum(-1).mean()
    q_bar = flat.mean(0)
    return per_step + (q_bar * torch.log(q_bar)).sum()


@in_float32
def redundancy_penalty(q: torch.Tensor) -> torch.Tensor:
    """``L_MI`` of eq. (6) by covariance de-correlation of the cluster columns.

    The paper names "contrastive or covariance de-correlation"; note that the columns of
    a partition are negatively correlated by construction (rows sum to 1), so this form
    alone is smallest for nearly constant ``q`` and, without the DEC term, favours soft
    assignments; :func:`negative_mutual_information` is the default.

    The squared off-diagonal entries of the correlation matrix of the assignment columns
    ``q[:, k]`` across the batch: two clusters that always rise and fall together carry
    the same information (the paper names contrastive or covariance de-correlation).
    """
    flat = q.reshape(-1, q.shape[-1])
    centred = flat - flat.mean(0, keepdim=True)
    cov = centred.T @ centred / max(1, flat.shape[0] - 1)
    std = cov.diagonal().clamp_min(1e-12).sqrt()
    corr = cov / (std[:, None] * std[None, :])
    off = corr - torch.diag(corr.diagonal())
    return off.pow(2).sum() / max(1, q.shape[-1] * (q.shape[-1] - 1))


__all__ = [
    "adversarial_loss",
    "cross_subspace_penalty",
    "discriminator_loss",
    "marginal_balance",
    "negative_mutual_information",
    "orthogonality_penalty",
    "redundancy_penalty",
    "residual_energy",
    "self_expression_loss",
    "soft_threshold",
    "temporal_weights",
]
