"""Hyperspectral scenes: loaders for ``.mat`` / ``.npy`` / ENVI files and patch features.

Every loader returns a :class:`~deepclust.data.container.Dataset` with ``kind="hsi"``:
``cube`` is the ``(rows, cols, bands)`` float32 scene, ``X`` its ``(rows*cols, bands)``
view in row-major pixel order, ``y`` the flattened ground truth (0 = unlabelled) and
``mask`` the labelled pixels.

The preprocessing helpers never hold more than the scene, one padded copy of it and
one chunk of patches at a time, so 17 x 17 patches of a 10^6-pixel scene can be turned
into PCA features without materialising the ``(n, 17, 17, bands)`` patch tensor.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..exceptions import ConfigError, DataError, DataNotFoundError
from ._files import check_npy, mat_error, require_nonempty
from .container import Dataset

__all__ = [
    "SCENES",
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
    "BandPCA",
    "band_pca",
    "standardize_bands",
]

_GIC = "http://www.ehu.eus/ccwintco/uploads/"
_GIC_PAGE = "https://www.ehu.eus/ccwintco/index.php/Hyperspectral_Remote_Sensing_Scenes"

_SALINAS_NAMES = {
    1: "Brocoli_green_weeds_1",
    2: "Brocoli_green_weeds_2",
    3: "Fallow",
    4: "Fallow_rough_plow",
    5: "Fallow_smooth",
    6: "Stubble",
    7: "Celery",
    8: "Grapes_untrained",
    9: "Soil_vinyard_develop",
    10: "Corn_senesced_green_weeds",
    11: "Lettuce_romaine_4wk",
    12: "Lettuce_romaine_5wk",
    13: "Lettuce_romaine_6wk",
    14: "Lettuce_romaine_7wk",
    15: "Vinyard_untrained",
    16: "Vinyard_vertical_trellis",
}

#: Benchmark scenes. ``files`` are the official (data, ground truth) file names, ``keys``
#: the variable names inside them (for Houston 2013 and Trento, which circulate in several
#: repackagings, every accepted alternative), ``urls`` the GIC download addresses (None:
#: no open official download), ``md5`` checksums verified against the official files
#: (None: none is published and no copy was at hand to compute one; such a download is
#: checked by its content instead: the official key with the official shape), ``shape`` the
#: (rows, cols, bands) of the official cube and ``class_names`` the official label names.
SCENES: dict[str, dict[str, Any]] = {
    "indian_pines": {
        "title": "Indian Pines (AVIRIS, water-absorption bands removed)",
        "files": ("Indian_pines_corrected.mat", "Indian_pines_gt.mat"),
        "keys": (("indian_pines_corrected",), ("indian_pines_gt",)),
        "urls": (_GIC + "6/67/Indian_pines_corrected.mat", _GIC + "c/c4/Indian_pines_gt.mat"),
        "md5": (None, None),
        "shape": (145, 145, 200),
        "n_classes": 16,
        "class_names": {
            1: "Alfalfa",
            2: "Corn-notill",
            3: "Corn-mintill",
            4: "Corn",
            5: "Grass-pasture",
            6: "Grass-trees",
            7: "Grass-pasture-mowed",
            8: "Hay-windrowed",
            9: "Oats",
            10: "Soybean-notill",
            11: "Soybean-mintill",
            12: "Soybean-clean",
            13: "Wheat",
            14: "Woods",
            15: "Buildings-Grass-Trees-Drives",
            16: "Stone-Steel-Towers",
        },
    },
    "pavia_university": {
        "title": "Pavia University (ROSIS)",
        "files": ("PaviaU.mat", "PaviaU_gt.mat"),
        "keys": (("paviaU",), ("paviaU_gt",)),
        "urls": (_GIC + "e/ee/PaviaU.mat", _GIC + "5/50/PaviaU_gt.mat"),
        "md5": (None, None),
        "shape": (610, 340, 103),
        "n_classes": 9,
        "class_names": {
            1: "Asphalt",
            2: "Meadows",
            3: "Gravel",
            4: "Trees",
            5: "Painted metal sheets",
            6: "Bare Soil",
            7: "Bitumen",
            8: "Self-Blocking Bricks",
            9: "Shadows",
        },
    },
    "salinas": {
        "title": "Salinas (AVIRIS, water-absorption bands removed)",
        "files": ("Salinas_corrected.mat", "Salinas_gt.mat"),
        "keys": (("salinas_corrected",), ("salinas_gt",)),
        "urls": (_GIC + "a/a3/Salinas_corrected.mat", _GIC + "f/fa/Salinas_gt.mat"),
        "md5": (None, None),
        "shape": (512, 217, 204),
        "n_classes": 16,
        "class_names": dict(_SALINAS_NAMES),
    },
    "salinas_a": {
        "title": "Salinas-A (AVIRIS sub-scene of Salinas, water-absorption bands removed)",
        "files": ("SalinasA_corrected.mat", "SalinasA_gt.mat"),
        "keys": (("salinasA_corrected",), ("salinasA_gt",)),
        "urls": (_GIC + "1/1a/SalinasA_corrected.mat", _GIC + "a/aa/SalinasA_gt.mat"),
        "md5": ("4852da09661d629f5033ca1d23b908ae", "d5c82204f36f9e10c9081e4e68ece1c3"),
        "shape": (83, 86, 204),
        "n_classes": 6,
        "class_names": {k: _SALINAS_NAMES[k] for k in (1, 10, 11, 12, 13, 14)},
    },
    "ksc": {
        "title": "Kennedy Space Center (AVIRIS)",
        "files": ("KSC.mat", "KSC_gt.mat"),
        "keys": (("KSC",), ("KSC_gt",)),
        "urls": (_GIC + "2/26/KSC.mat", _GIC + "a/a6/KSC_gt.mat"),
        "md5": (None, None),
        "shape": (512, 614, 176),
        "n_classes": 13,
        "class_names": {
            1: "Scrub",
            2: "Willow swamp",
            3: "Cabbage palm hammock",
            4: "Cabbage palm/oak hammock",
            5: "Slash pine",
            6: "Oak/broadleaf hammock",
            7: "Hardwood swamp",
            8: "Graminoid marsh",
            9: "Spartina marsh",
            10: "Cattail marsh",
            11: "Salt marsh",
            12: "Mud flats",
            13: "Water",
        },
    },
    "houston2013": {
        "title": "Houston 2013 (ITRES CASI-1500, IEEE GRSS Data Fusion Contest 2013)",
        "source": "the IEEE GRSS Data Fusion Contest 2013 (University of Houston campus scene)",
        # The official release is GeoTIFF + ENVI ROIs; these are the usual .mat repackagings.
        "files": ("Houston.mat", "Houston_gt.mat"),
        "alt_files": (
            ("Houston13.mat", "Houston2013.mat", "Houston_HSI.mat", "HSI.mat"),
            ("Houston13_gt.mat", "Houston2013_gt.mat", "Houston13_7gt.mat", "gt.mat"),
        ),
        "keys": (
            ("Houston", "houston", "Houston13", "ori_data", "HSI", "data"),
            ("Houston_gt", "houston_gt", "Houston13_gt", "map", "gt", "label", "labels"),
        ),
        "urls": None,
        "md5": (None, None),
        "shape": (349, 1905, 144),  # full scene; SCDSC uses a 130 x 130, 7-class crop
        "n_classes": 15,
        "class_names": {
            1: "Healthy grass",
            2: "Stressed grass",
            3: "Synthetic grass",
            4: "Trees",
            5: "Soil",
            6: "Water",
            7: "Residential",
            8: "Commercial",
            9: "Road",
            10: "Highway",
            11: "Railway",
            12: "Parking Lot 1",
            13: "Parking Lot 2",
            14: "Tennis Court",
            15: "Running Track",
        },
    },
    "trento": {
        "title": "Trento (AISA Eagle hyperspectral part of the multisource Trento dataset)",
        "source": "the authors of the multisource (hyperspectral + LiDAR) Trento dataset "
        "(University of Trento), on request",
        "files": ("Trento.mat", "Trento_gt.mat"),
        "alt_files": (
            ("Trento_HSI.mat", "HSI_Trento.mat", "HSI.mat"),
            ("GT_Trento.mat", "Trento_allgrd.mat", "allgrd.mat", "gt.mat"),
        ),
        "keys": (
            ("Trento", "trento", "HSI_Trento", "HSI", "hsi", "data"),
            ("Trento_gt", "trento_gt", "GT_Trento", "allgrd", "gt", "label", "labels"),
        ),
        "urls": None,
        "md5": (None, None),
        "shape": (166, 600, 63),
        "n_classes": 6,
        "class_names": {
            1: "Apple trees",
            2: "Buildings",
            3: "Ground",
            4: "Woods",
            5: "Vineyard",
            6: "Roads",
        },
    },
}

_INTEGER = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "logical"}
_NUMERIC = _INTEGER | {"double", "single"}
_SUFFIXES = (".mat", ".npy", ".hdr")
# Memory cap for the PCA fitting sample of patch_features (bytes of float32 patches).
_FIT_BYTES = 512 * 2**20
# Default size of one streamed block of patches in patch_features.
_CHUNK_BYTES = 64 * 2**20
# Values (pixels x bands) handled at a time by the chunked per-band passes (32 MiB f64).
_BLOCK_VALUES = 1 << 22


def _block_rows(n_bands: int) -> int:
    return max(1, _BLOCK_VALUES // max(1, n_bands))


# --------------------------------------------------------------------------------------
# .mat reading (v5 through scipy, v7.3 through h5py) without loading unused variables
# --------------------------------------------------------------------------------------


def _mat_vars(path: Path) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape, MATLAB class) of every variable, shapes in row-major numpy order."""
    import h5py

    require_nonempty(path, "a MATLAB .mat file")
    if h5py.is_hdf5(path):
        try:
            return _h5_vars(path)
        except OSError as exc:  # a damaged HDF5 file (bad superblock, cut short, ...)
            raise mat_error(path, exc) from exc
    import scipy.io

    try:
        return [(n, tuple(s), c) for n, s, c in scipy.io.whosmat(path)]
    except Exception as exc:  # scipy raises several types for non-.mat bytes
        raise mat_error(path, exc) from exc


def _h5_vars(path: Path) -> list[tuple[str, tuple[int, ...], str]]:
    """Variables of a v7.3 (HDF5) file; plain HDF5 datasets get a class from their dtype."""
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        for name, obj in f.items():
            if not isinstance(obj, h5py.Dataset) or name.startswith("#"):
                continue
            cls = obj.attrs.get("MATLAB_class", b"")
            cls = cls.decode() if isinstance(cls, bytes) else str(cls)
            if not cls:  # plain HDF5 written without MATLAB attributes
                cls = "double" if obj.dtype.kind == "f" else str(obj.dtype)
                cls = "logical" if obj.dtype.kind == "b" else cls
            if obj.dtype.kind not in "biuf":  # complex/compound/strings
                cls = "other"
            # MATLAB is column-major: HDF5 holds the reversed shape.
            out.append((name, tuple(obj.shape[::-1]), cls))
    return out


def _mat_read(path: Path, name: str) -> np.ndarray:
    """One variable of a .mat file, axes in MATLAB order (rows, cols, ...)."""
    import h5py

    if h5py.is_hdf5(path):
        try:
            with h5py.File(path, "r") as f:
                # h5py returns the column-major array with its axes reversed; .T undoes that.
                return np.asarray(f[name][()]).T
        except OSError as exc:  # e.g. a damaged compressed chunk
            raise DataError(
                f"cannot read variable {name!r} from {path} ({_one_line(exc)}); the file is "
                "damaged: expected a complete MATLAB v7.3 (HDF5) file"
            ) from exc
    import scipy.io

    try:
        return scipy.io.loadmat(path, variable_names=[name])[name]
    except Exception as exc:  # the header listed the variable, its bytes are cut or damaged
        raise DataError(
            f"cannot read variable {name!r} from {path}: the file is damaged or truncated "
            f"({_one_line(exc)}); expected a complete MATLAB .mat file"
        ) from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def _fmt_vars(variables: Sequence[tuple[str, tuple[int, ...], str]]) -> str:
    return ", ".join(f"{n} {'x'.join(map(str, s))} {c}" for n, s, c in variables) or "none"


def _match_key(names: Sequence[str], wanted: Sequence[str]) -> str | None:
    """First of ``wanted`` present in ``names`` (exact match first, then case-insensitive)."""
    for w in wanted:
        if w in names:
            return w
    lower = {n.lower(): n for n in names}
    for w in wanted:
        if w.lower() in lower:
            return lower[w.lower()]
    return None


# --------------------------------------------------------------------------------------
# Checks shared by the loaders
# --------------------------------------------------------------------------------------


def _as_cube(cube: Any, what: str = "cube") -> np.ndarray:
    if isinstance(cube, Dataset):
        if cube.cube is None:
            raise DataError(f"dataset {cube.name!r} has no cube; expected a hyperspectral scene")
        cube = cube.cube
    arr = np.asarray(cube)
    if arr.ndim != 3:
        raise DataError(f"{what} has shape {arr.shape}; expected 3-D (rows, cols, bands)")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what} has dtype {arr.dtype}; expected a numeric array")
    return arr


def _count_nonfinite(arr: np.ndarray) -> tuple[int, int | None]:
    """Number of NaN/inf entries and the flat index of the first one, block by block.

    Blocks avoid a full-size boolean temporary next to a large cube.
    """
    flat = arr.reshape(-1)
    step = _block_rows(arr.shape[-1]) * arr.shape[-1]
    count, first = 0, None
    for i in range(0, flat.shape[0], step):
        bad = ~np.isfinite(flat[i : i + step])
        n = int(np.count_nonzero(bad))
        if n and first is None:
            first = i + int(np.argmax(bad))
        count += n
    return count, first


def _to_cube(raw: np.ndarray, source: str) -> np.ndarray:
    if raw.ndim != 3:
        raise DataError(
            f"scene data in {source} has shape {raw.shape}; expected 3-D (rows, cols, bands)"
        )
    if raw.dtype.kind not in "biuf":
        raise DataError(f"scene data in {source} has dtype {raw.dtype}; expected numbers")
    if 0 in raw.shape:
        raise DataError(
            f"scene data in {source} is empty (shape {raw.shape}); expected at least one "
            "pixel and one band"
        )
    # One C-ordered float32 copy so that X = cube.reshape(-1, bands) is a view.
    cube = np.asarray(raw, dtype=np.float32, order="C")
    if not (cube.flags.owndata and cube.flags.writeable):  # e.g. a view of a read-only memmap
        cube = cube.copy()
    bad, first = _count_nonfinite(cube)
    if bad:
        pixel, band = divmod(int(first), cube.shape[2])
        row, col = divmod(pixel, cube.shape[1])
        raise DataError(
            f"scene data in {source} has {bad} NaN/inf values (first at row {row}, column "
            f"{col}, band {band}); expected finite values: fill or crop them first"
        )
    return cube


def _to_gt(raw: Any, rows: int, cols: int, source: str) -> np.ndarray:
    gt = np.asarray(raw)
    if gt.ndim == 3 and gt.shape[2] == 1:  # ENVI single-band classification image
        gt = gt[:, :, 0]
    if gt.ndim != 2:
        raise DataError(
            f"ground truth in {source} has shape {gt.shape}; expected 2-D ({rows}, {cols})"
        )
    if gt.shape != (rows, cols):
        raise DataError(
            f"ground truth in {source} has shape {gt.shape} but the scene is {rows} x {cols}; "
            "expected the same rows x cols"
        )
    if gt.dtype.kind not in "biuf":
        raise DataError(f"ground truth in {source} has dtype {gt.dtype}; expected integers")
    if gt.dtype.kind == "f":
        ok = np.isfinite(gt).all() and np.array_equal(gt, np.round(gt))
        if not ok:
            raise DataError(
                f"ground truth in {source} has non-integer values; "
                "expected integer class ids with 0 = unlabelled"
            )
    out = np.array(gt, dtype=np.int64, order="C")
    if out.size and out.min() < 0:
        raise DataError(
            f"ground truth in {source} has negative labels (min {out.min()}); "
            "expected 0 = unlabelled and positive class ids"
        )
    return out


# --------------------------------------------------------------------------------------
# Reading one file of each format
# --------------------------------------------------------------------------------------


def _read_envi(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        import spectral.io.envi as envi
    except ImportError as exc:
        raise DataError(
            f"reading ENVI file {path} needs the optional 'spectral' package "
            "(pip install 'deepclust[envi]')"
        ) from exc
    try:
        img = envi.open(str(path))
        arr = np.asarray(img.load())
    except Exception as exc:
        raise DataError(f"cannot read ENVI scene {path} ({_one_line(exc)})") from exc
    return arr, dict(getattr(img, "metadata", {}) or {})


def _read_npy(path: Path) -> np.ndarray:
    check_npy(path)  # says "not a .npy file" where numpy would speak of pickled data
    try:
        # Memory-mapped: the float32 conversion is then the only full copy.
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise DataError(f"cannot read {path} as a .npy array ({_one_line(exc)})") from exc


def _suffix(path: Path) -> str:
    suf = path.suffix.lower()
    if suf not in _SUFFIXES:
        raise DataError(f"unsupported scene file {path.name!r}; expected .mat, .npy or ENVI .hdr")
    return suf


_GT_KEY_HINT = "pass gt_key=NAME (CLI: --data-opt gt_key=NAME)"


def _read_gt_file(path: Path, gt_key: str | None, rows: int, cols: int) -> tuple[np.ndarray, str]:
    """The ground truth of a file and how to name it in messages (``FILE`` or ``FILE:KEY``)."""
    if not path.is_file():
        raise DataNotFoundError(f"ground truth file {path} does not exist")
    suf = _suffix(path)
    if suf == ".npy":
        return _to_gt(_read_npy(path), rows, cols, path.name), path.name
    if suf == ".hdr":
        return _to_gt(_read_envi(path)[0], rows, cols, path.name), path.name
    variables = _mat_vars(path)
    names = [v[0] for v in variables]
    if gt_key is not None:
        if gt_key not in names:
            raise DataError(
                f"ground-truth key {gt_key!r} not in {path.name}; available: {_fmt_vars(variables)}"
            )
        key = gt_key
    else:
        key = _pick_gt_key(variables, rows, cols, path, exact_only=False)
    if key is None:
        raise DataError(
            f"no 2-D ground-truth array of {rows} x {cols} in {path.name}; available: "
            f"{_fmt_vars(variables)}; {_GT_KEY_HINT}"
        )
    label = f"{path.name}:{key}"
    return _to_gt(_mat_read(path, key), rows, cols, label), label


def _pick_gt_key(
    variables: Sequence[tuple[str, tuple[int, ...], str]],
    rows: int,
    cols: int,
    path: Path,
    *,
    exact_only: bool,
    prefer: Sequence[str] = (),
    exclude: str | None = None,
) -> str | None:
    """Auto-detect a ground-truth variable: a 2-D integer array of the scene's rows x cols.

    With ``exact_only=False`` (a separate ground-truth file) a lone 2-D numeric array of
    another shape is returned too, so that the caller reports the shape mismatch.
    """
    two_d = [v for v in variables if len(v[1]) == 2 and v[2] in _NUMERIC and v[0] != exclude]
    hit = _match_key([v[0] for v in two_d], prefer)
    if hit is not None:
        return hit
    exact = [v for v in two_d if v[1] == (rows, cols)]
    ints = [v for v in exact if v[2] in _INTEGER]
    for group in (ints, exact):
        if len(group) == 1:
            return group[0][0]
        if len(group) > 1:
            raise DataError(
                f"several candidate ground-truth arrays in {path.name} "
                f"({', '.join(v[0] for v in group)}); {_GT_KEY_HINT}"
            )
    if not exact_only and len(two_d) == 1:
        return two_d[0][0]
    return None


def _companion_gt(path: Path) -> Path | None:
    """``NAME_gt.*`` beside ``NAME.*`` or ``NAME_corrected.*`` (case-insensitive)."""
    stem = path.stem
    base = stem[: -len("_corrected")] if stem.lower().endswith("_corrected") else stem
    try:
        entries = {p.name.lower(): p for p in path.parent.iterdir() if p.is_file()}
    except OSError:
        return None
    order = [path.suffix.lower()] + [s for s in _SUFFIXES if s != path.suffix.lower()]
    for suf in order:
        hit = entries.get(f"{base}_gt{suf}".lower())
        if hit is not None and hit != path:
            return hit
    return None


def _scene_name(path: Path) -> str:
    stem = path.stem
    return stem[: -len("_corrected")] if stem.lower().endswith("_corrected") else stem


def _load(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    gt: Any = None,
    gt_key: str | None = None,
    prefer_keys: Sequence[str] = (),
    prefer_gt_keys: Sequence[str] = (),
    name: str | None = None,
) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"hyperspectral scene {path} does not exist")
    if path.is_dir():
        raise DataError(f"{path} is a directory; expected a .mat, .npy or ENVI .hdr scene file")
    suf = _suffix(path)
    extra: dict[str, Any] = {"source": str(path)}
    variables: list[tuple[str, tuple[int, ...], str]] = []
    band_names: list[str] | None = None

    if suf == ".mat":
        variables = _mat_vars(path)
        names = [v[0] for v in variables]
        if key is not None:
            if key not in names:
                raise DataError(
                    f"key {key!r} not in {path.name}; available: {_fmt_vars(variables)}"
                )
            data_key = key
        else:
            three = [v for v in variables if len(v[1]) == 3 and v[2] in _NUMERIC]
            data_key = _match_key([v[0] for v in three], prefer_keys)
            if data_key is None:
                if len(three) != 1:
                    what = "no" if not three else "several"
                    raise DataError(
                        f"{what} 3-D numeric arrays in {path.name}; pass key= "
                        f"(available: {_fmt_vars(variables)})"
                    )
                data_key = three[0][0]
        cube = _to_cube(_mat_read(path, data_key), f"{path.name}:{data_key}")
        extra["key"] = data_key
    elif suf == ".npy":
        cube = _to_cube(_read_npy(path), path.name)
    else:
        raw, meta = _read_envi(path)
        cube = _to_cube(raw, path.name)
        if "wavelength" in meta:
            try:
                extra["wavelengths"] = np.asarray(meta["wavelength"], dtype=float)
            except ValueError:
                pass
        if "band names" in meta and len(meta["band names"]) == cube.shape[2]:
            band_names = [str(b) for b in meta["band names"]]
    rows, cols, bands = cube.shape

    if gt is False:
        labels, gt_label = None, None
        extra["gt_source"] = None
    else:
        labels, gt_label, extra["gt_source"] = _scene_gt(
            path, variables, extra.get("key"), gt, gt_key, prefer_gt_keys, rows, cols
        )
    if labels is not None and not labels.any():
        raise DataError(
            f"ground truth {gt_label} of {path.name} has no labelled pixel "
            "(all values are 0 = unlabelled)"
        )
    if labels is None and gt is not False:
        extra["labels_hint"] = _no_gt_hint(path, variables, rows, cols)

    X = cube.reshape(-1, bands)  # a view: C-ordered cube
    return Dataset(
        X=X,
        y=None if labels is None else labels.reshape(-1),
        name=name or _scene_name(path),
        kind="hsi",
        grid_shape=(rows, cols),
        mask=None if labels is None else labels > 0,
        variables=band_names or [f"band_{i}" for i in range(bands)],
        cube=cube,
        unlabelled=0,
        extra=extra,
    )


def _scene_gt(
    path: Path,
    variables: list[tuple[str, tuple[int, ...], str]],
    data_key: str | None,
    gt: Any,
    gt_key: str | None,
    prefer_gt_keys: Sequence[str],
    rows: int,
    cols: int,
) -> tuple[np.ndarray | None, str | None, str | None]:
    """Ground truth of a scene: (labels, name for messages, ``extra["gt_source"]``).

    Looks at ``gt`` (file or array), else a matching array in the scene's ``.mat``, else
    the companion ``NAME_gt.*`` beside the scene; (None, None, None) when there is none.
    """
    if gt is not None:
        if isinstance(gt, (str, os.PathLike)):
            labels, label = _read_gt_file(Path(gt), gt_key, rows, cols)
            return labels, label, str(gt)
        return _to_gt(gt, rows, cols, "the gt array"), "the gt array", "array"
    in_file = None
    if variables:  # a .mat scene
        names = [v[0] for v in variables]
        if gt_key is not None and gt_key in names:
            in_file = gt_key
        elif gt_key is None:
            in_file = _pick_gt_key(
                variables,
                rows,
                cols,
                path,
                exact_only=True,
                prefer=prefer_gt_keys,
                exclude=data_key,
            )
    if in_file is not None:
        label = f"{path.name}:{in_file}"
        return _to_gt(_mat_read(path, in_file), rows, cols, label), label, f"{path}:{in_file}"
    companion = _companion_gt(path)
    if companion is not None:
        key2 = gt_key
        if key2 is None and companion.suffix.lower() == ".mat" and prefer_gt_keys:
            key2 = _match_key([v[0] for v in _mat_vars(companion)], prefer_gt_keys)
        labels, label = _read_gt_file(companion, key2, rows, cols)
        return labels, label, str(companion)
    if gt_key is not None:
        raise DataError(
            f"ground-truth key {gt_key!r} not in {path.name} and no companion "
            f"{_scene_name(path)}_gt file beside it; pass gt= with the file"
        )
    return None, None, None


def _no_gt_hint(
    path: Path, variables: list[tuple[str, tuple[int, ...], str]], rows: int, cols: int
) -> str:
    """How to give a scene its ground truth, listing the 2-D arrays of its file."""
    two_d = [v for v in variables if len(v[1]) == 2 and v[2] in _NUMERIC]
    listed = f"; 2-D arrays in it: {_fmt_vars(two_d)}" if two_d else ""
    return (
        f"no ground truth found for {path.name} (no 2-D integer array of {rows} x {cols} in "
        f"it, no {_scene_name(path)}_gt file beside it){listed}; pass gt=FILE "
        "(CLI: --data-opt gt=FILE) or gt_key=NAME (CLI: --data-opt gt_key=NAME)"
    )


def load_hsi(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    gt: str | os.PathLike | np.ndarray | Literal[False] | None = None,
    gt_key: str | None = None,
) -> Dataset:
    """Load a hyperspectral scene and, when available, its ground truth.

    Parameters
    ----------
    path : str or path-like
        The scene: a MATLAB ``.mat`` file (v5 through :func:`scipy.io.loadmat`, v7.3/HDF5
        through h5py, whose reversed axes are put back), a ``.npy`` array of shape
        ``(rows, cols, bands)``, or an ENVI header ``.hdr`` (needs the optional
        ``spectral`` package).
    key : str, optional
        Variable of the ``.mat`` file holding the cube. Default: the only 3-D numeric
        array in the file. Ignored for ``.npy`` and ENVI.
    gt : str, path-like or ndarray, optional
        Ground truth (``rows x cols`` integers, 0 = unlabelled) as an array or a file
        (``.mat``, ``.npy`` or ENVI ``.hdr``). Default: a 2-D integer array of the scene's
        rows x cols in the same ``.mat`` file, else a companion file beside the scene
        named ``NAME_gt.*`` for ``NAME.*`` or ``NAME_corrected.*`` (case-insensitive, e.g.
        ``SalinasA_corrected.mat`` -> ``SalinasA_gt.mat``), else no labels (then
        ``extra["labels_hint"]`` lists the file's 2-D arrays and names ``gt=`` /
        ``gt_key=``, on the CLI ``--data-opt gt_key=NAME``). ``False``: load no labels,
        even when a ground truth would be found.
    gt_key : str, optional
        Variable holding the ground truth in the scene's or the ground-truth ``.mat``.

    Returns
    -------
    Dataset
        ``kind="hsi"``; ``cube`` float32 ``(rows, cols, bands)`` (C-ordered), ``X`` the
        ``(rows*cols, bands)`` view of it in row-major pixel order, ``y`` int64
        ``(rows*cols,)`` or None, ``unlabelled=0``, ``grid_shape=(rows, cols)``, ``mask``
        ``gt > 0`` or None, ``name`` the file stem without ``_corrected``, ``extra`` the
        source path, the key used and where the ground truth came from.

    Raises
    ------
    DataNotFoundError
        The scene or the ground-truth file does not exist.
    DataError
        Unknown key (the message lists the variables), a file that is not a valid
        ``.mat`` / ``.npy`` (empty, truncated, other bytes), cube not 3-D or empty, NaN/inf
        in the cube (counted, first position given), ground truth not matching the scene's
        rows x cols, a ground truth without any labelled pixel ("ground truth GT of SCENE
        has no labelled pixel (all values are 0 = unlabelled)"; pass ``gt=False`` to load
        the scene without it), unsupported file type, ENVI without ``spectral`` installed.

    Notes
    -----
    Memory: the raw array and its float32 copy coexist briefly; ``.npy`` files are
    memory-mapped so only the float32 copy is held.
    """
    return _load(path, key=key, gt=gt, gt_key=gt_key)


# --------------------------------------------------------------------------------------
# Named benchmark scenes
# --------------------------------------------------------------------------------------


def _find_in_dir(directory: Path, candidates: Sequence[str]) -> Path | None:
    entries = {p.name.lower(): p for p in directory.iterdir() if p.is_file()}
    for c in candidates:
        if c.lower() in entries:
            return entries[c.lower()]
    return None


#: Registry spec of each named scene (``deepclust.load("paviau:DIR")``), for messages.
_SPEC_NAMES = {
    "indian_pines": "indian-pines",
    "pavia_university": "paviau",
    "salinas": "salinas",
    "salinas_a": "salinas-a",
    "ksc": "ksc",
    "houston2013": "houston2013",
    "trento": "trento",
}


def _official_layout(scene: str, which: int) -> Any:
    """A ``fetch`` validator: the official variable with the official shape must be there.

    Four GIC scenes have no published checksum; this content check is what stands between
    an error page or a cut download and the cache.
    """
    info = SCENES[scene]
    key = info["keys"][which][0]
    shape = tuple(info["shape"]) if which == 0 else tuple(info["shape"][:2])

    def check(path: Path) -> None:
        variables = _mat_vars(path)
        if dict((n, s) for n, s, _ in variables).get(key) != shape:
            raise DataError(
                f"expected variable {key!r} of {'x'.join(map(str, shape))}; found "
                f"{_fmt_vars(variables)}"
            )

    return check


def _load_named(scene: str, path: str | os.PathLike | None, download: bool) -> Dataset:
    info = SCENES[scene]
    data_name, gt_name = info["files"]
    alt = info.get("alt_files", ((), ()))
    data_cands = (data_name, *alt[0])
    gt_cands = (gt_name, *alt[1])
    data_keys, gt_keys = info["keys"]

    if path is None:
        if info["urls"] is None:
            from .download import data_home  # lazy: optional network layer

            directory = Path(data_home()) / "hsi"
            found = _find_in_dir(directory, data_cands) if directory.is_dir() else None
            gt_found = _find_in_dir(directory, gt_cands) if directory.is_dir() else None
            if found is None or gt_found is None:
                raise DataNotFoundError(
                    f"{scene} has no open official download; get it from {info['source']}, "
                    f"then pass path= to a directory with {data_name} and {gt_name} "
                    f"(keys {'/'.join(data_keys)} and {'/'.join(gt_keys)}; see SCENES)"
                )
            data_path, gt_path = found, gt_found
        else:
            from .download import fetch  # lazy: optional network layer

            urls, md5 = info["urls"], info["md5"]
            hint = f"official copy on the GIC page {_GIC_PAGE}"
            data_path, gt_path = (
                fetch(
                    (data_name, gt_name)[i],
                    [urls[i]],
                    md5=md5[i],
                    subdir="hsi",
                    download=download,
                    hint=hint,
                    validate=_official_layout(scene, i),
                )
                for i in (0, 1)
            )
    else:
        p = Path(path)
        if p.is_dir():
            data_path = _find_in_dir(p, data_cands)
            gt_path = _find_in_dir(p, gt_cands)
            if data_path is None or gt_path is None:
                missing = data_name if data_path is None else gt_name
                raise DataNotFoundError(
                    f"no {missing} in {p}; expected the official files {data_name} and "
                    f"{gt_name}" + (f" (from {info['source']})" if info["urls"] is None else "")
                )
        elif p.is_file():
            if p.name.lower() in {c.lower() for c in gt_cands} - {c.lower() for c in data_cands}:
                raise DataError(
                    f"{_SPEC_NAMES[scene]}:PATH expects the scene file {data_name} (or a folder "
                    f"holding {data_name} and {gt_name}); got the ground-truth file {p}"
                )
            data_path, gt_path = p, None
        else:
            raise DataNotFoundError(
                f"{p} does not exist; expected {data_name} or a directory containing "
                f"{data_name} and {gt_name}"
            )

    if gt_path is not None:
        gt_path = Path(gt_path)
        gt_key = None
        if gt_path.suffix.lower() == ".mat":
            gt_key = _match_key([v[0] for v in _mat_vars(gt_path)], gt_keys)
        ds = _load(data_path, gt=gt_path, gt_key=gt_key, prefer_keys=data_keys, name=scene)
    else:
        ds = _load(data_path, prefer_keys=data_keys, prefer_gt_keys=gt_keys, name=scene)
    ds.extra["class_names"] = dict(info["class_names"])
    ds.extra["scene"] = scene
    return ds


def _named_doc(scene: str) -> str:
    info = SCENES[scene]
    data_name, gt_name = info["files"]
    if info["urls"] is None:
        where = (
            f"There is no open official download: get the scene from {info['source']}. "
            f"Accepted file names: {', '.join((data_name, *info['alt_files'][0]))} and "
            f"{', '.join((gt_name, *info['alt_files'][1]))}; accepted keys: "
            f"{', '.join(info['keys'][0])} and {', '.join(info['keys'][1])} (otherwise the "
            "only 3-D / matching 2-D arrays are used). With ``path=None`` the files are "
            "looked for in ``data_home()/hsi``."
        )
    else:
        shape = "x".join(map(str, info["shape"]))
        if info["md5"][0]:
            check = (
                "MD5 checksums computed from copies of the official files are pinned; a "
                "download that does not match is removed and raises DataError"
            )
        else:
            check = (
                "no checksum is pinned: the GIC page publishes none and no copy of the "
                "official files was available to compute one, so a download is accepted "
                f"only if it holds {info['keys'][0][0]} of {shape} and {info['keys'][1][0]} "
                "of the same rows x cols (otherwise it is removed and DataError is raised)"
            )
        where = (
            f"Official files {data_name} / {gt_name} (keys {info['keys'][0][0]} / "
            f"{info['keys'][1][0]}), downloaded from {_GIC} (files listed on the GIC page "
            f"{_GIC_PAGE}) into a temporary file that is moved into the cache only when "
            f"complete and verified; {check}."
        )
    return f"""Load {info["title"]}.

    {where}

    Parameters
    ----------
    path : str or path-like, optional
        The scene file (its ground truth is then found beside it) or a directory holding
        the files. Default: the copy in ``data_home()/hsi``, downloaded if missing.
    download : bool, default True
        Whether a missing file may be downloaded (ignored when ``path`` is given).

    Returns
    -------
    Dataset
        As :func:`load_hsi`, named ``{scene!r}``, with ``extra["class_names"]``.
    """


def load_indian_pines(path: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    return _load_named("indian_pines", path, download)


def load_pavia_university(
    path: str | os.PathLike | None = None, *, download: bool = True
) -> Dataset:
    return _load_named("pavia_university", path, download)


def load_salinas(path: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    return _load_named("salinas", path, download)


def load_salinas_a(path: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    return _load_named("salinas_a", path, download)


def load_ksc(path: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    return _load_named("ksc", path, download)


def load_houston2013(path: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    return _load_named("houston2013", path, download)


def load_trento(path: str | os.PathLike | None = None, *, download: bool = True) -> Dataset:
    return _load_named("trento", path, download)


for _fn, _scene in (
    (load_indian_pines, "indian_pines"),
    (load_pavia_university, "pavia_university"),
    (load_salinas, "salinas"),
    (load_salinas_a, "salinas_a"),
    (load_ksc, "ksc"),
    (load_houston2013, "houston2013"),
    (load_trento, "trento"),
):
    _fn.__doc__ = _named_doc(_scene)
del _fn, _scene


# --------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------


def standardize_bands(cube: np.ndarray) -> np.ndarray:
    """Standardise every band to zero mean and unit variance over all pixels.

    Parameters
    ----------
    cube : ndarray of shape (rows, cols, bands) or (n_pixels, bands)
        Bands on the last axis. Not modified.

    Returns
    -------
    ndarray of the same shape, float32
        ``(x - mean_b) / std_b``; a band of zero variance becomes all zeros.

    Notes
    -----
    Statistics are accumulated in float64 block by block, so the only full-size
    allocation is the float32 output.
    """
    arr = np.asarray(cube)
    flat = _spectra(arr)
    if flat.shape[0] == 0:
        raise DataError("cube has no pixels; expected at least one")
    mean, scale = _band_mean_scale(flat, standardize=True)
    out = np.empty(flat.shape, dtype=np.float32)
    step = _block_rows(flat.shape[1])
    for i in range(0, flat.shape[0], step):
        out[i : i + step] = (flat[i : i + step] - mean) * scale
    return out.reshape(arr.shape)


def _spectra(arr: np.ndarray) -> np.ndarray:
    """``(pixels, bands)`` view of numbers with bands on the last axis (checked)."""
    if arr.ndim < 2 or arr.dtype.kind not in "biuf":
        raise DataError(
            f"cube has shape {arr.shape} and dtype {arr.dtype}; expected numbers with bands "
            "on the last axis"
        )
    return arr.reshape(-1, arr.shape[-1])


def _band_mean_scale(flat: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Band means and ``1 / sd`` (0 for a constant band; ones unless ``standardize``),
    accumulated in float64 over row blocks (two-pass variance: no cancellation)."""
    n = flat.shape[0]
    step = _block_rows(flat.shape[1])
    blocks = range(0, n, step)
    mean = sum(flat[i : i + step].sum(axis=0, dtype=np.float64) for i in blocks) / n
    if not standardize:
        return mean, np.ones(flat.shape[1])
    var = sum(((flat[i : i + step] - mean) ** 2).sum(axis=0) for i in blocks) / n
    std = np.sqrt(var)
    return mean, np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)


@dataclass(frozen=True)
class BandPCA:
    """Principal components of a cube's spectra, fitted block by block (:func:`band_pca`).

    ``transform`` maps spectra ``x`` to ``((x - mean) * scale) @ components.T``.
    """

    mean: np.ndarray  # (bands,) float64
    scale: np.ndarray  # (bands,) float64: 1 / band sd when standardised, else ones
    components: np.ndarray  # (n_components, bands) float64, rows orthonormal

    def transform(self, cube: np.ndarray) -> np.ndarray:
        """Project every spectrum of ``cube`` (``(..., bands)``), block by block: float32
        ``(..., n_components)``; no full-size float64 temporary."""
        arr = np.asarray(cube)
        flat = arr.reshape(-1, arr.shape[-1])
        out = np.empty((flat.shape[0], len(self.components)), dtype=np.float32)
        w = (self.components * self.scale).T  # (bands, c): scaling folded into the projection
        shift = self.mean @ w
        step = _block_rows(flat.shape[1])
        for i in range(0, flat.shape[0], step):
            out[i : i + step] = flat[i : i + step].astype(np.float64) @ w - shift
        return out.reshape(*arr.shape[:-1], len(self.components))


def band_pca(cube: np.ndarray, n_components: int, *, standardize: bool = True) -> BandPCA:
    """PCA of a cube's spectra from streamed statistics: memory O(bands^2), not O(pixels).

    Three passes over ``rows*cols`` spectra in blocks (a memory-mapped cube is read, never
    loaded whole): band means, band variances (two-pass, stable), then the ``bands x
    bands`` covariance of the centred (and, with ``standardize``, unit-variance) spectra,
    accumulated in float64. The components are its leading eigenvectors, each signed so
    that its largest-magnitude loading is positive (deterministic). A band of zero
    variance gets scale 0 when standardising (it then carries nothing).

    Parameters
    ----------
    cube : ndarray of shape (rows, cols, bands) or (n_pixels, bands)
    n_components : int
        ``1 <= n_components <= bands``.
    standardize : bool, default True
        Standardise each band before the PCA (SCDSC's preprocessing) or only centre it.

    Returns
    -------
    BandPCA
    """
    flat = _spectra(np.asarray(cube))
    n, b = flat.shape
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ConfigError(f"n_components must be an integer; got {n_components!r}")
    if not 1 <= n_components <= b or n == 0:
        raise ConfigError(
            f"n_components={n_components} for {n} spectra of {b} bands; expected "
            f"1 <= n_components <= {b} and at least one spectrum"
        )
    mean, scale = _band_mean_scale(flat, standardize)
    step = _block_rows(b)
    cov = np.zeros((b, b))
    for i in range(0, n, step):
        z = (flat[i : i + step] - mean) * scale
        cov += z.T @ z
    _, evecs = np.linalg.eigh(cov / n)
    comps = evecs[:, ::-1][:, : int(n_components)].T.copy()
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])
    return BandPCA(mean=mean, scale=scale, components=comps * signs[:, None])


def pca_reduce(
    X: np.ndarray, n_components: int, *, random_state: int | None = None
) -> tuple[np.ndarray, Any]:
    """Project samples (or the spectra of a cube) on their first principal components.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (rows, cols, bands)
        A 3-D cube is treated as ``rows*cols`` spectra and returned as a cube.
    n_components : int
        Number of components, ``1 <= n_components <= min(n_samples, n_features)``.
    random_state : int, optional
        Seed of sklearn's randomized solver (when it is chosen).

    Returns
    -------
    Z : ndarray of shape (n_samples, n_components) or (rows, cols, n_components), float32
    pca : sklearn.decomposition.PCA
        The fitted PCA (apply it to new data with ``pca.transform``).
    """
    from sklearn.decomposition import PCA

    arr = np.asarray(X)
    if arr.ndim not in (2, 3) or arr.dtype.kind not in "biuf":
        raise DataError(
            f"X has shape {arr.shape} and dtype {arr.dtype}; expected a numeric "
            "(n_samples, n_features) matrix or (rows, cols, bands) cube"
        )
    flat = arr.reshape(-1, arr.shape[-1])
    limit = min(flat.shape)
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ConfigError(f"n_components must be an integer; got {n_components!r}")
    if not 1 <= n_components <= limit:
        raise ConfigError(
            f"n_components={n_components} but X is {flat.shape[0]} x {flat.shape[1]}; "
            f"expected 1 <= n_components <= {limit}"
        )
    if flat.dtype != np.float32 and flat.dtype != np.float64:
        flat = flat.astype(np.float32)
    pca = PCA(n_components=int(n_components), random_state=random_state)
    Z = pca.fit_transform(flat).astype(np.float32, copy=False)
    return Z.reshape(*arr.shape[:-1], int(n_components)), pca


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ConfigError(f"patch size must be a positive odd integer; got {size!r}")
    if size % 2 == 0:
        raise ConfigError(
            f"patch size {size} is even; expected an odd size so the pixel is centred"
        )
    return int(size)


def _check_indices(indices: Any, n: int) -> np.ndarray:
    if indices is None:
        return np.arange(n)
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise DataError(
            f"indices has shape {idx.shape} and dtype {idx.dtype}; expected a 1-D array of "
            "flat pixel indices"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise DataError(
            f"indices span [{idx.min()}, {idx.max()}]; expected flat pixel indices in [0, {n})"
        )
    return idx.astype(np.intp, copy=False)


def _windows(cube: np.ndarray, size: int) -> np.ndarray:
    """Read-only (rows, cols, size, size, bands) view of all patches of the padded cube."""
    r = size // 2
    padded = np.pad(cube, ((r, r), (r, r), (0, 0)), mode="reflect")
    win = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(0, 1))
    return win.transpose(0, 1, 3, 4, 2)  # window axes before the bands


def iter_patches(
    cube: np.ndarray,
    size: int,
    *,
    indices: Sequence[int] | np.ndarray | None = None,
    chunk: int = 4096,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream ``size x size`` patches centred on pixels, ``chunk`` pixels at a time.

    Parameters
    ----------
    cube : ndarray of shape (rows, cols, bands)
    size : int
        Odd patch side. Borders are mirrored (``np.pad(mode="reflect")``, edge not repeated).
    indices : array of int, optional
        Flat (row-major) pixel indices ``row * cols + col``, in the order wanted.
        Default: every pixel.
    chunk : int, default 4096
        Pixels per yielded block.

    Yields
    ------
    index_chunk : ndarray of shape (m,)
        The flat indices of this block.
    patches : ndarray of shape (m, size, size, bands)
        A fresh C-ordered array of the cube's dtype.

    Notes
    -----
    Memory: one padded copy of the cube plus one block of ``chunk * size**2 * bands``
    values; patches are gathered from a strided window view by fancy indexing.
    """
    arr = _as_cube(cube)
    size = _check_size(size)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ConfigError(f"chunk must be a positive integer; got {chunk!r}")
    rows, cols, _ = arr.shape
    idx = _check_indices(indices, rows * cols)
    win = _windows(arr, size)
    for start in range(0, idx.size, int(chunk)):
        part = idx[start : start + chunk]
        r, c = np.divmod(part, cols)
        yield part, win[r, c]


def extract_patches(
    cube: np.ndarray, size: int, *, indices: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """All ``size x size`` patches centred on the given pixels, in one array.

    Parameters
    ----------
    cube : ndarray of shape (rows, cols, bands)
    size : int
        Odd patch side; borders are mirrored with ``np.pad(mode="reflect")``.
    indices : array of int, optional
        Flat (row-major) pixel indices; default every pixel.

    Returns
    -------
    ndarray of shape (m, size, size, bands)
        Patch ``k`` is ``padded[r:r+size, c:c+size]`` for pixel ``(r, c)`` of
        ``indices[k]``, i.e. the pixel itself sits at ``[size//2, size//2]``.

    Notes
    -----
    The result holds ``m * size**2 * bands`` values (17 x 17 x 200 float32 patches of a
    100 x 100 scene are 2.3 GB); use :func:`iter_patches` or :func:`patch_features` for
    large scenes.
    """
    arr = _as_cube(cube)
    size = _check_size(size)
    rows, cols, _ = arr.shape
    idx = _check_indices(indices, rows * cols)
    r, c = np.divmod(idx, cols)
    return _windows(arr, size)[r, c]


def patch_features(
    cube: np.ndarray,
    size: int,
    *,
    n_components: int,
    indices: Sequence[int] | np.ndarray | None = None,
    chunk: int | None = None,
    standardize: bool = True,
    band_components: int | None = None,
    fit_samples: int = 20000,
    random_state: int | None = None,
) -> np.ndarray:
    """PCA features of flattened ``size x size`` patches, computed chunk by chunk.

    This is the input of SCDSC's FINCH mini-clusters (17 x 17 patches, 300 components).

    Parameters
    ----------
    cube : ndarray of shape (rows, cols, bands)
    size : int
        Odd patch side (reflect padding at the borders).
    n_components : int
        Output dimension.
    indices : array of int, optional
        Flat pixel indices to describe; default every pixel.
    chunk : int, optional
        Patches transformed at a time; default as many as fit in 64 MiB of float32
        (at most 4096).
    standardize : bool, default True
        Standardise each band over all pixels (:func:`standardize_bands`) before cutting
        patches; this equals per-feature standardisation of the flattened patches up to
        the mirrored borders, without a pass over all patches.
    band_components : int, optional
        First reduce the spectra to this many principal components (e.g. 8; exact PCA of
        the centred spectra from streamed statistics, :func:`band_pca`), so patches have
        ``size**2 * band_components`` features.
    fit_samples : int, default 20000
        The PCA is fitted on a random subsample of at most this many patches (further
        capped at 512 MiB of float32 patches, but never below ``n_components``), then
        applied chunk by chunk to all patches.
    random_state : int, optional
        Seed of the subsample and of the PCA solver.

    Returns
    -------
    ndarray of shape (len(indices), n_components), float32

    Notes
    -----
    Peak memory is about two copies of the (reduced, standardised) cube, the fitting
    sample, one chunk of patches and the output; e.g. 17 x 17 x 8 patches of 10^6 pixels
    (9 GB if materialised) need well under 1 GB.
    """
    from sklearn.decomposition import PCA

    arr = _as_cube(cube)
    size = _check_size(size)
    rows, cols, _ = arr.shape
    idx = _check_indices(indices, rows * cols)
    if idx.size == 0:
        raise DataError("indices is empty; expected at least one pixel")
    work = arr
    if band_components is not None:
        # streamed statistics: a memory-mapped scene is read in blocks, never copied whole
        work = band_pca(work, band_components, standardize=False).transform(work)
    if standardize:
        work = standardize_bands(work)
    elif work.dtype.kind != "f":
        work = work.astype(np.float32)
    d = size * size * work.shape[2]
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ConfigError(f"n_components must be an integer; got {n_components!r}")
    cap = max(int(n_components), _FIT_BYTES // (4 * d))
    n_fit = min(idx.size, int(fit_samples), cap)
    n_fit = max(n_fit, min(idx.size, int(n_components)))
    if not 1 <= n_components <= min(n_fit, d):
        raise ConfigError(
            f"n_components={n_components} but only {n_fit} patches of {d} features are "
            f"available; expected 1 <= n_components <= {min(n_fit, d)}"
        )
    if chunk is None:
        chunk = max(1, min(4096, _CHUNK_BYTES // (4 * d)))
    rng = np.random.default_rng(random_state)
    fit_idx = idx if n_fit == idx.size else np.sort(rng.choice(idx, n_fit, replace=False))
    sample = extract_patches(work, size, indices=fit_idx).reshape(n_fit, d)
    pca = PCA(n_components=int(n_components), random_state=random_state).fit(sample)
    del sample
    out = np.empty((idx.size, int(n_components)), dtype=np.float32)
    pos = 0
    for part, patches in iter_patches(work, size, indices=idx, chunk=chunk):
        out[pos : pos + part.size] = pca.transform(patches.reshape(part.size, d))
        pos += part.size
        del patches  # free this block before the next one is gathered
    return out
