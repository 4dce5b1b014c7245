"""Reconstruction losses of the autoencoders (pretraining, DEC/IDEC, EDESC)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..precision import in_float32


@in_float32
def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean binary cross-entropy (``kind="bce"``, a sigmoid output against data in
    [0, 1]) or mean squared error (``"mse"``) of a batch.

    The BCE clamps ``x_hat`` to ``[1e-6, 1 - 1e-6]`` in float32, so that a saturated
    sigmoid gives a finite loss and a zero (not infinite) gradient; in float16
    ``1 - 1e-6`` rounds to 1, hence the float32 (:func:`~deepclust.precision.in_float32`).
    """
    if kind == "bce":
        return F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x)
    return F.mse_loss(x_hat, x)


__all__ = ["reconstruction_loss"]
