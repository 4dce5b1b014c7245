"""Helpers of the tests that spawn a gloo process group of CPU processes."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    """A TCP port nobody listens on now (for ``MASTER_PORT``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join_group(rank: int, world: int, port: int) -> None:
    """Join a gloo group of ``world`` processes on this machine."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)


def spawn(worker: Callable[..., None], *args: object, world: int = 2) -> dict:
    """Run ``worker(rank, world, port, out, *args)`` in ``world`` processes; ``out`` is the
    dict the workers fill (by rank), returned as a plain dict."""
    out = mp.Manager().dict()
    mp.spawn(worker, args=(world, free_port(), out, *args), nprocs=world, join=True)
    return dict(out)
