"""DGG and SCDSC under a process group (gloo, 2 CPU processes): each rank trains on its
share of every global batch, the tables and caches that the steps update stay identical
on every rank, and the run ends where one process on the same global batches ends."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributed as dist
from _ddp import join_group, spawn

pytestmark = [
    pytest.mark.skipif(not dist.is_available(), reason="no torch.distributed"),
    pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning"),
]


def _blobs() -> np.ndarray:
    from sklearn.datasets import make_blobs

    # 12 features: DGG's affinity is then the Siamese embedding (its own stage)
    X, _ = make_blobs(256, n_features=12, centers=3, cluster_std=1.5, random_state=0)
    return X.astype(np.float32)


def _dgg():
    from deepclust import DGG

    # 256 samples; batches of 64 (and 128 for the Siamese stage) split evenly over 2 ranks;
    # layer-wise pretraining draws its denoising masks for the global batch
    return DGG(3, hidden_dims=(32,), latent_dim=3, n_neighbors=5, ae_layerwise_epochs=2,
               ae_finetune_epochs=2, vae_epochs=2, siamese_epochs=2, classifier_epochs=2,
               epochs=4, batch_size=64, n_init=1, random_state=0, device="cpu")  # fmt: skip


def _scene():
    from deepclust.data.synthetic import make_hsi_scene

    return make_hsi_scene((16, 16), n_bands=12, n_classes=3, random_state=0)


def _scdsc():
    from deepclust.methods.scdsc import SCDSC

    # 256 pixels in batches of 64: mini-batch mode with the cache and both context terms
    return SCDSC(3, n_components=4, patch_size=5, finch_patch_size=7, finch_components=20,
                 pretrain_epochs=2, pretrain_batch_size=64, epochs=4, batch_size=64,
                 window=3, tol=0.0, kmeans_n_init=2, random_state=0, device="cpu")  # fmt: skip


def _without_batch_norm() -> None:
    """Build SCDSC's patch autoencoder without batch normalisation, whose statistics are
    each rank's shard's (as under DDP): what is left must be the one-process step."""
    from torch import nn

    import deepclust.nn.conv as conv

    conv._conv_bn_relu = lambda layer, channels: [layer, nn.ReLU()]


def _fit(name: str):
    if name == "dgg":
        est = _dgg().fit(_blobs())
        tables = torch.as_tensor(est.pi_)
    else:
        scene = _scene()
        est = _scdsc().fit(scene.cube)
        tables = torch.as_tensor(est.soft_assignments_)
    modules = [m for m in vars(est).values() if isinstance(m, torch.nn.Module)]
    weights = torch.cat([t.detach().reshape(-1).float() for m in modules
                         for t in m.state_dict().values()])  # fmt: skip
    losses = [(r["stage"], r["epoch"], r["loss"]) for r in est.history_ if "loss" in r]
    return weights, tables, est.labels_.copy(), losses


def _worker(rank: int, world: int, port: int, out: dict, name: str) -> None:
    torch.set_num_threads(1)
    join_group(rank, world, port)
    try:
        if name == "scdsc":
            _without_batch_norm()
        out[rank] = _fit(name)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("name", ["dgg", "scdsc"])
def test_two_ranks_agree_with_each_other_and_with_one_process(name, monkeypatch):
    out = spawn(_worker, name)
    (w0, t0, lab0, hist0), (w1, t1, lab1, hist1) = out[0], out[1]
    # averaged gradients, the global batch's table updates: identical on both ranks
    torch.testing.assert_close(w0, w1, rtol=0, atol=0)
    torch.testing.assert_close(t0, t1, rtol=0, atol=0)
    np.testing.assert_array_equal(lab0, lab1)
    assert hist0 == hist1
    torch.set_num_threads(1)
    if name == "scdsc":
        monkeypatch.setattr(
            "deepclust.nn.conv._conv_bn_relu", lambda layer, c: [layer, torch.nn.ReLU()]
        )
    w, t, lab, hist = _fit(name)
    assert [h[:2] for h in hist0] == [h[:2] for h in hist]
    # the shards draw the global batch's noise (DGG) and gather its assignments
    # (SCDSC): the one-process run up to the order of float sums
    # (Adam's normalised steps turn float noise in a near-zero gradient into ~1e-4)
    torch.testing.assert_close(w0, w, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(t0, t, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose([h[2] for h in hist0], [h[2] for h in hist], rtol=1e-3)
    np.testing.assert_array_equal(lab0, lab)


def _odd_worker(rank: int, world: int, port: int, out: dict) -> None:
    torch.set_num_threads(1)
    join_group(rank, world, port)
    try:
        est = _dgg().fit(_blobs()[:255])  # the last batch of 63 is trimmed to 62 rows
        out[rank] = torch.as_tensor(est.pi_), est.labels_.copy()
    finally:
        dist.destroy_process_group()


def test_dgg_table_update_follows_a_trimmed_last_batch():
    # the gathered gamma covers the trimmed global batch; its indices must match it
    out = spawn(_odd_worker)
    (pi0, lab0), (pi1, lab1) = out[0], out[1]
    torch.testing.assert_close(pi0, pi1, rtol=0, atol=0)
    np.testing.assert_array_equal(lab0, lab1)
    assert torch.isfinite(pi0).all()
