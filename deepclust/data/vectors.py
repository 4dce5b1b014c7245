"""Loaders for feature tables: ``.npy``, ``.npz``, ``.csv``/``.tsv``/``.txt`` and ``.mat``.

Each loader returns a :class:`~deepclust.data.container.Dataset` with ``kind="vectors"``,
``X`` of shape ``(n_samples, n_features)`` (float32 when the file holds float16/float32,
float64 otherwise; always C-contiguous) and optional integer labels ``y``. Input files
are only read, never modified.
"""

from __future__ import annotations

import csv
import os
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..exceptions import ConfigError, DataError, DataNotFoundError
from ._files import check_npy, check_npz, first_nonfinite, mat_error, npz_member_error
from .container import Dataset

__all__ = [
    "DATA_KEYS",
    "LABEL_KEYS",
    "load_csv",
    "load_mat",
    "load_npy",
    "load_npz",
    "load_vectors",
    "read_mat_variables",
]

#: Variable names tried, in order, for the data matrix of ``.npz`` / ``.mat`` files.
DATA_KEYS: tuple[str, ...] = ("X", "data", "features", "fea")
#: Variable names tried, in order, for the labels of ``.npz`` / ``.mat`` files.
LABEL_KEYS: tuple[str, ...] = ("y", "labels", "label", "gnd", "target", "targets")

PathLike = str | os.PathLike
LabelsArg = PathLike | np.ndarray | Sequence[Any] | None

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_SUPPORTED = (".npy", ".npz", ".mat", *_CSV_SUFFIXES)


# --------------------------------------------------------------------------- helpers


def _existing_file(path: PathLike, expected: str) -> Path:
    """``path`` as a Path, or a one-line DataNotFoundError when it is not a file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataNotFoundError(f"file not found: {p}; expected {expected}")
    if not p.is_file():
        raise DataError(f"{p} is a directory; expected {expected}")
    return p


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _as_features(arr: Any, source: str, allow_nan: bool) -> np.ndarray:
    """Validate a data matrix and return it as a C-contiguous float32/float64 array."""
    if hasattr(arr, "toarray"):  # scipy.sparse (MATLAB sparse matrices)
        arr = arr.toarray()
    arr = np.asarray(arr)
    if arr.dtype.kind == "c":
        raise DataError(f"{source}: X is complex ({arr.dtype}); expected real numbers")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{source}: X has dtype {arr.dtype}; expected a numeric array")
    if arr.ndim != 2:
        raise DataError(
            f"{source}: expected a 2-D array (n_samples, n_features), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(
            f"{source}: X is empty (shape {arr.shape}); expected at least one sample and feature"
        )
    # Single precision stays single (half is widened to it); everything else is float64.
    dtype = np.float32 if arr.dtype in (np.float16, np.float32) else np.float64
    X = np.ascontiguousarray(arr, dtype=dtype)
    bad = first_nonfinite(X, allow_nan=allow_nan)
    if bad is not None:
        hint = "" if allow_nan else " (or pass allow_nan=True to keep NaN)"
        raise DataError(
            f"{source}: X contains {bad}; expected finite features: fill or drop them{hint}"
        )
    return X


def _labels_from_strings(values: np.ndarray, source: str) -> tuple[np.ndarray, list[str] | None]:
    """Numeric strings become integers; anything else is encoded as sorted class names."""
    stripped = np.char.strip(values.astype(str))
    n_empty = int(np.count_nonzero(stripped == ""))
    if n_empty:
        raise DataError(f"{source}: {n_empty} labels are empty; expected a label for every sample")
    try:
        numeric = stripped.astype(np.float64)
    except ValueError:
        names, codes = np.unique(stripped, return_inverse=True)
        return codes.astype(np.int64).reshape(-1), [str(n) for n in names]
    return _integral(numeric, source), None


def _integral(values: np.ndarray, source: str) -> np.ndarray:
    """Float labels as int64, refusing NaN and non-integer values."""
    if not np.isfinite(values).all():
        raise DataError(f"{source}: labels contain NaN or inf; expected integer class labels")
    rounded = np.rint(values)
    bad = np.flatnonzero(rounded != values)
    if bad.size:
        raise DataError(
            f"{source}: labels must be integers, got {values[bad[0]]!r} at index {bad[0]}; "
            "expected integer class labels"
        )
    return rounded.astype(np.int64)


def _as_labels(raw: Any, n_samples: int, source: str) -> tuple[np.ndarray, list[str] | None]:
    """Flatten labels to 1-D int64 of length ``n_samples`` (strings get class names)."""
    if hasattr(raw, "toarray"):
        raw = raw.toarray()
    arr = np.asarray(raw)
    if arr.ndim == 2 and 1 in arr.shape:  # MATLAB column/row vectors
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise DataError(f"{source}: labels must be a vector (n_samples,), got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise DataError(
            f"{source}: labels have {arr.shape[0]} entries but X has {n_samples} samples; "
            "expected one label per sample"
        )
    kind = arr.dtype.kind
    if kind in "biu":
        return arr.astype(np.int64), None
    if kind == "f":
        return _integral(arr, source), None
    if kind in "USO":
        return _labels_from_strings(arr, source)
    raise DataError(f"{source}: labels have dtype {arr.dtype}; expected integers or strings")


def _read_labels(labels: LabelsArg) -> tuple[Any, str]:
    """Load a ``labels=`` argument (array-like or a .npy / text file) and describe it."""
    if isinstance(labels, (str, os.PathLike)):
        p = _existing_file(labels, "a labels file (.npy, or text with one label per line)")
        if p.suffix.lower() == ".npy":
            check_npy(p)
            try:
                arr = np.load(p, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise DataError(f"cannot read labels from {p}: {_one_line(exc)}") from exc
            if not isinstance(arr, np.ndarray):
                arr.close()
                raise DataError(f"{p} is an .npz archive; expected labels as a single .npy array")
            return arr, str(p)
        try:
            lines = p.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read labels from {p}: {_one_line(exc)}") from exc
        return np.array([ln.strip() for ln in lines if ln.strip()], dtype=str), str(p)
    return labels, "labels argument"


def _finish(
    X: np.ndarray,
    y: np.ndarray | None,
    path: Path,
    class_names: list[str] | None = None,
    **extra: Any,
) -> Dataset:
    info: dict[str, Any] = {"source": str(path)}
    info.update({k: v for k, v in extra.items() if v is not None})
    if class_names is not None:
        info["class_names"] = class_names
    return Dataset(X=X, y=y, name=path.stem, kind="vectors", extra=info)


def _attach_labels(
    X: np.ndarray,
    raw_labels: Any,
    source: str,
) -> tuple[np.ndarray | None, list[str] | None]:
    if raw_labels is None:
        return None, None
    return _as_labels(raw_labels, X.shape[0], source)


# --------------------------------------------------------------------------- key choice


def _match_name(names: Sequence[str], wanted: Sequence[str]) -> str | None:
    """First of ``wanted`` present in ``names``: exact spelling first, then any case."""
    for w in wanted:
        if w in names:
            return w
    folded = {n.casefold(): n for n in names}
    for w in wanted:
        if w.casefold() in folded:
            return folded[w.casefold()]
    return None


def _choose_data_key(
    shapes: dict[str, tuple[int, ...]],
    key: str | None,
    source: str,
    *,
    largest: bool,
) -> str:
    """Resolve the data variable: explicit ``key``, a conventional name, or a 2-D array."""
    available = ", ".join(sorted(shapes)) or "none"
    if key is not None:
        if key not in shapes:
            raise DataError(f"key {key!r} not found in {source}; available keys: {available}")
        return key
    named = _match_name(list(shapes), DATA_KEYS)
    if named is not None:
        return named
    label_like = {n for n in shapes if _match_name([n], LABEL_KEYS)}
    two_d = [n for n, s in shapes.items() if len(s) == 2 and n not in label_like]
    if not two_d:
        raise DataError(f"no 2-D numeric array in {source}; available keys: {available}; pass key=")
    if len(two_d) == 1:
        return two_d[0]
    if largest:
        # Ties broken by name so the choice does not depend on file order.
        return max(sorted(two_d), key=lambda n: int(np.prod(shapes[n])))
    raise DataError(
        f"several 2-D arrays in {source} ({', '.join(sorted(two_d))}); pass key= one of them"
    )


def _choose_label_key(
    names: Sequence[str],
    label_key: str | Literal[False] | None,
    data_key: str,
    source: str,
) -> str | None:
    if label_key is False:
        return None
    if label_key is not None:
        if label_key not in names:
            raise DataError(
                f"label_key {label_key!r} not found in {source}; "
                f"available keys: {', '.join(sorted(names)) or 'none'}"
            )
        return label_key
    return _match_name([n for n in names if n != data_key], LABEL_KEYS)


def _looks_like_labels(value: Any, n_samples: int) -> int | None:
    """Number of classes when ``value`` could be labels for ``n_samples`` samples, else None.

    Labels are one integer (or string) per sample with at least 2 and at most n/2 distinct
    values, so that an index or a continuous column is not mistaken for them.
    """
    shape = tuple(getattr(value, "shape", ()))
    if shape not in ((n_samples,), (n_samples, 1), (1, n_samples)) or n_samples < 4:
        return None
    arr = np.asarray(value.toarray() if hasattr(value, "toarray") else value).reshape(-1)
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and np.array_equal(arr, np.rint(arr))):
            return None
    elif arr.dtype.kind not in "biuUS":
        return None
    k = int(np.unique(arr).size)
    return k if 2 <= k <= n_samples // 2 else None


def labels_hint(
    arrays: dict[str, Any], n_samples: int, exclude: Sequence[str], source: str
) -> tuple[str, list[str]]:
    """Explain how to select labels stored under an unusual name, listing candidate arrays.

    Parameters
    ----------
    arrays : dict
        Name -> array (or anything with ``shape``) of the file.
    n_samples : int
        Rows of the data matrix.
    exclude : sequence of str
        Names never proposed (the data array).
    source : str
        File name used in the message.

    Returns
    -------
    hint : str
        One line naming ``label_key=`` (and the CLI's ``--data-opt label_key=``).
    candidates : list of str
        Names of arrays that look like labels (one integer per sample, few classes).
    """
    found = {}
    for name, value in arrays.items():
        k = None if name in exclude else _looks_like_labels(value, n_samples)
        if k is not None:
            found[name] = k
    names = ", ".join(LABEL_KEYS)
    if not found:
        return (
            f"{source} has no label array named {names}; if another array holds the labels, "
            "pass label_key=NAME (CLI: --data-opt label_key=NAME)",
            [],
        )
    listed = ", ".join(f"{n!r} ({k} classes)" for n, k in sorted(found.items()))
    first = sorted(found)[0]
    return (
        f"{source} has no label array named {names}; candidate label arrays: {listed}; pass "
        f"label_key={first!r} (CLI: --data-opt label_key={first}) to use one",
        sorted(found),
    )


def _note_missing_labels(
    info: dict[str, Any], arrays: dict[str, Any], n_samples: int, data_key: str, source: str
) -> None:
    """Record how to select labels (``extra["labels_hint"]``); warn if candidates exist."""
    hint, candidates = labels_hint(arrays, n_samples, [data_key], source)
    info["labels_hint"] = hint
    if candidates:
        # A likely label vector under an unusual name: say so now, not at evaluation time.
        warnings.warn(hint, UserWarning, stacklevel=3)


def _labels_or_key(labels: LabelsArg, label_key: str | Literal[False] | None) -> None:
    if labels is not None and label_key not in (None, False):
        raise ConfigError("pass either labels= or label_key=, not both")


# --------------------------------------------------------------------------- .npy / .npz


def load_npy(
    path: PathLike,
    *,
    labels: LabelsArg = None,
    allow_nan: bool = False,
) -> Dataset:
    """Load a feature matrix stored as a NumPy ``.npy`` file.

    Parameters
    ----------
    path : path-like
        ``.npy`` file holding a 2-D numeric array of shape ``(n_samples, n_features)``.
    labels : array-like or path-like, optional
        Ground-truth labels: an array, a ``.npy`` file, or a text file with one label per
        line. Strings are encoded as ``0..K-1`` in sorted order (names in
        ``extra["class_names"]``).
    allow_nan : bool, default=False
        Keep NaN entries in ``X`` instead of raising.

    Returns
    -------
    Dataset
        ``kind="vectors"``, ``name`` = file stem, ``extra["source"]`` = the path.

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        Not a valid ``.npy`` file (empty, other bytes, truncated, pickled objects), the
        array is not 2-D or numeric or empty, contains NaN/inf (the message counts them and
        gives the first row), or labels do not match.
    """
    p = _existing_file(path, "a .npy file")
    check_npy(p)  # says "not a .npy file" where numpy would speak of pickled data
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"cannot read {p} as a .npy array: {_one_line(exc)}") from exc
    if not isinstance(arr, np.ndarray):  # np.load opens .npz archives too
        arr.close()
        raise DataError(f"{p} is an .npz archive; expected a single .npy array (use load_npz)")
    X = _as_features(arr, p.name, allow_nan)
    raw, src = _read_labels(labels) if labels is not None else (None, "")
    y, names = _attach_labels(X, raw, src)
    return _finish(X, y, p, names)


def load_npz(
    path: PathLike,
    *,
    key: str | None = None,
    label_key: str | Literal[False] | None = None,
    labels: LabelsArg = None,
    allow_nan: bool = False,
) -> Dataset:
    """Load a feature matrix (and labels) from a NumPy ``.npz`` archive.

    Parameters
    ----------
    path : path-like
        ``.npz`` archive.
    key : str, optional
        Array holding ``X``. Default: an array named ``X``, ``data``, ``features`` or
        ``fea`` (in that order), else the only 2-D array.
    label_key : str or False, optional
        Array holding the labels. Default: the first of ``y``, ``labels``, ``label``,
        ``gnd``, ``target``, ``targets`` present; ``False`` loads no labels. Without any
        of them, ``extra["labels_hint"]`` (and a warning when an array looks like labels)
        names the candidates and the option ``label_key=`` / ``--data-opt label_key=``.
    labels : array-like or path-like, optional
        Labels given separately (instead of ``label_key``).
    allow_nan : bool, default=False
        Keep NaN entries in ``X`` instead of raising.

    Returns
    -------
    Dataset
        ``extra`` records ``source``, ``key`` and ``label_key``.

    Raises
    ------
    DataError
        Unknown key (the message lists the available keys), no or several candidate
        2-D arrays, NaN/inf in ``X``, or labels of the wrong length.
    """
    _labels_or_key(labels, label_key)
    p = _existing_file(path, "a .npz file")
    check_npz(p)
    try:
        archive = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {p} as an .npz archive: {_one_line(exc)}") from exc
    if isinstance(archive, np.ndarray):
        raise DataError(f"{p} holds a single array; expected an .npz archive (use load_npy)")
    with archive:
        arrays = _npz_arrays(archive, p, (key, label_key))
    shapes = {n: a.shape for n, a in arrays.items()}
    data_key = _choose_data_key(shapes, key, p.name, largest=False)
    X = _as_features(arrays[data_key], f"{p.name}[{data_key!r}]", allow_nan)
    if labels is not None:
        raw, src = _read_labels(labels)
        chosen_label = None
    else:
        chosen_label = _choose_label_key(list(arrays), label_key, data_key, p.name)
        raw = arrays[chosen_label] if chosen_label is not None else None
        src = f"{p.name}[{chosen_label!r}]"
    y, names = _attach_labels(X, raw, src)
    ds = _finish(X, y, p, names, key=data_key, label_key=chosen_label)
    if y is None and label_key is None and labels is None:
        _note_missing_labels(ds.extra, arrays, X.shape[0], data_key, p.name)
    return ds


def _npz_arrays(archive: Any, path: Path, wanted: Sequence[Any]) -> dict[str, np.ndarray]:
    """Every readable member of an open archive; damaged members are an error."""
    arrays: dict[str, np.ndarray] = {}
    for name in archive.files:
        try:
            arrays[name] = archive[name]
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise npz_member_error(path, name, exc) from exc
        except (ValueError, OSError) as exc:
            # Object (pickled) arrays are refused: loading them could run code.
            if name in wanted:
                raise DataError(
                    f"cannot read array {name!r} from {path}: {_one_line(exc)}"
                ) from exc
    return arrays


# --------------------------------------------------------------------------- .csv


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _guess_delimiter(line: str, suffix: str) -> str | None:
    """The most frequent of tab, comma, semicolon in ``line``; None means whitespace."""
    if suffix == ".tsv":
        return "\t"
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])  # ties: first in the tuple above
    return best if counts[best] else None


def _iter_rows(path: Path, delimiter: str | None):
    """Yield ``(line_number, cells)`` for non-blank rows (csv quoting honoured)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        if delimiter is None:
            for ln, line in enumerate(fh, 1):
                cells = line.split()
                if cells:
                    yield ln, cells
            return
        reader = csv.reader(fh, delimiter=delimiter)
        for cells in reader:
            if any(c.strip() for c in cells):
                yield reader.line_num, cells


def _detect_header(first: list[str], second: list[str] | None) -> bool:
    """A header has a non-numeric cell where the next row is numeric (or has no next row).

    A first row reading ``0, 1, 2, ...`` (or ``1, 2, 3, ...``), optionally after an empty
    cell, is also a header: pandas writes such column names for unnamed columns, and a
    real sample equal to that sequence is far less likely than a silently extra row.
    """
    cells = [c.strip() for c in first]
    if cells and not cells[0]:
        cells = cells[1:]
    if len(cells) >= 3 and all(c.isdigit() for c in cells):
        ints = [int(c) for c in cells]
        if ints in (list(range(len(ints))), list(range(1, len(ints) + 1))):
            return True
    for j, cell in enumerate(first):
        if not cell.strip() or _is_number(cell):
            continue
        if second is None or j >= len(second):
            return True
        nxt = second[j].strip()
        if not nxt or _is_number(nxt):
            return True
    return False


def _resolve_label_column(
    label_column: str | int | None, names: list[str] | None, n_cols: int, source: str
) -> int | None:
    if label_column is None:
        return None
    if isinstance(label_column, str):
        if names is None:
            raise DataError(
                f"{source} has no header row, so label_column={label_column!r} cannot be "
                "found; pass the column index instead"
            )
        if label_column not in names:
            raise DataError(
                f"label_column {label_column!r} not found in {source}; "
                f"available columns: {', '.join(names)}"
            )
        return names.index(label_column)
    idx = int(label_column)
    if not -n_cols <= idx < n_cols:
        raise DataError(
            f"label_column={label_column} is out of range for {source} with {n_cols} columns"
        )
    return idx % n_cols


def _parse_rows_strictly(
    path: Path,
    delimiter: str | None,
    has_header: bool,
    n_cols: int,
    label_idx: int | None,
    names: list[str] | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Slow, exact parser: empty cells become NaN; any other bad cell is reported."""
    feat_cols = [j for j in range(n_cols) if j != label_idx]
    rows: list[list[float]] = []
    labels: list[str] = []
    rows_iter = _iter_rows(path, delimiter)
    if has_header:
        next(rows_iter, None)
    for ln, cells in rows_iter:
        if len(cells) != n_cols:
            raise DataError(
                f"{path.name} line {ln} has {len(cells)} columns; expected {n_cols} "
                "like the first row"
            )
        values = []
        for j in feat_cols:
            cell = cells[j].strip()
            if not cell:
                values.append(np.nan)  # a missing value; the NaN check reports it
                continue
            try:
                values.append(float(cell))
            except ValueError:
                col = f"column {j + 1}" + (f" ({names[j]!r})" if names else "")
                raise DataError(
                    f"{path.name} line {ln}, {col}: non-numeric value {cell!r}; expected a number"
                ) from None
        rows.append(values)
        if label_idx is not None:
            labels.append(cells[label_idx])
    X = np.array(rows, dtype=np.float64).reshape(len(rows), len(feat_cols))
    return X, (np.array(labels, dtype=str) if label_idx is not None else None)


def load_csv(
    path: PathLike,
    *,
    label_column: str | int | None = None,
    header: bool | None = None,
    delimiter: str | None = None,
    labels: LabelsArg = None,
    allow_nan: bool = False,
) -> Dataset:
    """Load a numeric table from a delimited text file.

    Parameters
    ----------
    path : path-like
        ``.csv`` / ``.tsv`` / ``.txt`` file, one sample per row.
    label_column : str or int, optional
        Column holding the labels, by header name or 0-based index (negative counts from
        the end). It is removed from ``X``. Non-numeric labels are encoded as ``0..K-1``
        in sorted order, names kept in ``extra["class_names"]``.
    header : bool, optional
        Whether the first row holds column names. Default: detected (the first row is a
        header when one of its cells is text where the second row has a number, or when
        it reads ``0, 1, 2, ...`` as pandas writes for unnamed columns).
    delimiter : str, optional
        Field separator. Default: tab for ``.tsv``; otherwise the most frequent of
        comma, tab and semicolon in the first row, or runs of whitespace if none occurs.
    labels : array-like or path-like, optional
        Labels given separately (instead of ``label_column``).
    allow_nan : bool, default=False
        Keep NaN entries (``nan`` cells, or empty cells which read as missing) instead of
        raising.

    Returns
    -------
    Dataset
        ``extra`` records ``source``, ``columns`` (feature column names, if a header) and
        ``delimiter``.

    Raises
    ------
    DataError
        A non-numeric cell (the message names line and column), ragged rows, an unknown
        label column, NaN/inf in ``X`` or a label count that does not match.
    """
    if labels is not None and label_column is not None:
        raise ConfigError("pass either labels= or label_column=, not both")
    p = _existing_file(path, "a .csv/.tsv/.txt table")
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            first_line = next((ln for ln in fh if ln.strip()), "")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{p} is not a text table (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start} is not UTF-8); expected a .csv/.tsv/.txt file of numbers"
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot read {p}: {_one_line(exc)}") from exc
    if "\0" in first_line:
        raise DataError(
            f"{p} is not a text table (it holds NUL bytes, as binary files do); expected a "
            ".csv/.tsv/.txt file of numbers"
        )
    if not first_line:
        raise DataError(f"{p} is empty; expected a table with one sample per row")
    delim = delimiter if delimiter is not None else _guess_delimiter(first_line, p.suffix.lower())
    if delim is not None and delim.isspace() and delim != "\t":
        delim = None  # a space means "runs of whitespace", as in most text exports
    head = _iter_rows(p, delim)
    first_ln, first = next(head)
    second = next(head, (0, None))[1]
    head.close()
    has_header = _detect_header(first, second) if header is None else bool(header)
    n_cols = len(first)
    names = [c.strip() for c in first] if has_header else None
    label_idx = _resolve_label_column(label_column, names, n_cols, p.name)
    feat_cols = [j for j in range(n_cols) if j != label_idx]
    if not feat_cols:
        raise DataError(f"{p} has no feature column besides the label column")
    if has_header and second is None:
        raise DataError(f"{p} has a header but no data rows; expected one sample per row")
    header_line = first_ln if has_header else 0  # physical lines the fast parser skips

    try:
        # Fast path (C parser) for the common all-numeric table. Anything irregular (text
        # labels, empty cells, ragged rows, bad cells) falls through to the exact parser,
        # which is the reference for behaviour and error messages.
        table = np.loadtxt(
            p,
            dtype=np.float64,
            delimiter=delim,
            skiprows=header_line,
            comments=None,
            encoding="utf-8-sig",
            ndmin=2,
            **({"quotechar": '"'} if delim is not None else {}),
        )
        if table.shape[1] != n_cols:
            raise ValueError("column count differs from the first row")
        X_raw = table[:, feat_cols]
        raw_labels = table[:, label_idx] if label_idx is not None else None
    except (ValueError, IndexError, UnicodeDecodeError):
        X_raw, raw_labels = _parse_rows_strictly(p, delim, has_header, n_cols, label_idx, names)

    X = _as_features(X_raw, p.name, allow_nan)
    if labels is not None:
        raw, src = _read_labels(labels)
    else:
        col = names[label_idx] if (names and label_idx is not None) else label_idx
        raw, src = raw_labels, f"{p.name} label column {col!r}"
    y, class_names = _attach_labels(X, raw, src)
    columns = [names[j] for j in feat_cols] if names else None
    return _finish(X, y, p, class_names, columns=columns, delimiter=delim or "whitespace")


# --------------------------------------------------------------------------- .mat


_H5_SKIP = ("char", "cell", "struct", "function_handle")


def _h5_variables(path: Path) -> dict[str, Any]:
    """Numeric top-level variables of a MATLAB v7.3 (HDF5) file, in MATLAB orientation."""
    import h5py
    import scipy.sparse as sp

    out: dict[str, Any] = {}
    with h5py.File(path, "r") as fh:
        for name, node in fh.items():
            if name.startswith("#"):  # "#refs#", "#subsystem#": MATLAB internals
                continue
            mclass = node.attrs.get("MATLAB_class", b"")
            mclass = mclass.decode() if isinstance(mclass, bytes) else str(mclass)
            if isinstance(node, h5py.Group):
                if "MATLAB_sparse" in node.attrs and {"data", "ir", "jc"} <= set(node):
                    # MATLAB sparse = CSC of the matrix itself: no transpose needed.
                    n_rows = int(node.attrs["MATLAB_sparse"])
                    jc = node["jc"][()]
                    out[name] = sp.csc_matrix(
                        (node["data"][()], node["ir"][()], jc), shape=(n_rows, len(jc) - 1)
                    )
                continue
            if not isinstance(node, h5py.Dataset) or node.attrs.get("MATLAB_empty", 0):
                continue
            if mclass in _H5_SKIP or node.dtype.kind not in "biuf":
                continue
            # HDF5 stores MATLAB's column-major array with the axes reversed.
            value = np.asarray(node[()]).T
            out[name] = value.astype(bool) if mclass == "logical" else value
    return out


def read_mat_variables(path: PathLike) -> dict[str, Any]:
    """Read the numeric variables of a MATLAB ``.mat`` file (v4, v5/v7 or v7.3).

    Parameters
    ----------
    path : path-like
        MATLAB file. v7.3 files are HDF5 and read with h5py; the others with
        :func:`scipy.io.loadmat`.

    Returns
    -------
    dict
        Variable name -> numeric ndarray (or scipy sparse matrix), shaped as MATLAB shows
        it (the HDF5 axis reversal of v7.3 files is undone). Structs, cells and strings
        are left out.

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        The file is not a readable MATLAB file.
    """
    import h5py
    import scipy.io
    from scipy.io.matlab import MatReadError

    p = _existing_file(path, "a MATLAB .mat file")
    try:
        if h5py.is_hdf5(p):
            return _h5_variables(p)
        raw = scipy.io.loadmat(p)
    except (MatReadError, ValueError, TypeError, OSError, NotImplementedError, KeyError) as exc:
        raise mat_error(p, exc) from exc
    except (IndexError, EOFError) as exc:  # scipy on short foreign files (v4 header probe)
        raise mat_error(p, exc) from exc
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith("__"):
            continue
        if hasattr(value, "toarray") or (
            isinstance(value, np.ndarray) and value.dtype.kind in "biufc"
        ):
            out[name] = value
    return out


def load_mat(
    path: PathLike,
    *,
    key: str | None = None,
    label_key: str | Literal[False] | None = None,
    labels: LabelsArg = None,
    allow_nan: bool = False,
) -> Dataset:
    """Load a feature matrix (and labels) from a MATLAB ``.mat`` file.

    Parameters
    ----------
    path : path-like
        MATLAB v5/v7 file (scipy) or v7.3 (HDF5, h5py). Samples are rows, as in the usual
        ``fea``/``gnd`` convention.
    key : str, optional
        Variable holding ``X``. Default: ``X``, ``data``, ``features`` or ``fea`` (in that
        order), else the largest 2-D numeric variable.
    label_key : str or False, optional
        Variable holding the labels. Default: the first of ``y``, ``labels``, ``label``,
        ``gnd``, ``target``, ``targets`` present; ``False`` loads no labels. Labels are
        flattened to 1-D integers. When none of these names is present, ``y`` is None and
        ``extra["labels_hint"]`` says how to pick one (CLI: ``--data-opt label_key=NAME``),
        listing the variables that look like labels (one integer per sample, 2 to n/2
        classes); if there are such candidates a ``UserWarning`` says so too.
    labels : array-like or path-like, optional
        Labels given separately (instead of ``label_key``).
    allow_nan : bool, default=False
        Keep NaN entries in ``X`` instead of raising.

    Returns
    -------
    Dataset
        ``extra`` records ``source``, ``key`` and ``label_key``.

    Raises
    ------
    DataError
        Unreadable file, unknown key (the message lists the numeric variables), NaN/inf in
        ``X`` or labels of the wrong length.
    """
    _labels_or_key(labels, label_key)
    p = Path(path).expanduser()
    variables = read_mat_variables(p)
    shapes = {n: tuple(v.shape) for n, v in variables.items()}
    data_key = _choose_data_key(shapes, key, p.name, largest=True)
    X = _as_features(variables[data_key], f"{p.name}[{data_key!r}]", allow_nan)
    if labels is not None:
        raw, src = _read_labels(labels)
        chosen_label = None
    else:
        chosen_label = _choose_label_key(list(variables), label_key, data_key, p.name)
        raw = variables[chosen_label] if chosen_label is not None else None
        src = f"{p.name}[{chosen_label!r}]"
    y, names = _attach_labels(X, raw, src)
    ds = _finish(X, y, p, names, key=data_key, label_key=chosen_label)
    if y is None and label_key is None and labels is None:
        _note_missing_labels(ds.extra, variables, X.shape[0], data_key, p.name)
    return ds


# --------------------------------------------------------------------------- dispatch


def load_vectors(
    path: PathLike,
    *,
    key: str | None = None,
    label_key: str | Literal[False] | None = None,
    labels: LabelsArg = None,
    label_column: str | int | None = None,
    allow_nan: bool = False,
) -> Dataset:
    """Load a feature table, choosing the reader from the file extension.

    Parameters
    ----------
    path : path-like
        ``.npy``, ``.npz``, ``.mat``, ``.csv``, ``.tsv`` or ``.txt`` file.
    key, label_key : str, optional
        Variable names for ``.npz`` / ``.mat`` files (see :func:`load_npz`,
        :func:`load_mat`). ``label_key=False`` loads no labels.
    labels : array-like or path-like, optional
        Labels given separately (any format).
    label_column : str or int, optional
        Label column of a text table (see :func:`load_csv`).
    allow_nan : bool, default=False
        Keep NaN entries in ``X`` instead of raising.

    Returns
    -------
    Dataset
        ``kind="vectors"``, ``name`` = file stem, ``extra["source"]`` = the path.

    Raises
    ------
    ConfigError
        An option that does not apply to the file type (e.g. ``key`` for a ``.csv``).
    DataNotFoundError
        The file does not exist.
    DataError
        The file or its content is not a valid feature table.
    """
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in _SUPPORTED:
        raise DataError(
            f"unsupported file type {suffix or '(none)'!r} for {p}; expected one of "
            f"{', '.join(_SUPPORTED)}"
        )
    if suffix in (".npy", *_CSV_SUFFIXES) and (key is not None or label_key not in (None, False)):
        raise ConfigError(f"key/label_key apply to .npz and .mat files, not {suffix}")
    if suffix not in _CSV_SUFFIXES and label_column is not None:
        raise ConfigError(f"label_column applies to .csv/.tsv/.txt files, not {suffix}")
    if suffix == ".npy":
        return load_npy(p, labels=labels, allow_nan=allow_nan)
    if suffix == ".npz":
        return load_npz(p, key=key, label_key=label_key, labels=labels, allow_nan=allow_nan)
    if suffix == ".mat":
        return load_mat(p, key=key, label_key=label_key, labels=labels, allow_nan=allow_nan)
    return load_csv(p, label_column=label_column, labels=labels, allow_nan=allow_nan)
