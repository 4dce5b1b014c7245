"""DASC: the adversarial game on top of DSC-Net, on a union of subspaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.methods.dasc import DASC
from deepclust.metrics import cluster_accuracy


@pytest.fixture(scope="module")
def subspaces():
    rng = np.random.default_rng(1)
    bases = [np.linalg.qr(rng.standard_normal((30, 2)))[0] for _ in range(3)]
    X = np.vstack([rng.standard_normal((40, 2)) @ b.T for b in bases])
    return X, np.repeat(np.arange(3), 40)


@pytest.fixture(scope="module")
def fitted(subspaces):
    X, _ = subspaces
    # linear autoencoder, as the DSC-Net test: a small ReLU one folds the subspaces
    return DASC(3, lambda2=10.0, subspace_dim=2, epochs=120, adv_start=60, relabel_every=20,
                hidden_dims=[], latent_dim=10, ae_layerwise_epochs=5, ae_finetune_epochs=50,
                n_real=8, n_fake=8, random_state=0, device="cpu").fit(X)  # fmt: skip


def test_dasc_clusters_a_union_of_subspaces(fitted, subspaces):
    X, y = subspaces
    assert cluster_accuracy(y, fitted.labels_) > 0.9
    assert fitted.coefficients_.shape == (120, 120)
    assert np.all(fitted.coefficients_.diagonal() == 0)


def test_adversarial_terms_start_after_adv_start(fitted):
    rows = [h for h in fitted.history_ if h["stage"] == "dasc"]
    assert len(rows) == 120
    assert all(h["adv"] == 0.0 and h["disc"] == 0.0 for h in rows[:60])
    assert all(h["disc"] > 0.0 for h in rows[60:])  # the penalties keep it positive
    assert any(h["adv"] > 0.0 for h in rows[60:])


def test_discriminator_bases_stay_near_orthonormal(fitted):
    U = fitted.discriminator_.bases.detach()
    gram = U.transpose(1, 2) @ U
    eye = torch.eye(U.shape[-1]).expand_as(gram)
    off = gram - torch.diag_embed(gram.diagonal(dim1=1, dim2=2))
    assert off.abs().max() < 0.05  # columns stay orthogonal
    assert torch.allclose(gram, eye, atol=0.15)  # and near unit length


def test_responsibility_keeps_the_clusters_and_ranks_by_closeness(fitted):
    z = torch.randn(6, fitted.discriminator_.bases.shape[1])
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    q = fitted._responsibility(z, labels)
    assert torch.equal(q.argmax(1), labels)
    energy = fitted.discriminator_(z)
    closer = energy[0, 0] < energy[1, 0]
    assert bool(q[0, 0] > q[1, 0]) == bool(closer)


def test_seeded_runs_reproduce_and_save_load_round_trips(fitted, subspaces, tmp_path):
    X, _ = subspaces
    loaded = DASC.load(fitted.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.transform(X), fitted.transform(X), rtol=1e-5, atol=1e-6)


def test_dasc_takes_the_conv_autoencoder_when_asked():
    rng = np.random.default_rng(0)
    X = rng.random((24, 64)).astype(np.float32)
    est = DASC(2, image_shape=(1, 8, 8), autoencoder="conv", conv_channels=(2,),
               conv_pretrain_epochs=2, epochs=4, adv_start=1, relabel_every=2,
               subspace_dim=2, random_state=0, device="cpu").fit(X)  # fmt: skip
    assert est.autoencoder_kind_ == "conv" and est.embedding_.shape == (24, 2 * 4 * 4)
    assert tuple(est.discriminator_.bases.shape) == (2, 2 * 4 * 4, 2)  # K x code x rank


def test_auto_schedule_follows_the_autoencoder():
    """Images: DSC-Net's conv schedule (40 epochs, alpha 8, rho 0.04), adversarial from
    epoch 20, relabelled every 10; vectors: the MLP one (50 + 150 epochs every 20, alpha 4,
    no threshold)."""
    rng = np.random.default_rng(0)
    X = rng.random((24, 64)).astype(np.float32)
    images = DASC(2, image_shape=(1, 8, 8))
    images._resolve_autoencoder(X.shape[1])
    images._resolve_schedule()
    assert images.autoencoder_kind_ == "conv"
    schedule = (images.epochs_, images.adv_start_, images.relabel_every_)
    assert schedule == (40, 20, 10) and (images.alpha_, images.rho_) == (8.0, 0.04)
    vectors = DASC(2)
    vectors._resolve_autoencoder(X.shape[1])
    vectors._resolve_schedule()
    assert vectors.autoencoder_kind_ == "mlp"
    schedule = (vectors.epochs_, vectors.adv_start_, vectors.relabel_every_)
    assert schedule == (200, 50, 20) and (vectors.alpha_, vectors.rho_) == (4.0, 1.0)
    given = DASC(2, epochs=30, adv_start=7, image_shape=(1, 8, 8))
    given._resolve_autoencoder(X.shape[1])
    given._resolve_schedule()
    assert (given.epochs_, given.adv_start_) == (30, 7)
