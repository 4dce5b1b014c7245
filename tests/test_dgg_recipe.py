"""DGG's recipe switches (the authors' initialisation and training details, issue 10)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust import DGG
from deepclust.data.synthetic import make_half_circles
from deepclust.nn.autoencoders import MLPAutoencoder
from deepclust.nn.vae import GaussianEncoder, GaussianMixturePrior
from deepclust.objectives.gmm_vae import dgg_pi_update

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning")

FAST = dict(
    ae_layerwise_epochs=2, ae_finetune_epochs=3, vae_epochs=2, classifier_epochs=2, epochs=3,
    n_neighbors=5, n_init=1, random_state=0, device="cpu",
)  # fmt: skip


@pytest.fixture(scope="module")
def moons():
    ds = make_half_circles(150, distance=0.5, random_state=0)
    return ds.X, ds.y


def test_logvar_head_small_or_fresh():
    torch.manual_seed(0)
    ae = MLPAutoencoder((6, 8, 3), "linear")
    small = GaussianEncoder.from_autoencoder(ae, "small")
    assert torch.all(small.logvar.weight == 0) and torch.all(small.logvar.bias == -4)
    fresh = GaussianEncoder.from_autoencoder(ae, "fresh")
    assert fresh.logvar.weight.abs().sum() > 0 and not torch.all(fresh.logvar.bias == -4)
    # both copy the pretrained mean head
    torch.testing.assert_close(fresh.mu.weight, small.mu.weight)
    with pytest.raises(ValueError, match="logvar_init"):
        GaussianEncoder.from_autoencoder(ae, "zeros")


def test_mixture_variance_total_adds_the_posterior_variance():
    g = torch.Generator().manual_seed(0)
    mu = torch.cat([torch.randn(30, 2, generator=g), torch.randn(30, 2, generator=g) + 8])
    logvar = torch.randn(60, 2, generator=g) * 0.3
    est = DGG(2, random_state=0)
    out = {}
    for kind in ("total", "means"):
        est.prior_ = GaussianMixturePrior(2, 2)
        labels = est._kmeans_init(mu, logvar, kind)
        out[kind] = torch.exp(est.prior_.logvar).detach().numpy()
    for k in range(2):
        m = labels == k
        want_means = mu[m].numpy().var(axis=0, ddof=1)
        np.testing.assert_allclose(out["means"][k], want_means, rtol=1e-5)
        extra = torch.exp(logvar[m]).mean(0).numpy()
        np.testing.assert_allclose(out["total"][k], want_means + extra, rtol=1e-5)


def test_classifier_pretraining_on_means_uses_the_authors_schedule():
    g = torch.Generator().manual_seed(1)
    mu = torch.cat([torch.randn(100, 3, generator=g) - 3, torch.randn(100, 3, generator=g) + 3])
    logvar = torch.full_like(mu, 2.0)  # wide posteriors: samples would blur the classes
    pseudo = np.r_[np.zeros(100, int), np.ones(100, int)]
    est = DGG(2, classifier_pretraining="means", random_state=0, device="cpu")
    est.device_, est.history_ = torch.device("cpu"), []
    est.classifier_ = torch.nn.Linear(3, 2)
    est._resolve_recipe(mu.numpy())
    est._pretrain_classifier(mu, logvar, pseudo)
    stages = [h for h in est.history_ if h["stage"] == "classifier"]
    assert len(stages) == 30  # "auto" is the authors' 30 epochs
    agree = (est.classifier_(mu).argmax(1).numpy() == pseudo).mean()
    assert agree == 1.0
    assert stages[-1]["loss"] < stages[0]["loss"]


def test_weight_decay_shrinks_the_joint_parameters(moons):
    X, _ = moons
    norms = {}
    for wd in (0.0, 1.0):
        est = DGG(2, weight_decay=wd, **{**FAST, "epochs": 15}).fit(X)
        norms[wd] = sum(float(p.detach().norm()) for p in est.classifier_.parameters())
    assert norms[1.0] < 0.8 * norms[0.0]


def test_gamma_source_means_ends_with_eq31_of_the_final_classifier(moons):
    X, _ = moons
    est = DGG(2, gamma_source="means", **FAST).fit(X)
    resp = torch.as_tensor(est.predict_proba(X))
    nbr = torch.as_tensor(est.neighbors_)
    want = dgg_pi_update(resp, resp[nbr], torch.as_tensor(est.neighbor_weights_))
    np.testing.assert_allclose(est.pi_, want.numpy(), rtol=1e-4, atol=1e-6)
    # the default table holds the training samples' gamma instead
    other = DGG(2, **FAST).fit(X)
    assert not np.allclose(other.pi_, dgg_pi_update(
        torch.as_tensor(other.predict_proba(X)),
        torch.as_tensor(other.predict_proba(X))[torch.as_tensor(other.neighbors_)],
        torch.as_tensor(other.neighbor_weights_)).numpy(), atol=1e-4)  # fmt: skip


@pytest.mark.parametrize(
    "param, bad",
    [("classifier_pretraining", "adam"), ("mixture_variance", "x"), ("logvar_init", 0),
     ("weight_decay", -1.0), ("gamma_source", "table")],
)  # fmt: skip
def test_recipe_switches_are_validated_before_training(param, bad, moons):
    from deepclust.exceptions import ConfigError

    with pytest.raises(ConfigError, match=param):
        DGG(2, **{param: bad}).fit(moons[0])


def test_recipe_auto_follows_the_number_of_features_and_switches_override():
    est = DGG(2)
    est._resolve_recipe(np.zeros((5, 2)))
    assert est.recipe_ == "paper" and est.kernel_weights_ == "gaussian"
    assert est.weight_decay_ == 0.0 and est.gamma_source_ == "samples"
    est._resolve_recipe(np.zeros((5, 64)))
    assert est.recipe_ == "authors" and est.classifier_pretraining_ == "means"
    assert est.weight_decay_ == 1e-4 and est.logvar_init_ == "fresh"
    mixed = DGG(2, recipe="authors", kernel_weights="gaussian", weight_decay=0.0)
    mixed._resolve_recipe(np.zeros((5, 2)))
    assert mixed.kernel_weights_ == "gaussian" and mixed.weight_decay_ == 0.0
    assert mixed.mixture_variance_ == "means"


def test_authors_recipe_skips_the_vae_stage(moons):
    X, _ = moons
    est = DGG(2, recipe="authors", **{**FAST, "vae_epochs": "auto"}).fit(X)
    assert not [h for h in est.history_ if h["stage"] == "vae"]
    assert len([h for h in est.history_ if h["stage"] == "classifier"]) == 2


@pytest.mark.parametrize("source", ["means", "samples"])
def test_tol_stops_the_joint_stage_once_the_labels_settle(moons, source):
    X, _ = moons
    # an lr this small leaves every label where it is: calm from the first epoch
    est = DGG(2, tol=0.5, patience=2, gamma_source=source, stop_on_collapse=False,
              **{**FAST, "epochs": 10, "lr": 1e-9}).fit(X)  # fmt: skip
    rows = [h for h in est.history_ if h["stage"] == "dgg"]
    assert est.stopped_epoch_ == 2 and len(rows) == 2
    full = DGG(2, gamma_source=source, **{**FAST, "epochs": 4}).fit(X)
    assert full.stopped_epoch_ is None  # tol=0: every epoch
    assert len([h for h in full.history_ if h["stage"] == "dgg"]) == 4
