"""DEKM's objective (Guo, Lin & Ye, "Deep Embedded K-Means Clustering", 2021).

k-means on the embedding ``H`` gives labels and centres ``U``. The within-cluster
scatter ``S_w = sum_i (h_i - u_{c_i})(h_i - u_{c_i})^T`` is diagonalised,
``S_w = V diag(lambda) V^T`` with ``lambda`` ascending; in the rotated space ``y = V^T h``
the k-means loss is ``sum_j lambda_j``, one term per axis. The greedy step moves every
sample's coordinate on the axis with the largest ``lambda`` onto its centre's and
leaves the others where they are, so one update removes the largest term of the
k-means loss without disturbing the rest (the authors' code: the last eigenvector of
the ascending order). Only the encoder is trained; the decoder is dropped.
"""

from __future__ import annotations

import torch

from ..precision import in_float32


@in_float32
def within_cluster_scatter(
    h: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor
) -> torch.Tensor:
    """``S_w = sum_i (h_i - u_{c_i})(h_i - u_{c_i})^T`` (an ``m x m`` matrix)."""
    d = h - centres[labels]
    return d.T @ d


@in_float32
def scatter_rotation(scatter: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of ``S_w``."""
    # float64: near-equal eigenvalues of small scatters would otherwise swap axes
    vals, vecs = torch.linalg.eigh(scatter.double())
    return vals.to(scatter.dtype), vecs.to(scatter.dtype)


@in_float32
def greedy_targets(
    h: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor, rotation: torch.Tensor
) -> torch.Tensor:
    """Targets in the rotated space: ``V^T h_i`` with the last coordinate (largest
    within-cluster scatter) replaced by that of the sample's centre, ``V^T u_{c_i}``."""
    target = h @ rotation
    target[:, -1] = (centres @ rotation[:, -1])[labels]
    return target


@in_float32
def dekm_loss(h: torch.Tensor, rotation: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between the rotated embedding ``V^T h`` and its target."""
    return ((h @ rotation - target) ** 2).mean()
