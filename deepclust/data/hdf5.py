"""Generic HDF5 loader: a data array and labels, at the root or in train/test groups.

Two layouts are read (dataset names are found case-insensitively, or given):

* split groups, as in the common ``usps.h5``: ``train/data``, ``train/target``,
  ``test/data``, ``test/target`` (groups named ``train``/``training``,
  ``val``/``valid``/``validation``, ``test``/``testing``);
* flat: ``data`` (or ``X``, ``features``, ``fea``, ``images``) and ``labels`` (or ``y``,
  ``label``, ``gnd``, ``target``, ``targets``) at the root, or the only array of two or
  more dimensions.

Arrays of images ``(n, H, W)``, ``(n, C, H, W)``, ``(n, H, W, C)``, or flattened rows
``(n, H*W)`` whose width is a perfect square and whose values look like pixels, give
``kind="images"``; any other 2-D array gives ``kind="vectors"``. The file is only read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..exceptions import ConfigError, DataError
from ._files import describe_start, first_nonfinite, is_hdf5, one_line, require_nonempty
from .container import Dataset
from .vectors import DATA_KEYS, LABEL_KEYS, _as_features, _as_labels, _note_missing_labels

__all__ = ["load_h5"]

PathLike = str | os.PathLike

#: Canonical split -> accepted group names (compared case-insensitively), in "all" order.
SPLIT_GROUPS: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "val": ("val", "valid", "validation"),
    "test": ("test", "testing"),
}
_H5_DATA_KEYS = (*DATA_KEYS, "images")
_KEY_HINT = "(CLI: --data-opt {opt}=NAME)"
# Image channel counts recognised on the first or last image axis.
_CHANNELS = (1, 3, 4)


# --------------------------------------------------------------------------- layout


def _datasets(group: Any, prefix: str = "") -> dict[str, Any]:
    """Numeric datasets below ``group``, keyed by their path relative to it."""
    import h5py

    out: dict[str, Any] = {}
    for name, node in group.items():
        key = f"{prefix}{name}"
        if isinstance(node, h5py.Group):
            out.update(_datasets(node, f"{key}/"))
        elif isinstance(node, h5py.Dataset) and node.dtype.kind in "biufUSO":
            out[key] = node
    return out


def _split_groups(fh: Any) -> dict[str, Any]:
    """Top-level groups that are splits and hold datasets, keyed by canonical split name."""
    import h5py

    found: dict[str, Any] = {}
    for name, node in fh.items():
        if not isinstance(node, h5py.Group) or not _datasets(node):
            continue
        for split, names in SPLIT_GROUPS.items():
            if name.casefold() in names and split not in found:
                found[split] = node
    return {s: found[s] for s in SPLIT_GROUPS if s in found}


def _selected(fh: Any, split: str, source: str) -> list[tuple[str, Any]]:
    """The (split name, group) pairs to read, in order; the root for flat files."""
    groups = _split_groups(fh)
    allowed = ("all", *SPLIT_GROUPS)
    if split not in allowed:
        raise ConfigError(
            f"unknown split {split!r}; expected one of {', '.join(map(repr, allowed))}"
        )
    if not groups:
        if split != "all":
            raise DataError(
                f"{source} has no train/val/test groups, so split={split!r} cannot be "
                "applied; expected split='all'"
            )
        return [("all", fh)]
    if split == "all":
        return list(groups.items())
    if split not in groups:
        raise DataError(f"{source} has no {split!r} group; available splits: {', '.join(groups)}")
    return [(split, groups[split])]


def _fmt(arrays: dict[str, Any]) -> str:
    return ", ".join(f"{n} {'x'.join(map(str, a.shape))}" for n, a in arrays.items()) or "none"


def _by_names(arrays: dict[str, Any], wanted: Sequence[str]) -> list[str]:
    """Dataset names matching any of ``wanted`` (case-insensitively), in file order."""
    folded = {w.casefold() for w in wanted}
    return [n for n in arrays if n.casefold() in folded]


def _ambiguous(what: str, names: Sequence[str], source: str, opt: str) -> DataError:
    return DataError(
        f"several candidate {what} arrays in {source} ({', '.join(names)}); pass {opt}= one "
        f"of them {_KEY_HINT.format(opt=opt)}"
    )


def _choose_data(arrays: dict[str, Any], key: str | None, source: str) -> str:
    if key is not None:
        if key not in arrays:
            raise DataError(f"data_key {key!r} not found in {source}; available: {_fmt(arrays)}")
        return key
    named = _by_names(arrays, _H5_DATA_KEYS)
    if len(named) > 1:
        raise _ambiguous("data", named, source, "data_key")
    if named:
        return named[0]
    label_like = set(_by_names(arrays, LABEL_KEYS))
    multi = [n for n, a in arrays.items() if a.ndim >= 2 and n not in label_like]
    if len(multi) > 1:
        raise _ambiguous("data", multi, source, "data_key")
    if not multi:
        raise DataError(
            f"no data array (2-D or more) in {source}; available: {_fmt(arrays)}; pass "
            f"data_key= {_KEY_HINT.format(opt='data_key')}"
        )
    return multi[0]


def _choose_label(
    arrays: dict[str, Any], key: str | Literal[False] | None, data_key: str, source: str
) -> str | None:
    if key is False:
        return None
    if key is not None:
        if key not in arrays:
            raise DataError(f"label_key {key!r} not found in {source}; available: {_fmt(arrays)}")
        return key
    named = [n for n in _by_names(arrays, LABEL_KEYS) if n != data_key]
    if len(named) > 1:
        raise _ambiguous("label", named, source, "label_key")
    return named[0] if named else None


def _read(group: Any, key: str, split: str, source: str) -> np.ndarray:
    where = source if split == "all" else f"{source} group {group.name.lstrip('/')!r}"
    if key not in group:
        raise DataError(f"{where} has no {key!r}; expected the same arrays in every split")
    try:
        return np.asarray(group[key][()])
    except (OSError, ValueError, TypeError) as exc:  # damaged chunks, odd dtypes
        raise DataError(f"cannot read {key!r} from {where} ({one_line(exc)})") from exc


# --------------------------------------------------------------------------- images


def _parse_shape(image_shape: Any) -> tuple[int, ...] | None | Literal[False]:
    if image_shape is None or image_shape is False:
        return image_shape
    if isinstance(image_shape, str):  # "16x16" or "16,16" from a config file
        parts = image_shape.replace("x", ",").split(",")
        image_shape = [p for p in parts if p.strip()]
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ConfigError(
            f"image_shape={image_shape!r}; expected (H, W), (C, H, W) or False for vectors"
        )
    return shape


def _looks_like_pixels(arr: np.ndarray) -> bool:
    if arr.dtype == np.uint8 or arr.dtype.kind == "b":
        return True
    lo, hi = float(arr.min()), float(arr.max())
    if arr.dtype.kind in "iu":
        return lo >= 0 and hi <= 255
    return lo >= 0.0 and hi <= 1.0


def _channels_first(raw: np.ndarray, source: str) -> np.ndarray:
    """Images ``(n, C, H, W)`` from channels-first or channels-last storage.

    A 1 or 3 on axis 1 means channels first; else a 1, 3 or 4 on the last axis means
    channels last (RGBA is common there, while a 4 on axis 1 is more often a height); else
    a 4 on axis 1 is RGBA channels first. A 3 on both (``(n, 3, 32, 3)``) reads channels first.
    """
    first, last = raw.shape[1] in (1, 3), raw.shape[3] in _CHANNELS
    if first:
        return raw
    if last:
        return raw.transpose(0, 3, 1, 2)
    if raw.shape[1] == 4:
        return raw
    raise DataError(
        f"{source} holds {raw.shape}; expected images (n, C, H, W) or (n, H, W, C) with C in "
        f"{_CHANNELS}"
    )


def _image_layout(raw: np.ndarray, wanted: Any, source: str) -> tuple[np.ndarray, tuple | None]:
    """(images as ``(n, *shape)`` channels first, shape), or (2-D raw, None) for vectors."""
    if wanted is False:
        return raw.reshape(raw.shape[0], -1), None
    if raw.ndim in (3, 4):
        images = raw if raw.ndim == 3 else _channels_first(raw, source)
        if images.ndim == 4 and images.shape[1] == 1:
            images = images[:, 0]
        if wanted is not None and tuple(wanted) != images.shape[1:]:
            raise DataError(
                f"image_shape={tuple(wanted)} but {source} holds images of "
                f"{images.shape[1:]}; expected image_shape=None for stacked images"
            )
        return images, images.shape[1:]
    width = raw.shape[1]
    if wanted is not None:
        if int(np.prod(wanted)) != width:
            raise DataError(
                f"image_shape={wanted} does not fit the {width} features of {source}; "
                f"expected a shape whose product is {width}"
            )
        return raw.reshape(raw.shape[0], *wanted), tuple(wanted)
    side = int(round(np.sqrt(width)))
    if side > 1 and side * side == width and _looks_like_pixels(raw):
        return raw.reshape(raw.shape[0], side, side), (side, side)
    return raw, None


def _to_unit(images: np.ndarray) -> tuple[np.ndarray, str]:
    """Pixels to float32 in [0, 1], and how that was done."""
    from .images import _scale_to_unit

    return _scale_to_unit(images)


# --------------------------------------------------------------------------- public


def load_h5(
    path: PathLike,
    *,
    data_key: str | None = None,
    label_key: str | Literal[False] | None = None,
    split: str = "all",
    image_shape: Sequence[int] | str | Literal[False] | None = None,
    allow_nan: bool = False,
    name: str | None = None,
) -> Dataset:
    """Load features or images (and labels) from an HDF5 file.

    Parameters
    ----------
    path : path-like
        HDF5 file (``.h5``, ``.hdf5``, ...), e.g. ``usps.h5``.
    data_key : str, optional
        Dataset holding the samples, relative to each split group (``"data"``) or, for
        flat files, to the root (``"data"``, ``"group/x"``). Default: the one dataset
        named ``X``, ``data``, ``features``, ``fea`` or ``images`` (any case), else the
        only array of two or more dimensions; several candidates are an error listing them.
    label_key : str or False, optional
        Dataset holding the labels. Default: the one named ``y``, ``labels``, ``label``,
        ``gnd``, ``target`` or ``targets``; several are an error. ``False`` loads none.
        Without labels, ``extra["labels_hint"]`` lists arrays that look like labels.
    split : {"all", "train", "val", "test"}, default="all"
        With split groups: ``"all"`` concatenates them in the order train, val, test;
        otherwise that group only. Files without split groups need ``"all"``.
    image_shape : (H, W) or (C, H, W), False or None, optional
        Shape of one image when the data are flat rows (stored row-major). Default: 3-D
        and 4-D arrays are images; a 2-D array is images ``(s, s)`` when its width is
        ``s*s`` and its values look like pixels (uint8, integers in [0, 255] or floats in
        [0, 1]), else vectors. ``False``: always vectors.
    allow_nan : bool, default=False
        Keep NaN in feature vectors instead of raising (images must be finite).
    name : str, optional
        Dataset name (default: the file stem).

    Returns
    -------
    Dataset
        ``kind="images"`` (``X`` float32 in [0, 1]: uint8 divided by 255, data already in
        [0, 1] kept as is, other ranges scaled as recorded in ``extra["scaling"]``;
        ``image_shape`` set) or ``kind="vectors"`` (``X`` as stored, float32 or float64).
        ``extra``: ``source``, ``split``, ``data_key``, ``label_key``, ``splits`` (samples
        per split, in order).

    Raises
    ------
    DataError
        Not an HDF5 file (empty, other bytes, damaged), no or ambiguous data/label arrays
        (the message lists the candidates and names ``data_key=``/``label_key=``), a
        split that is not in the file, arrays missing from a split, labels of the wrong
        length, NaN/inf, an ``image_shape`` that does not fit.

    Examples
    --------
    ``usps.h5`` (``train/data`` 7291 x 256 and ``test/data`` 2007 x 256, float32 in [0, 1];
    ``train/target``, ``test/target`` digits 0..9) gives 9,298 upright 16 x 16 images:

    >>> ds = load_h5("usps.h5")  # doctest: +SKIP
    >>> ds.X.shape, ds.image_shape, ds.n_classes  # doctest: +SKIP
    ((9298, 256), (16, 16), 10)
    """
    import h5py

    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{p} is not a file; expected an HDF5 file")
    require_nonempty(p, "an HDF5 file")
    if not is_hdf5(p):
        raise DataError(
            f"{p} is not a valid HDF5 file ({describe_start(p)}); expected HDF5 (.h5/.hdf5)"
        )
    shape = _parse_shape(image_shape)
    try:
        with h5py.File(p, "r") as fh:
            raw, labels, keys, counts = _read_file(fh, p.name, split, data_key, label_key)
    except OSError as exc:  # a damaged superblock or B-tree
        raise DataError(f"{p} is a damaged HDF5 file ({one_line(exc)}); expected HDF5") from exc
    return _build(raw, labels, keys, counts, p, split, shape, allow_nan, name)


def _read_file(
    fh: Any,
    source: str,
    split: str,
    data_key: str | None,
    label_key: str | Literal[False] | None,
) -> tuple[np.ndarray, Any, tuple[str, str | None, dict[str, Any] | None], dict[str, int]]:
    """Data, labels, the keys used (and label candidates) and samples per split."""
    parts = _selected(fh, split, source)
    first = _datasets(parts[0][1])
    where = source if parts[0][0] == "all" else f"{source} group {parts[0][1].name!r}"
    dkey = _choose_data(first, data_key, where)
    lkey = _choose_label(first, label_key, dkey, where)
    data, labels, counts = [], [], {}
    for part, group in parts:
        x = _read(group, dkey, part, source)
        if x.ndim < 2:
            raise DataError(
                f"{source}[{dkey!r}] has shape {x.shape}; expected (n_samples, n_features) or "
                "images (n, H, W)"
            )
        data.append(x)
        counts[part] = int(x.shape[0])
        if lkey is not None:
            labels.append(_read(group, lkey, part, source))
    if len({x.shape[1:] for x in data}) > 1:
        raise DataError(
            f"{source}[{dkey!r}] has shapes {[x.shape for x in data]} across splits; expected "
            "the same sample shape in every split"
        )
    raw = np.concatenate(data) if len(data) > 1 else data[0]
    lab = None if lkey is None else (np.concatenate(labels) if len(labels) > 1 else labels[0])
    # Without labels (and not refused), vectors of one value per sample are candidates.
    vectors = _vector_candidates(first, dkey) if lkey is None and label_key is not False else None
    return raw, lab, (dkey, lkey, vectors), counts


def _vector_candidates(arrays: dict[str, Any], data_key: str) -> dict[str, np.ndarray]:
    """Arrays holding one value per sample of the first split (small: read them)."""
    n = arrays[data_key].shape[0]
    return {
        k: np.asarray(a[()])
        for k, a in arrays.items()
        if k != data_key and a.ndim in (1, 2) and n in a.shape and a.size == n
    }


def _build(
    raw: np.ndarray,
    labels: Any,
    keys: tuple[str, str | None, dict[str, Any] | None],
    counts: dict[str, int],
    p: Path,
    split: str,
    shape: Any,
    allow_nan: bool,
    name: str | None,
) -> Dataset:
    dkey, lkey, vectors = keys
    source = f"{p.name}[{dkey!r}]"
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{source} has dtype {raw.dtype}; expected a numeric array")
    if raw.size == 0:
        raise DataError(
            f"{source} is empty (shape {raw.shape}); expected at least one sample and feature"
        )
    # Decided on the stored values: uint8 pixels must not be judged after a float copy.
    images, image_shape = _image_layout(raw, shape, source)
    extra: dict[str, Any] = {
        "source": str(p),
        "split": split,
        "data_key": dkey,
        "label_key": lkey,
        "splits": counts,
    }
    if image_shape is None:
        X = _as_features(images, source, allow_nan)  # 2-D (flattened if image_shape=False)
    else:
        bad = first_nonfinite(raw.reshape(raw.shape[0], -1)) if raw.dtype.kind == "f" else None
        if bad is not None:
            raise DataError(
                f"{source}: X contains {bad}; expected finite pixel values: fill or drop them"
            )
        pixels, extra["scaling"] = _to_unit(images)
        X = np.ascontiguousarray(pixels, dtype=np.float32).reshape(raw.shape[0], -1)
    y = None
    if labels is not None:
        y, names = _as_labels(labels, X.shape[0], f"{p.name}[{lkey!r}]")
        if names is not None:
            extra["class_names"] = names
    ds = Dataset(
        X=X,
        y=y,
        name=name or p.stem,
        kind="vectors" if image_shape is None else "images",
        image_shape=None if image_shape is None else tuple(int(s) for s in image_shape),
        extra=extra,
    )
    if vectors is not None:
        _note_missing_labels(ds.extra, vectors, X.shape[0], dkey, p.name)
    return ds
