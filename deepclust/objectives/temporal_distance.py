"""Distances between latent sequences for DTC's temporal clustering layer (Madiraju et al. 2018).

Every function takes ``a`` ``(n, L, C)`` and ``b`` ``(k, L, C)`` (sequences of length
``L`` with ``C`` channels) and returns the ``(n, k)`` matrix of distances.

* ``"eucl"``: Euclidean distance of the flattened sequences.
* ``"cid"``: complexity-invariant distance (Batista et al. 2014),
  ``ED(a, b) * max(CE(a), CE(b)) / min(CE(a), CE(b))`` with the complexity estimate
  ``CE(x) = sqrt(sum_t ||x_{t+1} - x_t||^2)``.
* ``"cor"``: ``sqrt(2 (1 - rho))`` with ``rho`` the Pearson correlation of the flattened
  sequences.
* ``"acf"``: Euclidean distance between the autocorrelation functions (lags
  ``1 .. L - 1``, per channel).
"""

from __future__ import annotations

import torch

from ..precision import in_float32

TEMPORAL_DISTANCES = ("eucl", "cid", "cor", "acf")


def _euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fa, fb = a.flatten(1), b.flatten(1)
    sq = fa.pow(2).sum(1, keepdim=True) - 2 * fa @ fb.T + fb.pow(2).sum(1)
    return sq.clamp_min(0.0).add(1e-12).sqrt()


def _complexity(x: torch.Tensor) -> torch.Tensor:
    return (x[:, 1:] - x[:, :-1]).pow(2).flatten(1).sum(1).add(1e-12).sqrt()


def _cid(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ca, cb = _complexity(a)[:, None], _complexity(b)[None, :]
    return _euclidean(a, b) * torch.maximum(ca, cb) / torch.minimum(ca, cb)


def _correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fa, fb = a.flatten(1), b.flatten(1)
    fa = fa - fa.mean(1, keepdim=True)
    fb = fb - fb.mean(1, keepdim=True)
    fa = fa / fa.norm(dim=1, keepdim=True).clamp_min(1e-12)
    fb = fb / fb.norm(dim=1, keepdim=True).clamp_min(1e-12)
    rho = (fa @ fb.T).clamp(-1.0, 1.0)
    return (2.0 * (1.0 - rho)).clamp_min(0.0).add(1e-12).sqrt()


@in_float32
def autocorrelation(x: torch.Tensor) -> torch.Tensor:
    """Autocorrelation of every channel at lags ``1 .. L - 1``: ``(n, L - 1, C)``."""
    centred = x - x.mean(1, keepdim=True)
    var = centred.pow(2).sum(1).clamp_min(1e-12)  # (n, C)
    length = x.shape[1]
    lags = [
        (centred[:, lag:] * centred[:, : length - lag]).sum(1) / var for lag in range(1, length)
    ]
    return torch.stack(lags, dim=1)


def _acf(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _euclidean(autocorrelation(a), autocorrelation(b))


_FUNCTIONS = {"eucl": _euclidean, "cid": _cid, "cor": _correlation, "acf": _acf}


@in_float32
def temporal_distance(a: torch.Tensor, b: torch.Tensor, metric: str = "eucl") -> torch.Tensor:
    """``(n, k)`` distances between sequences ``a`` ``(n, L, C)`` and ``b`` ``(k, L, C)``."""
    if metric not in _FUNCTIONS:
        raise ValueError(f"metric={metric!r}; expected one of {', '.join(TEMPORAL_DISTANCES)}")
    if metric == "acf" and a.shape[1] < 2:
        raise ValueError("the acf distance needs latent sequences of length >= 2")
    return _FUNCTIONS[metric](a, b)


@in_float32
def student_t_from_distance(d: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """DTC's eq. (1): ``q_ij ∝ (1 + d_ij^2 / alpha)^(-(alpha + 1) / 2)``, rows summing to 1."""
    q = (1.0 + d.pow(2) / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(1, keepdim=True)


__all__ = [
    "TEMPORAL_DISTANCES",
    "autocorrelation",
    "student_t_from_distance",
    "temporal_distance",
]
