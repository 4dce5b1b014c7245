"""Subspace-basis clustering losses (EDESC, Cai et al. CVPR 2022; SCDSC eqs. 3-12).

All functions are pure: tensors in, tensors out, O(n) in the number of samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..precision import in_float32
from .assignment import kl_divergence, target_distribution


@in_float32
def subspace_affinity(
    z: torch.Tensor, D: torch.Tensor, n_clusters: int, eta: float = 5.0, squared: bool = True
) -> torch.Tensor:
    """Soft assignment of samples to subspaces (SCDSC eq. 3; EDESC eq. 4).

    ``D`` is (latent_dim, n_clusters * r): the bases ``D_j`` side by side. With
    ``a_ij = ||z_i^T D_j||^2`` (EDESC; ``squared=False`` gives the unsquared norm
    printed in SCDSC eq. 3), ``s_ij = (a_ij + eta r) / sum_j (a_ij + eta r)``; ``eta``
    is the smoothing constant (``theta`` in SCDSC). Rows sum to one.
    """
    r = D.shape[1] // n_clusters
    proj = (z @ D).reshape(z.shape[0], n_clusters, r)
    a = proj.pow(2).sum(-1)
    if not squared:
        a = a.clamp_min(1e-12).sqrt()
    s = a + eta * r
    return s / s.sum(dim=1, keepdim=True)


@in_float32
def block_mask(n_clusters: int, r: int, device: torch.device | None = None) -> torch.Tensor:
    """``O`` of eq. (4): 0 on the ``r x r`` diagonal blocks, 1 elsewhere."""
    eye_blocks = torch.block_diag(*[torch.ones(r, r, device=device)] * n_clusters)
    return 1.0 - eye_blocks


@in_float32
def basis_dissimilarity(
    D: torch.Tensor, n_clusters: int, squared: bool = True, reduction: str = "sum"
) -> torch.Tensor:
    """``phi(D) = ||D^T D ⊙ O||_F^2 + ||D^T D ⊙ I - I||_F^2`` (SCDSC eq. 4).

    The first term pushes bases of different subspaces to be orthogonal, the second
    keeps every basis vector at unit norm. ``squared=False`` sums the two Frobenius
    norms unsquared, as EDESC's released code does: its gradient has a bounded size,
    where the squared form's grows with the overlap (``phi = 175`` for k-means/SVD bases
    on the digits embedding, which then rotates the bases away from their clusters).
    ``reduction="mean"`` averages each term's squared entries over the entries it covers
    (``K (K - 1) d^2`` off-block, ``K d`` diagonal) instead of summing them, so its size
    does not grow with the number of clusters ``K`` or the basis size ``d``.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    r = D.shape[1] // n_clusters
    gram = D.T @ D
    eye = torch.eye(gram.shape[0], device=D.device, dtype=D.dtype)
    mask = block_mask(n_clusters, r, D.device).to(D.dtype)
    off = (gram * mask).pow(2).sum()
    diag = (gram * eye - eye).pow(2).sum()
    if reduction == "mean":
        off, diag = off / mask.sum().clamp_min(1.0), diag / gram.shape[0]
    if squared:
        return off + diag
    return off.clamp_min(1e-12).sqrt() + diag.clamp_min(1e-12).sqrt()


@in_float32
def minicluster_means(s: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """``m_p = mean of s_q over q in C_p`` (SCDSC eq. 7), by one ``index_add_``: O(n)."""
    sums = torch.zeros(n_groups, s.shape[1], device=s.device, dtype=s.dtype)
    sums.index_add_(0, groups, s)
    counts = torch.bincount(groups, minlength=n_groups).clamp_min(1).to(s.dtype)
    return sums / counts.unsqueeze(1)


@in_float32
def refined_assignment(m: torch.Tensor) -> torch.Tensor:
    """``m~_pj = (m_pj^2 / sum_p m_pj) / sum_j (m_pj^2 / sum_p m_pj)`` (SCDSC eq. 8)."""
    return target_distribution(m)


@in_float32
def nonlocal_loss(
    s: torch.Tensor, groups: torch.Tensor, n_groups: int, reduction: str = "mean"
) -> torch.Tensor:
    """``eta(HD) = KL(M~ || M)`` over mini-clusters (SCDSC eqs. 7-9).

    The refined target ``M~`` is held fixed (a target, as in DEC), so the gradient
    reaches each member's ``s_q`` as ``1/|C_p|`` of the mini-cluster's (eq. 10).
    """
    m = minicluster_means(s, groups, n_groups)
    return kl_divergence(refined_assignment(m).detach(), m, reduction)


@in_float32
def box_smooth(maps: torch.Tensor, mask: torch.Tensor, window: int) -> torch.Tensor:
    """Masked mean filter (SCDSC eq. 11) of ``(K, H, W)`` maps over a ``mask`` (H, W).

    ``F = blur(S * T) / blur(T)`` with a ``window x window`` box, as one depthwise
    convolution: O(window^2 * n * K). Pixels whose window holds no masked pixel get 0.
    """
    if window % 2 != 1:
        raise ValueError(f"the smoothing window must be odd, got {window}")
    k = maps.shape[0]
    t = mask.to(maps.dtype)
    pad = window // 2
    kernel = torch.ones(k, 1, window, window, device=maps.device, dtype=maps.dtype)
    num = F.conv2d((maps * t).unsqueeze(0), kernel, padding=pad, groups=k)[0]
    den = F.conv2d(t[None, None], kernel[:1], padding=pad)[0]
    return num / den.clamp_min(1e-12)


@in_float32
def local_loss(
    s: torch.Tensor,
    pixels: torch.Tensor,
    grid_shape: tuple[int, int],
    window: int,
    reduction: str = "mean",
) -> torch.Tensor:
    """``Psi(HD) = KL(F || S)`` between smoothed and original assignments (SCDSC eqs. 11-12).

    ``s`` holds the assignments of the pixels at flat positions ``pixels`` of an image
    of ``grid_shape``; the mask ``T`` is those pixels (the task area). The smoothed
    ``F`` is a fixed target (no gradient through the filter).
    """
    h, w = grid_shape
    k = s.shape[1]
    maps = torch.zeros(k, h * w, device=s.device, dtype=s.dtype)
    maps[:, pixels] = s.detach().T
    mask = torch.zeros(h * w, device=s.device, dtype=s.dtype)
    mask[pixels] = 1.0
    smoothed = box_smooth(maps.reshape(k, h, w), mask.reshape(h, w), window)
    f = smoothed.reshape(k, -1)[:, pixels].T
    return kl_divergence(f, s, reduction)


@in_float32
def label_agreement(labels: torch.Tensor, mask: torch.Tensor, window: int, k: int) -> float:
    """Mean share of a masked pixel's ``window x window`` masked neighbours (itself
    included) that carry its label: 1 for a map of regions wider than the window.

    ``labels`` (H, W) holds clusters ``0..k-1`` (any value off the mask).
    """
    inside = mask.bool()
    lab = torch.where(inside, labels, torch.zeros_like(labels)).long()
    onehot = torch.zeros(k, *lab.shape, dtype=torch.float32, device=lab.device)
    onehot.scatter_(0, lab.unsqueeze(0), 1.0)
    shares = box_smooth(onehot, inside, window)
    own = shares.gather(0, lab.unsqueeze(0))[0]
    return float(own[inside].mean())


@in_float32
def choose_window(
    labels: torch.Tensor,
    mask: torch.Tensor,
    k: int,
    tolerance: float = 0.03,
    largest: int = 11,
) -> int:
    """The smoothing window of the local loss (SCDSC eq. 11) read off a cluster map.

    The local target ``F`` mixes a pixel's assignment with those of its window; where
    the window crosses into another region it pulls the pixel towards that region's
    cluster. The window is therefore the largest odd size (3 to ``largest``) whose
    windows lose no more than ``tolerance`` more of their mass to other clusters than
    a 3 x 3 window does (the 3 x 3 loss is the map's own noise):
    ``label_agreement(3) - label_agreement(w) <= tolerance``.
    """
    base = label_agreement(labels, mask, 3, k)
    chosen = 3
    for w in range(5, largest + 1, 2):
        if base - label_agreement(labels, mask, w, k) > tolerance:
            break
        chosen = w
    return chosen
