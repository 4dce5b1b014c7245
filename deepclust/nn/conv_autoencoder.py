"""The shallow convolutional autoencoder of DSC-Net (Ji et al., NIPS 2017).

Every encoder layer is a stride-2 convolution with ReLU (the map halves, rounded up);
the decoder mirrors it with stride-2 transposed convolutions and ReLU, each given the
output padding that restores the encoder's map size exactly, so any image size works
(28 x 28: 28 -> 14 -> 7 -> 4 -> 7 -> 14 -> 28). The code is the last map, flattened:
DSC-Net's self-expressive layer acts on those vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def halved_sizes(size: int, n_layers: int) -> list[int]:
    """Map sizes after each stride-2 layer with padding ``k // 2``: ``ceil(s / 2)``."""
    sizes = [int(size)]
    for _ in range(n_layers):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


class ConvAutoencoder(nn.Module):
    """``channels[0] -> channels[1] -> ...`` stride-2 convolutions and their mirror.

    Parameters
    ----------
    image_shape : (C, H, W)
        Input images; ``channels`` starts with ``C``.
    channels : sequence of int
        Channels of every map, the input's first (DSC-Net: ``[1, 15]`` for COIL-20,
        ``[1, 3, 3, 5]`` for ORL).
    kernels : sequence of int
        Odd kernel size per layer (``len(channels) - 1`` of them).
    """

    def __init__(
        self, image_shape: Sequence[int], channels: Sequence[int], kernels: Sequence[int]
    ) -> None:
        super().__init__()
        channels, kernels = [int(c) for c in channels], [int(k) for k in kernels]
        if len(kernels) != len(channels) - 1 or not kernels:
            raise ValueError(
                f"need one kernel per layer: {len(channels) - 1} layers, {len(kernels)} kernels"
            )
        if any(k % 2 == 0 for k in kernels):
            raise ValueError(f"kernel sizes must be odd, got {kernels}")
        if int(image_shape[0]) != channels[0]:
            raise ValueError(f"channels[0]={channels[0]} but the images have {image_shape[0]}")
        self.image_shape = tuple(int(s) for s in image_shape)
        heights = halved_sizes(self.image_shape[1], len(kernels))
        widths = halved_sizes(self.image_shape[2], len(kernels))
        self.code_shape = (channels[-1], heights[-1], widths[-1])
        enc: list[nn.Module] = []
        for c_in, c_out, k in zip(channels[:-1], channels[1:], kernels, strict=True):
            enc += [nn.Conv2d(c_in, c_out, k, stride=2, padding=k // 2), nn.ReLU()]
        dec: list[nn.Module] = []
        layers = list(zip(channels[1:], channels[:-1], kernels, strict=True))[::-1]
        for i, (c_in, c_out, k) in enumerate(layers):
            j = len(layers) - 1 - i  # the encoder layer this one undoes
            pad = (heights[j] - 2 * heights[j + 1] + 1, widths[j] - 2 * widths[j + 1] + 1)
            # (h - 1) * 2 - 2 (k // 2) + k + pad = target size, pad in {0, 1}
            dec += [
                nn.ConvTranspose2d(c_in, c_out, k, stride=2, padding=k // 2, output_padding=pad),
                nn.ReLU(),
            ]
        self.encoder_maps = nn.Sequential(*enc)
        self.decoder_maps = nn.Sequential(*dec)

    @property
    def latent_dim(self) -> int:
        c, h, w = self.code_shape
        return c * h * w

    def encoder(self, x: torch.Tensor) -> torch.Tensor:
        """Flat images ``(n, C*H*W)`` -> flat codes ``(n, latent_dim)``."""
        return self.encoder_maps(x.reshape(len(x), *self.image_shape)).flatten(1)

    def decoder(self, z: torch.Tensor) -> torch.Tensor:
        """Flat codes -> flat images."""
        return self.decoder_maps(z.reshape(len(z), *self.code_shape)).flatten(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)


__all__ = ["ConvAutoencoder", "halved_sizes"]
