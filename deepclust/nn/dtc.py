"""DTC's temporal autoencoder (Madiraju et al., 2018, Fig. 1).

Sequences ``(B, T, D)`` (``D`` features per time step). Encoder: a 1-D convolution over
time (``filters`` channels, leaky ReLU), max pooling by ``pool`` (the latent runs at
``T / pool`` steps), then two bidirectional LSTMs (``lstm_units`` and
``latent_channels`` units, the two directions summed). Decoder: nearest up-sampling by
``pool`` and a transposed 1-D convolution back to ``D`` features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..objectives.temporal_distance import student_t_from_distance, temporal_distance


class BiLSTMSum(nn.Module):
    """A bidirectional LSTM whose two directions are summed (not concatenated)."""

    def __init__(self, in_features: int, units: int) -> None:
        super().__init__()
        self.units = units
        self.lstm = nn.LSTM(in_features, units, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return out[..., : self.units] + out[..., self.units :]


class TemporalAutoencoder(nn.Module):
    """Conv1d + BiLSTM encoder to a latent sequence, up-sampling + deconvolution decoder."""

    def __init__(
        self,
        n_features: int,
        window: int,
        *,
        filters: int = 50,
        kernel_size: int = 10,
        pool: int = 2,
        lstm_units: int = 50,
        latent_channels: int = 1,
    ) -> None:
        super().__init__()
        if window % pool != 0:
            raise ValueError(f"window={window} must be a multiple of pool={pool}")
        self.pool, self.window = int(pool), int(window)
        k = int(min(kernel_size, window))
        self.conv = nn.Conv1d(n_features, filters, k)
        self._same = ((k - 1) // 2, k // 2)  # "same" padding, also for even kernels
        self.lstm1 = BiLSTMSum(filters, lstm_units)
        self.lstm2 = BiLSTMSum(lstm_units, latent_channels)
        self.deconv = nn.ConvTranspose1d(latent_channels, n_features, k, padding=0)
        self._crop = k - 1  # a stride-1 transposed conv lengthens the sequence by k - 1

    @property
    def latent_length(self) -> int:
        return self.window // self.pool

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent sequences ``(B, T / pool, latent_channels)`` of ``x`` ``(B, T, D)``."""
        h = F.leaky_relu(self.conv(F.pad(x.transpose(1, 2), self._same)))
        h = F.max_pool1d(h, self.pool).transpose(1, 2)
        return self.lstm2(self.lstm1(h))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Sequences ``(B, T, D)`` from latent sequences."""
        h = F.interpolate(z.transpose(1, 2), scale_factor=self.pool, mode="nearest")
        out = self.deconv(h)
        left = self._crop // 2
        return out[..., left : left + self.window].transpose(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z, self.decode(z)


class TemporalClusteringLayer(nn.Module):
    """DTC's clustering layer: centroid sequences and the Student-t kernel of a distance."""

    def __init__(
        self, n_clusters: int, length: int, channels: int, metric: str = "eucl", alpha: float = 1.0
    ) -> None:
        super().__init__()
        self.metric, self.alpha = metric, float(alpha)
        self.centroids = nn.Parameter(torch.zeros(n_clusters, length, channels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``q`` ``(B, K)`` of latent sequences ``z`` ``(B, L, C)``."""
        d = temporal_distance(z, self.centroids, self.metric)
        return student_t_from_distance(d, self.alpha)
