"""Autoencoder networks shared by the deep methods."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .mlp import linear_layers, mlp

#: Below this many samples, high-dimensional data get the half-width network.
SMALL_DATA = 5000


def auto_architecture(n_features: int, n_samples: int | None = None) -> tuple[tuple[int, ...], int]:
    """Hidden widths and latent size sized to the input dimension and the sample count.

    Low-dimensional data (<= 10 features) get the DGG paper's synthetic-data network
    (D-20-20-D, §4.1); high-dimensional data get the D-500-500-2000-10 network used by
    DEC, IDEC, VaDE and DGG on MNIST, or, with fewer than 5,000 samples, the half-width
    D-256-256-1024-10 (the 2-3.6 M weights of the large one pretrain slowly and cluster
    worse on a few thousand images: IDEC, seed 0, on 2,000 USPS digits 0.737 -> 0.753,
    COIL-20 0.582 -> 0.658, ORL 0.555 -> 0.642, measured on the development suite); in
    between, a proportionally smaller network.
    """
    if n_features <= 10:
        return (20, 20), n_features
    if n_features <= 100:
        return (100, 100, 400), 10
    if n_samples is not None and n_samples < SMALL_DATA:
        return (256, 256, 1024), 10
    return (500, 500, 2000), 10


def auto_batch_size(n_samples: int) -> int:
    """256 (the DEC papers') unless that leaves fewer than 8 steps per epoch: ``n / 8``.

    With 256 a 400-sample set gets two steps per epoch, and the epoch caps leave the
    autoencoder a few hundred steps in all (IDEC on ORL: ACC 0.328 at 256, 0.555 at 32);
    going further down hurts (USPS, 2,000 images: 0.737 at 256, 0.638 at 125). Chosen on
    the development suite, seed 0 (``benchmarks/RESULTS.md``).
    """
    return int(min(256, max(32, n_samples // 8)))


class Float32Sigmoid(nn.Sigmoid):
    """A sigmoid computed in float32 also inside autocast: a half-precision output layer
    has steps of 1/256 (bf16) near 1, which caps how well a Bernoulli decoder can fit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x.float())


class MLPAutoencoder(nn.Module):
    """Symmetric fully connected autoencoder ``D -> h1 -> ... -> latent -> ... -> D``.

    Hidden layers use ReLU; the latent layer is linear; the output is linear or sigmoid
    (for data in [0, 1] with a Bernoulli likelihood).
    """

    def __init__(self, dims: Sequence[int], output: str = "linear") -> None:
        super().__init__()
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"output must be 'linear' or 'sigmoid', got {output!r}")
        self.dims = tuple(int(d) for d in dims)
        self.output = output
        self.encoder = mlp(self.dims)
        self.decoder = mlp(
            self.dims[::-1], final_activation=Float32Sigmoid() if output == "sigmoid" else None
        )

    @property
    def latent_dim(self) -> int:
        return self.dims[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)

    def layer_pairs(self) -> list[tuple[nn.Linear, nn.Linear]]:
        """(encoder layer, mirrored decoder layer) for greedy layer-wise pretraining."""
        enc = linear_layers(self.encoder)
        dec = linear_layers(self.decoder)[::-1]
        return list(zip(enc, dec, strict=True))
