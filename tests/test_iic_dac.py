"""IIC and DAC (GATCluster's baselines): losses by hand, schedules, fits on toy shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_gatcluster import _shapes

from deepclust.methods.dac import DAC
from deepclust.methods.iic import IIC
from deepclust.metrics import cluster_accuracy
from deepclust.objectives.pairwise_clustering import (
    dac_loss,
    dac_thresholds,
    iic_loss,
    joint_assignment,
)

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning")
SMALL = dict(widths=(8, 16, 16), feature_dim=8, random_state=0, device="cpu")


def test_iic_loss_by_hand():
    p = torch.eye(4).repeat(5, 1)
    assert iic_loss(p, p).item() == pytest.approx(-math.log(4), rel=1e-5)  # I = H(z)
    u = torch.full((20, 4), 0.25)
    assert iic_loss(u, u).item() == pytest.approx(0.0, abs=1e-6)  # independent: I = 0
    a, b = torch.softmax(torch.randn(6, 3), 1), torch.softmax(torch.randn(6, 3), 1)
    P = joint_assignment(a, b)
    torch.testing.assert_close(P, P.T)
    assert P.sum().item() == pytest.approx(1.0)
    expected = sum(
        float(P[i, j] * (P[i, j].log() - P[i].sum().log() - P[:, j].sum().log()))
        for i in range(3) for j in range(3)
    )  # fmt: skip
    assert iic_loss(a, b).item() == pytest.approx(-expected, rel=1e-5)


def test_dac_thresholds_and_pair_selection_by_hand():
    assert dac_thresholds(0.0) == (0.95, 0.455)
    u, low = dac_thresholds(0.2)
    assert u == pytest.approx(0.75) and low == pytest.approx(0.475)
    l = torch.tensor([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]])
    l = l / l.norm(dim=1, keepdim=True)
    loss, share = dac_loss(l, 0.95, 0.455)
    s01 = float(l[0] @ l[1])
    # pairs (0,1) similar, (0,2) and (1,2) dissimilar: each counted twice, no diagonal
    expected = (
        2 * -math.log(s01) + 2 * -math.log(1 - 1e-6) + 2 * -math.log(1 - float(l[1] @ l[2]))
    ) / 6
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    assert share.item() == pytest.approx(6 / 9)


def test_dac_pairs_chosen_on_the_selection_features_and_fitted_on_the_others():
    clean = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # 0~1 similar, 2 apart
    noisy = torch.tensor([[0.6, 0.8], [0.8, 0.6], [0.28, 0.96]])  # the copies disagree
    loss, share = dac_loss(noisy, 0.95, 0.455, select=clean)
    s = noisy @ noisy.T
    expected = (2 * -math.log(float(s[0, 1])) + 2 * -math.log(1 - float(s[0, 2]))
                + 2 * -math.log(1 - float(s[1, 2]))) / 6  # fmt: skip
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    assert share.item() == pytest.approx(6 / 9)
    # chosen on the noisy copies themselves, no pair passes either threshold
    assert dac_loss(noisy, 0.99, 0.455)[1].item() == 0.0


@pytest.fixture(scope="module")
def shapes():
    return _shapes()


def test_iic_learns_above_chance_and_picks_a_main_head(shapes):
    X, y = shapes
    est = IIC(3, epochs=20, batch_size=64, lr=1e-3, **SMALL).fit(X)
    rows = [h for h in est.history_ if h["stage"] == "iic"]
    assert rows[-1]["main_heads"] == 1.0  # the last epoch trains (and picks) a main head
    assert 0 <= est.best_head_ < 5
    assert rows[-1]["loss"] < rows[1]["loss"] < 0  # mutual information grows
    assert cluster_accuracy(y, est.labels_) >= 0.5  # chance is 1/3, collapse 1/3
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_dac_uses_more_pairs_as_the_thresholds_close(shapes):
    X, _ = shapes
    est = DAC(3, epochs=60, batch_size=64, **SMALL).fit(X)
    # pairs chosen on the un-transformed shapes: every cluster used (choosing them on
    # the transformed copies left one empty here), ACC 0.73 (chance 1/3)
    assert len(np.unique(est.labels_)) == 3
    assert cluster_accuracy(shapes[1], est.labels_) >= 0.6
    rows = [h for h in est.history_ if h["stage"] == "dac"]
    assert len(rows) == 46  # u(lambda) <= l(lambda) after 46 steps of 0.0099
    assert rows[-1]["selected"] > rows[0]["selected"]
    assert all(np.isfinite(h["loss"]) for h in rows)
    np.testing.assert_allclose(np.linalg.norm(est.proba_, axis=1), 1.0, rtol=1e-5)


def test_iic_heads_read_the_flattened_feature_map():
    """IIC's heads see every cell of the last feature map (IIC's own network), with the
    last block's width as channels by default: 8 x 8 digits keep a 4 x 4 map."""
    from deepclust.methods.iic import IICNetwork

    net = IICNetwork(1, (8, 8), 10, 50, n_heads=2, feature_dim=16, widths=(8, 16, 16))
    assert [h.in_features for h in net.main] == [16 * 4 * 4] * 2
    assert net.over[0].out_features == 50
    out = net(torch.rand(3, 1, 8, 8), "main")
    assert len(out) == 2 and out[0].shape == (3, 10)
    torch.testing.assert_close(out[0].sum(1), torch.ones(3))
    assert IIC(10, widths=(8, 16, 32))._feature_channels() == 32
    assert IIC(10, feature_dim=12)._feature_channels() == 12
