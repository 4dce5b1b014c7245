"""The estimator contract for every deep method: clone, seeding, save/load, predict, resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from deepclust import AEGMM, DEC, DGG, EDESC, IDEC, MLC, NMCE, Autoencoder, VaDE
from deepclust.data.synthetic import make_half_circles
from deepclust.exceptions import ConfigError, DataError
from deepclust.training import TrainingLoop

FAST_AE = dict(ae_layerwise_epochs=2, ae_finetune_epochs=3)
FAST = {
    DGG: dict(FAST_AE, vae_epochs=2, classifier_epochs=2, epochs=3, n_neighbors=5),
    VaDE: dict(FAST_AE, epochs=3),
    DEC: dict(FAST_AE, epochs=3),
    IDEC: dict(FAST_AE, epochs=3),
    AEGMM: dict(FAST_AE),
    EDESC: dict(FAST_AE, epochs=3),
    MLC: dict(init_epochs=2, epochs=3, dim=8, backbone_hidden=(16,), head_hidden=(16,)),
    NMCE: dict(
        init_epochs=2, epochs=3, finetune_epochs=2, dim=8, backbone_hidden=(16,), head_hidden=(16,)
    ),
}
METHODS = list(FAST)


@pytest.fixture(scope="module")
def moons():
    ds = make_half_circles(150, distance=0.5, random_state=0)
    return ds.X, ds.y


def make(cls, **kw):
    return cls(n_clusters=2, random_state=0, device="cpu", **{**FAST[cls], **kw})


@pytest.mark.parametrize("cls", METHODS)
def test_fit_contract(cls, moons):
    X, _ = moons
    est = make(cls)
    assert clone(est).get_params() == est.get_params()
    assert not hasattr(est, "labels_")  # __init__ stores parameters only
    assert est.fit(X) is est
    assert est.labels_.shape == (len(X),) and est.labels_.dtype == np.int64
    assert set(np.unique(est.labels_)) <= {0, 1}
    assert est.n_features_in_ == 2
    assert est.embedding_.shape[0] == len(X)
    assert est.transform(X[:7]).shape == (7, est.embedding_.shape[1])
    assert est.predict(X[:7]).shape == (7,)
    if cls is not AEGMM:
        assert est.history_ and {"stage", "epoch", "seconds"} <= set(est.history_[-1])
        assert all(np.isfinite(r["loss"]) for r in est.history_ if "loss" in r)


@pytest.mark.parametrize("cls", METHODS)
def test_seeded_runs_reproduce_and_predict_matches_labels(cls, moons):
    X, _ = moons
    a = make(cls).fit(X)
    b = make(cls).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    if cls is MLC:  # labels_ come from spectral clustering, predict from the subspaces
        assert (a.predict(X) == a.labels_).mean() > 0.9
    else:
        np.testing.assert_array_equal(a.predict(X), a.labels_)


@pytest.mark.parametrize("cls", METHODS)
def test_save_load_round_trip(cls, moons, tmp_path):
    X, _ = moons
    est = make(cls).fit(X)
    path = est.save(tmp_path / "model.pt")
    again = type(est).load(path)
    assert type(again) is cls
    assert again.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    new = X[::3] + 0.01
    np.testing.assert_array_equal(again.predict(new), est.predict(new))
    np.testing.assert_allclose(again.transform(new), est.transform(new), rtol=0, atol=0)
    np.testing.assert_array_equal(again.labels_, est.labels_)


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(DataError, match="not a deepclust model"):
        DGG.load(bad)
    with pytest.raises(DataError, match="not found"):
        DGG.load(tmp_path / "missing.pt")
    torch.save({"format": "deepclust-model", "class": "os:system", "params": {}}, bad)
    with pytest.raises(DataError, match="outside deepclust"):
        DGG.load(bad)


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("cls", [DGG, IDEC, MLC])
def test_resume_after_interruption_matches_uninterrupted(cls, moons, tmp_path, monkeypatch):
    X, _ = moons
    kw = dict(epochs=6, checkpoint_every=2)
    full = make(cls, **kw, checkpoint_dir=str(tmp_path / "full")).fit(X)

    stage = cls.__name__.lower()
    original = TrainingLoop._save

    def crash_after_second_checkpoint(self, epoch):
        original(self, epoch)
        if self.stage == stage and epoch == 4:
            raise _Interrupt  # the machine stops right after a checkpoint was written

    monkeypatch.setattr(TrainingLoop, "_save", crash_after_second_checkpoint)
    ckpt = str(tmp_path / "run")
    with pytest.raises(_Interrupt):
        make(cls, **kw, checkpoint_dir=ckpt).fit(X)
    monkeypatch.setattr(TrainingLoop, "_save", original)

    resumed = make(cls, **kw, checkpoint_dir=ckpt, resume=True).fit(X)
    np.testing.assert_array_equal(resumed.labels_, full.labels_)
    np.testing.assert_array_equal(resumed.embedding_, full.embedding_)
    runs = {r.get("run", 0) for r in resumed.history_}
    for run in runs:  # every restart's history restored, not duplicated
        epochs = [
            r["epoch"] for r in resumed.history_ if r["stage"] == stage and r.get("run", 0) == run
        ]
        assert epochs == list(range(1, 7))


def test_resume_needs_checkpoint_dir(moons):
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        make(DGG, resume=True).fit(moons[0])


def test_pretrained_autoencoder_is_shared_and_checked(moons):
    X, _ = moons
    ae = Autoencoder(layerwise_epochs=2, finetune_epochs=2, random_state=0).fit(X)
    a = DEC(n_clusters=2, pretrained=ae, epochs=2, random_state=0).fit(X)
    b = AEGMM(n_clusters=2, pretrained=ae, random_state=0).fit(X)
    np.testing.assert_allclose(b.embedding_, ae.transform(X), rtol=1e-5, atol=1e-6)
    assert a.dims_ == ae.dims_
    with pytest.raises(ConfigError, match="expects 2 features"):
        DEC(n_clusters=2, pretrained=ae).fit(np.hstack([X, X]))


def test_bad_parameters_raise_one_line_errors(moons):
    X, _ = moons
    with pytest.raises(ConfigError, match="n_neighbors"):
        make(DGG, n_neighbors=-1).fit(X)
    with pytest.raises(ConfigError, match="affinity"):
        make(DGG, affinity="cosmic").fit(X)
    with pytest.raises(ConfigError, match="bernoulli"):
        make(VaDE, likelihood="bernoulli").fit(X)  # data not in [0, 1]
    with pytest.raises(ConfigError, match="n_clusters=1"):
        DGG(n_clusters=1).fit(X)
    with pytest.raises(ConfigError, match="n_samples=300"):
        DGG(n_clusters=301).fit(X)


@pytest.mark.parametrize("cls", [DGG, VaDE])
def test_restarts_keep_the_lowest_final_loss(cls, moons):
    X, _ = moons
    multi = make(cls, n_init=3).fit(X)
    single = make(cls, n_init=1).fit(X)
    assert len(multi.run_losses_) == 3
    assert multi.best_run_ == int(np.argmin(multi.run_losses_))
    assert {r["run"] for r in multi.history_} == {0, 1, 2}
    stage = cls.__name__.lower()
    final = [r["loss"] for r in multi.history_ if r["stage"] == stage and r["run"] == 0][-1]
    # run 0 is the single run with the same seed; later runs use other seeds
    assert final == pytest.approx(multi.run_losses_[0])
    assert single.history_[-1]["loss"] == pytest.approx(multi.run_losses_[0], rel=1e-6)
    assert len(set(multi.run_losses_)) == 3
    assert multi.random_state == 0  # the parameter is restored after the restarts
    kept = [r for r in multi.history_ if r["run"] == multi.best_run_ and r["stage"] == stage]
    assert kept[-1]["loss"] == pytest.approx(min(multi.run_losses_))
    np.testing.assert_array_equal(multi.predict(X), multi.labels_)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "many", True])
def test_bad_n_init_is_config_error(bad, moons):
    with pytest.raises(ConfigError, match="n_init"):
        make(DGG, n_init=bad).fit(moons[0])


class _CollapsingFirst(IDEC):
    """IDEC whose first ``n_bad`` attempts end with every sample in one cluster."""

    n_bad = 1

    def _fit_clustering(self, data, pretrained, n_epochs, attempt):
        super()._fit_clustering(data, pretrained, n_epochs, attempt)
        self.seen_attempts = getattr(self, "seen_attempts", []) + [attempt]
        if attempt < self.n_bad:
            self.labels_ = np.zeros_like(self.labels_)


def test_dec_retries_a_collapsed_result_from_another_kmeans_seed(moons):
    X, _ = moons
    est = _CollapsingFirst(n_clusters=2, random_state=0, device="cpu", **FAST[IDEC]).fit(X)
    assert est.seen_attempts == [0, 1]
    assert est.run_collapsed_ == [True, False]
    assert len(np.unique(est.labels_)) == 2
    stage = est._stage
    assert {r["stage"] for r in est.history_} >= {stage, f"{stage}_retry1"}
    # a result that is never degenerate trains once
    plain = make(IDEC).fit(X)
    assert plain.run_collapsed_ == [False]


def test_dec_keeps_and_reports_the_least_degenerate_when_all_collapse(moons):
    from deepclust.base import CollapseWarning

    X, _ = moons

    class Always(_CollapsingFirst):
        n_bad = 99

    est = Always(n_clusters=2, random_state=0, device="cpu", collapse_retries=1, **FAST[IDEC])
    with pytest.warns(CollapseWarning, match="degenerate clustering"):
        est.fit(X)
    assert est.run_collapsed_ == [True, True]
    assert est.seen_attempts == [0, 1]


def test_vade_uniform_mixture_weights_stay_fixed(moons, tmp_path):
    X, _ = moons
    fixed = make(VaDE, n_init=1, mixture_weights="uniform").fit(X)
    np.testing.assert_allclose(fixed.mixture_weights_, [0.5, 0.5], atol=1e-7)
    learned = make(VaDE, n_init=1, mixture_weights="learned").fit(X)
    assert not np.allclose(learned.mixture_weights_, [0.5, 0.5], atol=1e-4)
    again = VaDE.load(fixed.save(tmp_path / "vade.pt"))
    np.testing.assert_allclose(again.mixture_weights_, [0.5, 0.5], atol=1e-7)
    np.testing.assert_array_equal(again.predict(X), fixed.labels_)
