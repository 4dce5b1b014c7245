"""Losses of GATCluster's image baselines IIC and DAC.

* IIC (Ji, Henriques, Vedaldi; ICCV 2019), eq. (3): the mutual information between the
  cluster assignments of an image and of its transformed copy. ``P = mean_i
  phi(x_i) phi(x'_i)^T`` (symmetrised), ``I(z, z') = sum_cc' P_cc' log(P_cc' / (P_c P_c'))``;
  the loss is ``-I``.
* DAC (Chang, Wang, Meng, Xiang, Pan; ICCV 2017), eqs. (4)-(8): label features on the
  unit sphere, their cosine similarities, and a binary cross entropy only on the pairs
  the adaptive thresholds select: similar above ``u(lambda)``, dissimilar below
  ``l(lambda)``; ``lambda`` grows each epoch until ``u <= l``.
"""

from __future__ import annotations

import torch

from ..precision import in_float32

_EPS = 1e-8


@in_float32
def joint_assignment(p: torch.Tensor, p_t: torch.Tensor) -> torch.Tensor:
    """IIC's ``P`` (k x k): mean outer product of the two views' assignments, symmetrised."""
    joint = p.T @ p_t / len(p)
    joint = 0.5 * (joint + joint.T)
    return joint / joint.sum().clamp_min(_EPS)


@in_float32
def iic_loss(p: torch.Tensor, p_t: torch.Tensor) -> torch.Tensor:
    """``-I(z, z')`` for soft assignments ``p``, ``p_t`` ``(n, k)`` of an image and its copy."""
    joint = joint_assignment(p, p_t).clamp_min(_EPS)
    pi = joint.sum(1, keepdim=True)
    pj = joint.sum(0, keepdim=True)
    return -(joint * (joint.log() - pi.log() - pj.log())).sum()


@in_float32
def dac_thresholds(lam: float, upper0: float = 0.95, lower0: float = 0.455) -> tuple[float, float]:
    """DAC's thresholds: ``u = 0.95 - lambda`` and ``l = 0.455 + 0.1 lambda``."""
    return upper0 - lam, lower0 + 0.1 * lam


@in_float32
def dac_loss(
    l: torch.Tensor, upper: float, lower: float, select: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """BCE on the selected pairs of unit label features ``l`` ``(n, k)``; also the share selected.

    Similar pairs (cosine > ``upper``) are pulled to 1, dissimilar ones (< ``lower``)
    pushed to 0, the rest do not count (DAC eq. 8). The pairs are chosen on ``select``
    (unit features of the same images, e.g. un-transformed, without gradient) when
    given, on ``l`` otherwise. Returns ``(loss, selected share)``.
    """
    sim = (l @ l.T).clamp(1e-6, 1.0 - 1e-6)  # float32: 1 - 1e-8 rounds to 1
    with torch.no_grad():
        chooser = sim if select is None else select @ select.T
        pos = chooser > upper
        neg = chooser < lower
        pos.fill_diagonal_(False)
        neg.fill_diagonal_(False)
    chosen = pos | neg
    bce = torch.where(pos, -sim.log(), -(1 - sim).log())
    # a masked mean (0 when no pair is chosen) rather than a branch on the host
    loss = (bce * chosen).sum() / chosen.sum().clamp_min(1)
    return loss, chosen.float().mean()


__all__ = ["dac_loss", "dac_thresholds", "iic_loss", "joint_assignment"]
