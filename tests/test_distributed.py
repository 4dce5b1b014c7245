"""Gathering features across ranks keeps MLC's coding rates exact (gloo, 2 CPU processes)."""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _ddp import free_port

from deepclust.distributed import gather_rows, is_distributed, rank_shard
from deepclust.objectives.coding_rate import coding_rate


def _worker(rank: int, world: int, port: int, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        w = torch.randn(6, 4, dtype=torch.float64)  # the same "network" on every rank
        x = torch.randn(8, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        w.requires_grad_(True)
        z = torch.nn.functional.normalize(x[rank_shard(8)] @ w, dim=1)
        rate = coding_rate(gather_rows(z), 0.5)
        rate.backward()
        dist.all_reduce(w.grad)  # what DDP does, as a sum here
        w.grad /= world  # ... and DDP averages
        out[rank] = (rate.item(), w.grad.clone(), is_distributed())
    finally:
        dist.destroy_process_group()


def test_gathered_rate_and_gradient_equal_the_single_process_ones():
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    world = 2
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(world, free_port(), out), nprocs=world, join=True)
    torch.manual_seed(0)
    w = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rate = coding_rate(torch.nn.functional.normalize(x @ w, dim=1), 0.5)
    rate.backward()
    rate = rate.item()
    for rank in range(world):
        r, grad, inside = out[rank]
        assert inside and r == pytest.approx(rate, rel=1e-12)
        # all_gather's backward sums every rank's gradient of a shard onto its owner, so
        # DDP's average over ranks is exactly the one-process gradient of the global batch
        torch.testing.assert_close(grad, w.grad, rtol=1e-9, atol=1e-12)


def test_outside_a_process_group_nothing_is_gathered():
    x = torch.randn(3, 2)
    assert gather_rows(x) is x and not is_distributed()
    assert rank_shard(8, rank=1, world=2) == slice(4, 8)
    with pytest.raises(ValueError, match="evenly"):
        rank_shard(7, rank=0, world=2)


def _fit_worker(rank: int, world: int, port: int, out: dict) -> None:
    from deepclust.data.synthetic import make_sphere_manifolds
    from deepclust.methods.mlc import MLC
    from deepclust.metrics import cluster_accuracy

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        ds = make_sphere_manifolds(random_state=0)
        est = MLC(2, dim=3, backbone_hidden=(100,), head_hidden=(100,), init_epochs=200,
                  epochs=100, random_state=0, device="cpu").fit(ds.X)  # fmt: skip
        flat = torch.cat([p.detach().reshape(-1) for p in est.network_.state_dict().values()
                          if p.dtype.is_floating_point])  # fmt: skip
        out[rank] = (flat, est.labels_.copy(), cluster_accuracy(ds.y, est.labels_))
    finally:
        dist.destroy_process_group()


def test_mlc_under_two_ranks_keeps_identical_networks_and_clusters():
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    out = mp.Manager().dict()
    mp.spawn(_fit_worker, args=(2, free_port(), out), nprocs=2, join=True)
    (w0, lab0, acc0), (w1, lab1, _) = out[0], out[1]
    torch.testing.assert_close(w0, w1, rtol=0, atol=0)  # averaged gradients, synced buffers
    assert (lab0 == lab1).all() and acc0 > 0.9


def _gatcluster_parts(seed: int = 0):
    """A small GATCluster built by hand (no training), its scaled data and a sub-batch."""
    import numpy as np

    from deepclust.methods.gatcluster import GATCluster

    rng = np.random.default_rng(seed)
    X = rng.random((32, 1 * 12 * 12), dtype=np.float32)
    # relation=False: eq. (7)'s term is still computed and compared, but weighted 0 in the
    # gradient; at a fresh network its cosines sit at the log's clamps, where 1e-7 float
    # differences between one and two processes switch single pairs' gradients on or off
    est = GATCluster(3, image_shape=(1, 12, 12), widths=(4, 4, 4), feature_dim=4,
                     relation=False, device="cpu")  # fmt: skip
    est.input_shape_, est.device_ = (1, 12, 12), torch.device("cpu")
    est._fit_scaling(X)
    est._resolve(len(X))
    torch.manual_seed(0)
    est._build_modules()
    x = torch.as_tensor(est._scaled(X))
    est.network_.eval()  # batch norm on running statistics: the same on every rank
    xt = torch.as_tensor(est._scaled(X)).reshape(32, 1, 12, 12).flip(-1)  # a fixed "T"
    return est, x, xt, torch.arange(8, 24)


def _gatcluster_worker(rank: int, world: int, port: int, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        est, x, xt, v = _gatcluster_parts()
        targets = est._targets(x)
        terms = est._sub_batch_objective(xt, v, targets)
        terms["loss"].backward()
        for p in est.network_.parameters():  # what the loop's step pre-hook does
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world
        grad = torch.cat([p.grad.reshape(-1) for p in est.network_.parameters()
                          if p.grad is not None])  # fmt: skip
        out[rank] = (terms["loss"].item(), targets["target"].clone(), grad,
                     terms["relation"].item())  # fmt: skip
    finally:
        dist.destroy_process_group()


def test_gatcluster_two_ranks_give_the_one_process_targets_loss_and_gradient():
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    out = mp.Manager().dict()
    mp.spawn(_gatcluster_worker, args=(2, free_port(), out), nprocs=2, join=True)
    est, x, xt, v = _gatcluster_parts()
    targets = est._targets(x)
    terms = est._sub_batch_objective(xt, v, targets)
    terms["loss"].backward()
    grad = torch.cat([p.grad.reshape(-1) for p in est.network_.parameters()
                      if p.grad is not None])  # fmt: skip
    for rank in range(2):
        loss, target, g, relation = out[rank]
        assert loss == pytest.approx(terms["loss"].item(), rel=1e-5)
        assert relation == pytest.approx(terms["relation"].item(), rel=1e-3)
        torch.testing.assert_close(target, targets["target"], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(g, grad, rtol=1e-4, atol=1e-6)
