"""Batched augmentations: shapes, ranges, randomness per sample, the identity cases."""

from __future__ import annotations

import pytest
import torch

from deepclust.exceptions import ConfigError
from deepclust.nn.augment import (
    FeatureAugmentation,
    augmentation_for,
    colour_augmentation,
    grey_augmentation,
    views,
)

pytest.importorskip("kornia")


def test_colour_augmentation_keeps_shape_and_range_and_differs_per_sample():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 32, 32).repeat(16, 1, 1, 1)  # one image sixteen times
    out = colour_augmentation((32, 32))(x)
    assert out.shape == x.shape
    assert out.min() >= -1e-5 and out.max() <= 1 + 1e-5
    flat = out.flatten(1)
    i, j = torch.triu_indices(16, 16, 1)
    assert torch.cdist(flat, flat)[i, j].gt(1e-3).float().mean() > 0.9  # fresh draws


def test_grey_augmentation_has_no_colour_ops_and_keeps_one_channel():
    aug = grey_augmentation((28, 28))
    names = {type(m).__name__ for m in aug}
    assert names == {"RandomResizedCrop"}
    assert aug(torch.rand(4, 1, 28, 28)).shape == (4, 1, 28, 28)
    assert {"RandomResizedCrop", "RandomHorizontalFlip"} == {
        type(m).__name__ for m in grey_augmentation((28, 28), flip=True)
    }


def test_feature_augmentation_scales_noise_to_each_feature():
    torch.manual_seed(0)
    x = torch.randn(4000, 2) * torch.tensor([1.0, 100.0])
    noise = FeatureAugmentation(noise=0.1, drop=0.0)(x) - x
    ratio = noise.std(0) / x.std(0)
    torch.testing.assert_close(ratio, torch.full((2,), 0.1), atol=0.01, rtol=0)
    dropped = FeatureAugmentation(noise=0.0, drop=0.25)(torch.ones(1000, 8))
    assert (dropped == 0).float().mean() == pytest.approx(0.25, abs=0.03)
    assert dropped.mean() == pytest.approx(1.0, abs=0.05)  # rescaled like nn.Dropout
    with pytest.raises(ConfigError):
        FeatureAugmentation(drop=1.0)


def test_augmentation_for_and_views():
    assert isinstance(augmentation_for((64,)), FeatureAugmentation)
    v = views(augmentation_for((3, 16, 16)), torch.rand(5, 3, 16, 16), 2)
    assert v.shape == (2, 5, 3, 16, 16) and not torch.allclose(v[0], v[1])
    with pytest.raises(ConfigError, match="no augmentation"):
        augmentation_for((2, 8, 8))
