"""Fully connected building blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def mlp(
    dims: Sequence[int],
    *,
    activation: type[nn.Module] = nn.ReLU,
    final_activation: nn.Module | None = None,
    batch_norm: bool = False,
) -> nn.Sequential:
    """Stack ``Linear`` layers ``dims[0] -> dims[1] -> ... -> dims[-1]``.

    Hidden layers get ``activation`` (and batch norm if asked); the last layer is linear
    unless ``final_activation`` is given.
    """
    if len(dims) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {list(dims)}")
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(d_out))
            layers.append(activation())
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


def linear_layers(module: nn.Module) -> list[nn.Linear]:
    """The ``Linear`` layers of ``module`` in order."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def xavier_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every ``Linear`` layer (in place)."""
    for layer in linear_layers(module):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    return module


@torch.no_grad()
def batched_apply(
    fn: nn.Module, X: torch.Tensor, batch_size: int = 4096, device: torch.device | None = None
) -> torch.Tensor:
    """Apply ``fn`` to ``X`` in batches without gradients (inference over large data).

    ``X`` may live on the CPU while ``fn`` runs on ``device``; the result comes back
    on ``X``'s device, and in float32 also when a mixed-precision epoch calls it.
    """
    device = device or X.device
    outs = [
        _full(fn(X[i : i + batch_size].to(device))).to(X.device)
        for i in range(0, len(X), batch_size)
    ]
    return torch.cat(outs) if outs else X.new_zeros((0,))


def _full(t: torch.Tensor) -> torch.Tensor:
    """Half-precision results (autocast) back to float32; others unchanged."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
