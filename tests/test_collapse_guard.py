"""The collapse guard of the mixture VAEs: stop on a degenerate assignment, keep the last
sound model, and rank such runs below runs that trained to the end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust import DGG, VaDE
from deepclust.data.synthetic import make_half_circles
from deepclust.diagnostics import is_collapsed
from deepclust.training import CollapseGuard

FAST_AE = dict(ae_layerwise_epochs=2, ae_finetune_epochs=3)


def test_guard_keeps_the_last_sound_state_and_restores_it():
    net = torch.nn.Linear(3, 2)
    guard = CollapseGuard({"net": net}, n_clusters=2)
    assert not guard.check(np.array([0, 1, 0, 1]), 0)
    sound = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    assert not guard.check(np.array([0, 1, 1, 1]), 1)  # 75 %: still sound
    kept = net.weight.detach().clone()
    assert not torch.equal(kept, sound)
    with torch.no_grad():
        net.weight.mul_(-3.0)
    assert guard.check(np.zeros(4, np.int64), 2)  # one cluster: stop, put back epoch 1
    assert torch.equal(net.weight, kept)
    assert (guard.stopped_epoch, guard.kept_epoch) == (2, 1)


def test_guard_never_stops_a_model_that_was_degenerate_from_the_start():
    net = torch.nn.Linear(3, 2)
    guard = CollapseGuard({"net": net}, n_clusters=3)
    before = net.weight.detach().clone()
    assert not guard.check(np.array([0, 0, 1, 1]), 0)  # 2 of 3 clusters, nothing kept
    assert guard.stopped_epoch is None and guard.kept_epoch is None
    assert torch.equal(net.weight, before)


class _RunawayVaDE(VaDE):
    """VaDE whose components 1.. are thrown far away after its second epoch, so that
    every sample goes to component 0 (a runaway mixture)."""

    def _guard_epoch(self, guard, loop, labels, epoch):
        self.epochs_seen_ = getattr(self, "epochs_seen_", []) + [epoch]
        if epoch >= 2:
            with torch.no_grad():
                self.prior_.mu.data[1:] += 1e3
            labels = self._posterior(self._train_data).argmax(1)
        super()._guard_epoch(guard, loop, labels, epoch)

    def _train(self, data, n_epochs):
        self._train_data = data
        super()._train(data, n_epochs)


@pytest.fixture(scope="module")
def moons():
    ds = make_half_circles(150, distance=0.5, random_state=0)
    return ds.X, ds.y


def test_vade_stops_on_collapse_and_returns_the_sound_model(moons):
    X, _ = moons
    est = _RunawayVaDE(
        n_clusters=2, n_init=1, epochs=6, lr=1e-5, random_state=0, device="cpu", **FAST_AE
    ).fit(X)
    assert est.collapse_stopped_epoch_ == 2 and est.collapse_kept_epoch_ == 1
    assert est.epochs_seen_ == [0, 1, 2]  # training ended at the collapse
    assert len(np.unique(est.labels_)) == 2  # the model of epoch 1, not the runaway one
    assert max(r["epoch"] for r in est.history_ if r["stage"] == "vade") == 2
    off = _RunawayVaDE(
        n_clusters=2, n_init=1, epochs=6, lr=1e-5, random_state=0, device="cpu",
        stop_on_collapse=False, **FAST_AE,
    ).fit(X)  # fmt: skip
    assert off.collapse_stopped_epoch_ is None
    assert max(r["epoch"] for r in off.history_ if r["stage"] == "vade") == 6


@pytest.mark.parametrize("cls", [VaDE, DGG])
def test_a_sound_fit_is_unchanged_by_the_guard(cls, moons):
    X, _ = moons
    extra = dict(vae_epochs=1, classifier_epochs=1, n_neighbors=5) if cls is DGG else {}
    ae = dict(ae_layerwise_epochs=2, ae_finetune_epochs=20)  # a start that is not degenerate
    kw = dict(
        n_clusters=2, n_init=1, epochs=3, lr=1e-4, random_state=0, device="cpu", **ae, **extra
    )
    on, off = cls(**kw).fit(X), cls(stop_on_collapse=False, **kw).fit(X)
    assert not is_collapsed(on.labels_, 2)  # else the guard would have nothing to keep
    assert on.collapse_stopped_epoch_ is None
    np.testing.assert_array_equal(on.labels_, off.labels_)
    np.testing.assert_allclose(on.embedding_, off.embedding_)


def test_restarts_rank_a_guard_stopped_run_below_a_full_one(moons):
    from deepclust.methods.vade import VaDE as Plain

    class Scripted(Plain):
        script = [(1.0, 3), (5.0, None), (0.5, 2)]  # (loss, stopped epoch)

        def _fit_once(self, X):
            loss, stop = self.script[len(self._calls)]
            self._calls.append(stop)
            self.labels_ = np.arange(len(X)) % 2
            self.history_ = [{"stage": "vade", "epoch": e, "loss": loss + e} for e in (1, 2, 3)]
            self.collapse_stopped_epoch_ = stop
            self.collapse_kept_epoch_ = None if stop is None else stop - 1

    est = Scripted(n_clusters=2, n_init=3, random_state=0, device="cpu")
    est._calls = []
    est._fit(moons[0])
    assert est.best_run_ == 1  # the only run that trained to the end
    # a stopped run is scored by the epoch it kept: run 0 kept epoch 2 (loss 1 + 2)
    assert est.run_losses_ == [3.0, 8.0, 1.5]
