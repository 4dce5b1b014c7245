"""DSC (Faruque et al. 2023): network shapes, fit on a cube with known regimes, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.exceptions import DataError
from deepclust.methods.dsc import DSC
from deepclust.metrics import cluster_accuracy
from deepclust.nn.dsc import DSCNetwork

TINY = dict(window=4, filters=(4, 8), lstm_hidden=16, latent_dim=8, pretrain_epochs=100,
            epochs=3, batch_size=4, n_init=5, random_state=0, device="cpu")  # fmt: skip


@pytest.fixture(scope="module")
def regimes():
    return np.repeat([0, 1, 0, 2, 1, 2], 8)  # 48 days


@pytest.fixture(scope="module")
def cube(regimes):
    rng = np.random.default_rng(0)
    patterns = rng.normal(size=(3, 6, 5, 2))
    return (patterns[regimes] + 0.1 * rng.normal(size=(48, 6, 5, 2))).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(cube):
    return DSC(3, **TINY).fit(cube)


def test_network_keeps_frame_sizes_and_the_authors_top_grid():
    net = DSCNetwork(7, (41, 41), 7)  # the authors' 41 x 41 ERA5 grid, 64-128-256-512
    assert net.top == (512, 3, 3)  # their Dense(4608) = 3 x 3 x 512
    x = torch.randn(1, 2, 7, 41, 41)
    out = net(x)
    assert out["z"].shape == (1, 2, 256) and out["x_hat"].shape == x.shape
    z = out["z"].detach()
    assert float(z.min()) >= 0.0 and float(z.max()) <= 1.0  # sigmoid code
    torch.testing.assert_close(out["q"].sum(-1), torch.ones(1, 2))


def test_lstm_links_the_steps_of_a_window():
    torch.manual_seed(0)
    net = DSCNetwork(1, (6, 6), 2, filters=(2, 4), lstm_hidden=8, latent_dim=4).eval()
    x = torch.randn(1, 3, 1, 6, 6)
    y = x.clone()
    y[0, 0] += 1.0  # change the first frame only
    z_x, z_y = net.embed(x), net.embed(y)
    assert not torch.allclose(z_x[0, 2], z_y[0, 2])  # a later step sees it through the LSTM


def test_fit_finds_the_regimes(fitted, cube, regimes):
    assert fitted.labels_.shape == (len(cube),)
    np.testing.assert_allclose(fitted.proba_.sum(1), 1.0, rtol=1e-5)
    assert fitted.embedding_.shape == (len(cube), 8)
    assert cluster_accuracy(regimes, fitted.labels_) >= 0.9
    assert {h["stage"] for h in fitted.history_} == {"pretrain", "dsc"}
    rec = [h["rec"] for h in fitted.history_ if h["stage"] == "pretrain"]
    assert rec[-1] < rec[0]
    np.testing.assert_array_equal(fitted.predict(cube), fitted.labels_)


def test_seeded_runs_reproduce_and_save_load_round_trips(fitted, cube, tmp_path):
    again = DSC(3, **TINY).fit(cube)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    loaded = DSC.load(fitted.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.predict_proba(cube), fitted.predict_proba(cube), rtol=1e-5)


def test_nan_cells_never_enter_the_loss(cube):
    holed = cube.copy()
    holed[:, 0, 0, 0] = np.nan  # a land cell of one variable
    est = DSC(3, **{**TINY, "pretrain_epochs": 2, "epochs": 1}).fit(holed)
    assert np.isfinite(est.embedding_).all()
    assert np.isnan(holed[:, 0, 0, 0]).all()  # the input is not modified


def test_bad_input_one_line_errors(fitted, cube):
    with pytest.raises(DataError, match="time, lat, lon, variables"):
        DSC(3, **TINY).fit(np.zeros((4, 5)))
    with pytest.raises(DataError, match="fewer than window"):
        DSC(3, **TINY).fit(cube[:3])
    with pytest.raises(DataError, match="expected"):
        fitted.predict(cube[:, :, :4])
