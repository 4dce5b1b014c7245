"""A-DATSC's spatiotemporal U-Net: ConvLSTM stem, residual temporal blocks (eq. 1), decoder.

Tensors are ``(batch, time, channels, height, width)``. Pooling is ``(1, 2, 2)``: space
shrinks by two per level, time is kept. Grids that do not halve evenly are pooled with
``ceil_mode`` and the decoder resizes to each skip's grid, so any ``H x W`` works.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .convlstm import ConvLSTM2d


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of every (time, pixel), as Keras' ``axis=-1`` does."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.movedim(2, -1)).movedim(-1, 2)


def pool_space(x: torch.Tensor) -> torch.Tensor:
    """``MaxPool3D((1, 2, 2))`` of eq. (1) on ``(B, T, C, H, W)``."""
    b, t, c, h, w = x.shape
    y = F.max_pool2d(x.reshape(b * t, c, h, w), 2, ceil_mode=True)
    return y.reshape(b, t, c, *y.shape[-2:])


def resize_space(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Nearest-neighbour up-sampling of every frame to ``size = (H, W)``."""
    b, t, c, h, w = x.shape
    y = F.interpolate(x.reshape(b * t, c, h, w), size=tuple(size), mode="nearest")
    return y.reshape(b, t, c, *size)


class FrameConv(nn.Module):
    """A time-distributed ``Conv2d`` + ReLU: the ``cnn-lstm`` ablation's stand-in for ConvLSTM2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = x.shape
        return torch.relu(self.conv(x.reshape(b * t, c, h, w))).reshape(b, t, -1, h, w)


def spatiotemporal_layer(
    in_channels: int, out_channels: int, kernel_size: int = 3, recurrent: bool = True
) -> nn.Module:
    """ConvLSTM2d (A-DATSC), or a per-frame convolution when ``recurrent`` is False."""
    cls = ConvLSTM2d if recurrent else FrameConv
    return cls(in_channels, out_channels, kernel_size)


class ResTempBlock(nn.Module):
    """Two ConvLSTM2d layers with LayerNorm plus a ``1x1x1`` projection skip (eq. 1)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, recurrent: bool = True
    ) -> None:
        super().__init__()
        self.lstm1 = spatiotemporal_layer(in_channels, out_channels, kernel_size, recurrent)
        self.norm1 = ChannelLayerNorm(out_channels)
        self.lstm2 = spatiotemporal_layer(out_channels, out_channels, kernel_size, recurrent)
        self.norm2 = ChannelLayerNorm(out_channels)
        self.project = (
            nn.Conv3d(in_channels, out_channels, 1) if in_channels != out_channels else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm2(self.lstm2(self.norm1(self.lstm1(x))))
        skip = x if self.project is None else self.project(x.movedim(1, 2)).movedim(2, 1)
        return y + skip


class TemporalUNetEncoder(nn.Module):
    """``H1 = ConvLSTM2D_F1(X)``; ``Hl = ResTempBlock_Fl(MaxPool3D(H(l-1)))`` (eq. 1).

    ``filters`` are ``(F1, ..., FL)``; the paper's ``(64, 128, 256, 512)`` gives a top level
    of ``H/8 x W/8``. :meth:`forward` returns every level (the decoder's skips).
    """

    def __init__(
        self,
        in_channels: int,
        filters: Sequence[int] = (64, 128, 256, 512),
        kernel_size: int = 3,
        recurrent: bool = True,
    ) -> None:
        super().__init__()
        if len(filters) < 1:
            raise ValueError("filters needs at least one level")
        self.filters = tuple(int(f) for f in filters)
        self.stem = spatiotemporal_layer(in_channels, self.filters[0], kernel_size, recurrent)
        self.blocks = nn.ModuleList(
            ResTempBlock(a, b, kernel_size, recurrent)
            for a, b in zip(self.filters[:-1], self.filters[1:], strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = [self.stem(x)]
        for block in self.blocks:
            levels.append(block(pool_space(levels[-1])))
        return levels


class TemporalUNetDecoder(nn.Module):
    """The mirrored up-path: resize, concatenate the skip, ResTempBlock; a ``1x1`` output."""

    def __init__(
        self,
        out_channels: int,
        filters: Sequence[int] = (64, 128, 256, 512),
        kernel_size: int = 3,
        recurrent: bool = True,
    ) -> None:
        super().__init__()
        f = tuple(int(v) for v in filters)
        self.blocks = nn.ModuleList(
            ResTempBlock(f[level + 1] + f[level], f[level], kernel_size, recurrent)
            for level in range(len(f) - 2, -1, -1)
        )
        self.head = nn.Conv2d(f[0], out_channels, 1)

    def forward(
        self, levels: Sequence[torch.Tensor], top: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decode from ``top`` (default the encoder's top level) with skips ``levels``."""
        y = levels[-1] if top is None else top
        for block, skip in zip(self.blocks, reversed(levels[:-1]), strict=True):
            y = block(torch.cat([resize_space(y, skip.shape[-2:]), skip], dim=2))
        b, t, c, h, w = y.shape
        return self.head(y.reshape(b * t, c, h, w)).reshape(b, t, -1, h, w)


__all__ = [
    "ChannelLayerNorm",
    "FrameConv",
    "ResTempBlock",
    "TemporalUNetDecoder",
    "TemporalUNetEncoder",
    "pool_space",
    "resize_space",
    "spatiotemporal_layer",
]
