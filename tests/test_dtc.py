"""DTC: temporal distances against hand computations, the autoencoder, a fit on known regimes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.exceptions import ConfigError
from deepclust.methods.dtc import DTC
from deepclust.metrics import cluster_accuracy
from deepclust.nn.dtc import TemporalAutoencoder
from deepclust.objectives.temporal_distance import (
    autocorrelation,
    student_t_from_distance,
    temporal_distance,
)


def _seqs():
    a = torch.tensor([[[0.0], [1.0], [3.0]], [[1.0], [1.0], [1.0]]])  # (2, 3, 1)
    b = torch.tensor([[[0.0], [2.0], [2.0]]])
    return a, b


def test_euclidean_and_cid_by_hand():
    a, b = _seqs()
    d = temporal_distance(a, b, "eucl")
    assert d[0, 0] == pytest.approx(np.sqrt(0 + 1 + 1), rel=1e-5)
    # CE(a0) = sqrt(1 + 4), CE(b0) = sqrt(4 + 0): CF = sqrt(5) / 2
    cid = temporal_distance(a, b, "cid")
    assert cid[0, 0] == pytest.approx(np.sqrt(2) * np.sqrt(5) / 2, rel=1e-4)


def test_correlation_distance_by_hand():
    a, b = _seqs()
    x, y = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 2.0])
    rho = np.corrcoef(x, y)[0, 1]
    d = temporal_distance(a[:1], b, "cor")
    assert d[0, 0] == pytest.approx(np.sqrt(2 * (1 - rho)), rel=1e-4)
    assert temporal_distance(b, b, "cor")[0, 0] == pytest.approx(0.0, abs=1e-3)


def test_autocorrelation_by_hand():
    x = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    c = x[0, :, 0] - 2.5
    expected = [float((c[lag:] * c[:-lag]).sum() / (c * c).sum()) for lag in (1, 2, 3)]
    torch.testing.assert_close(autocorrelation(x)[0, :, 0], torch.tensor(expected))
    with pytest.raises(ValueError, match="length >= 2"):
        temporal_distance(x[:, :1], x[:, :1], "acf")


def test_student_t_rows_sum_to_one_and_favour_the_nearest():
    d = torch.tensor([[0.5, 2.0, 3.0]])
    q = student_t_from_distance(d)
    torch.testing.assert_close(q.sum(1), torch.ones(1))
    assert q.argmax().item() == 0
    raw = 1.0 / (1.0 + d**2)
    torch.testing.assert_close(q, raw / raw.sum())


def test_temporal_autoencoder_shapes_and_pooling():
    net = TemporalAutoencoder(12, 8, kernel_size=10, pool=2, latent_channels=3)
    z, x_hat = net(torch.randn(5, 8, 12))
    assert z.shape == (5, 4, 3) and x_hat.shape == (5, 8, 12)
    with pytest.raises(ValueError, match="multiple of pool"):
        TemporalAutoencoder(12, 7, pool=2)


@pytest.fixture(scope="module")
def regimes():
    return np.repeat([0, 1, 0, 2, 1, 2, 0, 1], 8)  # 64 days, runs of 8


@pytest.fixture(scope="module")
def cube(regimes):
    rng = np.random.default_rng(0)
    patterns = rng.normal(size=(3, 6, 5, 2))
    return (patterns[regimes] + 0.1 * rng.normal(size=(64, 6, 5, 2))).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(cube):
    return DTC(3, window=8, stride=8, filters=16, lstm_units=16, latent_channels=2,
               pretrain_epochs=60, epochs=3, batch_size=4, random_state=0,
               device="cpu").fit(cube)  # fmt: skip


def test_fit_on_windows_aligned_with_the_regimes(fitted, cube, regimes):
    assert fitted.labels_.shape == (len(cube),)
    np.testing.assert_allclose(fitted.proba_.sum(1), 1.0, rtol=1e-5)
    assert fitted.centroids_.shape == (3, 4, 2)
    assert cluster_accuracy(regimes, fitted.labels_) >= 0.9
    assert {h["stage"] for h in fitted.history_} == {"pretrain", "dtc"}
    np.testing.assert_array_equal(fitted.predict(cube), fitted.labels_)


def test_save_load_round_trips(fitted, cube, tmp_path):
    loaded = DTC.load(fitted.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.predict_proba(cube), fitted.predict_proba(cube), rtol=1e-5)


def test_window_must_be_a_multiple_of_pool(cube):
    with pytest.raises(ConfigError, match="multiple of pool"):
        DTC(3, window=7, pool=2).fit(cube)
