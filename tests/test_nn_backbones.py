"""Backbones and sphere heads of the self-supervised image methods."""

from __future__ import annotations

import pytest
import torch

from deepclust.nn.backbones import (
    MLPBackbone,
    ResNet18Cifar,
    SmallCNN,
    SphereHead,
    backbone_for,
)


def test_resnet18_cifar_has_the_reference_size_and_keeps_32x32_resolution_in_stage_1():
    net = ResNet18Cifar()
    # the CIFAR ResNet-18 without its 10-class layer: 11,173,962 - 5,130 parameters
    assert sum(p.numel() for p in net.parameters()) == 11_168_832
    x = torch.randn(2, 3, 32, 32)
    assert net.stem(x).shape == (2, 64, 32, 32)  # 3x3 stride-1 stem, no max-pool
    assert net(x).shape == (2, 512) and net.out_dim == 512


@pytest.mark.parametrize("side", [28, 32])
def test_small_cnn_on_grey_images(side):
    net = SmallCNN(1)
    assert net(torch.randn(3, 1, side, side)).shape == (3, 256)


def test_mlp_backbone_and_identity_mode():
    assert MLPBackbone(20, (64, 32))(torch.randn(5, 20)).shape == (5, 32)
    frozen = MLPBackbone(20, ())
    x = torch.randn(5, 20)
    assert torch.equal(frozen(x), x) and frozen.out_dim == 20


def test_sphere_head_outputs_unit_vectors():
    head = SphereHead(32, 16, (64,))
    z = head(torch.randn(8, 32))
    assert z.shape == (8, 16)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(8))


def test_backbone_for_picks_by_input_shape():
    assert isinstance(backbone_for((784,)), MLPBackbone)
    assert isinstance(backbone_for((1, 28, 28)), SmallCNN)
    assert isinstance(backbone_for((3, 32, 32)), ResNet18Cifar)
    assert isinstance(backbone_for((1, 28, 28), "mlp"), MLPBackbone)
    with pytest.raises(ValueError, match="backbone"):
        backbone_for((1, 28, 28), "vit")
    with pytest.raises(ValueError, match="channels"):
        backbone_for((784,), "cnn")
