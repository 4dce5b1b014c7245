"""Convolutional building blocks."""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), nn.ReLU()]


class PatchAutoencoder(nn.Module):
    """Convolutional autoencoder on ``a x a`` hyperspectral patches (SCDSC §3.1, Fig. 3).

    Encoder: 1x1 conv (C -> w) then two 3x3 convs (w -> w), each with batch norm and
    ReLU and 'same' padding; decoder: 3x3 transposed conv + BN + ReLU, then a 1x1
    transposed conv back to C channels. The latent code is the flattened
    ``w x a x a`` map (32 * 7 * 7 = 1568 for the paper's 7x7 patches).
    """

    def __init__(self, in_channels: int, patch_size: int = 7, width: int = 32) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.width = width
        self.encoder = nn.Sequential(
            *_conv_bn_relu(nn.Conv2d(in_channels, width, 1), width),
            *_conv_bn_relu(nn.Conv2d(width, width, 3, padding=1), width),
            *_conv_bn_relu(nn.Conv2d(width, width, 3, padding=1), width),
        )
        self.decoder = nn.Sequential(
            *_conv_bn_relu(nn.ConvTranspose2d(width, width, 3, padding=1), width),
            nn.ConvTranspose2d(width, in_channels, 1),
        )

    @property
    def latent_dim(self) -> int:
        return self.width * self.patch_size**2

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened latent code ``h`` of patches ``x`` (B, C, a, a)."""
        return self.encoder(x).flatten(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h.flatten(1), self.decoder(h)


class PatchSource:
    """Patches cut on the fly from a padded ``(C, H, W)`` tensor: no patch is stored.

    ``patches(idx)`` returns ``(len(idx), C, a, a)`` for flat pixel indices, centred on
    each pixel with reflect padding at the borders; memory is the padded image plus
    one batch, so whole scenes of 10^6 pixels stream through the network.
    """

    def __init__(self, image: torch.Tensor, patch_size: int) -> None:
        if patch_size % 2 != 1:
            raise ValueError(f"patch_size must be odd, got {patch_size}")
        c, h, w = image.shape
        self.shape = (h, w)
        self.size = patch_size
        r = patch_size // 2
        mode = "reflect" if min(h, w) > r else "replicate"
        self.padded = torch.nn.functional.pad(image.unsqueeze(0), (r, r, r, r), mode=mode)[0]
        self.offsets = torch.arange(patch_size, device=image.device)

    def patches(self, idx: torch.Tensor) -> torch.Tensor:
        w = self.shape[1]
        rows = (idx // w).unsqueeze(1) + self.offsets  # (B, a): padded coordinates
        cols = (idx % w).unsqueeze(1) + self.offsets
        out = self.padded[:, rows.unsqueeze(2), cols.unsqueeze(1)]  # (C, B, a, a)
        return out.permute(1, 0, 2, 3).contiguous()
