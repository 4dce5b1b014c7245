"""Climate cubes larger than memory: time steps read, scaled and filled on demand.

A cube that lives in a dask array, an xarray ``DataArray`` backed by dask, an h5py or
zarr dataset, or a ``numpy.memmap`` is never loaded whole. One streaming pass over
time chunks gives the per-column statistics (min/max or mean/std), the finite-value
check per variable and the constant-data check; afterwards every batch of windows
reads only the time steps it holds (:class:`StreamedCube`), scales them with the
fitted statistics and fills the missing values, and the loss weights come from the
same read. Memory is one chunk (statistics) or one batch (training), never the cube.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..exceptions import DataError

#: Modules whose arrays are read lazily (the cube is streamed, not loaded).
_LAZY_MODULES = {"dask", "h5py", "zarr"}


def is_lazy_cube(X: Any) -> bool:
    """True for arrays that should be streamed rather than loaded into memory."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or not hasattr(X, "shape"):
        return False
    root = type(X).__module__.split(".")[0]
    if root in _LAZY_MODULES:
        return True
    if root == "xarray":  # a DataArray: lazy when its data are
        return is_lazy_cube(getattr(X, "data", None))
    return False


def _read(source: Any, index: np.ndarray) -> np.ndarray:
    """Rows ``index`` (sorted, unique) of ``source`` along time, as float32."""
    if hasattr(source, "oindex"):  # zarr: orthogonal selection
        block = source.oindex[index]
    elif type(source).__module__.split(".")[0] == "xarray":
        block = source.isel({source.dims[0]: index}).values
    else:
        block = source[index]  # dask, h5py (increasing indices), memmap
    block = np.asarray(block, dtype=np.float32)
    return block[..., None] if block.ndim == 3 else block  # one variable


def _chunks(n_time: int, chunk: int) -> list[np.ndarray]:
    return [np.arange(s, min(s + chunk, n_time)) for s in range(0, n_time, chunk)]


def streamed_statistics(
    source: Any, mode: str, who: str, chunk: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column offset and scale of ``scale_cube`` in one pass over time chunks.

    Also refuses, as the in-memory path does, a variable without any finite value and a
    cube whose time steps are all identical (every column constant over time).
    """
    shape = tuple(int(s) for s in source.shape)
    if len(shape) not in (3, 4):
        raise DataError(f"{who} needs a cube of shape (time, lat, lon, variables), got {shape}")
    n_vars = shape[3] if len(shape) == 4 else 1
    lo = hi = total = total_sq = count = None
    for index in _chunks(shape[0], chunk):
        flat = _read(source, index).reshape(len(index), -1).astype(np.float64)
        finite = np.isfinite(flat)
        low = np.where(finite, flat, np.inf).min(0)
        high = np.where(finite, flat, -np.inf).max(0)
        zero = np.where(finite, flat, 0.0)
        lo = low if lo is None else np.minimum(lo, low)
        hi = high if hi is None else np.maximum(hi, high)
        total = zero.sum(0) if total is None else total + zero.sum(0)
        total_sq = (zero**2).sum(0) if total_sq is None else total_sq + (zero**2).sum(0)
        count = finite.sum(0) if count is None else count + finite.sum(0)
    per_var = count.reshape(-1, n_vars).sum(0)
    if (per_var == 0).any():
        bad = int(np.flatnonzero(per_var == 0)[0])
        raise DataError(f"variable {bad} of the cube has no finite value; expected data")
    seen = count > 0
    if shape[0] >= 2 and bool(np.all(hi[seen] == lo[seen])):
        raise DataError(f"all {shape[0]} samples are identical: nothing to cluster")
    if mode == "minmax":
        offset, scale = lo, hi - lo
    elif mode == "standardize":
        offset = total / np.maximum(count, 1)
        scale = np.sqrt(np.maximum(total_sq / np.maximum(count, 1) - offset**2, 0.0))
    else:
        offset, scale = np.zeros_like(lo), np.ones_like(lo)
    offset = np.where(seen & np.isfinite(offset), offset, 0.0)
    scale = np.where(seen & np.isfinite(scale) & (scale > 0), scale, 1.0)
    return offset, scale


class StreamedCube:
    """Scaled, NaN-filled windows of a lazy cube, indexed like the in-memory tensor.

    ``cube[s]`` for a ``(B, T)`` tensor of time indices returns ``(B, T, V, H, W)`` (or
    ``(B, T, D)`` when ``flat``); ``cube.weights[s]`` the matching loss weights
    (1 where the value is finite and inside ``mask``). The last read is cached, so data
    and weights of a batch cost one read.
    """

    def __init__(
        self,
        source: Any,
        offset: np.ndarray,
        scale: np.ndarray,
        device: torch.device,
        mask: np.ndarray | None = None,
        flat: bool = False,
    ) -> None:
        self.source, self.offset, self.scale = source, offset, scale
        self.device, self.mask, self.flat = device, mask, flat
        shape = tuple(int(s) for s in source.shape)
        self.cube_shape = shape if len(shape) == 4 else (*shape, 1)  # (time, lat, lon, var)
        self._cache: tuple[bytes, torch.Tensor, torch.Tensor] | None = None
        self.weights = _Weights(self)

    def __len__(self) -> int:
        return self.cube_shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        t, h, w, v = self.cube_shape
        return (t, h * w * v) if self.flat else (t, v, h, w)

    def flattened(self) -> StreamedCube:
        """The same cube served as ``(B, T, lat*lon*var)`` (DTC's view)."""
        return StreamedCube(self.source, self.offset, self.scale, self.device, self.mask, True)

    def _load(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = s.cpu().numpy().tobytes() + bytes(s.shape)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        uniq, inverse = torch.unique(s.reshape(-1).cpu(), return_inverse=True)
        block = _read(self.source, uniq.numpy())  # (u, lat, lon, var)
        weight = np.isfinite(block).astype(np.float32)
        if self.mask is not None:
            weight *= self.mask[None, :, :, None]
        flat = (block.reshape(len(block), -1) - self.offset) / self.scale
        scaled = np.nan_to_num(flat.astype(np.float32)).reshape(block.shape)
        data, w = (self._arrange(a, inverse, s.shape) for a in (scaled, weight))
        self._cache = (key, data, w)
        return data, w

    def _arrange(self, a: np.ndarray, inverse: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """``(u, lat, lon, var)`` -> the model's layout at the requested positions.

        The flat view is ordered (var, lat, lon), as the in-memory tensor flattened.
        """
        t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, 3, 1)))
        if self.flat:
            t = t.reshape(len(t), -1)
        return t[inverse].reshape(*shape, *t.shape[1:]).to(self.device)

    def __getitem__(self, s: torch.Tensor) -> torch.Tensor:
        return self._load(torch.as_tensor(s))[0]


class _Weights:
    def __init__(self, cube: StreamedCube) -> None:
        self.cube = cube

    def __getitem__(self, s: torch.Tensor) -> torch.Tensor:
        return self.cube._load(torch.as_tensor(s))[1]


__all__ = ["StreamedCube", "is_lazy_cube", "streamed_statistics"]
