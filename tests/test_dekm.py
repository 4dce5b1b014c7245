"""DEKM (Guo, Lin & Ye 2021): the greedy objective against hand computations, the
estimator's schedule, stopping rule, persistence and a quality floor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from deepclust import DEKM, KMeans
from deepclust.exceptions import ConfigError
from deepclust.metrics import cluster_accuracy
from deepclust.objectives.dekm import (
    dekm_loss,
    greedy_targets,
    scatter_rotation,
    within_cluster_scatter,
)

FAST_AE = dict(ae_layerwise_epochs=3, ae_finetune_epochs=15)


def test_scatter_matches_an_explicit_sum_and_its_trace_is_the_kmeans_loss():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(30, 4, generator=g, dtype=torch.float64)
    labels = torch.arange(30) % 3
    centres = torch.stack([h[labels == k].mean(0) for k in range(3)])
    explicit = sum(
        torch.outer(h[i] - centres[labels[i]], h[i] - centres[labels[i]]) for i in range(30)
    )
    S = within_cluster_scatter(h, labels, centres)
    torch.testing.assert_close(S, explicit)
    vals, V = scatter_rotation(S)
    assert torch.all(vals[1:] >= vals[:-1])  # ascending
    torch.testing.assert_close(V.T @ V, torch.eye(4, dtype=torch.float64))
    kmeans_loss = ((h - centres[labels]) ** 2).sum()
    torch.testing.assert_close(vals.sum(), kmeans_loss)


def test_greedy_targets_move_only_the_largest_scatter_axis_onto_the_centre():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(20, 3, generator=g, dtype=torch.float64)
    labels = torch.arange(20) % 2
    centres = torch.stack([h[labels == k].mean(0) for k in range(2)])
    vals, V = scatter_rotation(within_cluster_scatter(h, labels, centres))
    t = greedy_targets(h, labels, centres, V)
    y = h @ V
    torch.testing.assert_close(t[:, :-1], y[:, :-1])
    torch.testing.assert_close(t[:, -1], (centres @ V)[labels, -1])
    # at the target, the largest term of the k-means loss is gone, the others unchanged
    gap = (h @ V - t) ** 2
    torch.testing.assert_close(gap[:, -1].sum(), vals[-1])
    torch.testing.assert_close(dekm_loss(h, V, t), gap.mean())
    assert float(dekm_loss(t @ V.T, V, t)) == pytest.approx(0.0, abs=1e-20)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(600, n_features=20, centers=4, cluster_std=4.0, random_state=3)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(blobs):
    X, _ = blobs
    return DEKM(4, epochs=15, update_interval=10, random_state=0, device="cpu", **FAST_AE).fit(X)


def test_dekm_clusters_blobs_at_least_as_well_as_kmeans(fitted, blobs):
    X, y = blobs
    km = KMeans(4, random_state=0).fit(X)
    acc = cluster_accuracy(y, fitted.labels_)
    assert acc >= cluster_accuracy(y, km.labels_) - 0.02
    assert acc > 0.9


def test_dekm_schedule_history_and_inference(fitted, blobs):
    X, _ = blobs
    rows = [h for h in fitted.history_ if h["stage"] == "dekm"]
    assert rows and all({"loss", "label_change", "kmeans_loss"} <= set(h) for h in rows)
    m = fitted.dims_[-1]
    assert fitted.rotation_.shape == (m, m) and fitted.cluster_centers_.shape == (4, m)
    np.testing.assert_allclose(fitted.rotation_.T @ fitted.rotation_, np.eye(m), atol=1e-4)
    Z = fitted.transform(X)
    nearest = ((Z[:, None] - fitted.cluster_centers_[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(nearest, fitted.labels_)
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    p = fitted.predict_proba(X)
    np.testing.assert_array_equal(p.sum(1), 1.0)


def test_dekm_stops_when_labels_settle(blobs):
    X, _ = blobs
    # tol = 1: the first update after the start already counts as settled
    est = DEKM(4, epochs=50, update_interval=5, tol=1.0, random_state=0, device="cpu", **FAST_AE)
    est.fit(X)
    assert est.stopped_step_ == 5
    assert len([h for h in est.history_ if h["stage"] == "dekm"]) == 1


def test_dekm_trains_only_the_encoder(blobs):
    X, _ = blobs
    est = DEKM(4, epochs=0, random_state=0, device="cpu", **FAST_AE).fit(X)
    decoder = {k: v.clone() for k, v in est.autoencoder_.decoder.state_dict().items()}
    encoder = {k: v.clone() for k, v in est.autoencoder_.encoder.state_dict().items()}
    est2 = DEKM(4, epochs=3, tol=0.0, random_state=0, device="cpu", **FAST_AE).fit(X)
    for k, v in est2.autoencoder_.decoder.state_dict().items():
        torch.testing.assert_close(v, decoder[k])
    assert any(
        not torch.equal(v, encoder[k]) for k, v in est2.autoencoder_.encoder.state_dict().items()
    )


def test_dekm_seeded_runs_repeat_and_round_trip(blobs, tmp_path):
    X, _ = blobs
    kw = dict(epochs=4, update_interval=10, random_state=5, device="cpu", **FAST_AE)
    a = DEKM(4, **kw).fit(X)
    b = DEKM(4, **kw).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    again = DEKM.load(a.save(tmp_path / "dekm.pt"))
    np.testing.assert_array_equal(again.predict(X), a.labels_)
    np.testing.assert_allclose(again.transform(X), a.transform(X), atol=1e-6)


def test_dekm_bad_parameters_fail_before_training(blobs):
    X, _ = blobs
    with pytest.raises(ConfigError, match="update_interval"):
        DEKM(4, update_interval=0).fit(X)
    with pytest.raises(ConfigError, match="tol"):
        DEKM(4, tol=2.0).fit(X)
