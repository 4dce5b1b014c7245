"""Recognising file formats before a library parses them, and one-line errors when they fail.

Libraries report bad input in their own terms: NumPy calls random bytes in a ``.npy``
"pickled data", scipy reports "Unknown mat file type, version 73, 196", xarray lists its IO
backends. The helpers here look at a file's first bytes and size so that each loader can say
what the file is, what it should be and what to do about it, in one line. Files are only
ever opened for reading.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..exceptions import DataError

__all__ = [
    "HDF5_SIGNATURE",
    "check_npy",
    "check_npz",
    "describe_start",
    "first_nonfinite",
    "is_hdf5",
    "mat_error",
    "one_line",
    "require_nonempty",
]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_MAT5_TEXT = b"MATLAB"
# Longest library message kept inside the parentheses of ours.
_MAX_DETAIL = 200


def one_line(exc: BaseException) -> str:
    """An exception as one short line (library messages may span lines or pages)."""
    text = " ".join(str(exc).split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 3] + "..."
    return text or type(exc).__name__


def read_start(path: Path, n: int = 16) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as fh:
        return fh.read(n)


def describe_start(path: Path, n: int = 8) -> str:
    """``starts with bytes 1f8b0800...`` for messages about unrecognised files."""
    start = read_start(path, n)
    return f"starts with bytes {start.hex()}" if start else "is empty"


def require_nonempty(path: Path, expected: str) -> None:
    """Raise a one-line DataError when ``path`` is a file of 0 bytes.

    Parameters
    ----------
    path : Path
        File to check (directories pass).
    expected : str
        What the file should hold, e.g. ``"a .npy array"``.
    """
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); expected {expected}")


def is_hdf5(path: Path) -> bool:
    """Whether ``path`` carries the HDF5 signature (also after a MATLAB 512-byte user block)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        # HDF5 looks for its signature at 0, 512, 1024, 2048, ... (user blocks).
        while offset + len(HDF5_SIGNATURE) <= size:
            fh.seek(offset)
            if fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False


# --------------------------------------------------------------------------- .npy / .npz


def check_npy(path: Path) -> None:
    """Check that ``path`` is a complete ``.npy`` file of a non-object dtype.

    Parameters
    ----------
    path : Path
        The file; only its header is read.

    Raises
    ------
    DataError
        Empty file, an ``.npz`` archive, not the ``.npy`` magic, an unreadable header, an
        object (pickled) array, or fewer data bytes than the header promises.
    """
    require_nonempty(path, "a .npy array")
    start = read_start(path, len(_NPY_MAGIC))
    if start.startswith(_ZIP_MAGIC):
        raise DataError(f"{path} is an .npz archive; expected a single .npy array (use npz:)")
    if start != _NPY_MAGIC:
        raise DataError(
            f"{path} is not a valid .npy file ({describe_start(path)}, not the .npy magic "
            "93 'NUMPY'); expected an array saved with numpy.save"
        )
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            if version not in ((1, 0), (2, 0)):
                return  # 3.0 (UTF-8 field names): numpy's own reader checks the rest
            reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = reader(fh)
            data_start = fh.tell()
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise DataError(
            f"{path} is not a valid .npy file (unreadable header: {one_line(exc)}); "
            "expected an array saved with numpy.save"
        ) from exc
    if dtype.hasobject:
        raise DataError(
            f"{path} holds Python objects (dtype {dtype}, stored as a pickle, which could run "
            "code); expected a numeric array"
        )
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = path.stat().st_size - data_start
    if actual < expected:
        raise DataError(
            f"{path} is truncated: {actual} data bytes for shape {tuple(shape)} of {dtype}; "
            f"expected {expected} (the file was not fully written or copied)"
        )


def check_npz(path: Path) -> None:
    """Check that ``path`` is a readable zip archive (what ``.npz`` files are).

    Raises
    ------
    DataError
        Empty file, a single ``.npy`` array, not a zip archive, or a damaged zip directory.
    """
    require_nonempty(path, "an .npz archive")
    start = read_start(path, len(_NPY_MAGIC))
    if start == _NPY_MAGIC:
        raise DataError(f"{path} holds a single array; expected an .npz archive (use npy:)")
    if not zipfile.is_zipfile(path):
        # is_zipfile also fails when the end of a real archive was cut off.
        what = "truncated or damaged zip" if start.startswith(_ZIP_MAGIC) else describe_start(path)
        raise DataError(
            f"{path} is not a valid .npz (zip) file ({what}); expected an archive saved "
            "with numpy.savez"
        )


def npz_member_error(path: Path, name: str, exc: BaseException) -> DataError:
    """The error for an ``.npz`` member that cannot be read (bad CRC, cut stream...)."""
    return DataError(
        f"{path} is not a valid .npz (zip) file (member {name!r}: {one_line(exc)}); "
        "expected an archive saved with numpy.savez"
    )


# --------------------------------------------------------------------------- .mat


def mat_error(path: Path, exc: BaseException) -> DataError:
    """Explain why scipy or h5py could not read ``path`` as a MATLAB file.

    Parameters
    ----------
    path : Path
        The file that failed to open.
    exc : BaseException
        What the library raised.

    Returns
    -------
    DataError
        A one-line error naming the file, what it looks like, and what was expected.
    """
    expected = "expected a MATLAB .mat file (v4, v5/v7, or v7.3 = HDF5)"
    if path.stat().st_size == 0:
        return DataError(f"{path} is empty (0 bytes); {expected}")
    if is_hdf5(path):
        return DataError(
            f"{path} is not a valid MATLAB v7.3 (HDF5) file ({one_line(exc)}); {expected}"
        )
    if read_start(path, len(_MAT5_TEXT)) == _MAT5_TEXT:
        return DataError(
            f"{path} is a damaged or truncated MATLAB file ({one_line(exc)}); {expected}"
        )
    return DataError(
        f"{path} is not a valid .mat file (no 'MATLAB 5.0 MAT-file' header nor HDF5 "
        f"signature: {describe_start(path)}); {expected}"
    )


# --------------------------------------------------------------------------- values


def first_nonfinite(X: np.ndarray, *, allow_nan: bool = False) -> str | None:
    """Describe the non-finite entries of a 2-D array, or None when there are none.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Float array.
    allow_nan : bool, default=False
        Count only infinities.

    Returns
    -------
    str or None
        E.g. ``"12 NaN values (first at row 3, column 0)"`` (rows and columns counted from
        0), ``"2 NaN and 1 inf values (...)"``.
    """
    bad = np.isinf(X) if allow_nan else ~np.isfinite(X)
    first = int(np.argmax(bad.reshape(-1))) if bad.size else 0
    if not bad.size or not bad.reshape(-1)[first]:
        return None
    n_inf = int(np.count_nonzero(np.isinf(X)))
    n_nan = 0 if allow_nan else int(np.count_nonzero(np.isnan(X)))
    counts = [f"{n} {label}" for n, label in ((n_nan, "NaN"), (n_inf, "inf")) if n]
    row, col = divmod(first, X.shape[1])
    return f"{' and '.join(counts)} values (first at row {row}, column {col})"
