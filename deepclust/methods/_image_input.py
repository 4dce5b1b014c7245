"""Images given as rows with an ``image_shape``, or as 4-D arrays (MLC, NMCE, GATCluster,
IIC, DAC).

``X`` is ``(n, C, H, W)`` or ``(n, features)`` with ``image_shape=(C, H, W)``; feature
vectors (no ``image_shape``) are allowed where the method takes them. Images are brought
to [0, 1] by their peak value; vectors are standardised per feature. A lazily decoded
image folder (:class:`~deepclust.data.lazy_images.LazyImageRows`, already in [0, 1]) is
never materialised: the methods index it batch by batch (:class:`DeviceRows`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ..data.lazy_images import LazyImageRows, is_lazy_rows
from ..exceptions import DataError


class ImageRowsInput:
    """Input checks and scaling; the host is a :class:`~deepclust.base.DeepClusterer`
    with an ``image_shape`` parameter."""

    def _validate_fit_input(self, X: Any) -> np.ndarray:
        if is_lazy_rows(X):
            return self._lazy_input(X, reset=True)
        shape = self.image_shape
        if getattr(X, "ndim", None) == 4:  # (n, C, H, W) images
            shape = tuple(int(s) for s in X.shape[1:])
            X = np.asarray(X).reshape(X.shape[0], -1)
        X = super()._validate_fit_input(X)
        self.input_shape_ = (X.shape[1],) if shape is None else tuple(int(s) for s in shape)
        if math.prod(self.input_shape_) != X.shape[1]:
            raise DataError(
                f"image_shape={tuple(self.input_shape_)} holds {math.prod(self.input_shape_)} "
                f"values but X has {X.shape[1]} features per sample"
            )
        return X

    def _lazy_input(self, X: LazyImageRows, *, reset: bool) -> LazyImageRows:
        """Shape checks of a lazy image folder (nothing is decoded)."""
        shape = X.image_shape if len(X.image_shape) == 3 else (1, *X.image_shape)
        if self.image_shape is not None and tuple(self.image_shape) != shape:
            raise DataError(
                f"image_shape={tuple(self.image_shape)} but the folder's images are {shape}"
            )
        if reset:
            self.input_shape_ = shape
            self.n_features_in_ = X.shape[1]
        elif tuple(self.input_shape_) != shape:
            raise DataError(
                f"the model was fitted on {tuple(self.input_shape_)} images, not {shape}"
            )
        return X

    def _validate_new_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        if is_lazy_rows(X):
            return self._lazy_input(X, reset=False)
        if getattr(X, "ndim", None) == 4:
            X = np.asarray(X).reshape(X.shape[0], -1)
        return self._checked_input(X, reset=False)

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        """Images to [0, 1] (colour augmentation expects it); vectors standardised."""
        if is_lazy_rows(X):
            return X  # decoded into [0, 1] already
        X = np.asarray(X, dtype=np.float32)
        if len(self.input_shape_) == 3:
            return X / np.float32(self.input_peak_)
        return (X - self.input_mean_) / self.input_std_

    def _fit_scaling(self, X: np.ndarray) -> None:
        if is_lazy_rows(X):
            self.input_peak_ = 1.0
            return
        if len(self.input_shape_) == 3:
            peak = float(np.abs(X).max())
            self.input_peak_ = peak if peak > 1.0 else 1.0
        else:
            self.input_mean_ = X.mean(0).astype(np.float32)
            std = X.std(0)
            self.input_std_ = np.where(std > 0, std, 1.0).astype(np.float32)

    def _batch(self, data: torch.Tensor) -> torch.Tensor:
        return data.reshape(len(data), *self.input_shape_)

    def _as_tensor(self, X: Any) -> Any:
        if is_lazy_rows(X):
            return DeviceRows(X, self.device_)
        return super()._as_tensor(X)  # type: ignore[misc]


class DeviceRows:
    """A lazy image folder as the methods' ``data``: ``len``, ``.device`` and rows by
    index (a slice, or a tensor of indices) decoded into a float32 tensor on ``device``."""

    def __init__(self, rows: LazyImageRows, device: torch.device) -> None:
        self.rows = rows
        self.device = device

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.shape

    def __getitem__(self, key: Any) -> torch.Tensor:
        return torch.from_numpy(self.rows[key]).to(self.device)


__all__ = ["DeviceRows", "ImageRowsInput"]
