"""What deepclust tells the user while it works (stderr), and how much.

Modes:

``"quiet"``
    Nothing (the library's default: a Python user opts in with ``verbose=True``).
``"bar"``
    Stage lines and tqdm progress bars for training stages (a terminal).
``"log"``
    Stage lines and a compact line per training stage every ~15 s, no bars (a log file
    or a pipe, where bars become noise).
``"auto"``
    ``"bar"`` when stderr is a terminal, ``"log"`` otherwise (the command line's default;
    ``-q`` makes it quiet).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

_MODES = ("quiet", "bar", "log", "auto")
_state = {"mode": "quiet"}
#: Start of every progress line (errors start with ``deepclust: error:`` instead).
PREFIX = "[deepclust]"
#: Seconds between two log lines of one training stage.
LOG_EVERY = 15.0


def set_mode(mode: str) -> None:
    """Choose how much to report (see the module docstring)."""
    if mode not in _MODES:
        raise ValueError(f"progress mode {mode!r}; expected one of {_MODES}")
    _state["mode"] = mode


def mode() -> str:
    """The effective mode (``"auto"`` resolved against stderr)."""
    m = _state["mode"]
    if m == "auto":
        isatty = getattr(sys.stderr, "isatty", None)
        return "bar" if callable(isatty) and isatty() else "log"
    return m


def say(message: str) -> None:
    """One line on stderr unless quiet (and only from rank 0 under ``torchrun``)."""
    if mode() != "quiet" and _rank() == 0:
        print(f"{PREFIX} {message}", file=sys.stderr, flush=True)


def _rank() -> int:
    """This process's rank in an initialised process group (0 outside one)."""
    dist = sys.modules.get("torch.distributed")  # never import torch just to print
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return 0


@contextlib.contextmanager
def stage(what: str) -> Iterator[None]:
    """Announce a stage of work and how long it took."""
    say(f"{what} ...")
    tic = time.perf_counter()
    yield
    say(f"{what}: done in {time.perf_counter() - tic:.1f} s")


class StageLog:
    """Compact progress of one training stage for the ``"log"`` mode."""

    def __init__(self, stage: str, n_epochs: int, start: int) -> None:
        self.stage, self.n_epochs = stage, n_epochs
        self.enabled = mode() == "log" and n_epochs > start
        self.tic = self.last = time.perf_counter()
        if self.enabled:
            resumed = f" (resumed at {start})" if start else ""
            say(f"  {stage}: {n_epochs} epochs{resumed}")

    def epoch(self, epoch: int, losses: dict[str, float]) -> None:
        now = time.perf_counter()
        if self.enabled and now - self.last >= LOG_EVERY and epoch < self.n_epochs:
            self.last = now
            say(f"  {self.stage}: epoch {epoch}/{self.n_epochs} {_fmt(losses)}")

    def done(self, epoch: int, losses: dict[str, float]) -> None:
        if self.enabled:
            took = time.perf_counter() - self.tic
            say(f"  {self.stage}: {epoch} epochs in {took:.1f} s {_fmt(losses)}".rstrip())


def _fmt(losses: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in list(losses.items())[:3])


__all__ = ["LOG_EVERY", "PREFIX", "StageLog", "mode", "say", "set_mode", "stage"]
