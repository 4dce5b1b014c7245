"""A-DATSC's self-expressive temporal layer, subspace discriminator and sampling layer.

* :class:`SelfExpressiveTemporal` (§5.1.4, eq. 5): a coefficient matrix ``C`` over the
  ``T`` time steps of each window, soft-thresholded, zero diagonal, optionally weighted by
  ``w_ts = q_t^T q_s exp(-|t - s| / sigma_t)``; ``Z_SE = C Z``.
* :class:`SubspaceDiscriminator` (§5.2): one basis ``U_k`` (``D x r``) per cluster.
* :class:`SubspaceSampler` (§5.1.5 "sampling layer"): real latents are each cluster's
  top-``m`` by responsibility; fakes are convex combinations of them with weights drawn
  once from ``U(0, 1)`` and kept fixed, so gradients flow through the latents.

The losses are the pure functions of :mod:`deepclust.objectives.temporal_subspace`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..objectives.temporal_subspace import residual_energy, soft_threshold, temporal_weights
from ..precision import in_float32


class SelfExpressiveTemporal(nn.Module):
    """``C`` per window (``n_windows`` of them) over ``window`` time steps.

    ``C = shrink(C_raw, threshold)`` with the diagonal zeroed (``exclude_self``). ``C_raw``
    starts at ``1 / (T - 1) + threshold`` off the diagonal (each step the mean of the
    others), outside the shrinkage dead zone so that gradients reach it.
    """

    def __init__(
        self,
        window: int,
        n_windows: int = 1,
        threshold: float = 1e-3,
        exclude_self: bool = True,
        sigma_t: float | None = None,
        centre: bool = True,
    ) -> None:
        super().__init__()
        self.centre = centre
        if window < 2:
            raise ValueError(f"window={window}: self-expression needs at least 2 time steps")
        self.threshold, self.exclude_self, self.sigma_t = float(threshold), exclude_self, sigma_t
        start = torch.full((n_windows, window, window), 1.0 / (window - 1) + self.threshold)
        self.coefficients = nn.Parameter(start)
        self.register_buffer("off_diagonal", 1.0 - torch.eye(window))

    def matrix(self, windows: torch.Tensor, q: torch.Tensor | None = None) -> torch.Tensor:
        """Effective ``C`` ``(B, T, T)`` of windows ``windows`` (indices), optionally weighted."""
        c = soft_threshold(self.coefficients[windows], self.threshold)
        if self.exclude_self:
            c = c * self.off_diagonal
        if self.sigma_t is not None and q is not None:
            c = c * temporal_weights(q, self.sigma_t)
        return c

    def forward(
        self, z: torch.Tensor, windows: torch.Tensor, q: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Z_SE, C)`` for embeddings ``z`` ``(B, T, D)`` of windows ``windows`` ``(B,)``.

        With ``centre=True`` the window mean is taken out first and added back,
        ``Z_SE = C (Z - 1 m^T) + 1 m^T``: no combination of the other steps can express a
        common offset, so eq. (5) on raw ``Z`` would pull every embedding of the window
        towards the origin (and away from the clustering head's centres).
        """
        c = self.matrix(windows, q)
        if not self.centre:
            return c @ z, c
        mean = z.mean(dim=1, keepdim=True)
        return c @ (z - mean) + mean, c


class SubspaceDiscriminator(nn.Module):
    """Bases ``U`` ``(K, D, r)``, started orthonormal (QR of a Gaussian matrix)."""

    def __init__(self, n_clusters: int, dim: int, rank: int) -> None:
        super().__init__()
        if not 1 <= rank <= dim:
            raise ValueError(f"rank={rank} must be between 1 and the latent size {dim}")
        q, _ = torch.linalg.qr(torch.randn(n_clusters, dim, rank))
        self.bases = nn.Parameter(q)

    @torch.no_grad()
    @in_float32  # the SVD needs float32 (CUDA autocast has no linalg ops in float32)
    def initialise(self, z: torch.Tensor, labels: torch.Tensor) -> None:
        """Each ``U_k`` from the top-``r`` right singular vectors of cluster ``k``'s latents."""
        r = self.bases.shape[-1]
        for k in range(self.bases.shape[0]):
            members = z[labels == k]
            if len(members) >= r:
                _, _, vh = torch.linalg.svd(members, full_matrices=False)
                self.bases[k] = vh[:r].T

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Residual energies ``(n, K)``."""
        return residual_energy(z, self.bases)


class SubspaceSampler(nn.Module):
    """Real (top-``m`` per cluster) and fake (fixed convex combinations) latents."""

    def __init__(self, n_real: int, n_fake: int, seed: int | None = 0) -> None:
        super().__init__()
        if n_real < 1 or n_fake < 1:
            raise ValueError(f"n_real={n_real} and n_fake={n_fake} must be positive")
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        alpha = torch.rand(n_fake, n_real, generator=g)
        self.register_buffer("alpha", alpha / alpha.sum(1, keepdim=True))

    def forward(
        self, z: torch.Tensor, q: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(real, real_cluster, fake, fake_cluster)`` from ``z`` ``(n, D)`` and ``q`` ``(n, K)``.

        Cluster ``k``'s reals are the points assigned to it (argmax) with the highest
        ``q[:, k]``, at most ``n_real``; a cluster with fewer than 2 members gives none.
        Its fakes are ``alpha @ reals`` (weights renormalised when fewer reals exist).
        """
        labels = q.argmax(1)
        reals, real_k, fakes, fake_k = [], [], [], []
        for k in range(q.shape[1]):
            members = torch.nonzero(labels == k).squeeze(1)
            if len(members) < 2:
                continue
            m = min(len(members), self.alpha.shape[1])
            top = members[torch.topk(q[members, k], m).indices]
            weights = self.alpha[:, :m] / self.alpha[:, :m].sum(1, keepdim=True)
            reals.append(z[top])
            fakes.append(weights @ z[top])
            real_k.append(torch.full((m,), k, device=z.device, dtype=torch.long))
            fake_k.append(torch.full((len(weights),), k, device=z.device, dtype=torch.long))
        if not reals:
            empty = z.new_zeros(0, z.shape[1])
            none = torch.zeros(0, dtype=torch.long, device=z.device)
            return empty, none, empty, none
        return torch.cat(reals), torch.cat(real_k), torch.cat(fakes), torch.cat(fake_k)


__all__ = ["SelfExpressiveTemporal", "SubspaceDiscriminator", "SubspaceSampler"]
