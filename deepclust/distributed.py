"""Helpers for data-parallel training (``torchrun``, DistributedDataParallel).

The coding rates of MLC and NMCE are not sums over samples: ``R(Z)`` is a log-determinant
of the whole batch's Gram matrix, so each rank cannot compute it on its own shard and
average. Every rank therefore gathers the features of all ranks *with their gradients*
(:func:`gather_rows`), evaluates the rate on the global batch and back-propagates. The
backward of the gather sums every rank's gradient of a shard onto the shard's owner, so
each rank holds ``world`` times its share of the gradient and DDP's average over ranks
is exactly the one-process gradient of the global batch (tested with the gloo backend
and 2 CPU processes). The ``n x n`` membership of MLC is formed on the gathered
cluster features the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def init_from_environment() -> bool:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1), once.

    nccl when this rank has a GPU, gloo otherwise; on CPU each rank gets its share of
    the cores (``LOCAL_WORLD_SIZE``), unless ``DEEPCLUST_NUM_THREADS`` says otherwise.
    Returns True when this call created the group (the caller then destroys it).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if dist.is_initialized():
        return False
    gpu = torch.cuda.is_available()
    if gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    elif not os.environ.get("DEEPCLUST_NUM_THREADS"):
        from .threads import available_cores, set_num_threads

        share = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
        set_num_threads(max(1, available_cores() // share))
    dist.init_process_group("nccl" if gpu else "gloo")
    return True


def is_writer() -> bool:
    """True outside a process group and on rank 0 inside one (who writes outputs)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """All ranks' ``x`` stacked along rows, in rank order, differentiable.

    Gradients reach each rank's own rows (``torch.distributed.nn.all_gather`` sums the
    gradients of a slice over ranks back onto its owner). Shards must have equal sizes
    (``drop_last`` batching). Outside a process group it returns ``x``.
    """
    if not is_distributed():
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), dim=0)


def gather_detached(x: torch.Tensor) -> torch.Tensor:
    """All ranks' ``x`` stacked along rows, in rank order, without gradients (indices,
    table entries). Shards must have equal sizes. Outside a process group it returns ``x``."""
    if not is_distributed():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def shard_of_draw(draw: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
    """This rank's ``n`` rows of ``draw(world * n)``, a random draw for a global batch.

    The ranks share one random stream (same seed, same draws), so the shards together
    receive exactly what one process would draw for the global batch, instead of every
    rank repeating the first shard's draw. Outside a process group it is ``draw(n)``.
    """
    if not is_distributed():
        return draw(n)
    rank = dist.get_rank()
    return draw(dist.get_world_size() * n)[rank * n : (rank + 1) * n]


def shard_randn_like(x: torch.Tensor) -> torch.Tensor:
    """Standard normal noise for this rank's shard ``x`` of a global batch
    (:func:`shard_of_draw`); ``torch.randn_like(x)`` outside a process group."""
    return shard_of_draw(
        lambda m: torch.randn((m, *x.shape[1:]), dtype=x.dtype, device=x.device), len(x)
    )


def rank_shard(n: int, rank: int | None = None, world: int | None = None) -> slice:
    """The rows ``[start, stop)`` of a global batch of ``n`` that ``rank`` holds."""
    rank = dist.get_rank() if rank is None else rank
    world = dist.get_world_size() if world is None else world
    if n % world:
        raise ValueError(f"a global batch of {n} does not split evenly over {world} ranks")
    per = n // world
    return slice(rank * per, (rank + 1) * per)


def evenly_split(idx: torch.Tensor, world: int) -> torch.Tensor:
    """The rows of the global batch ``idx`` that ``world`` equal shards cover."""
    return idx[: len(idx) - len(idx) % world]


def share_slice(n: int, rank: int, world: int) -> slice:
    """The rows of a global batch of ``n`` that rank ``rank`` holds, trimmed to split evenly."""
    return rank_shard(n - n % world, rank, world)


def even_share(idx: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank ``rank``'s rows of the global batch ``idx``, trimmed to split evenly."""
    return idx[share_slice(len(idx), rank, world)]


class DataParallel:
    """Batch shards for estimators whose losses need the whole global batch (MLC, NMCE,
    GATCluster) under ``torchrun``.

    Every rank runs the same fit on the same data and seed, so the batch order is the
    same everywhere; each rank takes its shard of every batch (:meth:`_shard`) and the
    method gathers what its loss needs from all ranks (:func:`gather_rows`). The one
    training loop (:class:`LoopSync`) averages the gradients before each step and
    broadcasts rank 0's batch-norm statistics after it, so all ranks keep identical
    parameters. Outside a process group :meth:`_shard` returns the batch.
    """

    @staticmethod
    def _shard(idx: torch.Tensor) -> torch.Tensor:
        """This rank's share of the global batch ``idx`` (trimmed to split evenly)."""
        if not is_distributed():
            return idx
        return even_share(idx, dist.get_rank(), dist.get_world_size())


class LoopSync:
    """Data parallelism of the one training loop (:class:`~deepclust.training.TrainingLoop`)
    inside a process group.

    Every rank runs the same fit on the same data and seed, so the global batches, the
    initialisations (k-means, GMM, graphs) and every statistic computed on the whole
    data set are the same everywhere without communication. What differs:

    * with ``shard_batches`` (methods whose batch loss is a mean of per-sample terms),
      each rank takes its equal share of every global batch (:meth:`shard`);
    * before every optimiser step the gradients are averaged over ranks in one
      flattened all-reduce (a step pre-hook on each optimiser of the stage), so the step
      is the one-process step on the global batch and parameters stay identical; after
      it rank 0's buffers (batch-norm statistics) are broadcast, as DDP's
      ``broadcast_buffers`` does;
    * the history's losses are averaged over ranks, the stop flag is agreed (any rank
      stopping stops all), and only rank 0 writes checkpoints.

    At the start, rank 0's parameters and buffers are broadcast, so a rank that drew
    other random numbers before the stage cannot drift.
    """

    def __init__(self, state: dict[str, object], *, shard_batches: bool) -> None:
        self.world, self.rank = dist.get_world_size(), dist.get_rank()
        self.shard_batches = shard_batches
        self.modules = [o for o in state.values() if isinstance(o, torch.nn.Module)]
        self.optimizers = [o for o in state.values() if isinstance(o, torch.optim.Optimizer)]
        self._hooks: list[object] = []

    @property
    def writes(self) -> bool:
        return self.rank == 0

    def start(self) -> None:
        with torch.no_grad():
            for m in self.modules:
                for t in (*m.parameters(), *m.buffers()):
                    dist.broadcast(t.data, src=0)
        for opt in self.optimizers:
            self._hooks.append(opt.register_step_pre_hook(self._average_gradients))
            self._hooks.append(opt.register_step_post_hook(self._broadcast_buffers))

    def close(self) -> None:
        for h in self._hooks:
            h.remove()  # type: ignore[attr-defined]
        self._hooks.clear()

    def shard_slice(self, n: int) -> slice:
        """This rank's rows of a global batch of ``n`` (trimmed to split evenly)."""
        return share_slice(n, self.rank, self.world) if self.shard_batches else slice(0, n)

    def _average_gradients(self, opt: torch.optim.Optimizer, *_: object) -> None:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def _broadcast_buffers(self, *_: object) -> None:
        with torch.no_grad():
            for m in self.modules:
                for b in m.buffers():
                    dist.broadcast(b, src=0)

    def mean_losses(self, losses: dict[str, float]) -> dict[str, float]:
        """Each loss averaged over ranks (keys in one fixed order on every rank)."""
        if not losses:
            return losses
        keys = sorted(losses)
        values = torch.tensor([float(losses[k]) for k in keys], dtype=torch.float64)
        dist.all_reduce(values)
        values /= self.world
        return {k: float(v) for k, v in zip(keys, values.tolist(), strict=True)}

    def any_stopped(self, stopped: bool) -> bool:
        flag = torch.tensor([1 if stopped else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def barrier(self) -> None:
        dist.barrier()
