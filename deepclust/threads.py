"""How many CPU threads deepclust's numerical libraries use, chosen for a shared machine.

Why this exists: torch, MKL/OpenBLAS and scikit-learn's OpenMP each start one thread per
core. When another process already keeps a core busy, every parallel region waits for
the thread that shares a core with it, and OpenMP's default spin-waiting burns the
other core meanwhile: on a 2-core machine beside one busy process an IDEC fit on the
digits took 112 s with two spinning threads, 44 s with two sleeping ones and 35 s with
one, as on the idle machine (``benchmarks/RESULTS.md``).

So the default is the number of cores *free* for this process: the cores it may run on
(its CPU affinity), minus the cores other processes kept busy during a short sample of
``/proc/stat`` (Linux; elsewhere, the affinity count). Set it yourself with
:func:`set_num_threads`, the ``DEEPCLUST_NUM_THREADS`` environment variable, or
``deepclust run --threads N``. Importing deepclust also asks OpenMP to sleep rather
than spin while it waits (``OMP_WAIT_POLICY=PASSIVE``, unless you set it).
"""

from __future__ import annotations

import os
import time

_ENV = "DEEPCLUST_NUM_THREADS"
_SAMPLE_SECONDS = 0.05
_REFRESH_SECONDS = 30.0
_state: dict[str, float | int | None] = {
    "fixed": None,
    "applied": None,
    "checked_at": None,
    "auto": None,
}


def available_cores() -> int:
    """Cores this process may run on (its affinity mask; all cores where that is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _busy_jiffies() -> tuple[float, float] | None:
    """(busy jiffies of the whole machine, jiffies of this process) or None off Linux."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(v) for v in fh.readline().split()[1:]]
        with open("/proc/self/stat") as fh:
            own = fh.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]) - idle, float(own[11]) + float(own[12])  # utime + stime


def cores_busy_elsewhere(seconds: float = _SAMPLE_SECONDS) -> float:
    """Cores kept busy by other processes, sampled over ``seconds`` (0.0 if unknown)."""
    first = _busy_jiffies()
    if first is None:
        return 0.0
    time.sleep(seconds)
    second = _busy_jiffies()
    if second is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = (second[0] - first[0]) - (second[1] - first[1])
    return max(0.0, busy / ticks / seconds)


def default_num_threads() -> int:
    """The environment's choice, else the cores not kept busy by other processes."""
    env = os.environ.get(_ENV, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            import warnings

            warnings.warn(
                f"{_ENV}={env!r} is not an integer; using the automatic thread count",
                UserWarning,
                stacklevel=2,
            )
    cores = available_cores()
    return max(1, min(cores, round(cores - cores_busy_elsewhere())))


def set_num_threads(n: int | None) -> None:
    """Fix the thread count for torch, BLAS and OpenMP (``None``: automatic again)."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        from .exceptions import ConfigError

        raise ConfigError(f"number of threads must be a positive integer, got {n!r}")
    _state["fixed"] = n
    _state["checked_at"] = None
    if n is not None:
        _apply(n)


def configure_threads(limit: int | None = None) -> int:
    """Apply the current thread choice before a fit (cheap: re-sampled every 30 s at most).

    ``limit`` caps the automatic choice for work too small to share (a 2-20-20-2 network:
    DGG on the 4,000 half-circle points took 219 s with two threads, 115 s with one on a
    busier machine); a count set by the user is never changed.
    """
    fixed = _state["fixed"]
    if fixed is not None:
        return int(fixed)
    now = time.monotonic()
    checked = _state["checked_at"]
    if checked is None or now - float(checked) >= _REFRESH_SECONDS or not _state["auto"]:
        _state["checked_at"] = now
        _state["auto"] = default_num_threads()
    n = int(_state["auto"])
    if limit is not None:
        n = max(1, min(n, int(limit)))
    _apply(n)
    return n


def _apply(n: int) -> None:
    if _state["applied"] == n:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(limits=n)  # BLAS and scikit-learn's OpenMP, for the whole process
    _state["applied"] = n


def prefer_passive_waiting() -> None:
    """Ask OpenMP runtimes to sleep while waiting (must run before they are loaded)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")


__all__ = [
    "available_cores",
    "configure_threads",
    "cores_busy_elsewhere",
    "default_num_threads",
    "prefer_passive_waiting",
    "set_num_threads",
]
