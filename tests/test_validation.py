"""Parameter constraints, divergence detection, degenerate data, checkpoint fingerprints."""

from __future__ import annotations

import inspect
import time

import numpy as np
import pytest

from deepclust import IDEC, Autoencoder, VaDE
from deepclust.data.synthetic import make_half_circles
from deepclust.exceptions import ConfigError, DataError
from deepclust.methods import METHODS
from deepclust.training import TrainingDivergedError, TrainingLoop, data_digest
from deepclust.validation import ParameterError, merged_constraints

ESTIMATORS = [e.resolve() for e in METHODS.values()] + [Autoencoder]
FAST = dict(ae_layerwise_epochs=1, ae_finetune_epochs=2, epochs=2, device="cpu")


@pytest.fixture(scope="module")
def moons():
    return make_half_circles(120, distance=0.5, random_state=0).X


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_is_declared(cls):
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert params == set(merged_constraints(cls))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"batch_size": -1}, "'batch_size' parameter of IDEC must be a str among"),
        ({"batch_size": 0}, "'batch_size'.*Got 0"),
        ({"epochs": -1}, "'epochs'.*Got -1"),
        ({"epochs": "abc"}, "'epochs'.*Got 'abc'"),
        ({"n_clusters": 2.5}, "'n_clusters'.*Got 2.5"),
        ({"optimizer": "rmsprop"}, "'optimizer'.*among"),
        ({"n_init": True}, "'n_init'.*must not be a boolean"),
        ({"hidden_dims": [64, -3]}, "'hidden_dims'.*positive integers"),
        ({"random_state": -5}, "'random_state'"),
        ({"checkpoint_every": 0}, "'checkpoint_every'"),
    ],
)
def test_bad_parameters_fail_before_any_work(moons, params, match):
    tic = time.perf_counter()
    with pytest.raises(ParameterError, match=match) as info:
        IDEC(**{"n_clusters": 2, **params}).fit(moons)
    assert time.perf_counter() - tic < 1.0
    assert isinstance(info.value, ConfigError) and "\n" not in str(info.value)


def test_classic_parameters_are_validated_too(moons):
    from deepclust import KMeans, SpectralClustering

    with pytest.raises(ParameterError, match="'n_init' parameter of KMeans"):
        KMeans(n_clusters=2, n_init=0).fit(moons)
    with pytest.raises(ParameterError, match="'affinity'.*among"):
        SpectralClustering(n_clusters=2, affinity="cosine").fit(moons)


def test_non_finite_loss_stops_with_a_clear_error():
    X = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32) * 1e6
    est = VaDE(n_clusters=3, n_init=1, random_state=0, input_scaling="none", **FAST)
    with pytest.warns(UserWarning, match="standardised input"):
        with pytest.raises(TrainingDivergedError, match=r"VaDE training diverged in stage '\w+'"):
            est.fit(X)
    assert not hasattr(est, "labels_")


def test_training_loop_raises_on_nan_epoch():
    loop = TrainingLoop("toy", 3, state={}, history=[], owner="Toy")
    losses = iter([1.0, float("nan"), 0.5])
    with pytest.raises(TrainingDivergedError, match="Toy training diverged.*'toy' at epoch 2"):
        loop.run(lambda epoch: {"loss": next(losses)})


def test_identical_rows_are_refused(moons):
    from deepclust import KMeans

    X = np.full((500, 4), 3.0)
    for est in (KMeans(n_clusters=3), IDEC(n_clusters=3, **FAST)):
        with pytest.raises(DataError, match="all 500 samples are identical"):
            est.fit(X)


def test_resume_refuses_a_checkpoint_of_another_seed(moons, tmp_path):
    first = IDEC(n_clusters=2, random_state=0, checkpoint_dir=tmp_path, **FAST).fit(moons)
    assert first.labels_.shape == (len(moons),)
    other = IDEC(n_clusters=2, random_state=1, checkpoint_dir=tmp_path, resume=True, **FAST)
    with pytest.raises(DataError, match="belongs to another run.*random_state"):
        other.fit(moons)
    same = IDEC(n_clusters=2, random_state=0, checkpoint_dir=tmp_path, resume=True, **FAST)
    np.testing.assert_array_equal(same.fit(moons).labels_, first.labels_)


def test_resume_refuses_a_checkpoint_of_other_data(moons, tmp_path):
    IDEC(n_clusters=2, random_state=0, checkpoint_dir=tmp_path, **FAST).fit(moons)
    est = IDEC(n_clusters=2, random_state=0, checkpoint_dir=tmp_path, resume=True, **FAST)
    with pytest.raises(DataError, match="different data"):
        est.fit(moons[::-1].copy())


def test_data_digest_tells_data_apart():
    a = np.arange(12.0).reshape(4, 3)
    assert data_digest(a) == data_digest(a.copy())
    assert data_digest(a) != data_digest(a[::-1].copy())
    assert data_digest(a) != data_digest(a.astype(np.float32))


# --------------------------------------------------------------- crafted model files
def _crafted(tmp_path, moons, change):
    import torch

    path = IDEC(n_clusters=2, random_state=0, **FAST).fit(moons).save(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda p: p.update({"class": "deepclust.methods.nope:Gone"}), "does not have"),
        (lambda p: p.update({"class": "os:system"}), "outside deepclust"),
        (lambda p: p.update({"class": 42}), "damaged deepclust model file"),
        (lambda p: p.pop("modules"), r"damaged deepclust model file \(no modules\)"),
        (lambda p: p["params"].update({"bogus": 1}), "parameters do not fit IDEC"),
        (lambda p: p["attributes"].pop("dims_"), "learned attribute is missing"),
        (
            lambda p: p["modules"]["autoencoder_"].update(
                {k: v[:1] for k, v in p["modules"]["autoencoder_"].items()}
            ),
            "weights of network 'autoencoder_' do not fit",
        ),
    ],
    ids=[
        "unknown-class",
        "foreign-class",
        "bad-class",
        "no-modules",
        "bad-param",
        "no-attr",
        "bad-shapes",
    ],
)
def test_crafted_model_files_give_one_clear_error(tmp_path, moons, change, match):
    path = _crafted(tmp_path, moons, change)
    with pytest.raises(DataError, match=match) as info:
        IDEC.load(path)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------- input scaling
def test_choose_scaling_rules():
    from deepclust.scaling import choose_scaling

    unit = np.random.default_rng(0).random((50, 4))
    assert choose_scaling(unit, "auto")[0] == "none"
    name, offset, scale = choose_scaling(unit * 255, "auto")
    assert name == "max" and np.allclose(scale, (unit * 255).max()) and not offset.any()
    signed = np.random.default_rng(1).normal(size=(50, 3)) * [1, 100, 1e4]
    name, offset, scale = choose_scaling(signed, "auto")
    assert name == "standardize" and np.allclose(scale, signed.std(0))
    assert choose_scaling(signed / 1e4, "auto")[0] == "none"  # already small
    assert choose_scaling(np.ones((5, 2)), "standardize")[2].tolist() == [1.0, 1.0]


def test_raw_pixels_are_scaled_in_fit_and_predict(moons):
    X = np.random.default_rng(0).random((120, 6)).astype(np.float32)
    raw = X * 255.0
    est = IDEC(n_clusters=2, random_state=0, **FAST).fit(raw)
    assert est.input_scaling_ == "max" and est.output_ == "sigmoid"
    np.testing.assert_array_equal(est.predict(raw), est.labels_)
    same = IDEC(n_clusters=2, random_state=0, **FAST).fit(raw / raw.max())
    np.testing.assert_array_equal(same.labels_, est.labels_)
    assert raw.max() > 1  # the input was not modified


def test_pretrained_autoencoder_sees_the_data_as_given(moons):
    ae = Autoencoder(layerwise_epochs=1, finetune_epochs=1, random_state=0).fit(moons * 50)
    est = IDEC(n_clusters=2, random_state=0, pretrained=ae, epochs=1).fit(moons * 50)
    assert est.input_scaling_ == "none"


# ------------------------------------------------------------------ collapse handling
class _ScriptedVaDE(VaDE):
    """Restart r ends with the scripted loss and assignment (no training)."""

    script = [(1.0, "collapsed"), (2.0, "balanced"), (3.0, "balanced")]

    def _fit_once(self, X):
        loss, kind = self.script[len(self._calls)]
        self._calls.append(kind)
        n = len(X)
        self.labels_ = np.zeros(n, np.int64) if kind == "collapsed" else np.arange(n) % 2
        self.history_ = [{"stage": self._main_stage, "epoch": 1, "loss": loss}]


def test_restarts_prefer_a_run_that_did_not_collapse(moons):
    est = _ScriptedVaDE(n_clusters=2, n_init=3, random_state=0, device="cpu")
    est._calls = []
    est._fit(moons)
    assert est.run_collapsed_ == [True, False, False]
    assert est.best_run_ == 1  # lowest loss among the non-collapsed runs
    assert len(np.unique(est.labels_)) == 2


def test_a_collapsed_fit_warns(moons):
    from deepclust.base import CollapseWarning, warn_if_collapsed

    est = IDEC(n_clusters=3)
    est.labels_ = np.zeros(len(moons), np.int64)
    with pytest.warns(CollapseWarning, match="IDEC: degenerate clustering: only 1 of the 3"):
        warn_if_collapsed(est)
