"""ClusterGAN: the gradient penalty by hand, the prior, a fit on separated blobs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from deepclust.methods.clustergan import ClusterGAN, gradient_penalty
from deepclust.metrics import cluster_accuracy


def test_gradient_penalty_of_a_linear_critic_by_hand():
    critic = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0]]))  # ||grad|| = 5 everywhere
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    gp = gradient_penalty(critic, real, fake, torch.rand(4, 1))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


ND = 5  # noise dimensions


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(400, n_features=8, centers=3, cluster_std=1.0, random_state=0)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, _ = blobs
    return ClusterGAN(3, iterations=500, hidden=64, noise_dim=ND, random_state=0,
                      device="cpu").fit(X)  # fmt: skip


def test_prior_one_hot_part_and_noise_scale(fitted):
    z, c = fitted._sample_prior(2000, torch.Generator().manual_seed(0))
    one_hot = z[:, ND:]
    assert torch.equal(one_hot.argmax(1), c) and torch.all(one_hot.sum(1) == 1)
    assert z[:, :ND].std().item() == pytest.approx(0.1, rel=0.1)
    assert np.bincount(c.numpy(), minlength=3).min() > 550  # uniform over clusters


def test_fit_separates_blobs_and_inverts_the_generator(fitted, blobs):
    X, y = blobs
    assert cluster_accuracy(y, fitted.labels_) > 0.9
    assert fitted.embedding_.shape == (len(X), ND + 3)
    np.testing.assert_allclose(fitted.proba_.sum(1), 1.0, rtol=1e-5)
    rows = [h for h in fitted.history_ if h["stage"] == "clustergan"]
    assert len(rows) == 5 and rows[-1]["inv_c"] < rows[0]["inv_c"]
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    # the encoder recovers the cluster of the generator's own samples
    samples = fitted.sample(50, cluster=1)
    own = fitted.encoder_(torch.as_tensor(samples))[1].argmax(1)
    assert (own == 1).float().mean().item() > 0.9


def test_seeded_runs_reproduce_and_save_load_round_trips(fitted, blobs, tmp_path):
    X, _ = blobs
    loaded = ClusterGAN.load(fitted.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), rtol=1e-4,
                               atol=1e-6)  # fmt: skip


def test_kmeans_and_argmax_assignments_of_one_trained_model(fitted, blobs):
    """``assign="kmeans"`` (default, the authors' evaluation) labels by the nearest k-means
    centre of ``[E_n(x), softmax(E_c(x))]``; ``"argmax"`` by ``argmax softmax(E_c(x))``;
    training is the same either way (same seed, same proba)."""
    X, y = blobs
    code = fitted.embedding_
    np.testing.assert_allclose(code[:, ND:], fitted.proba_)
    d2 = ((code[:, None, :] - fitted.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(d2.argmin(1), fitted.labels_)
    argmax = ClusterGAN(**{**fitted.get_params(), "assign": "argmax"}).fit(X)
    np.testing.assert_allclose(argmax.proba_, fitted.proba_, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(argmax.labels_, argmax.proba_.argmax(1))
    np.testing.assert_array_equal(argmax.predict(X), argmax.labels_)
    assert cluster_accuracy(y, argmax.labels_) > 0.9


def test_unknown_assignment_fails_before_training():
    with pytest.raises(Exception, match="assign"):
        ClusterGAN(3, assign="nearest").fit(np.zeros((10, 2)))
