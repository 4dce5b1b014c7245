"""What every estimator on a climate cube shares: input checks, scaling, windows.

A cube is ``(time, lat, lon, variables)``; the estimators here label its time steps.
The series is cut into windows of ``window`` consecutive steps every ``stride`` steps
(the last window ends at the last step), every window is modelled as a sequence, and
per-step outputs are averaged over the windows that hold the step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from ..base import check_not_constant, warn_if_collapsed
from ..exceptions import DataError
from ..threads import configure_threads
from ..validation import (
    AUTO,
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    positive_int,
    positive_real,
    validate_params,
)
from ._streaming import StreamedCube, is_lazy_cube, streamed_statistics


def scale_cube(cube: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale every (lat, lon, var) column over time; return the cube, offset and scale.

    ``"minmax"``: to [0, 1] (the paper); ``"standardize"``: zero mean, unit variance;
    ``"none"``: as given. NaN entries are ignored by the statistics and left NaN.
    """
    flat = cube.reshape(cube.shape[0], -1).astype(np.float64)
    with warnings.catch_warnings():  # an all-NaN column (a land cell of SST) is expected
        warnings.simplefilter("ignore", RuntimeWarning)
        if mode == "minmax":
            offset, scale = np.nanmin(flat, 0), np.nanmax(flat, 0) - np.nanmin(flat, 0)
        elif mode == "standardize":
            offset, scale = np.nanmean(flat, 0), np.nanstd(flat, 0)
        else:
            offset, scale = np.zeros(flat.shape[1]), np.ones(flat.shape[1])
    offset = np.where(np.isfinite(offset), offset, 0.0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    out = ((flat - offset) / scale).astype(np.float32).reshape(cube.shape)
    return out, offset, scale


def window_starts(n_time: int, window: int, stride: int) -> np.ndarray:
    """Starts of windows of ``window`` steps every ``stride`` steps; the last ends at the end.

    Every time step lies in at least one window.
    """
    if n_time < window:
        raise DataError(
            f"the cube has {n_time} time steps, fewer than window={window}; "
            "expected a smaller window"
        )
    starts = list(range(0, n_time - window + 1, stride))
    if starts[-1] != n_time - window:
        starts.append(n_time - window)
    return np.asarray(starts, dtype=np.int64)


def average_over_windows(values: torch.Tensor, steps: torch.Tensor, n_time: int) -> torch.Tensor:
    """Mean of per-(window, step) ``values`` ``(W, T, F)`` for each time step: ``(n_time, F)``."""
    flat = values.reshape(-1, values.shape[-1])
    total = torch.zeros(n_time, flat.shape[1], dtype=flat.dtype, device=flat.device)
    total.index_add_(0, steps.reshape(-1), flat)
    count = torch.bincount(steps.reshape(-1), minlength=n_time).clamp_min(1)
    return total / count.unsqueeze(1).to(flat.dtype)


def auto_filters(grid: tuple[int, int]) -> tuple[int, ...]:
    """Widths that train in minutes on a CPU for grids up to 64 x 64, wider above."""
    cells = grid[0] * grid[1]
    if cells <= 64 * 64:
        return (8, 16, 32)
    return (16, 32, 64, 128)


def masked_mse(x_hat: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the entries that count (``w`` = 1: finite, inside the mask)."""
    return ((x_hat - x).pow(2) * w).sum() / w.sum().clamp_min(1.0)


#: Parameters every windowed cube estimator has (declarative validation, merged by each).
CUBE_CONSTRAINTS: dict[str, list[Any]] = {
    "n_clusters": N_CLUSTERS,
    "window": [positive_int()],
    "stride": [AUTO, positive_int()],
    "scaling": [StrOptions({"minmax", "standardize", "none"})],
    "alpha": [positive_real()],
    "pretrain_epochs": [non_negative_int()],
    "epochs": [non_negative_int()],
    "lr": [positive_real()],
    "batch_size": [positive_int()],
    "update_interval": [positive_int()],
}


class ClimateCubeMixin:
    """Input side of a cube estimator: checks, loss weights, scaling and the windows.

    The host defines ``window``, ``stride``, ``scaling``, ``batch_size`` and
    ``device_`` (a :class:`~deepclust.base.TorchMixin`); ``who`` names it in errors.
    """

    who = "this method"

    def _fit_cube(self, X: Any, mask: Any) -> None:
        """Validate, scale and hand the cube to ``self._fit(scaled, weights)``.

        A lazy cube (dask, xarray on dask, h5py, zarr, memmap) is streamed instead:
        ``self._fit`` then gets a :class:`~deepclust.methods._streaming.StreamedCube`.
        """
        validate_params(self)
        configure_threads()
        if is_lazy_cube(X):
            self._fit_streamed(X, mask)
            return
        cube = self._check_cube(X)
        self._check_n_clusters(cube.shape[0])
        check_not_constant(np.nan_to_num(cube.reshape(cube.shape[0], -1)))
        weights = self._loss_weights(cube, mask)
        scaled = self._scale_cube(cube)
        self._begin_fit(scaled)
        self._fit(scaled, weights)
        warn_if_collapsed(self)

    def _check_cube(self, X: Any) -> np.ndarray:
        try:
            cube = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{self.who} needs a numeric cube (time, lat, lon, variables): {exc}"
            ) from exc
        if cube.ndim == 3:
            cube = cube[..., None]  # one variable
        if cube.ndim != 4:
            raise DataError(
                f"{self.who} needs a cube of shape (time, lat, lon, variables), got {cube.shape}"
            )
        if not np.isfinite(cube).any(axis=(0, 1, 2)).all():
            bad = int(np.flatnonzero(~np.isfinite(cube).any(axis=(0, 1, 2)))[0])
            raise DataError(f"variable {bad} of the cube has no finite value; expected data")
        return cube

    def _fit_streamed(self, X: Any, mask: Any) -> None:
        """The lazy path: statistics in one pass, then windows read batch by batch."""
        offset, scale = streamed_statistics(X, self.scaling, self.who)
        cube = StreamedCube(X, offset, scale, torch.device("cpu"))
        self._check_n_clusters(cube.cube_shape[0])
        m = self._mask(mask, cube.cube_shape[1:3])
        self.scale_offset_, self.scale_factor_ = offset, scale
        self._begin_fit(offset, scale)
        cube = StreamedCube(X, offset, scale, self.device_, m)
        self._fit(cube, None)
        warn_if_collapsed(self)

    @staticmethod
    def _mask(mask: Any, grid: tuple[int, ...]) -> np.ndarray | None:
        """The (lat, lon) mask as floats, checked against the grid."""
        if mask is None:
            return None
        m = np.asarray(mask, dtype=bool)
        if m.shape != tuple(grid):
            raise DataError(f"mask has shape {m.shape}; expected (lat, lon) = {tuple(grid)}")
        return m.astype(np.float32)

    @classmethod
    def _loss_weights(cls, cube: np.ndarray, mask: Any) -> np.ndarray:
        """1 where an entry enters the reconstruction loss: finite and inside ``mask``."""
        weights = np.isfinite(cube).astype(np.float32)
        m = cls._mask(mask, cube.shape[1:3])
        if m is not None:
            weights *= m[None, :, :, None]
        return weights

    def _scale_cube(self, cube: np.ndarray) -> np.ndarray:
        """Scale the training cube and remember the scaling for new cubes (NaN kept)."""
        scaled, self.scale_offset_, self.scale_factor_ = scale_cube(cube, self.scaling)
        return scaled

    def _set_windows(self, cube: np.ndarray) -> None:
        """Window starts, grid and channel count of the training cube."""
        shape = getattr(cube, "cube_shape", cube.shape)  # (time, lat, lon, var)
        window = int(self.window)
        self.stride_ = max(1, window // 2) if self.stride == "auto" else int(self.stride)
        self.window_starts_ = window_starts(shape[0], window, self.stride_)
        self.n_time_, self.grid_shape_ = shape[0], (int(shape[1]), int(shape[2]))
        self.in_channels_ = int(shape[3])

    def _cube_tensors(
        self, cube: np.ndarray, weights: np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(time, var, lat, lon)`` data and loss weights on the fitting device."""
        if isinstance(cube, StreamedCube):
            return cube, cube.weights
        data = self._as_tensor(np.moveaxis(np.nan_to_num(cube), 3, 1))
        w = np.ones_like(cube) if weights is None else weights
        return data, self._as_tensor(np.moveaxis(w, 3, 1))

    @staticmethod
    def _flat_views(data: Any, weight: Any) -> tuple[Any, Any]:
        """Data and weights as ``[time, lat*lon*var]`` (in memory or streamed)."""
        if isinstance(data, StreamedCube):
            flat = data.flattened()
            return flat, flat.weights
        return data.reshape(len(data), -1), weight.reshape(len(weight), -1)

    def _steps(self, starts: np.ndarray | None = None) -> torch.Tensor:
        """Time index of every (window, position): ``(n_windows, window)``."""
        starts = self.window_starts_ if starts is None else starts
        first = torch.as_tensor(starts, device=self.device_)
        return first[:, None] + torch.arange(int(self.window), device=self.device_)

    def _new_cube(self, X: Any) -> tuple[torch.Tensor, torch.Tensor, int]:
        """A new cube on the fitted grid, scaled as in ``fit``: data, steps, length."""
        expected = (*self.grid_shape_, self.in_channels_)
        if is_lazy_cube(X):
            data = StreamedCube(X, self.scale_offset_, self.scale_factor_, self.device_)
            if data.cube_shape[1:] != expected:
                raise DataError(
                    f"cube has (lat, lon, variables) = {data.cube_shape[1:]}; expected {expected}"
                )
            starts = window_starts(len(data), int(self.window), self.stride_)
            return data, self._steps(starts), len(data)
        cube = self._check_cube(X)
        if cube.shape[1:] != expected:
            raise DataError(
                f"cube has (lat, lon, variables) = {cube.shape[1:]}; expected {expected}"
            )
        flat = (cube.reshape(cube.shape[0], -1) - self.scale_offset_) / self.scale_factor_
        scaled = np.nan_to_num(flat.astype(np.float32).reshape(cube.shape))
        data = self._as_tensor(np.moveaxis(scaled, 3, 1))
        starts = window_starts(cube.shape[0], int(self.window), self.stride_)
        return data, self._steps(starts), cube.shape[0]

    def _over_windows(self, fn: Any, data: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """``fn(windows of data, window indices)`` over all windows in batches, concatenated."""
        bs = max(1, int(self.batch_size))
        outs = []
        for start in range(0, len(steps), bs):
            windows = torch.arange(start, min(start + bs, len(steps)), device=steps.device)
            outs.append(fn(data[steps[windows]], windows))
        return torch.cat(outs)


__all__ = [
    "CUBE_CONSTRAINTS",
    "ClimateCubeMixin",
    "auto_filters",
    "average_over_windows",
    "masked_mse",
    "scale_cube",
    "window_starts",
]
