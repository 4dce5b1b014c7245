"""Gathering features across ranks keeps MLC's coding rates exact (gloo, 2 CPU processes)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from deepclust.distributed import gather_rows, is_distributed, rank_shard
from deepclust.objectives.coding_rate import coding_rate


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    mp.spawn(_worker, args=(world, _free_port(), out), nprocs=world, join=True)
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
    mp.spawn(_fit_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    (w0, lab0, acc0), (w1, lab1, _) = out[0], out[1]
    torch.testing.assert_close(w0, w1, rtol=0, atol=0)  # averaged gradients, synced buffers
    assert (lab0 == lab1).all() and acc0 > 0.9
