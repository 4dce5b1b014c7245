"""The one training loop under a process group (gloo, 2 CPU processes): IDEC (its
autoencoder pretraining and clustering stages) trains on shards of every global batch
and ends where one process on the same global batches ends; resume works under it."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _ddp import free_port

from deepclust.distributed import LoopSync, is_writer

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="no torch.distributed")


class _Interrupt(Exception):
    pass


def _data() -> np.ndarray:
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(256, n_features=10, centers=3, cluster_std=2.0, random_state=0)
    return X.astype(np.float32)


def _idec(**kw):
    from deepclust import IDEC

    # 256 samples in batches of 64 (clustering) and 32 (pretraining): every global batch
    # splits evenly over two ranks, so both runs see exactly the same global batches
    return IDEC(3, hidden_dims=(16,), latent_dim=3, ae_layerwise_epochs=0,
                ae_finetune_epochs=3, epochs=4, batch_size=64, update_interval=2, tol=0.0,
                random_state=0, device="cpu", **kw)  # fmt: skip


def _summary(est) -> tuple:
    flat = torch.cat([p.detach().reshape(-1) for p in est.autoencoder_.state_dict().values()])
    losses = [(r["stage"], r["epoch"], r.get("loss", r.get("kl"))) for r in est.history_]
    return flat, est.labels_.copy(), losses


def _worker(rank: int, world: int, port: int, out: dict, ckpt: str, mode: str) -> None:
    from deepclust.training import TrainingLoop

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        if mode == "crash":
            original = TrainingLoop._save

            def crash(self, epoch):
                original(self, epoch)
                if self.stage == "idec" and epoch == 2:
                    raise _Interrupt

            TrainingLoop._save = crash
            try:
                _idec(checkpoint_dir=ckpt, checkpoint_every=1).fit(_data())
            except _Interrupt:
                out[rank] = ("interrupted", sorted(os.listdir(ckpt)), is_writer())
            return
        est = _idec(checkpoint_dir=ckpt, checkpoint_every=1, resume=mode == "resume")
        out[rank] = _summary(est.fit(_data()))
    finally:
        dist.destroy_process_group()


def _spawn(mode: str, ckpt: str) -> dict:
    out = mp.Manager().dict()
    mp.spawn(_worker, args=(2, free_port(), out, ckpt, mode), nprocs=2, join=True)
    return dict(out)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    torch.set_num_threads(1)
    return _summary(_idec().fit(_data()))


def test_two_ranks_keep_identical_weights_and_match_one_process(one_process, tmp_path):
    out = _spawn("plain", str(tmp_path / "ckpt"))
    (w0, lab0, hist0), (w1, lab1, hist1) = out[0], out[1]
    torch.testing.assert_close(w0, w1, rtol=0, atol=0)  # averaged gradients everywhere
    np.testing.assert_array_equal(lab0, lab1)
    assert hist0 == hist1  # every rank records the reduced losses
    w, lab, hist = one_process
    # the same global batches: shard gradients averaged over ranks = the batch gradient
    torch.testing.assert_close(w0, w, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(lab0, lab)
    assert [h[:2] for h in hist0] == [h[:2] for h in hist]
    # the history's losses are reduced over ranks: the one-process epoch means
    np.testing.assert_allclose([h[2] for h in hist0], [h[2] for h in hist], rtol=1e-4)
    # only rank 0 wrote checkpoints (and both ranks could read them: see the resume test)
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["autoencoder", "idec.pt"]


def test_resume_under_two_ranks_ends_like_the_uninterrupted_run(one_process, tmp_path):
    ckpt = str(tmp_path / "ckpt")
    crashed = _spawn("crash", ckpt)
    assert crashed[0][0] == crashed[1][0] == "interrupted"
    assert crashed[0][2] and not crashed[1][2]  # rank 0 is the writer
    resumed = _spawn("resume", ckpt)
    (w0, lab0, hist0), (w1, _, _) = resumed[0], resumed[1]
    torch.testing.assert_close(w0, w1, rtol=0, atol=0)
    w, lab, hist = one_process
    torch.testing.assert_close(w0, w, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(lab0, lab)
    assert [h[:2] for h in hist0] == [h[:2] for h in hist]  # restored, not repeated


def _sync_worker(rank: int, world: int, port: int, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)  # deliberately different weights on each rank
        net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        sync = LoopSync({"net": net, "opt": opt}, shard_batches=True)
        sync.start()  # rank 0's weights everywhere
        idx = torch.arange(9)[sync.shard_slice(9)]  # 9 rows: 8 shared out, one dropped
        x = torch.arange(36, dtype=torch.float32).reshape(9, 4)[idx] / 36
        net(x).pow(2).mean().backward()
        opt.step()  # gradients averaged before it, batch-norm buffers broadcast after
        sync.close()
        flat = torch.cat([t.detach().reshape(-1) for t in net.state_dict().values()
                          if t.dtype.is_floating_point])  # fmt: skip
        losses = sync.mean_losses({"a": float(rank), "b": 1.0})
        out[rank] = (idx.tolist(), flat, losses, sync.any_stopped(rank == 1))
    finally:
        dist.destroy_process_group()


def test_loop_sync_shards_averages_and_agrees():
    out = mp.Manager().dict()
    mp.spawn(_sync_worker, args=(2, free_port(), out), nprocs=2, join=True)
    (i0, f0, l0, s0), (i1, f1, l1, s1) = out[0], out[1]
    assert i0 == [0, 1, 2, 3] and i1 == [4, 5, 6, 7]
    torch.testing.assert_close(f0, f1, rtol=0, atol=0)
    assert l0 == l1 == {"a": 0.5, "b": 1.0}
    assert s0 and s1  # one rank stopping stops both
    # the step equals one process's on the 8 shared rows, from rank 0's weights
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.arange(36, dtype=torch.float32).reshape(9, 4)[:8] / 36
    # batch norm sees each rank's shard: the gradient of the mean of the two shard losses
    loss = sum(net(x[s]).pow(2).mean() for s in (slice(0, 4), slice(4, 8))) / 2
    loss.backward()
    opt.step()
    params = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    # state_dict order: the parameters first, then the batch-norm statistics
    torch.testing.assert_close(f0[: params.numel()], params, rtol=1e-5, atol=1e-6)
