"""SCDSC on a small synthetic scene: contract, full cluster map, mini-batch mode, resume."""

from __future__ import annotations

import numpy as np
import pytest

from deepclust.data.synthetic import make_hsi_scene
from deepclust.exceptions import ConfigError, DataError
from deepclust.methods.scdsc import SCDSC, init_bases
from deepclust.metrics import cluster_accuracy
from deepclust.training import TrainingLoop

FAST = dict(
    n_components=4,
    patch_size=5,
    finch_patch_size=7,
    finch_components=20,
    pretrain_epochs=4,
    pretrain_batch_size=128,
    epochs=12,
    lr=5e-3,
    window=3,
    kmeans_n_init=3,
    device="cpu",
)


@pytest.fixture(scope="module")
def scene():
    return make_hsi_scene((32, 30), n_bands=20, n_classes=3, noise=0.02, random_state=0)


def fit(scene, **kw):
    est = SCDSC(n_clusters=3, random_state=0, **{**FAST, **kw})
    return est.fit(scene.cube, mask=scene.mask)


def test_full_map_and_masked_labels(scene):
    est = fit(scene)
    assert est.label_map_.shape == scene.grid_shape
    assert est.labels_.shape == (int(scene.mask.sum()),)
    np.testing.assert_array_equal(est.labels_, est.label_map_.ravel()[scene.mask.ravel()])
    assert est.soft_assignments_.shape == (len(est.labels_), 3)
    np.testing.assert_allclose(est.soft_assignments_.sum(1), 1.0, rtol=1e-5)
    assert est.miniclusters_.shape == est.labels_.shape
    stages = {r["stage"] for r in est.history_}
    assert {"pretrain", "scdsc"} <= stages
    assert 1 <= est.best_epoch_ <= FAST["epochs"]
    assert set(est.timings_) == {"preprocess", "finch", "pretrain", "init", "train", "finish"}
    assert all(t >= 0 for t in est.timings_.values())
    # quality floor: distinct synthetic spectra in coherent regions are found
    y = scene.y[scene.labelled]
    assert cluster_accuracy(y, est.labels_) > 0.9


def test_reproducible_and_predict_and_save_load(scene, tmp_path):
    a = fit(scene)
    b = fit(scene)
    np.testing.assert_array_equal(a.label_map_, b.label_map_)
    np.testing.assert_array_equal(a.predict(scene.cube), a.label_map_)
    again = SCDSC.load(a.save(tmp_path / "scdsc.pt"))
    np.testing.assert_array_equal(again.predict(scene.cube), a.label_map_)


@pytest.mark.parametrize(
    "variant",
    [
        dict(use_minicluster=False, use_local=False),
        dict(use_minicluster=True, use_local=False),
        dict(use_minicluster=False, use_local=True),
        dict(batch_size=200),
        dict(input_scaling="channel", selection="last"),
    ],
)
def test_variants_run(scene, variant):
    est = fit(scene, epochs=4, **variant)
    losses = {k for r in est.history_ if r["stage"] == "scdsc" for k in r}
    if variant.get("use_minicluster") is False:
        assert "instance" in losses and "nonlocal" not in losses
        assert est.miniclusters_ is None
    if variant.get("use_local") is False:
        assert "local" not in losses
    if variant.get("selection") == "last":
        assert est.best_epoch_ == 4
    assert np.isfinite([r["loss"] for r in est.history_ if r["stage"] == "scdsc"]).all()


class _Stop(Exception):
    pass


def test_history_logs_every_term_of_eq17_and_the_weighted_total(scene):
    est = fit(scene, epochs=3, tol=0.0)
    rows = [r for r in est.history_ if r["stage"] == "scdsc"]
    assert len(rows) == 3
    for r in rows:
        assert {"recon", "dissimilarity", "nonlocal", "local", "confident", "changed"} <= set(r)
        total = (
            r["recon"]
            + est.beta * r["dissimilarity"]
            + est.beta1 * r["nonlocal"]
            + est.beta2 * r["local"]
        )
        assert r["loss"] == pytest.approx(total, rel=1e-4)


def test_stopping_rule_ends_training_once_assignments_settle(scene):
    # tol=1: every epoch after the first (compared to nothing) counts as settled
    est = fit(scene, tol=1.0, patience=2, epochs=12)
    epochs = [r for r in est.history_ if r["stage"] == "scdsc"]
    assert est.stopped_epoch_ == 3 and len(epochs) == 3
    assert epochs[0]["changed"] == 1.0 and all(0 <= r["changed"] < 1 for r in epochs[1:])
    never = fit(scene, tol=0.0, epochs=5)
    assert never.stopped_epoch_ is None
    assert sum(r["stage"] == "scdsc" for r in never.history_) == 5


def test_resume_matches_uninterrupted(scene, tmp_path, monkeypatch):
    kw = dict(epochs=6, checkpoint_every=2)
    full = fit(scene, **kw, checkpoint_dir=str(tmp_path / "a"))
    original = TrainingLoop._save

    def crash(self, epoch):
        original(self, epoch)
        if self.stage == "scdsc" and epoch == 4:
            raise _Stop

    monkeypatch.setattr(TrainingLoop, "_save", crash)
    with pytest.raises(_Stop):
        fit(scene, **kw, checkpoint_dir=str(tmp_path / "b"))
    monkeypatch.setattr(TrainingLoop, "_save", original)
    resumed = fit(scene, **kw, checkpoint_dir=str(tmp_path / "b"), resume=True)
    np.testing.assert_array_equal(resumed.label_map_, full.label_map_)
    assert resumed.best_epoch_ == full.best_epoch_


def test_a_memory_mapped_scene_gives_the_in_memory_result(scene, tmp_path):
    """The scene may be a memmap (larger than memory): validation and preprocessing read
    it in blocks, and the fit equals the in-memory one; the file is not modified."""
    path = tmp_path / "scene.npy"
    np.save(path, scene.cube)
    before = path.read_bytes()
    mapped = np.load(path, mmap_mode="r")
    a = fit(scene, epochs=3, pretrain_epochs=2)
    b = SCDSC(n_clusters=3, random_state=0, **{**FAST, "epochs": 3, "pretrain_epochs": 2})
    b.fit(mapped, mask=scene.mask)
    np.testing.assert_array_equal(a.label_map_, b.label_map_)
    np.testing.assert_array_equal(b.predict(mapped), a.predict(scene.cube))
    assert path.read_bytes() == before


def test_bad_input(scene):
    with pytest.raises(DataError, match="rows, cols, bands"):
        SCDSC(3).fit(scene.X)
    with pytest.raises(DataError, match="mask has shape"):
        SCDSC(3).fit(scene.cube, mask=np.ones((3, 3), bool))
    cube = scene.cube.copy()
    cube[0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        SCDSC(3).fit(cube)
    with pytest.raises(ConfigError, match="window"):
        SCDSC(3, window=4).fit(scene.cube)
    with pytest.raises(ConfigError, match="input_scaling"):
        SCDSC(3, input_scaling="nope").fit(scene.cube)


def test_init_bases_are_orthonormal_per_cluster():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(60, 8))
    labels = np.repeat([0, 1, 2], 20)
    labels[:19] = 1  # cluster 0 keeps a single member: completed with random directions
    D = init_bases(Z, labels, 3, 3, rng)
    assert D.shape == (8, 9)
    for k in range(3):
        block = D[:, 3 * k : 3 * k + 3]
        np.testing.assert_allclose(block.T @ block, np.eye(3), atol=1e-5)
