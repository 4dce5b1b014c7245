"""Mixed-precision training for the one training loop (``precision="bf16"|"fp16"|"fp32"``).

Every deep estimator takes ``precision``. With ``"bf16"`` or ``"fp16"`` the training
loop (:class:`~deepclust.training.TrainingLoop`) runs each epoch under
:func:`torch.autocast`: matrix products and convolutions run in the half type, while
autocast keeps reductions, losses and normalisations in float32. The parameters, the
optimiser states and everything outside training (initialisation, prediction) stay
float32. ``"fp16"`` has 5 exponent bits, so small gradients underflow: its losses are
multiplied by a dynamic scale before the backward pass (:class:`LossScaler`) and the
gradients divided by it before each step, which is skipped when they overflowed.
``"bf16"`` has float32's exponent range and needs no scaling. ``"fp32"`` (default) runs
no autocast and no scaling.

Methods call :func:`backward` instead of ``loss.backward()``; it applies the scale of
the loop that is running.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .exceptions import ConfigError

#: autocast's compute type of each setting (None: no autocast)
HALF_TYPES: dict[str, torch.dtype | None] = {
    "fp32": None,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse a setting that ``device`` cannot autocast to, in one line."""
    if precision not in HALF_TYPES:
        raise ConfigError(f"precision must be 'fp32', 'bf16' or 'fp16', got {precision!r}")
    if precision == "fp32":
        return
    if not torch.amp.autocast_mode.is_autocast_available(device.type):
        raise ConfigError(
            f"precision={precision!r} needs autocast, which torch does not offer on "
            f"{device.type!r}; use precision='fp32'"
        )
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bfloat16; use precision='fp16' (loss-scaled)")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` on ``device`` (a no-op for ``"fp32"``)."""
    dtype = HALF_TYPES[precision]
    if dtype is None:
        return contextlib.nullcontext()
    # no weight cache: the loop opens one context per epoch, and a cache would keep the
    # half copies of the weights from before each step (and, in torch releases before
    # late 2025, copies made under no_grad that carry no gradient)
    return torch.autocast(device.type, dtype=dtype, cache_enabled=False)


class LossScaler:
    """Dynamic loss scaling for float16 training (Micikevicius et al., 2018).

    :meth:`scale` multiplies a loss by ``scale`` before its backward pass; before each
    optimiser step :meth:`unscale_or_skip` divides that optimiser's gradients by the
    scale used and, when any of them is inf/NaN (the scaled backward overflowed), drops
    them so that the optimiser skips its step, and halves the scale. After
    ``growth_interval`` clean optimiser steps in a row (a method with several optimisers
    counts each) the scale doubles. The state is
    checkpointed with the loop.
    """

    def __init__(
        self, init_scale: float = 2.0**16, growth_interval: int = 2000, backoff: float = 0.5
    ) -> None:
        self.value = float(init_scale)
        self.growth_interval = int(growth_interval)
        self.backoff = float(backoff)
        self.clean_steps = 0
        self.skipped_steps = 0
        self._used = self.value  # the scale of the last backward pass

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        self._used = self.value
        return loss * self._used

    def unscale_or_skip(self, opt: torch.optim.Optimizer, *_: object) -> None:
        """Optimiser step pre-hook: unscale the gradients, or drop them on overflow."""
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            return
        grads = [p.grad for p in params]
        torch._foreach_mul_(grads, 1.0 / self._used)
        # one host sync per step (as torch's GradScaler): whether to step at all
        finite = bool(torch.stack([torch.isfinite(g).all() for g in grads]).all())
        if finite:
            self.clean_steps += 1
            if self.clean_steps >= self.growth_interval:
                self.value = self._used * 2.0
                self.clean_steps = 0
            return
        for p in params:
            p.grad = None  # optimisers skip parameters without a gradient
        self.value = self._used * self.backoff
        self.clean_steps = 0
        self.skipped_steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "clean_steps": self.clean_steps,
                "skipped_steps": self.skipped_steps}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value = float(state["value"])
        self.clean_steps = int(state["clean_steps"])
        self.skipped_steps = int(state["skipped_steps"])
        self._used = self.value


def in_float32(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` (an objective) in float32 inside autocast.

    Its floating tensor arguments are cast up and autocast is off while it runs: logs of
    probabilities near 0 or 1, log-determinants and small differences of large sums lose
    their meaning in 8 (bf16) or 11 (fp16) bits of mantissa. The networks' matrix
    products before it keep the half type. Outside autocast ``fn`` runs unchanged.
    """

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        device = next(
            (a.device.type for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)),
            None,
        )
        if device is None or not torch.is_autocast_enabled(device):
            return fn(*args, **kwargs)
        with torch.autocast(device, enabled=False):
            return fn(*map(_as_float32, args), **{k: _as_float32(v) for k, v in kwargs.items()})

    return wrapped


def _as_float32(a: Any) -> Any:
    if isinstance(a, torch.Tensor) and a.is_floating_point() and a.dtype != torch.float64:
        return a.float()
    return a


_ACTIVE: list[LossScaler | None] = []


@contextlib.contextmanager
def active_scaler(scaler: LossScaler | None) -> Iterator[None]:
    """Make ``scaler`` the one :func:`backward` applies while a loop runs its epochs."""
    _ACTIVE.append(scaler)
    try:
        yield
    finally:
        _ACTIVE.pop()


def backward(loss: torch.Tensor) -> None:
    """``loss.backward()``, scaled when the running loop trains in float16."""
    scaler = _ACTIVE[-1] if _ACTIVE else None
    (loss if scaler is None else scaler.scale(loss)).backward()


__all__ = [
    "HALF_TYPES",
    "LossScaler",
    "active_scaler",
    "autocast",
    "backward",
    "check_precision",
    "in_float32",
]
