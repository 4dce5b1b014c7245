"""Dataset specs: ``KIND:PATH`` or a bundled name, resolved to a loader.

``load("mnist:../shared/data/mnist")``, ``load("hsi:scene.mat")``,
``load("climate:DIR")``, ``load("digits")``, ``load("synthetic:half-circles")``.
Loader modules are imported lazily so that ``deepclust datasets`` stays fast.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataNotFoundError
from .container import Dataset


@dataclass(frozen=True)
class DatasetEntry:
    """One entry of the registry."""

    name: str
    target: str  # "module:function"
    path: str  # "required", "optional" (download or cache when absent) or "none"
    description: str
    defaults: tuple[tuple[str, Any], ...] = ()

    def loader(self) -> Callable[..., Dataset]:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), in [0, 1]."""
    from sklearn.datasets import load_digits as _digits

    d = _digits()
    return Dataset(
        X=(d.data / 16.0).astype(np.float32),
        y=d.target.astype(np.int64),
        name="digits",
        kind="images",
        image_shape=(8, 8),
        extra={"source": "sklearn.datasets.load_digits"},
    )


_D = "deepclust.data."
_ENTRIES = [
    # feature tables
    DatasetEntry(
        "npy", _D + "vectors:load_npy", "required", "NumPy .npy array (n_samples, n_features)"
    ),
    DatasetEntry(
        "npz", _D + "vectors:load_npz", "required", "NumPy .npz archive (X and optional labels)"
    ),
    DatasetEntry(
        "csv", _D + "vectors:load_csv", "required", "numeric CSV table (optional label column)"
    ),
    DatasetEntry(
        "mat", _D + "vectors:load_mat", "required", "MATLAB .mat (v5 or v7.3) feature matrix"
    ),
    DatasetEntry(
        "vectors", _D + "vectors:load_vectors", "required", "any feature table, by extension"
    ),
    DatasetEntry(
        "h5", _D + "hdf5:load_h5", "required", "HDF5 data/labels arrays (or train/test groups)"
    ),
    # images
    DatasetEntry(
        "mnist", _D + "images:load_mnist", "optional", "MNIST IDX files, 70,000 28x28 digits"
    ),
    DatasetEntry(
        "fashion-mnist", _D + "images:load_fashion_mnist", "optional", "Fashion-MNIST IDX files"
    ),
    DatasetEntry("cifar10", _D + "images:load_cifar10", "optional", "CIFAR-10 python batches"),
    DatasetEntry("cifar100", _D + "images:load_cifar100", "optional", "CIFAR-100 python batches"),
    DatasetEntry("stl10", _D + "images:load_stl10", "optional", "STL-10 binaries (train+test)"),
    DatasetEntry(
        "tiny-imagenet",
        _D + "tiny_imagenet:load_tiny_imagenet",
        "required",
        "Tiny-ImageNet-200 official folder, 64x64 RGB",
    ),
    DatasetEntry(
        "coil20", _D + "images:load_coil20", "optional", "COIL-20 (fea/gnd .mat), 1440 32x32"
    ),
    DatasetEntry("orl", _D + "images:load_orl", "optional", "ORL faces (fea/gnd .mat), 400 32x32"),
    DatasetEntry("image-mat", _D + "images:load_image_mat", "required", "MATLAB image set fea/gnd"),
    DatasetEntry("images", _D + "images:load_image_folder", "required", "folder of image files"),
    DatasetEntry(
        "imagenet10",
        _D + "imagenet_subsets:load_imagenet10",
        "required",
        "ImageNet-10 (DAC's 10 classes) from an ImageNet-style folder, resized",
    ),
    DatasetEntry(
        "imagenet-dogs",
        _D + "imagenet_subsets:load_imagenet_dogs",
        "required",
        "ImageNet-Dogs (DAC's 15 breeds) from an ImageNet-style folder, resized",
    ),
    # hyperspectral scenes
    DatasetEntry(
        "hsi", _D + "hsi:load_hsi", "required", "hyperspectral scene (.mat/.npy/ENVI) + gt"
    ),
    DatasetEntry("indian-pines", _D + "hsi:load_indian_pines", "optional", "AVIRIS Indian Pines"),
    DatasetEntry("paviau", _D + "hsi:load_pavia_university", "optional", "ROSIS Pavia University"),
    DatasetEntry("salinas", _D + "hsi:load_salinas", "optional", "AVIRIS Salinas"),
    DatasetEntry("salinas-a", _D + "hsi:load_salinas_a", "optional", "AVIRIS Salinas-A (83x86)"),
    DatasetEntry("ksc", _D + "hsi:load_ksc", "optional", "AVIRIS Kennedy Space Center"),
    DatasetEntry(
        "houston2013", _D + "hsi:load_houston2013", "required", "CASI Houston 2013 (GRSS DFC)"
    ),
    DatasetEntry("trento", _D + "hsi:load_trento", "required", "CASI Trento"),
    # climate
    DatasetEntry(
        "climate", _D + "climate:load_climate", "required", "NetCDF/GRIB/zarr file or folder"
    ),
    # bundled
    DatasetEntry(
        "digits", _D + "registry:load_digits", "none", "scikit-learn digits, 1797 8x8 images"
    ),
    DatasetEntry(
        "synthetic:half-circles",
        _D + "synthetic:make_half_circles",
        "none",
        "DGG §4.1: two half circles, 2000 points each",
    ),
    DatasetEntry(
        "synthetic:two-manifolds",
        _D + "synthetic:make_sphere_manifolds",
        "none",
        "MLC App. D.1: two manifolds on the sphere",
    ),
    DatasetEntry(
        "synthetic:subspaces",
        _D + "synthetic:make_subspaces",
        "none",
        "union of low-dimensional linear subspaces",
    ),
    DatasetEntry(
        "synthetic:hsi",
        _D + "synthetic:make_hsi_scene",
        "none",
        "synthetic hyperspectral scene with coherent regions",
    ),
    DatasetEntry(
        "synthetic:climate",
        _D + "synthetic:make_climate_cube",
        "none",
        "synthetic climate cube switching between K regimes",
    ),
]

DATASETS: dict[str, DatasetEntry] = {e.name: e for e in _ENTRIES}


def parse_spec(spec: str) -> tuple[DatasetEntry, str | None]:
    """Split a spec into its registry entry and path (None for bundled data)."""
    if not isinstance(spec, str):
        raise ConfigError(
            f"data spec must be a string, got {spec!r} ({type(spec).__name__}); expected "
            "KIND:PATH (e.g. mnist:DIR) or a bundled name"
        )
    if not spec.strip():
        raise ConfigError("empty data spec; expected KIND:PATH (e.g. mnist:DIR) or a bundled name")
    spec = spec.strip()
    if spec in DATASETS:
        return DATASETS[spec], None
    kind, sep, path = spec.partition(":")
    if sep and kind.lower() in DATASETS and DATASETS[kind.lower()].path != "none":
        return DATASETS[kind.lower()], path
    known = ", ".join(sorted(DATASETS))
    raise ConfigError(f"unknown data spec {spec!r}; expected KIND:PATH or a name among: {known}")


def load(spec: str, **options: Any) -> Dataset:
    """Load a dataset from a spec string.

    Parameters
    ----------
    spec : str
        ``KIND:PATH`` (``mnist:DIR``, ``hsi:SCENE.mat``, ``climate:DIR_OR_FILE``,
        ``mat:FILE``, ``npy:FILE``, ``h5:FILE``, ``images:DIR``, ...) or a bundled name
        (``digits``, ``synthetic:half-circles``, ...). See :data:`DATASETS`.
    **options
        Passed to the loader (e.g. ``variables=["pr"]`` for climate, ``gt=...`` for a
        scene, ``random_state=0`` for synthetic data).
    """
    entry, path = parse_spec(spec)
    if entry.path == "required" and not path:
        raise ConfigError(f"data spec {spec!r} needs a path: {entry.name}:PATH")
    kwargs = dict(entry.defaults)
    kwargs.update(options)
    loader = entry.loader()
    check_options(entry, loader, options)
    if entry.path == "none":
        return loader(**kwargs)
    if path:
        p = Path(path).expanduser()
        if not path_exists(p):
            raise DataNotFoundError(f"{entry.name}: no such file or directory: {p}")
        return loader(p, **kwargs)
    return loader(**kwargs)


def loader_options(entry: DatasetEntry, loader: Callable[..., Any]) -> list[str] | None:
    """Keyword options ``loader`` accepts (``--data-opt KEY=VALUE``); None: any."""
    params = list(inspect.signature(loader).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    if entry.path != "none" and params:
        params = params[1:]  # the path, given by the spec
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in named]


def check_options(entry: DatasetEntry, loader: Callable[..., Any], options: dict[str, Any]) -> None:
    """Refuse loader options the loader does not take, naming the ones it does."""
    accepted = loader_options(entry, loader)
    unknown = [] if accepted is None else sorted(set(options) - set(accepted))
    if unknown:
        expected = ", ".join(sorted(accepted or [])) or "none"
        raise ConfigError(
            f"the {entry.name} loader has no option(s) {unknown} (--data-opt KEY=VALUE); "
            f"expected some of: {expected}"
        )


def path_exists(p: Path) -> bool:
    """``p.exists()``, but a path the system refuses (name too long, ...) is an error."""
    try:
        return p.exists()
    except OSError as exc:
        raise DataNotFoundError(f"cannot use the path {p}: {exc.strerror or exc}") from exc
