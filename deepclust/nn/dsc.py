"""The DSC network (Faruque et al., 2023): per-frame convolutions, an LSTM over time, a
dense sigmoid code per time step, and a mirrored per-frame decoder.

Input windows are ``(B, T, V, H, W)``. Encoder, per frame: 3x3 ``tanh`` convolutions
(two at the first level, one at each further level) each level followed by 2x2 max
pooling (the authors' 64, 64, pool, 128, pool, 256, pool, 512, pool); the pooled maps
are flattened and an LSTM (two layers, dropout 0.1) runs over the T frames; a dense
``sigmoid`` layer gives the code ``z_t``. Decoder, per frame: dense back to the top
grid, then up-sampling and 3x3 ``tanh`` convolutions level by level to a linear 3x3
output. A DEC Student-t head clusters the codes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .cluster_head import ScaledStudentTHead


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class DSCNetwork(ScaledStudentTHead):
    """Conv-LSTM autoencoder of DSC with a Student-t head on the per-step codes."""

    def __init__(
        self,
        in_channels: int,
        grid: Sequence[int],
        n_clusters: int,
        *,
        filters: Sequence[int] = (64, 128, 256, 512),
        lstm_hidden: int = 512,
        latent_dim: int = 256,
        dropout: float = 0.1,
        alpha: float = 1.0,
    ) -> None:
        super().__init__()
        filters = [int(f) for f in filters]
        widths = [in_channels, filters[0], *filters]  # two convolutions at the first level
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.enc_convs = nn.ModuleList(_conv(a, b) for a, b in pairs)
        self.sizes = self._level_sizes(grid, len(filters))
        top_h, top_w = self.sizes[-1]
        cells = filters[-1] * top_h * top_w
        self.lstm = nn.LSTM(cells, lstm_hidden, num_layers=2, batch_first=True, dropout=dropout)
        self.code = nn.Linear(lstm_hidden, latent_dim)
        self.uncode = nn.Linear(latent_dim, cells)
        back = filters[::-1]
        self.dec_convs = nn.ModuleList(
            _conv(a, b) for a, b in zip(back[:-1], back[1:], strict=True)
        )
        self.output = _conv(filters[0], in_channels)
        self.top = (filters[-1], top_h, top_w)
        self._init_head(n_clusters, latent_dim, alpha)

    @staticmethod
    def _level_sizes(grid: Sequence[int], levels: int) -> list[tuple[int, int]]:
        """Frame size at the input and after each pooling (ceil: no cell is dropped)."""
        h, w = int(grid[0]), int(grid[1])
        sizes = [(h, w)]
        for _ in range(levels):
            h, w = -(-h // 2), -(-w // 2)
            sizes.append((h, w))
        return sizes

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``z`` ``(B, T, D)`` of windows ``x`` ``(B, T, V, H, W)``."""
        b, t = x.shape[:2]
        h = x.reshape(b * t, *x.shape[2:])
        h = torch.tanh(self.enc_convs[0](h))
        for conv in self.enc_convs[1:]:
            h = torch.tanh(conv(h))
            h = F.max_pool2d(h, 2, ceil_mode=True)
        seq, _ = self.lstm(h.reshape(b, t, -1))
        return torch.sigmoid(self.code(seq))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Frames ``(B, T, V, H, W)`` from codes ``(B, T, D)``."""
        b, t = z.shape[:2]
        h = self.uncode(z).reshape(b * t, *self.top)
        for conv, size in zip(self.dec_convs, self.sizes[-2:0:-1], strict=True):
            h = torch.tanh(conv(F.interpolate(h, size=size, mode="nearest")))
        h = F.interpolate(h, size=self.sizes[0], mode="nearest")
        x_hat = self.output(h)
        return x_hat.reshape(b, t, *x_hat.shape[1:])

    def forward(self, x: torch.Tensor, tau: float = 1.0) -> dict[str, torch.Tensor]:
        z = self.embed(x)
        return {"z": z, "q": self.assign(z, tau), "x_hat": self.decode(z)}
