"""Batched, on-device augmentations for the self-supervised methods (MLC, NMCE).

Colour images get the MLC appendix set (from SimCLR/NMCE): random resized crop with
scale (0.04, 1), horizontal flip, colour jitter (0.4, 0.4, 0.4, 0.1) with p 0.8,
grayscale with p 0.2, Gaussian blur with p 0.1. Grey images get crop and flip without
the colour operations (a 4 % crop of a 28 x 28 digit is 5 x 5 pixels, so the grey set
crops no smaller than 30 % of the image; flips are off because they turn digits and
letters into other symbols). Feature vectors get Gaussian noise scaled to each
feature's spread and feature dropout. All run on whole batches on the tensor's device
(kornia for images); each call draws fresh random parameters per sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..exceptions import ConfigError


def _kornia():
    try:
        import kornia.augmentation as K
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ConfigError(
            "image augmentation needs kornia; install it with pip install 'deepclust[images]'"
        ) from None
    return K


def colour_augmentation(
    size: Sequence[int], crop_scale: tuple[float, float] = (0.04, 1.0)
) -> nn.Module:
    """MLC's augmentation for ``(N, 3, H, W)`` images in [0, 1] (paper appendix)."""
    K = _kornia()
    h, w = (int(s) for s in size)
    blur = 2 * (max(h, w) // 20) + 1  # about a tenth of the side, odd (SimCLR)
    return nn.Sequential(
        K.RandomResizedCrop((h, w), scale=crop_scale),
        K.RandomHorizontalFlip(),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
        K.RandomGaussianBlur((blur, blur), (0.1, 2.0), p=0.1),
    )


def grey_augmentation(
    size: Sequence[int], crop_scale: tuple[float, float] = (0.3, 1.0), flip: bool = False
) -> nn.Module:
    """Crop (and optionally flip) for ``(N, 1, H, W)`` grey images: no colour operations."""
    K = _kornia()
    h, w = (int(s) for s in size)
    ops: list[nn.Module] = [K.RandomResizedCrop((h, w), scale=crop_scale, ratio=(0.8, 1.25))]
    if flip:
        ops.append(K.RandomHorizontalFlip())
    return nn.Sequential(*ops)


class GreyAfter(nn.Module):
    """Colour images to one grey channel (ITU-R 601 weights); grey images pass through."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 3:
            return x
        w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
        return (x * w.view(1, 3, 1, 1)).sum(1, keepdim=True)


def gatcluster_augmentation(
    in_channels: int, grey: bool, flip: bool, scale: tuple[float, float] = (0.8, 1.2)
) -> nn.Module:
    """GATCluster's transformation T (§3.3, the authors' settings): flip, colour jitter
    (brightness 0.3, contrast 0.3, saturation 0.3, hue 0.2; brightness and contrast only
    for grey input), affine (10 degrees, translation 0.1, ``scale``, shear 10), then the
    grey conversion when ``grey`` (after the jitter, as the paper says)."""
    K = _kornia()
    ops: list[nn.Module] = [K.RandomHorizontalFlip()] if flip else []
    if in_channels == 3:
        ops.append(K.ColorJitter(0.3, 0.3, 0.3, 0.2, p=1.0))
    else:
        ops.append(K.ColorJitter(0.3, 0.3, 0.0, 0.0, p=1.0))
    ops.append(K.RandomAffine(degrees=10.0, translate=(0.1, 0.1), scale=scale, shear=10.0, p=1.0))
    if grey:
        ops.append(GreyAfter())
    return nn.Sequential(*ops)


class FeatureAugmentation(nn.Module):
    """Gaussian noise of ``noise`` times each feature's batch standard deviation, then
    dropout of a ``drop`` share of the features (rescaled, as in ``nn.Dropout``)."""

    def __init__(self, noise: float = 0.1, drop: float = 0.1) -> None:
        super().__init__()
        if noise < 0 or not 0 <= drop < 1:
            raise ConfigError(f"need noise >= 0 and 0 <= drop < 1; got {noise}, {drop}")
        self.noise, self.drop = float(noise), float(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spread = x.std(0, keepdim=True) if len(x) > 1 else x.new_ones(1, x.shape[1])
        out = x + self.noise * spread * torch.randn_like(x)
        if self.drop:
            keep = torch.rand_like(out) >= self.drop
            out = out * keep / (1.0 - self.drop)
        return out


def augmentation_for(input_shape: Sequence[int]) -> nn.Module:
    """The default set for samples of ``input_shape``: ``(3, H, W)`` colour images,
    ``(1, H, W)`` grey images or ``(D,)`` feature vectors."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 1:
        return FeatureAugmentation()
    if len(shape) == 3 and shape[0] == 3:
        return colour_augmentation(shape[1:])
    if len(shape) == 3 and shape[0] == 1:
        return grey_augmentation(shape[1:])
    raise ConfigError(f"no augmentation for samples of shape {shape}; expected (3|1, H, W) or (D,)")


def views(augment: nn.Module, x: torch.Tensor, n_views: int) -> torch.Tensor:
    """``n_views`` independent augmentations of the batch, stacked ``(A, N, ...)`` (MLC eq. 6)."""
    return torch.stack([augment(x) for _ in range(int(n_views))])
