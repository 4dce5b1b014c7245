"""EDESC (Cai et al. 2022) on feature vectors: objective terms, assignments, quality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust import EDESC, KMeans
from deepclust.data.synthetic import make_subspaces
from deepclust.exceptions import ConfigError
from deepclust.metrics import cluster_accuracy

FAST_AE = dict(ae_layerwise_epochs=5, ae_finetune_epochs=20)


@pytest.fixture(scope="module")
def subspaces():
    ds = make_subspaces(noise=0.01, random_state=0)  # 5 subspaces of dim 3 in R^30
    return ds.X.astype(np.float32), ds.y


@pytest.fixture(scope="module")
def fitted(subspaces):
    X, _ = subspaces
    # the default pretraining: EDESC's subspaces come from the autoencoder's embedding
    return EDESC(5, epochs=30, random_state=0, device="cpu").fit(X)


def test_edesc_beats_kmeans_on_a_union_of_subspaces(fitted, subspaces):
    X, y = subspaces
    km = KMeans(5, random_state=0).fit(X)
    edesc_acc = cluster_accuracy(y, fitted.labels_)
    assert edesc_acc > cluster_accuracy(y, km.labels_) + 0.1  # 0.37 for k-means here
    assert edesc_acc > 0.5


def test_edesc_logs_every_term_and_gives_row_stochastic_affinities(fitted, subspaces):
    X, _ = subspaces
    rows = [h for h in fitted.history_ if h["stage"] == "edesc"]
    assert rows and all({"recon", "kl", "phi", "loss"} <= set(h) for h in rows)
    r = rows[-1]
    assert r["loss"] == pytest.approx(r["recon"] + 0.1 * r["kl"] + 1e-3 * r["phi"], rel=1e-4)
    p = fitted.predict_proba(X)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(p.argmax(1), fitted.labels_)
    # latent "auto": room for 5 clusters x d = 5 directions; D is latent x (K d)
    assert fitted.dims_[-1] == 25 and fitted.n_bases_ == 5
    assert tuple(fitted.bases_.D.shape) == (25, 25)
    assert fitted.transform(X).shape == (len(X), 25)


def test_edesc_bases_start_orthonormal_within_each_cluster(subspaces):
    X, _ = subspaces
    est = EDESC(5, epochs=0, random_state=0, device="cpu", **FAST_AE).fit(X)
    D = est.bases_.D.detach()
    for j in range(5):
        block = D[:, 5 * j : 5 * (j + 1)]
        torch.testing.assert_close(block.T @ block, torch.eye(5), atol=1e-5, rtol=0)


@pytest.mark.parametrize("bad", [dict(n_bases=0), dict(beta=-1.0), dict(epochs=1.5)])
def test_bad_parameters_fail_before_training(bad, subspaces):
    with pytest.raises(ConfigError):
        EDESC(5, **bad).fit(subspaces[0])


def test_nearest_orthonormal_is_the_polar_factor():
    from deepclust.methods.edesc import nearest_orthonormal

    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 4))
    Q = nearest_orthonormal(D)
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)
    # no other orthonormal matrix is closer: compare with random ones and with QR's
    best = np.linalg.norm(D - Q)
    for _ in range(20):
        R = np.linalg.qr(rng.standard_normal((8, 4)))[0]
        assert np.linalg.norm(D - R) >= best - 1e-12
    assert np.linalg.norm(D - np.linalg.qr(D)[0]) >= best - 1e-12
    # an already orthonormal matrix is its own nearest one
    np.testing.assert_allclose(nearest_orthonormal(Q), Q, atol=1e-12)


def test_orthonormal_bases_start_with_zero_phi(subspaces):
    from deepclust.objectives.subspace import basis_dissimilarity

    X, _ = subspaces
    kw = dict(epochs=0, random_state=0, device="cpu", **FAST_AE)
    svd = EDESC(5, bases_init="svd", **kw).fit(X)
    orth = EDESC(5, bases_init="orthonormal", **kw).fit(X)
    phi_svd = float(basis_dissimilarity(svd.bases_.D.detach(), 5, squared=False))
    phi_orth = float(basis_dissimilarity(orth.bases_.D.detach(), 5, squared=False))
    assert phi_orth < 1e-4 < phi_svd
