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

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


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


def rank_shard(n: int, rank: int | None = None, world: int | None = None) -> slice:
    """The rows ``[start, stop)`` of a global batch of ``n`` that ``rank`` holds."""
    rank = dist.get_rank() if rank is None else rank
    world = dist.get_world_size() if world is None else world
    if n % world:
        raise ValueError(f"a global batch of {n} does not split evenly over {world} ranks")
    per = n // world
    return slice(rank * per, (rank + 1) * per)


class DataParallel:
    """Data parallelism under ``torchrun`` for estimators with a ``network_``.

    Every rank runs the same fit on the same data and seed, so the batch order is the
    same everywhere; each rank takes its shard of every batch (:meth:`_shard`), the
    method gathers what its loss needs from all ranks (:func:`gather_rows`), the
    gradients are averaged before each step (:meth:`_sync_gradients`) and rank 0's
    batch-norm statistics are broadcast (:meth:`_sync_buffers`), so all ranks keep
    identical parameters. Outside a process group every method is a no-op.
    """

    @staticmethod
    def _shard(idx: torch.Tensor) -> torch.Tensor:
        """This rank's share of the global batch ``idx`` (trimmed to split evenly)."""
        if not is_distributed():
            return idx
        world = dist.get_world_size()
        idx = idx[: len(idx) - len(idx) % world]
        return idx[rank_shard(len(idx))]

    @staticmethod
    def _sync_gradients(params: object) -> None:
        if not is_distributed():
            return
        world = dist.get_world_size()
        for p in params:  # type: ignore[attr-defined]
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world

    def _sync_buffers(self) -> None:
        """Rank 0's batch-norm statistics everywhere (as DDP's ``broadcast_buffers``), so
        every rank evaluates the same network."""
        if not is_distributed():
            return
        for b in self.network_.buffers():  # type: ignore[attr-defined]
            dist.broadcast(b, src=0)
