"""Data layer: loaders for the formats users have, all returning a :class:`Dataset`.

Loader modules are imported on first use (PEP 562): ``deepclust datasets`` and the
command line's start-up do not pay for xarray, h5py or scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "climate": ["climate_sequences", "load_climate", "to_tabular"],
    "container": ["Dataset"],
    "hsi": [
        "BandPCA",
        "band_pca",
        "extract_patches",
        "iter_patches",
        "load_houston2013",
        "load_hsi",
        "load_indian_pines",
        "load_ksc",
        "load_pavia_university",
        "load_salinas",
        "load_salinas_a",
        "load_trento",
        "patch_features",
        "pca_reduce",
        "standardize_bands",
    ],
    "hdf5": ["load_h5"],
    "images": [
        "load_cifar10",
        "load_cifar100",
        "load_coil20",
        "load_fashion_mnist",
        "load_image_folder",
        "load_image_mat",
        "load_mnist",
        "load_orl",
        "load_stl10",
    ],
    "registry": ["DATASETS", "load", "load_digits"],
    "synthetic": [
        "make_climate_cube",
        "make_half_circles",
        "make_hsi_scene",
        "make_sphere_manifolds",
        "make_subspaces",
    ],
    "vectors": ["load_csv", "load_mat", "load_npy", "load_npz", "load_vectors"],
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'deepclust.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = sorted(_WHERE)
