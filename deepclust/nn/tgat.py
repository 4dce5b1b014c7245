"""A-DATSC's bidirectional temporal graph attention bottleneck (Bi-TGAT, eqs. 2-3).

The top level of the encoder, ``(B, T, F, H', W')``, is tiled into patches that become
``N`` graph nodes per frame (:func:`patchify`). Every node at time ``t`` attends to all
nodes at ``t + 1`` (forward) and at ``t - 1`` (backward); the two messages are
concatenated, projected and layer-normalised (eq. 3). Frames without a successor
(the last) or predecessor (the first) receive a zero message from that direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def patchify(x: torch.Tensor, patch: Sequence[int] = (1, 1)) -> torch.Tensor:
    """``(B, T, F, H, W) -> (B, T, N, F)``: the mean of each ``patch`` tile is a node."""
    b, t, c, h, w = x.shape
    y = x.reshape(b * t, c, h, w)
    if tuple(patch) != (1, 1):
        y = F.avg_pool2d(y, tuple(patch), ceil_mode=True)
    return y.reshape(b, t, c, -1).transpose(2, 3)


class DirectionalAttention(nn.Module):
    """Multi-head attention from frame ``t`` to frame ``t + delta`` (eq. 2 and the sum of eq. 3).

    ``phi`` is the scaled dot product of ``W_q h_{t,i}`` and ``W_k h_{t+delta,j}``.
    """

    def __init__(self, features: int, heads: int, delta: int) -> None:
        super().__init__()
        if features % heads:
            raise ValueError(f"features={features} must be divisible by heads={heads}")
        if delta not in (-1, 1):
            raise ValueError(f"delta={delta}; expected +1 (forward) or -1 (backward)")
        self.heads, self.delta = heads, delta
        self.query = nn.Linear(features, features, bias=False)
        self.key = nn.Linear(features, features, bias=False)
        self.value = nn.Linear(features, features, bias=False)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, n, f = x.shape
        return x.reshape(b, t, n, self.heads, f // self.heads).transpose(2, 3)  # B T h N d

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Messages ``m_t`` ``(B, T, N, F)`` and weights ``alpha`` ``(B, T, heads, N, N)``.

        Rows of ``alpha`` sum to 1 where frame ``t + delta`` exists and are 0 elsewhere.
        """
        b, t, n, f = h.shape
        q, k, v = self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h))
        # partner frame t + delta for every t (rolled, then the missing end masked out)
        k, v = torch.roll(k, -self.delta, dims=1), torch.roll(v, -self.delta, dims=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(f // self.heads)
        alpha = torch.softmax(scores, dim=-1)
        exists = torch.ones(t, device=h.device, dtype=h.dtype)
        exists[-1 if self.delta == 1 else 0] = 0.0
        alpha = alpha * exists.view(1, t, 1, 1, 1)
        m = (alpha @ v).transpose(2, 3).reshape(b, t, n, f)
        return m, alpha


class BiTGAT(nn.Module):
    """Bi-TGAT layer (eqs. 2-3) with node and time pooling (§5.1.2).

    Returns ``h'`` ``(B, T, N, F)``, the per-timestep embeddings ``z_t`` ``(B, T, D)``
    (nodes pooled, then a linear projection and LayerNorm), the sequence summary
    ``z_bar`` ``(B, D)`` (``z_t`` averaged over time) and the two attention tensors.

    ``residual=False`` is eq. (3) as printed, ``h' = LN(W_o [m_fwd || m_bwd])``: frame
    ``t``'s own features then reach ``z_t`` only through its neighbours' messages, so
    ``residual=True`` (default) adds them back, ``h' = LN(h + W_o [...])``, as transformer
    layers do. ``pooling="mean"`` averages the ``N`` nodes (loses where in the grid a
    pattern sits); ``"flatten"`` (default, needs ``n_nodes``) projects their concatenation,
    so that ``z_t`` keeps the spatial layout that tells regimes apart.
    """

    def __init__(
        self,
        features: int,
        out_dim: int,
        heads: int = 4,
        *,
        residual: bool = True,
        pooling: str = "mean",
        n_nodes: int | None = None,
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "flatten") or (pooling == "flatten" and not n_nodes):
            raise ValueError(f"pooling={pooling!r}; expected 'mean', or 'flatten' with n_nodes")
        self.residual, self.pooling = residual, pooling
        self.forward_attention = DirectionalAttention(features, heads, +1)
        self.backward_attention = DirectionalAttention(features, heads, -1)
        self.output = nn.Linear(2 * features, features)
        self.norm = nn.LayerNorm(features)
        pooled = features * (n_nodes if pooling == "flatten" else 1)
        self.project = nn.Linear(pooled, out_dim)
        self.out_norm = nn.LayerNorm(out_dim)

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """``(B, T, N, F) -> (B, T, D)``: node pooling, projection and LayerNorm."""
        pooled = h.flatten(2) if self.pooling == "flatten" else h.mean(dim=2)
        return self.out_norm(self.project(pooled))

    def forward(self, nodes: torch.Tensor) -> dict[str, torch.Tensor]:
        m_fwd, a_fwd = self.forward_attention(nodes)
        m_bwd, a_bwd = self.backward_attention(nodes)
        message = self.output(torch.cat([m_fwd, m_bwd], dim=-1))  # eq. (3)
        h = self.norm(nodes + message if self.residual else message)
        z = self.pool(h)
        return {
            "nodes": h,
            "z": z,
            "z_bar": z.mean(dim=1),
            "alpha_forward": a_fwd,
            "alpha_backward": a_bwd,
        }


__all__ = ["BiTGAT", "DirectionalAttention", "patchify"]
