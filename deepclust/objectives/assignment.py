"""Soft cluster assignments, their sharpened targets and the KL between them.

DEC (Xie et al. 2016) eqs. (1)-(3), reused by IDEC; the same sharpening is SCDSC's
eq. (8) and EDESC's target.
"""

from __future__ import annotations

import torch

from ..precision import in_float32

_EPS = 1e-10


@in_float32
def student_t_assignment(
    z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """``q_ij ∝ (1 + |z_i - mu_j|^2 / alpha)^(-(alpha + 1) / 2)``, rows summing to 1 (DEC eq. 1)."""
    d2 = torch.cdist(z, centers).pow(2)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


@in_float32
def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')`` with ``f_j = sum_i q_ij`` (DEC eq. 3).

    Squaring sharpens confident assignments; dividing by the soft cluster sizes ``f_j``
    keeps large clusters from absorbing everything. SCDSC eq. (8) is the same map
    applied to mini-cluster assignments.
    """
    weight = q.pow(2) / q.sum(dim=0, keepdim=True).clamp_min(_EPS)
    return weight / weight.sum(dim=1, keepdim=True).clamp_min(_EPS)


@in_float32
def kl_divergence(p: torch.Tensor, q: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """``KL(P || Q) = sum_ij p_ij log(p_ij / q_ij)`` (DEC eq. 2; SCDSC eqs. 9, 12).

    ``reduction``: ``"sum"`` over all entries, ``"batchmean"`` (sum / number of rows) or
    ``"mean"`` (sum / number of entries, as the SCDSC authors' code does).
    """
    terms = p * (torch.log(p.clamp_min(_EPS)) - torch.log(q.clamp_min(_EPS)))
    total = terms.sum()
    if reduction == "sum":
        return total
    if reduction == "batchmean":
        return total / p.shape[0]
    if reduction == "mean":
        return total / p.numel()
    raise ValueError(f"reduction={reduction!r}; expected 'sum', 'batchmean' or 'mean'")
