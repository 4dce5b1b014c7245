"""GATCluster's network (Niu et al., ECCV 2020, §3.2 and Fig. 2).

* Image feature module: a fully convolutional VGG-style network with batch norm. Three
  blocks of three 3x3 convolutions (64, 128, 256 channels) each followed by 2x2 max
  pooling, then a 1x1 convolution to ``feature_dim`` channels. The layout follows the
  input size (:func:`backbone_layout`): unpadded convolutions for 96 x 96 (a 6 x 6 map,
  the authors' STL-10 network), padded ones for 32 x 32 and 28 x 28 inputs, and three
  more unpadded convolutions (no pooling; a 4 x 4 map) for 128 x 128 ImageNet-10 input.
  On inputs smaller than the paper's (8 x 8, 16 x 16) the last poolings are skipped so
  that the map stays at least 3 x 3 (a 1 x 1 map would make the attention a constant).
* Label feature module: 1x1 convolution + BN, global average pooling and a fully
  connected layer (``feature_dim -> k -> k``) to softmax label features ``l``.
* Attention module: a fully connected layer predicts the Gaussian parameters ``Phi`` from
  the pooled features; eq. (9) gives the map ``A(u) = exp(-(u - mu)^T Sigma^{-1}
  (u - mu) / alpha)`` on coordinates normalised to [0, 1]; the label module's
  convolutional features multiplied by ``A`` and pooled go through their own fully
  connected layers to the attention label features ``l^a``.

``covariance`` sets ``Sigma``: ``"isotropic"`` (``delta I``, the paper's implementation,
three parameters), ``"diagonal"`` or ``"full"`` (a Cholesky factor, five parameters).
The authors' code feeds one output to both ``mu_y`` and ``delta``; here every parameter
has its own output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

COVARIANCES = ("isotropic", "diagonal", "full")
_N_PARAMS = {"isotropic": 3, "diagonal": 4, "full": 5}


#: Smallest side of the feature map the layout keeps: a Gaussian attention map (eq. 9)
#: on fewer cells than this cannot single out a region.
MIN_MAP_SIDE = 3


def backbone_layout(size: Sequence[int], n_blocks: int = 3) -> dict[str, object]:
    """Padding, extra blocks and which blocks pool, for an input size.

    The authors' layouts: unpadded convolutions from 64 px (STL-10 at 96 px -> 6 x 6),
    three more unpadded convolutions from 128 px (ImageNet-10 -> 4 x 4), padded ones
    below (CIFAR 32 -> 4 x 4, MNIST 28 -> 3 x 3). A block skips its 2 x 2 pooling when
    pooling would leave the final map under ``MIN_MAP_SIDE`` (8 x 8 digits: 4 x 4, not
    1 x 1; 16 x 16 USPS: 4 x 4, not 2 x 2), so that the attention map keeps a spatial
    extent on inputs smaller than the paper's.
    """
    h, w = int(size[0]), int(size[1])
    side = min(h, w)
    extra = side >= 128
    padding = 0 if side >= 64 else 1
    shrink = 0 if padding else 6  # three unpadded 3x3 convolutions per block
    pools = []
    s = side
    for i in range(n_blocks):
        s -= shrink
        later = shrink * (n_blocks - 1 - i) + shrink * extra
        pool = s // 2 - later >= MIN_MAP_SIDE
        pools.append(pool)
        s = s // 2 if pool else s
    return {"padding": padding, "extra": extra, "pools": tuple(pools)}


def _block(c_in: int, c_out: int, n_convs: int, padding: int, pool: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=padding),
                   nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]  # fmt: skip
    return [*layers, nn.MaxPool2d(2)] if pool else layers


class ImageFeatures(nn.Module):
    """The fully convolutional image feature module."""

    def __init__(
        self, in_channels: int, size: Sequence[int], feature_dim: int = 32,
        widths: Sequence[int] = (64, 128, 256),
    ) -> None:  # fmt: skip
        super().__init__()
        layout = backbone_layout(size, len(widths))
        pad = int(layout["padding"])
        layers: list[nn.Module] = []
        c = in_channels
        for width, pool in zip(widths, layout["pools"], strict=True):
            layers += _block(c, width, 3, pad, pool=pool)
            c = width
        if layout["extra"]:  # 128 px: three more unpadded convolutions, 10 x 10 -> 4 x 4
            layers += _block(c, c, 3, pad, pool=False)
        layers += [nn.Conv2d(c, feature_dim, 1), nn.BatchNorm2d(feature_dim), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def gaussian_attention_map(
    params: torch.Tensor, height: int, width: int, alpha: float = 0.05,
    covariance: str = "isotropic",
) -> torch.Tensor:  # fmt: skip
    """Eq. (9): the ``(B, H, W)`` map of each image's Gaussian kernel.

    ``params`` are in (0, 1) (sigmoid outputs): ``mu_x, mu_y`` and then ``delta``
    (isotropic), ``delta_x, delta_y`` (diagonal) or the Cholesky entries ``l11, l22`` and
    ``l21`` (mapped to [-1, 1]) of ``Sigma = L L^T`` (full). Coordinates run over [0, 1].
    """
    b = params.shape[0]
    ys = torch.linspace(0.0, 1.0, height, device=params.device, dtype=params.dtype)
    xs = torch.linspace(0.0, 1.0, width, device=params.device, dtype=params.dtype)
    dy = ys.view(1, height, 1) - params[:, 1].view(b, 1, 1)
    dx = xs.view(1, 1, width) - params[:, 0].view(b, 1, 1)
    floor = 1e-5  # keeps Sigma invertible when the sigmoid saturates (the authors' 1e-5)
    if covariance == "isotropic":
        d = params[:, 2].view(b, 1, 1) + floor
        quad = (dx**2 + dy**2) / d
    elif covariance == "diagonal":
        quad = dx**2 / (params[:, 2].view(b, 1, 1) + floor)
        quad = quad + dy**2 / (params[:, 3].view(b, 1, 1) + floor)
    elif covariance == "full":
        l11 = params[:, 2].view(b, 1, 1) + floor
        l22 = params[:, 3].view(b, 1, 1) + floor
        l21 = (2 * params[:, 4] - 1).view(b, 1, 1)
        # Sigma^{-1} quadratic form via L^{-1} u: solve the 2 x 2 triangular system
        v1 = dx / l11
        v2 = (dy - l21 * v1) / l22
        quad = v1**2 + v2**2
    else:
        raise ValueError(f"covariance={covariance!r}; expected one of {', '.join(COVARIANCES)}")
    return torch.exp(-quad / alpha)


class GATClusterNetwork(nn.Module):
    """Image features, label features ``l`` and attention label features ``l^a``."""

    def __init__(
        self,
        in_channels: int,
        size: Sequence[int],
        n_clusters: int,
        *,
        feature_dim: int = 32,
        widths: Sequence[int] = (64, 128, 256),
        attention: bool = True,
        alpha: float = 0.05,
        covariance: str = "isotropic",
        map_size: int | None = None,
    ) -> None:
        super().__init__()
        if covariance not in COVARIANCES:
            raise ValueError(f"covariance={covariance!r}; expected one of {', '.join(COVARIANCES)}")
        k = n_clusters
        self.alpha, self.covariance, self.map_size = float(alpha), covariance, map_size
        self.features = ImageFeatures(in_channels, size, feature_dim, widths)
        self.label_conv = nn.Sequential(nn.Conv2d(feature_dim, feature_dim, 1),
                                        nn.BatchNorm2d(feature_dim))  # fmt: skip
        self.label_fc = nn.Sequential(nn.Linear(feature_dim, k), nn.ReLU(), nn.Linear(k, k))
        self.attention = attention
        if attention:
            self.att_conv = nn.Conv2d(feature_dim, feature_dim, 1)
            self.att_params = nn.Linear(feature_dim, _N_PARAMS[covariance])
            self.att_fc = nn.Sequential(nn.Linear(feature_dim, k), nn.ReLU(), nn.Linear(k, k))

    def label_features(self, x: torch.Tensor) -> torch.Tensor:
        """``l`` (softmax over k): what clusters an image, the inference path."""
        conv = self.label_conv(self.features(x))
        return torch.softmax(self.label_fc(conv.mean(dim=(2, 3))), dim=1)

    def attention_map(self, conv: torch.Tensor) -> torch.Tensor:
        """The ``(B, H, W)`` Gaussian map on the feature grid (or ``map_size`` squared)."""
        pooled = F.relu(self.att_conv(conv)).mean(dim=(2, 3))
        params = torch.sigmoid(self.att_params(pooled))
        h, w = (self.map_size, self.map_size) if self.map_size else conv.shape[-2:]
        return gaussian_attention_map(params, int(h), int(w), self.alpha, self.covariance)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        conv = self.label_conv(self.features(x))
        out = {"l": torch.softmax(self.label_fc(conv.mean(dim=(2, 3))), dim=1)}
        if self.attention:
            amap = self.attention_map(conv)
            grid = conv
            if amap.shape[-2:] != conv.shape[-2:]:  # map_size: features resampled to the map
                grid = F.interpolate(conv, size=amap.shape[-2:], mode="bilinear",
                                     align_corners=True)  # fmt: skip
            attended = (grid * amap[:, None]).mean(dim=(2, 3))  # Mul, then global pooling
            out["l_a"] = torch.softmax(self.att_fc(attended), dim=1)
            out["map"] = amap
        return out


__all__ = ["COVARIANCES", "GATClusterNetwork", "backbone_layout", "gaussian_attention_map"]
