"""A Student-t clustering head on scaled codes, shared by the climate-cube networks."""

from __future__ import annotations

import torch
from torch import nn

from ..objectives.assignment import student_t_assignment


class ScaledStudentTHead(nn.Module):
    """Mixin for a network whose codes ``z`` are clustered by a DEC Student-t kernel.

    The host calls :meth:`_init_head` in its ``__init__``; it owns ``centers`` (a
    parameter), the fixed affine map ``z_shift``/``z_scale`` (buffers) and ``alpha``.
    """

    def _init_head(self, n_clusters: int, latent_dim: int, alpha: float) -> None:
        self.alpha = float(alpha)
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent_dim))
        # Fixed affine map into the space where the kernel and centres live
        # (identity until set_latent_scale).
        self.register_buffer("z_shift", torch.zeros(latent_dim))
        self.register_buffer("z_scale", torch.ones(()))

    @torch.no_grad()
    def set_latent_scale(self, z: torch.Tensor) -> None:
        """Centre ``z`` and divide it by its RMS spread (one scalar) before the kernel.

        The Student-t kernel is not scale-free: pretrained codes that vary by 0.03
        around a common offset of norm 4 (measured on a synthetic cube) give every
        ``q_t`` nearly uniform (max 0.25 of 4), and DEC's sharpening has nothing to work
        on. One isotropic scale keeps the geometry, so k-means on the scaled codes is
        k-means on the codes.
        """
        flat = z.reshape(-1, z.shape[-1])
        self.z_shift.copy_(flat.mean(0))
        self.z_scale.copy_((flat - flat.mean(0)).pow(2).sum(1).mean().sqrt().clamp_min(1e-8))

    def scaled(self, z: torch.Tensor) -> torch.Tensor:
        """``(z - shift) / scale``: the codes as the kernel sees them."""
        return (z - self.z_shift) / self.z_scale

    def assign(self, z: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
        """Student-t ``q`` with temperature, ``q~_tk ∝ q_tk^(1/tau)``, for ``z`` ``(..., D)``."""
        flat = self.scaled(z.reshape(-1, z.shape[-1]))
        q = student_t_assignment(flat, self.centers, self.alpha)
        if tau != 1.0:
            q = q.pow(1.0 / tau)
            q = q / q.sum(dim=1, keepdim=True)
        return q.reshape(*z.shape[:-1], -1)
