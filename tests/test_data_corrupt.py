"""Damaged, empty and foreign files give one-line DataErrors naming the file and what was
expected, never a library's own words ("pickled data", "version 73, 196", a list of xarray
backends) or a crash; input files are never modified.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import xarray as xr

import deepclust
from deepclust.data.images import load_cifar10, load_idx
from deepclust.exceptions import DataError

RANDOM = np.random.default_rng(0).bytes(300)
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _offline(offline):
    """No network; the download cache lives in the test's folder (conftest ``offline``)."""


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _fails(spec_or_call, path: Path, *needles: str, **options) -> str:
    """Load, expect a one-line DataError naming ``path`` and ``needles``; file untouched."""
    before = _md5(path) if path.is_file() else None
    with pytest.raises(DataError) as e:
        if callable(spec_or_call):
            spec_or_call()
        else:
            deepclust.load(f"{spec_or_call}:{path}", **options)
    msg = str(e.value)
    assert msg and "\n" not in msg, msg
    assert path.name in msg, msg
    for needle in needles:
        assert needle in msg, msg
    if before is not None:
        assert _md5(path) == before
    return msg


# --------------------------------------------------------------------------- random bytes


@pytest.mark.parametrize(
    ("spec", "suffix", "needle"),
    [
        ("npy", ".npy", "is not a valid .npy file"),
        ("npz", ".npz", "is not a valid .npz (zip) file"),
        ("mat", ".mat", "is not a valid .mat file"),
        ("csv", ".csv", "is not a text table"),
        ("hsi", ".mat", "is not a valid .mat file"),
        ("hsi", ".npy", "is not a valid .npy file"),
        ("image-mat", ".mat", "is not a valid .mat file"),
        ("climate", ".nc", "is not a valid NetCDF file"),
        ("h5", ".h5", "is not a valid HDF5 file"),
    ],
)
def test_random_bytes(tmp_path, spec, suffix, needle):
    f = tmp_path / f"junk{suffix}"
    f.write_bytes(RANDOM)
    msg = _fails(spec, f, needle, "expected")
    assert "pickle" not in msg and "backends" not in msg and "version 73" not in msg


@pytest.mark.parametrize(
    ("spec", "suffix"),
    [
        ("npy", ".npy"),
        ("npz", ".npz"),
        ("mat", ".mat"),
        ("csv", ".csv"),
        ("hsi", ".mat"),
        ("hsi", ".npy"),
        ("climate", ".nc"),
        ("h5", ".h5"),
    ],
)
def test_empty_files(tmp_path, spec, suffix):
    f = tmp_path / f"empty{suffix}"
    f.write_bytes(b"")
    _fails(spec, f, "is empty")


def test_empty_idx_and_cifar_batch(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(b"")
    _fails(lambda: load_idx(f), f, "is empty")
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(b"")
    _fails(lambda: load_cifar10(folder), folder / "data_batch_1", "is empty")


# --------------------------------------------------------------------------- truncated


def test_truncated_npy_and_npz(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.ones((50, 4)))
    f = tmp_path / "cut.npy"
    f.write_bytes(buf.getvalue()[:300])
    _fails("npy", f, "is truncated", "expected 1600")
    _fails("hsi", f, "is truncated")  # memory-mapped there
    buf = io.BytesIO()
    np.savez(buf, X=np.ones((100, 4)), y=np.arange(100))
    f = tmp_path / "cut.npz"
    f.write_bytes(buf.getvalue()[:-60])
    _fails("npz", f, "is not a valid .npz (zip) file (truncated or damaged zip)")


def test_npz_with_a_damaged_member(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, X=np.random.default_rng(1).random((1000, 4)), y=np.arange(1000))
    raw = bytearray(buf.getvalue())
    raw[200:260] = RANDOM[:60]
    f = tmp_path / "crc.npz"
    f.write_bytes(bytes(raw))
    _fails("npz", f, "is not a valid .npz (zip) file (member 'X'")


def test_npy_of_python_objects_is_refused_not_unpickled(tmp_path):
    f = tmp_path / "obj.npy"
    np.save(f, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    _fails("npy", f, "holds Python objects", "expected a numeric array")


def test_truncated_gz_idx(tmp_path):
    raw = bytes([0, 0, 8, 3]) + struct.pack(">3I", 3, 28, 28) + bytes(3 * 784)
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(raw)[:-20])
    _fails(lambda: load_idx(f), f, "truncated or damaged gzip file", "expected a complete")


def test_corrupt_cifar_batch(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    good = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, protocol=2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(good)
    (folder / "data_batch_2").write_bytes(RANDOM)
    _fails(lambda: load_cifar10(folder), folder / "data_batch_2", "is not a valid CIFAR-10 batch")
    (folder / "data_batch_2").write_bytes(good[: len(good) // 2])
    _fails(lambda: load_cifar10(folder), folder / "data_batch_2", "pickle data was truncated")


# --------------------------------------------------------------------------- MATLAB


def test_mat_v5_header_with_garbage_and_broken_hdf5(tmp_path):
    v5 = tmp_path / "v5.mat"
    v5.write_bytes(b"MATLAB 5.0 MAT-file".ljust(116, b" ") + RANDOM)
    _fails("mat", v5, "is a damaged or truncated MATLAB file")
    _fails("hsi", v5, "is a damaged or truncated MATLAB file")
    v73 = tmp_path / "v73.mat"
    v73.write_bytes(HDF5_SIGNATURE + RANDOM)
    _fails("mat", v73, "is not a valid MATLAB v7.3 (HDF5) file")
    _fails("hsi", v73, "is not a valid MATLAB v7.3 (HDF5) file")  # was an OSError crash


def test_mat_truncated(tmp_path):
    good = tmp_path / "good.mat"
    scipy.io.savemat(good, {"X": np.random.default_rng(2).random((40, 5))})
    cut = tmp_path / "cut.mat"
    cut.write_bytes(good.read_bytes()[:400])
    _fails("mat", cut, "is a damaged or truncated MATLAB file")


# --------------------------------------------------------------------------- text


def test_csv_with_non_numeric_content(tmp_path):
    f = tmp_path / "words.csv"
    f.write_text("a,b\nfoo,bar\nbaz,qux\n")
    _fails("csv", f, "non-numeric value", "expected a number")
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"1,2\x00\x00\x00,3\n")
    _fails("csv", nul, "is not a text table (it holds NUL bytes")


# --------------------------------------------------------------------------- NetCDF


def test_netcdf3_and_netcdf4_that_are_cut_short(tmp_path):
    ds = xr.Dataset(
        {"tas": (("time", "lat", "lon"), np.ones((4, 3, 2)))},
        coords={"time": np.arange(4), "lat": [1.0, 2, 3], "lon": [1.0, 2]},
    )
    for fmt, engine, kind in (
        ("NETCDF3_64BIT", "scipy", "NetCDF-3"),
        ("NETCDF4", "netcdf4", "NetCDF-4/HDF5"),
    ):
        good = tmp_path / f"good-{engine}.nc"
        ds.to_netcdf(good, format=fmt, engine=engine)
        cut = tmp_path / f"cut-{engine}.nc"
        cut.write_bytes(good.read_bytes()[:200])
        _fails("climate", cut, f"is a damaged or truncated {kind} file")


# --------------------------------------------------------------------------- arrays


def test_arrays_of_the_wrong_rank_or_empty(tmp_path):
    for name, arr, needle in (
        ("three.npy", np.ones((2, 3, 4)), "expected a 2-D array"),
        ("one.npy", np.ones(5), "expected a 2-D array"),
        ("rows0.npy", np.ones((0, 3)), "X is empty"),
        ("cols0.npy", np.ones((3, 0)), "X is empty"),
    ):
        np.save(tmp_path / name, arr)
        _fails("npy", tmp_path / name, needle)
    np.save(tmp_path / "flat.npy", np.ones((4, 5)))
    _fails("hsi", tmp_path / "flat.npy", "expected 3-D (rows, cols, bands)")
    np.save(tmp_path / "nopix.npy", np.ones((0, 5, 3)))
    _fails("hsi", tmp_path / "nopix.npy", "is empty", "at least one pixel")


def test_nan_and_inf_are_counted_and_located(tmp_path):
    X = np.ones((10, 3))
    X[3, 1] = X[5, 0] = np.nan
    X[7, 2] = np.inf
    f = tmp_path / "gaps.npy"
    np.save(f, X)
    msg = _fails("npy", f)
    assert msg == (
        "gaps.npy: X contains 2 NaN and 1 inf values (first at row 3, column 1); expected "
        "finite features: fill or drop them (or pass allow_nan=True to keep NaN)"
    )
    with pytest.raises(DataError, match=r"1 inf values \(first at row 7, column 2\)"):
        deepclust.load(f"npy:{f}", allow_nan=True)
    cube = np.ones((3, 4, 2), np.float32)
    cube[1, 2, 1] = np.nan
    np.save(tmp_path / "scene.npy", cube)
    _fails("hsi", tmp_path / "scene.npy", "1 NaN/inf values (first at row 1, column 2, band 1)")


def test_nan_in_an_hdf5_image_set(tmp_path):
    f = tmp_path / "imgs.h5"
    data = np.zeros((3, 16), np.float32)
    data[2, 5] = np.nan
    with h5py.File(f, "w") as fh:
        fh["data"] = data
        fh["labels"] = np.array([0, 1, 0])
    _fails("h5", f, "X contains 1 NaN values (first at row 2, column 5)", image_shape=(4, 4))
