"""Image folders decoded on demand: the rows of ``X`` are read when indexed.

``load_image_folder(path, lazy=True)`` returns a :class:`~deepclust.data.container.Dataset`
whose ``X`` is a :class:`LazyImageRows`: it has the shape and dtype of the decoded
``(n, C*H*W)`` float32 matrix, and ``X[rows]`` decodes just those files, on a pool of
threads (Pillow releases the GIL while it decodes, so the threads run in parallel).
The image methods (GATCluster, IIC, DAC, MLC, NMCE) train on it batch by batch, so memory
holds one batch of decoded images, not the set: a 256-pixel ImageNet-100 is about 100 GB
decoded, a few GB as files. ``np.asarray(X)`` decodes everything (what the other methods
do with it).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataError


class LazyImageRows:
    """The flattened float32 rows of an image folder, decoded when indexed.

    Parameters
    ----------
    root : Path
        The folder; ``files`` are relative to it.
    files : list of str
    grey : bool
        Decode as grey (``(H, W)``) or RGB (``(3, H, W)``, channels first).
    size : (H, W) or None
        Resize on decoding (bilinear); None keeps the files' size, which must be
        ``image_shape``'s.
    image_shape : tuple
        ``(H, W)`` or ``(3, H, W)``.
    threads : int, optional
        Decoding threads (default: the CPU count, at most 8).
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(
        self,
        root: Path,
        files: list[str],
        *,
        grey: bool,
        size: tuple[int, int] | None,
        image_shape: tuple[int, ...],
        threads: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.files = list(files)
        self.grey = bool(grey)
        self.size = size
        self.image_shape = tuple(int(s) for s in image_shape)
        self.threads = int(threads or min(8, os.cpu_count() or 1))
        self._pool: ThreadPoolExecutor | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.files), math.prod(self.image_shape))

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"LazyImageRows({len(self)} images of {self.image_shape} in {self.root})"

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            raise TypeError("LazyImageRows is indexed by rows only (an int, slice or indices)")
        if hasattr(key, "detach"):  # a torch tensor of indices
            key = key.detach().cpu().numpy()
        rows = np.arange(len(self))[key]
        if rows.ndim == 0:
            return self._decode(int(rows))
        if len(rows) == 0:
            return np.zeros((0, self.shape[1]), np.float32)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="deepclust-decode")
        return np.stack(list(self._pool.map(self._decode, rows.tolist())))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def _decode(self, i: int) -> np.ndarray:
        from .images import _read_image

        path = self.root / self.files[i]
        arr = _read_image(path, self.grey, self.size)
        if not self.grey:
            arr = arr.transpose(2, 0, 1)
        if arr.shape != self.image_shape:
            raise DataError(
                f"{path} is {'x'.join(map(str, arr.shape))}, the folder's images are "
                f"{'x'.join(map(str, self.image_shape))}; pass size=(H, W) to resize them"
            )
        return np.ascontiguousarray(arr, dtype=np.float32).reshape(-1)

    def __getstate__(self) -> dict[str, Any]:  # worker processes get their own pool
        state = dict(self.__dict__)
        state["_pool"] = None
        return state


def is_lazy_rows(X: Any) -> bool:
    """True for a :class:`LazyImageRows` (input that must not be materialised)."""
    return isinstance(X, LazyImageRows)


def sample_rows(X: Any, max_rows: int = 256) -> np.ndarray:
    """At most ``max_rows`` evenly spaced rows of a lazy folder (decoded), or all of an
    in-memory array."""
    if not is_lazy_rows(X):
        return np.asarray(X)
    step = max(1, -(-len(X) // max_rows))
    return X[::step]


__all__ = ["LazyImageRows", "is_lazy_rows", "sample_rows"]
