"""The one small container that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Kind = Literal["vectors", "images", "hsi", "climate"]


@dataclass
class Dataset:
    """Samples in a flat feature view plus what is needed to put them back in place.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The flat view every estimator accepts (images flattened, hyperspectral pixels as
        rows, climate time steps as rows of ``lat*lon*var`` values).
    y : ndarray of shape (n_samples,) or None
        Ground-truth labels for evaluation only. Samples without a label carry
        ``unlabelled`` (hyperspectral ground truth uses 0).
    name : str
        Short name used in file names and plot titles.
    kind : {"vectors", "images", "hsi", "climate"}
        Modality; decides the picture the CLI draws and how structured methods read it.
    image_shape : tuple or None
        ``(H, W)`` or ``(C, H, W)`` of one image sample.
    grid_shape : tuple or None
        ``(rows, cols)`` of the spatial grid (hyperspectral scene, climate lat x lon).
    mask : ndarray of bool or None
        Spatial mask over ``grid_shape``: labelled pixels of a scene, valid climate cells.
    time : ndarray or None
        Time coordinate of climate samples (one entry per row of ``X``).
    variables : list of str
        Climate variable names (order of the last cube axis) or band names.
    cube : ndarray or None
        The native array for structure-aware methods: ``(H, W, B)`` for a scene,
        ``(T, lat, lon, var)`` for a climate cube. ``X`` is a reshaped view of it.
    unlabelled : int or None
        Value in ``y`` meaning "no label" (0 for hyperspectral ground truth).
    extra : dict
        Anything else a loader wants to pass on (source path, coordinates, ...).
    """

    X: np.ndarray
    y: np.ndarray | None = None
    name: str = "data"
    kind: Kind = "vectors"
    image_shape: tuple[int, ...] | None = None
    grid_shape: tuple[int, int] | None = None
    mask: np.ndarray | None = None
    time: np.ndarray | None = None
    variables: list[str] = field(default_factory=list)
    cube: np.ndarray | None = None
    unlabelled: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def labelled(self) -> np.ndarray | None:
        """Boolean mask of samples that carry a ground-truth label (None if no labels)."""
        if self.y is None:
            return None
        if self.unlabelled is None:
            return np.ones(self.y.shape[0], dtype=bool)
        return self.y != self.unlabelled

    @property
    def n_classes(self) -> int | None:
        """Number of distinct ground-truth classes among labelled samples."""
        if self.y is None:
            return None
        lab = self.labelled
        return int(np.unique(self.y[lab]).size)

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"kind={self.kind!r}", f"X={self.X.shape}"]
        if self.y is not None:
            parts.append(f"n_classes={self.n_classes}")
        if self.grid_shape is not None:
            parts.append(f"grid_shape={self.grid_shape}")
        if self.image_shape is not None:
            parts.append(f"image_shape={self.image_shape}")
        return f"Dataset({', '.join(parts)})"
