"""Small shared helpers: seeding, device choice, atomic file writes."""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .exceptions import ConfigError

if TYPE_CHECKING:  # torch is imported where it is used, so the CLI starts fast
    import torch


def seed_everything(random_state: int | None) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer.

    ``None`` leaves the generators as they are (a non-reproducible run).
    """
    if random_state is None:
        return
    import torch

    seed = int(random_state) % (2**32)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - user code may draw from the global RNG
    torch.manual_seed(seed)


def derive_seed(random_state: int | None, offset: int = 0) -> int | None:
    """A child seed for a sub-step (e.g. k-means inside a deep method)."""
    if random_state is None:
        return None
    return (int(random_state) * 1_000_003 + offset) % (2**31 - 1)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Pick the compute device: ``"auto"`` means CUDA, then Apple MPS, then CPU."""
    import torch

    if device is None or device == "auto":
        if torch.cuda.is_available():
            # under torchrun each rank takes its own GPU
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(
            f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} was requested but CUDA is not available here")
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError(f"device {device!r} was requested but MPS is not available here")
    return dev


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    A crash half-way leaves the old file (if any) untouched, never a truncated one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; the result should look like any file the user writes
    os.chmod(tmp_path, _file_mode())
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def to_numpy(t: torch.Tensor | np.ndarray) -> np.ndarray:
    """Detach a tensor to a NumPy array on the CPU (arrays pass through)."""
    if isinstance(t, np.ndarray):
        return t
    return t.detach().cpu().numpy()


def _file_mode() -> int:
    """Mode of a new file under the current umask (0o644 under umask 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
