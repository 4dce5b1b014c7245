"""GATCluster's Gaussian attention, network layouts and the four losses against hand values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.nn.gatcluster import GATClusterNetwork, backbone_layout, gaussian_attention_map
from deepclust.objectives.gatcluster import (
    attention_loss,
    balanced_target,
    entropy_loss,
    gatcluster_objective,
    relation_labels,
    relation_targets,
    separability_loss,
    sharpened_target,
    transformation_invariance_loss,
)


def test_gaussian_map_peaks_at_mu_and_spreads_with_sigma():
    params = torch.tensor([[0.25, 0.75, 0.5], [0.5, 0.5, 0.05]])
    amap = gaussian_attention_map(params, 5, 5, alpha=0.05)
    assert amap.shape == (2, 5, 5)
    # peak at (x = 0.25, y = 0.75): column 1, row 3 of a 5-point [0, 1] grid
    assert divmod(int(amap[0].argmax()), 5) == (3, 1)
    assert amap[0, 3, 1].item() == pytest.approx(1.0)
    # exp(-||u - mu||^2 / (alpha delta)) by hand at (x = 0.5, y = 0.75)
    expected = np.exp(-(0.25**2) / (0.05 * (0.5 + 1e-5)))
    assert amap[0, 3, 2].item() == pytest.approx(expected, rel=1e-4)
    assert amap[1].sum() < amap[0].sum()  # smaller delta, tighter map


def test_diagonal_and_full_covariances_shape_the_map():
    diag = gaussian_attention_map(
        torch.tensor([[0.5, 0.5, 0.9, 0.01]]), 9, 9, covariance="diagonal"
    )
    assert diag[0, 4, 8] > diag[0, 8, 4]  # wide in x, narrow in y
    # full with l21 = 0 (param 0.5) equals diagonal with delta = l^2
    full = gaussian_attention_map(
        torch.tensor([[0.4, 0.6, 0.3, 0.2, 0.5]]), 7, 7, covariance="full"
    )
    same = gaussian_attention_map(
        torch.tensor([[0.4, 0.6, (0.3 + 1e-5) ** 2 - 1e-5, (0.2 + 1e-5) ** 2 - 1e-5]]),
        7,
        7,
        covariance="diagonal",
    )
    torch.testing.assert_close(full, same, rtol=1e-4, atol=1e-6)
    tilted = gaussian_attention_map(
        torch.tensor([[0.5, 0.5, 0.3, 0.1, 0.9]]), 9, 9, alpha=1.0, covariance="full"
    )
    assert tilted[0, 5, 5] > 10 * tilted[0, 5, 3]  # correlated: along the diagonal


@pytest.mark.parametrize(
    "size,grid",
    [
        ((96, 96), 6),
        ((32, 32), 4),
        ((28, 28), 3),
        ((128, 128), 4),
        ((8, 8), 4),
        ((16, 16), 4),
        ((64, 64), 5),
    ],  # fmt: skip
)
def test_network_layouts_by_input_size(size, grid):
    net = GATClusterNetwork(1, size, 7, widths=(4, 4, 4), feature_dim=8).eval()
    out = net(torch.rand(2, 1, *size))
    assert out["l"].shape == (2, 7) and out["l_a"].shape == (2, 7)
    assert out["map"].shape == (2, grid, grid)
    torch.testing.assert_close(out["l"].sum(1), torch.ones(2))
    assert backbone_layout(size)["padding"] == (1 if size[0] < 64 else 0)
    # the paper's input sizes keep every pooling; smaller ones skip the last ones
    assert all(backbone_layout(size)["pools"]) == (size[0] in (28, 32, 96, 128))


def test_map_size_and_no_attention():
    net = GATClusterNetwork(1, (28, 28), 3, widths=(4, 4, 4), feature_dim=8, map_size=6).eval()
    assert net(torch.rand(2, 1, 28, 28))["map"].shape == (2, 6, 6)
    plain = GATClusterNetwork(1, (28, 28), 3, widths=(4, 4, 4), feature_dim=8, attention=False)
    assert set(plain(torch.rand(2, 1, 28, 28))) == {"l"}


L = torch.tensor([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])


def test_balanced_and_sharpened_targets_by_hand():
    z = L.sum(0)
    t = (L / z) / (L / z).sum(1, keepdim=True)
    torch.testing.assert_close(balanced_target(L), t)
    s = (L**2 / z) / (L**2 / z).sum(1, keepdim=True)
    torch.testing.assert_close(sharpened_target(L), s)
    assert (sharpened_target(L).max(1).values >= balanced_target(L).max(1).values).all()


def test_invariance_entropy_and_attention_losses_by_hand():
    t = balanced_target(L)
    assert transformation_invariance_loss(L, t).item() == pytest.approx(
        -(L * t).sum(1).mean().item()
    )
    p = L.mean(0)
    assert entropy_loss(L).item() == pytest.approx((p * p.log()).sum().item(), rel=1e-6)
    assert entropy_loss(torch.full((4, 3), 1 / 3)).item() == pytest.approx(-np.log(3), rel=1e-5)
    ta = sharpened_target(L)
    bce = -(ta * L.log() + (1 - ta) * (1 - L).log()).mean()
    assert attention_loss(L, ta).item() == pytest.approx(bce.item(), rel=1e-5)


def test_separability_loss_by_hand():
    r = relation_targets(torch.tensor([0, 0, 1]))
    assert torch.equal(r, torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]]))
    u = L / L.norm(dim=1, keepdim=True)
    d = (u @ u.T).numpy()
    pairs = [(0, 1, 1.0), (0, 2, 0.0), (1, 2, 0.0)]
    expected = np.mean([-np.log(d[i, j]) if y else -np.log(1 - d[i, j]) for i, j, y in pairs])
    assert separability_loss(L, r).item() == pytest.approx(float(expected), rel=1e-5)


def test_relation_labels_fall_back_to_identity_on_tiny_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 0.9 + 0.05
    l = torch.as_tensor(centres[np.repeat([0, 1, 2], 20)] + 0.01 * rng.random((60, 3)),
                        dtype=torch.float32)  # fmt: skip
    ids = relation_labels(l, 3)
    assert len(np.unique(ids)) == 3 and np.all(np.bincount(ids) == 20)
    lopsided = torch.as_tensor(centres[np.r_[np.zeros(59, int), [1]]], dtype=torch.float32)
    assert np.array_equal(relation_labels(lopsided, 2), np.arange(60))  # identity fallback


def test_total_objective_weights_each_term():
    r = relation_targets(torch.tensor([0, 0, 1]))
    t, ta = balanced_target(L), sharpened_target(L)
    terms = gatcluster_objective(L, L, t, ta, r, alpha1=2.0, alpha2=3.0, alpha3=4.0)
    entropies = terms["entropy"] + terms["entropy_attention"]
    expected = terms["relation"] + 2 * terms["invariance"] + 3 * entropies + 4 * terms["attention"]
    assert terms["loss"].item() == pytest.approx(expected.item())
    no_att = gatcluster_objective(L, None, t, ta, r)
    assert no_att["attention"].item() == 0.0 and no_att["entropy_attention"].item() == 0.0
