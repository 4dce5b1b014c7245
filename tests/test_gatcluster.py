"""GATCluster estimator: two-step learning on a toy image set, targets, persistence, pictures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.exceptions import DataError
from deepclust.methods.gatcluster import GATCluster
from deepclust.metrics import cluster_accuracy
from deepclust.threads import set_num_threads

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning")

SMALL = dict(widths=(8, 16, 16), feature_dim=8, random_state=0, device="cpu")


def _shapes(n: int = 150, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Squares, crosses and rings at random positions: three object classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(5, size - 5, (2, len(y)))[..., None, None]
    dy, dx = yy - cy, xx - cx
    square = (abs(dy) <= 3) & (abs(dx) <= 3)
    cross = ((abs(dy) <= 4) & (abs(dx) <= 1)) | ((abs(dx) <= 4) & (abs(dy) <= 1))
    ring = (dy**2 + dx**2 <= 16) & (dy**2 + dx**2 >= 6)
    X = np.choose(y[:, None, None], [square, cross, ring]).astype(np.float32)[:, None]
    return X + 0.05 * rng.random(X.shape, dtype=np.float32), y


@pytest.fixture(scope="module")
def shapes():
    return _shapes()


@pytest.fixture(scope="module")
def fitted(shapes):
    X, _ = shapes
    # one thread (deepclust otherwise takes the free cores): on this toy set the outcome
    # depends on the float summation order and on the seed. With the packages of
    # 2026-12-04 (kornia 0.9.0, numpy 2.4.6, torch 2.13.0) seeds 0-5 reach 0.61 / 0.73 /
    # 0.67 / 1.00 / 0.38 / 0.99 after 12 epochs and 0.93 / 0.89 / 0.71 / 1.00 / 0.41 /
    # 1.00 after 20 (RESULTS.md, session 7): the floor below holds for seed 0 at 20
    # epochs, not for every seed
    set_num_threads(1)
    try:
        return GATCluster(3, epochs=20, **SMALL).fit(X)
    finally:
        set_num_threads(None)


def test_two_step_learning_separates_three_shapes(fitted, shapes):
    X, y = shapes
    assert cluster_accuracy(y, fitted.labels_) >= 0.9
    np.testing.assert_allclose(fitted.proba_.sum(1), 1.0, rtol=1e-5)
    rows = [h for h in fitted.history_ if h["stage"] == "gatcluster"]
    assert rows[-1]["invariance"] < rows[0]["invariance"]  # label features agree more
    assert not fitted.flip_ and fitted.in_channels_ == 1  # small grey images: no flips
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)


def test_split_and_merge_targets_equal_one_shot_targets(fitted, shapes):
    X, _ = shapes
    x = torch.as_tensor(fitted._scaled(X.reshape(len(X), -1)))
    fitted.set_params(target_batch=7)
    split = fitted._targets(x)
    fitted.set_params(target_batch=1000)
    whole = fitted._targets(x)
    fitted.set_params(target_batch=256)
    for key in ("target", "target_a", "ids"):
        torch.testing.assert_close(split[key], whole[key], rtol=1e-5, atol=1e-6)


def test_seeded_runs_reproduce_and_save_load_round_trips(shapes, tmp_path):
    X, _ = shapes
    a = GATCluster(3, epochs=1, passes=1, **SMALL).fit(X)
    b = GATCluster(3, epochs=1, passes=1, **SMALL).fit(X)
    np.testing.assert_allclose(a.proba_, b.proba_, rtol=1e-5, atol=1e-6)
    loaded = GATCluster.load(a.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.predict_proba(X), a.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_attention_maps_and_figure(fitted, shapes, tmp_path):
    from deepclust.data.container import Dataset

    X, y = shapes
    maps = fitted.attention_maps(X[:5])
    assert maps.shape == (5, 4, 4) and (maps >= 0).all() and (maps <= 1).all()  # 16 px: 4 x 4
    assert (maps.max(axis=(1, 2)) > 0).all()  # a narrow kernel underflows far from mu
    ds = Dataset(X=X.reshape(len(X), -1), y=y, name="shapes", image_shape=(16, 16))
    paths = fitted.write_figures(tmp_path, ds)
    assert paths and paths[0].exists() and paths[0].stat().st_size > 1000


def test_ablation_without_attention_or_relation(shapes):
    X, _ = shapes
    est = GATCluster(3, epochs=1, passes=1, attention=False, relation=False, **SMALL).fit(X)
    last = est.history_[-1]
    assert last["attention"] == 0.0 and last["relation"] > 0.0  # logged, weighted 0
    with pytest.raises(DataError, match="no maps"):
        est.attention_maps(X[:2])


def test_vectors_are_refused_with_one_line():
    with pytest.raises(DataError, match="clusters images"):
        GATCluster(3, **SMALL).fit(np.random.default_rng(0).random((20, 5)))
