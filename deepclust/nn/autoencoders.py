"""Autoencoder networks shared by the deep methods."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .mlp import linear_layers, mlp


def auto_architecture(n_features: int) -> tuple[tuple[int, ...], int]:
    """Hidden widths and latent size sized to the input dimension.

    Low-dimensional data (<= 10 features) get the DGG paper's synthetic-data network
    (D-20-20-D, §4.1); high-dimensional data get the D-500-500-2000-10 network used by
    DEC, IDEC, VaDE and DGG on MNIST; in between, a proportionally smaller network.
    """
    if n_features <= 10:
        return (20, 20), n_features
    if n_features <= 100:
        return (100, 100, 400), 10
    return (500, 500, 2000), 10


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
            self.dims[::-1], final_activation=nn.Sigmoid() if output == "sigmoid" else None
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
