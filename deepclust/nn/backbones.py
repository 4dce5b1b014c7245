"""Feature extractors and sphere heads for the self-supervised image methods (MLC, NMCE).

Written here (no torchvision): the CIFAR variant of ResNet-18 (He et al. 2016 with a
3 x 3 stride-1 stem and no max-pool, the MLC paper's backbone), a small CNN for 28 x 28
and 32 x 32 grey images, and an MLP for feature vectors (frozen-feature mode). Each
backbone has ``out_dim``; :class:`SphereHead` maps its output to unit vectors (the
feature head ``Z`` and cluster head ``C`` of MLC Fig. 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .mlp import mlp


class BasicBlock(nn.Module):
    """Two 3 x 3 convolutions with batch norm and an identity (or 1 x 1) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18Cifar(nn.Module):
    """ResNet-18 for 32 x 32 inputs: 3 x 3 stem, stages of 2 blocks at widths
    ``width * (1, 2, 4, 8)``, global average pooling; ``out_dim = 8 * width`` (512)."""

    def __init__(self, in_channels: int = 3, width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        c_in = width
        for i, mult in enumerate((1, 2, 4, 8)):
            c_out = width * mult
            stride = 1 if i == 0 else 2
            blocks += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.out_dim = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


class SmallCNN(nn.Module):
    """Four conv-BN-ReLU layers (32, 64, 128, 256 channels; two 2 x 2 max-pools) and
    global average pooling, for small grey images (MNIST, USPS, COIL-20 at 32 x 32);
    ``out_dim = 256``. Any input size of at least 4 x 4 works."""

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (32, 64, 128, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(widths):
            layers += [
                nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
            if i in (0, 1):
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.out_dim = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


class MLPBackbone(nn.Module):
    """Linear-BN-ReLU layers for feature vectors; ``hidden=()`` is the identity (frozen
    features go straight to the heads)."""

    def __init__(self, in_features: int, hidden: Sequence[int] = (512, 512)) -> None:
        super().__init__()
        dims = [int(in_features), *map(int, hidden)]
        self.net: nn.Module = nn.Identity()
        if len(dims) > 1:
            self.net = nn.Sequential(
                mlp(dims, batch_norm=True), nn.BatchNorm1d(dims[-1]), nn.ReLU()
            )
        self.out_dim = dims[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class SphereHead(nn.Module):
    """A few affine layers (Linear-BN-ReLU, then Linear to ``out_dim``) and the
    projection to the unit sphere ``S^{d-1}`` (MLC §2.3: ``Z`` and ``C``)."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden: Sequence[int] = (512,)) -> None:
        super().__init__()
        self.net = mlp([int(in_dim), *map(int, hidden), int(out_dim)], batch_norm=True)
        self.out_dim = int(out_dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(h), dim=1)


def backbone_for(
    input_shape: Sequence[int], kind: str = "auto", hidden: Sequence[int] = (512, 512)
) -> nn.Module:
    """The backbone for samples of ``input_shape``: ``(C, H, W)`` images or ``(D,)`` vectors.

    ``kind="auto"``: an MLP for vectors, the small CNN for images up to 32 x 32 with one
    channel, ResNet-18 otherwise; or ``"mlp"``, ``"cnn"``, ``"resnet18"``.
    """
    shape = tuple(int(s) for s in input_shape)
    if kind == "auto":
        if len(shape) == 1:
            kind = "mlp"
        else:
            kind = "cnn" if shape[0] == 1 and max(shape[1:]) <= 32 else "resnet18"
    if kind == "mlp":
        n_in = 1
        for s in shape:
            n_in *= s
        return MLPBackbone(n_in, hidden)
    if len(shape) != 3:
        raise ValueError(f"backbone {kind!r} needs (channels, height, width) inputs; got {shape}")
    if kind == "cnn":
        return SmallCNN(shape[0])
    if kind == "resnet18":
        return ResNet18Cifar(shape[0])
    raise ValueError(f"backbone={kind!r}; expected 'auto', 'mlp', 'cnn' or 'resnet18'")
