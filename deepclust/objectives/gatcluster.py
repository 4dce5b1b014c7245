"""GATCluster's four self-learning tasks and its total objective (Niu et al., ECCV 2020).

Label features ``l`` are softmax outputs ``(m, k)``; ``l_t`` those of transformed
images, ``l_a`` those of the attention module. Targets are computed once per outer
batch of ``M`` samples (Algorithm 1, step one) and are constants in the losses.

* Eq. (5): balanced target ``l_hat_ih ∝ l_ih / z_h`` with ``z_h = sum_j l_jh``.
* Eq. (4): transformation invariance ``L_T = -l_t . l_hat`` (mean over samples).
* Eq. (6): relation targets ``r_ij = 1`` for the same cluster (k-means on the label
  features) or ``i = j``; eq. (7): ``L_R`` the binary cross entropy between ``r_ij``
  and the cosine similarity of ``l_i`` and ``l_j``.
* Eq. (8): entropy ``L_E = sum_h p_h log p_h`` of the mean assignment ``p`` (its
  minimum, ``-log k``, is the uniform ``p``: no cluster empty).
* Eq. (11): sharpened target ``l_hat^a ∝ l_ih^2 / z_h``; eq. (10): ``L_A`` the mean
  binary cross entropy between ``l_a`` and it.
* Eq. (3): ``L = L_R + alpha1 L_T + alpha2 (L_E(l) + L_E(l_a)) + alpha3 L_A``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans

from ..precision import in_float32

_EPS = 1e-7


@in_float32
def balanced_target(l: torch.Tensor) -> torch.Tensor:
    """Eq. (5): ``l_ih / z_h`` renormalised per row (``z_h`` = column sums over ``M``)."""
    t = l / l.sum(0, keepdim=True).clamp_min(_EPS)
    return t / t.sum(1, keepdim=True).clamp_min(_EPS)


@in_float32
def sharpened_target(l: torch.Tensor) -> torch.Tensor:
    """Eq. (11): ``l_ih^2 / z_h`` renormalised per row."""
    t = l.pow(2) / l.sum(0, keepdim=True).clamp_min(_EPS)
    return t / t.sum(1, keepdim=True).clamp_min(_EPS)


@in_float32
def transformation_invariance_loss(l_t: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. (4): ``-l_t . l_hat``, averaged over the sub-batch."""
    return -(l_t * target).sum(1).mean()


@in_float32
def relation_labels(
    l: torch.Tensor, k: int, random_state: int | None = 0, min_fraction: float = 0.1,
    n_init: int = 20,
) -> np.ndarray:  # fmt: skip
    """Cluster ids behind eq. (6): k-means on the sharpened label features of the batch.

    When k-means leaves a cluster with fewer than ``min_fraction * M / k`` members (an
    empty or tiny cluster, typical early in training), the relations are not trusted:
    every sample gets its own id, so ``r`` is the identity (only ``r_ii = 1``).
    """
    feats = sharpened_target(l).detach().cpu().numpy().astype(np.float64)
    m = len(feats)
    ids = np.arange(m)
    if m < k:
        return ids
    km = KMeans(k, n_init=n_init, random_state=random_state).fit(feats)
    counts = np.bincount(km.labels_, minlength=k)
    if counts.min() < min_fraction * m / k:
        return ids
    return km.labels_.astype(np.int64)


@in_float32
def relation_targets(ids: torch.Tensor) -> torch.Tensor:
    """Eq. (6): ``r_ij = 1`` where ``c_i = c_j`` (which includes ``i = j``)."""
    return (ids[:, None] == ids[None, :]).to(torch.float32)


@in_float32
def separability_loss(l: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Eq. (7): BCE between ``r_ij`` and the cosine similarity of ``l_i``, ``l_j``.

    Averaged over the pairs ``i < j`` of the sub-batch (the matrix is symmetric and the
    diagonal is 1 on both sides).
    """
    u = l / l.norm(dim=1, keepdim=True).clamp_min(_EPS)
    d = (u @ u.T).clamp(_EPS, 1.0 - _EPS)
    bce = -(r * d.log() + (1 - r) * (1 - d).log())
    i, j = torch.triu_indices(len(l), len(l), offset=1, device=l.device)
    return bce[i, j].mean() if len(i) else l.new_zeros(())


@in_float32
def entropy_loss(l: torch.Tensor) -> torch.Tensor:
    """Eq. (8): ``sum_h p_h log p_h`` with ``p = mean_i l_i``."""
    p = l.mean(0)
    return (p * p.clamp_min(_EPS).log()).sum()


@in_float32
def attention_loss(l_a: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. (10): mean over clusters (and samples) of the BCE between ``l_a`` and its target."""
    la = l_a.clamp(_EPS, 1.0 - _EPS)
    return -(target * la.log() + (1 - target) * (1 - la).log()).mean()


@in_float32
def gatcluster_objective(
    l_t: torch.Tensor,
    l_a: torch.Tensor,
    target: torch.Tensor,
    target_a: torch.Tensor,
    r: torch.Tensor,
    alpha1: float = 5.0,
    alpha2: float = 5.0,
    alpha3: float = 3.0,
    weight_r: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Eq. (3) on a sub-batch of transformed images; returns the total and every term.

    ``l_a`` may be None (the ablation without attention): its terms are then zero.
    """
    terms = {
        "relation": separability_loss(l_t, r),
        "invariance": transformation_invariance_loss(l_t, target),
        "entropy": entropy_loss(l_t),
    }
    zero = l_t.new_zeros(())
    terms["entropy_attention"] = entropy_loss(l_a) if l_a is not None else zero
    terms["attention"] = attention_loss(l_a, target_a) if l_a is not None else zero
    terms["loss"] = (
        weight_r * terms["relation"]
        + alpha1 * terms["invariance"]
        + alpha2 * (terms["entropy"] + terms["entropy_attention"])
        + alpha3 * terms["attention"]
    )
    return terms


__all__ = [
    "attention_loss",
    "balanced_target",
    "entropy_loss",
    "gatcluster_objective",
    "relation_labels",
    "relation_targets",
    "separability_loss",
    "sharpened_target",
    "transformation_invariance_loss",
]
