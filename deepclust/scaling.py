"""Input scaling of the deep vector methods (the ``input_scaling`` parameter).

The networks are initialised for inputs of unit scale: a sigmoid decoder for data in
[0, 1] (MNIST as the papers use it), a linear one otherwise. Raw 0-255 pixels or
readings in the thousands leave the autoencoder's squared error in the thousands, the
pretraining barely moves, and the clustering collapses into one cluster (measured: IDEC
on 90 raw-pixel ORL faces of 9 people, k = 10: one cluster, ACC 0.111; the same images in [0, 1]:
ACC 0.478, 9 clusters). So by default the data are brought to unit scale, with the
transform stored (``input_offset_``, ``input_scale_``) and applied again by ``predict``
and ``transform``.

``"auto"``
    Data already in [0, 1]: unchanged. Non-negative data beyond 1 (pixel intensities,
    counts): divided by their maximum, so they lie in [0, 1] with their relative values
    kept. Other data whose magnitude exceeds 10: standardised per feature. Otherwise
    unchanged. With a ``pretrained`` autoencoder, ``"auto"`` leaves the data as given
    (the autoencoder was trained on them that way).
``"max"``
    Divide by the largest absolute value.
``"standardize"``
    Zero mean and unit variance per feature (constant features become 0).
``"none"``
    As given.
"""

from __future__ import annotations

import numpy as np

#: Magnitude above which signed data are standardised by ``"auto"``.
_SIGNED_LIMIT = 10.0
MODES = ("auto", "max", "standardize", "none")


def choose_scaling(X: np.ndarray, mode: str) -> tuple[str, np.ndarray, np.ndarray]:
    """The scaling ``mode`` resolves to on ``X``, as ``(name, offset, scale)``.

    ``(X - offset) / scale`` is the scaled data; ``offset`` and ``scale`` have shape
    ``(n_features,)``.
    """
    d = X.shape[1]
    zero, one = np.zeros(d), np.ones(d)
    if mode == "auto":
        lo, hi = float(X.min()), float(X.max())
        if lo >= 0.0 and hi <= 1.0:
            mode = "none"
        elif lo >= 0.0:
            mode = "max"
        elif max(abs(lo), abs(hi)) > _SIGNED_LIMIT:
            mode = "standardize"
        else:
            mode = "none"
    if mode == "none":
        return "none", zero, one
    if mode == "max":
        peak = float(np.abs(X).max())
        return "max", zero, one * (peak if peak > 0 else 1.0)
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    return "standardize", mean, np.where(std > 0, std, 1.0)


def apply_scaling(X: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(X - offset) / scale`` in the dtype of ``X`` (a new array; ``X`` is not modified)."""
    out = (X - offset.astype(X.dtype)) / scale.astype(X.dtype)
    return np.ascontiguousarray(out, dtype=X.dtype)


__all__ = ["MODES", "apply_scaling", "choose_scaling"]
