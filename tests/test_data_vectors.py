"""Feature-table loaders: exact round trips through every format, and every error path."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from deepclust.data.vectors import (
    load_csv,
    load_mat,
    load_npy,
    load_npz,
    load_vectors,
    read_mat_variables,
)
from deepclust.exceptions import ConfigError, DataError, DataNotFoundError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file of the real data set folder, or skip when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(autouse=True)
def _offline(offline):
    """No network; the download cache lives in the test's folder (conftest ``offline``)."""


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _rng_data(n: int = 10, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 3, size=n)


def _write_v73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """Write a MATLAB v7.3 file the way MATLAB does: HDF5 with a 512-byte header block and
    every array stored with its axes reversed (column-major)."""
    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, value in variables.items():
            arr = np.asarray(value)
            if arr.ndim == 1:
                arr = arr[:, None]  # MATLAB has no 1-D arrays
            ds = fh.create_dataset(name, data=arr.T)
            ds.attrs["MATLAB_class"] = np.bytes_("double" if arr.dtype.kind == "f" else "uint8")
        # A string variable and MATLAB's internal reference group: both must be skipped.
        s = fh.create_dataset("note", data=np.frombuffer(b"h\0i\0", dtype=np.uint16)[:, None])
        s.attrs["MATLAB_class"] = np.bytes_("char")
        fh.create_group("#refs#")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116) + b"\0" * 8 + b"\x00\x02IM")


# --------------------------------------------------------------------------- .npy


def test_npy_round_trip_with_label_sources(tmp_path):
    X, y = _rng_data()
    f = tmp_path / "feat.npy"
    np.save(f, np.asfortranarray(X))  # stored Fortran-ordered: result must be C-contiguous
    np.save(tmp_path / "lab.npy", y)
    (tmp_path / "lab.txt").write_text("\n".join(str(v) for v in y) + "\n")
    before = _snapshot(f)

    for labels in (y, y.tolist(), tmp_path / "lab.npy", str(tmp_path / "lab.txt")):
        ds = load_npy(f, labels=labels)
        np.testing.assert_array_equal(ds.X, X)
        np.testing.assert_array_equal(ds.y, y)
        assert ds.y.dtype == np.int64
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert ds.kind == "vectors" and ds.name == "feat"
    assert ds.extra["source"] == str(f)
    assert _snapshot(f) == before
    assert load_npy(f).y is None


def test_npy_dtypes_float32_kept_int_widened(tmp_path):
    f32 = tmp_path / "a.npy"
    np.save(f32, np.arange(6, dtype=np.float32).reshape(3, 2))
    assert load_npy(f32).X.dtype == np.float32
    i8 = tmp_path / "b.npy"
    np.save(i8, np.arange(6, dtype=np.int8).reshape(3, 2))
    ds = load_npy(i8)
    assert ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.X, np.arange(6).reshape(3, 2))


def test_npy_1d_is_an_error(tmp_path):
    f = tmp_path / "v.npy"
    np.save(f, np.arange(10.0))
    with pytest.raises(
        DataError,
        match=r"expected a 2-D array \(n_samples, n_features\), got "
        r"shape \(10,\)",
    ):
        load_npy(f)


def test_nan_is_an_error_unless_allowed(tmp_path):
    X, _ = _rng_data()
    X[[0, 2, 5], [1, 1, 3]] = np.nan
    f = tmp_path / "nan.npy"
    np.save(f, X)
    with pytest.raises(DataError) as e:
        load_npy(f)
    assert str(e.value) == (
        "nan.npy: X contains 3 NaN values (first at row 0, column 1); expected finite "
        "features: fill or drop them (or pass allow_nan=True to keep NaN)"
    )
    ds = load_npy(f, allow_nan=True)
    assert np.isnan(ds.X).sum() == 3
    np.testing.assert_array_equal(np.isnan(ds.X), np.isnan(X))
    # inf is never acceptable
    X[1, 0] = np.inf
    np.save(f, X)
    with pytest.raises(DataError, match=r"X contains 1 inf values \(first at row 1, column 0\)"):
        load_npy(f, allow_nan=True)


def test_label_length_mismatch(tmp_path):
    X, y = _rng_data()
    f = tmp_path / "x.npy"
    np.save(f, X)
    with pytest.raises(DataError, match="labels have 9 entries but X has 10 samples"):
        load_npy(f, labels=y[:9])


def test_labels_must_be_integers_or_names(tmp_path):
    X, _ = _rng_data(n=4)
    f = tmp_path / "x.npy"
    np.save(f, X)
    with pytest.raises(DataError, match="labels must be integers"):
        load_npy(f, labels=[0, 1, 1.5, 2])
    ds = load_npy(f, labels=[2.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ds.y, [2, 0, 1, 2])
    ds = load_npy(f, labels=np.array(["b", "a", "c", "a"]))
    np.testing.assert_array_equal(ds.y, [1, 0, 2, 0])
    assert ds.extra["class_names"] == ["a", "b", "c"]
    with pytest.raises(DataError, match="labels must be a vector"):
        load_npy(f, labels=np.zeros((4, 2)))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataNotFoundError, match="file not found") as info:
        load_npy(tmp_path / "nope.npy")
    assert isinstance(info.value, FileNotFoundError)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"definitely not numpy")
    with pytest.raises(DataError, match="bad.npy is not a valid .npy file"):
        load_npy(bad)
    with pytest.raises(DataError, match="is a directory"):
        load_npy(tmp_path)


# --------------------------------------------------------------------------- .npz


def test_npz_default_keys_and_explicit_keys(tmp_path):
    X, y = _rng_data()
    Z = np.arange(20.0).reshape(10, 2)
    f = tmp_path / "set.npz"
    np.savez(f, X=X, y=y, emb=Z, other=y[::-1])
    before = _snapshot(f)
    ds = load_npz(f)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.extra["key"] == "X" and ds.extra["label_key"] == "y"
    ds = load_npz(f, key="emb", label_key="other")
    np.testing.assert_array_equal(ds.X, Z)
    np.testing.assert_array_equal(ds.y, y[::-1])
    assert load_npz(f, label_key=False).y is None
    assert _snapshot(f) == before


def test_npz_only_2d_array_and_gnd(tmp_path):
    X, y = _rng_data()
    f = tmp_path / "only.npz"
    np.savez(f, embedding=X, gnd=y[:, None])  # MATLAB-style (n, 1) labels are no candidate
    ds = load_vectors(f)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)


def test_npz_key_errors_list_available_keys(tmp_path):
    X, y = _rng_data()
    f = tmp_path / "k.npz"
    np.savez(f, a=X, b=X + 1, lab=y)
    with pytest.raises(DataError, match=r"several 2-D arrays .*\(a, b\); pass key="):
        load_npz(f)
    with pytest.raises(DataError, match=r"key 'zzz' not found in k.npz; available keys: a, b, lab"):
        load_npz(f, key="zzz")
    with pytest.raises(DataError, match=r"label_key 'q' not found .*available keys: a, b, lab"):
        load_npz(f, key="a", label_key="q")
    np.testing.assert_array_equal(load_npz(f, key="b", label_key="lab").y, y)
    g = tmp_path / "none.npz"
    np.savez(g, v=np.arange(3.0))
    with pytest.raises(DataError, match="no 2-D numeric array"):
        load_npz(g)


def test_npz_object_arrays_are_refused_not_executed(tmp_path):
    X, _ = _rng_data()
    f = tmp_path / "obj.npz"
    np.savez(f, X=X, meta=np.array([{"a": 1}], dtype=object))
    np.testing.assert_array_equal(load_npz(f).X, X)  # the object array is just skipped
    with pytest.raises(DataError, match="cannot read array 'meta'"):
        load_npz(f, key="meta")


def test_labels_and_label_key_conflict(tmp_path):
    X, y = _rng_data()
    f = tmp_path / "c.npz"
    np.savez(f, X=X, y=y)
    with pytest.raises(ConfigError):
        load_npz(f, labels=y, label_key="y")
    np.testing.assert_array_equal(load_npz(f, labels=y[::-1]).y, y[::-1])


# --------------------------------------------------------------------------- .csv


def test_csv_with_header_and_named_text_labels(tmp_path):
    f = tmp_path / "iris.csv"
    f.write_text(
        'sepal,petal,species,width\n1.5,2,setosa,3\n2.5,"3",virginica,4\n\n-1e-3,4,setosa,5\n'
    )
    before = _snapshot(f)
    ds = load_csv(f, label_column="species")
    np.testing.assert_array_equal(ds.X, [[1.5, 2, 3], [2.5, 3, 4], [-1e-3, 4, 5]])
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    assert ds.extra["class_names"] == ["setosa", "virginica"]
    assert ds.extra["columns"] == ["sepal", "petal", "width"]
    assert ds.name == "iris" and ds.X.flags.c_contiguous
    assert _snapshot(f) == before


def test_csv_without_header_numeric_label_column(tmp_path):
    X, y = _rng_data(n=6, d=3)
    f = tmp_path / "plain.csv"
    np.savetxt(f, np.column_stack([X, y]), delimiter=",", fmt="%.17g")
    ds = load_vectors(f, label_column=-1)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)
    ds = load_csv(f)  # no label column: all four columns are features
    assert ds.X.shape == (6, 4) and ds.y is None


def test_csv_text_labels_without_header_are_not_a_header(tmp_path):
    f = tmp_path / "nohead.csv"
    f.write_text("1,2,cat\n3,4,dog\n5,6,cat\n")
    ds = load_csv(f, label_column=2)
    assert ds.X.shape == (3, 2)
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    with pytest.raises(DataError, match="has no header row"):
        load_csv(f, label_column="species")


def test_csv_header_detection_and_override(tmp_path):
    X, _ = _rng_data(n=4, d=3)
    f = tmp_path / "pandas.csv"  # what DataFrame(X).to_csv(index=False) writes
    np.savetxt(f, X, delimiter=",", header="0,1,2", comments="", fmt="%.17g")
    ds = load_csv(f)
    np.testing.assert_array_equal(ds.X, X)
    assert ds.extra["columns"] == ["0", "1", "2"]
    g = tmp_path / "data_first.csv"
    g.write_text("0,1,5\n3,4,5\n")  # not a 0..n-1 sequence: a sample
    assert load_csv(g).n_samples == 2
    assert load_csv(g, header=True).n_samples == 1
    np.testing.assert_array_equal(load_csv(f, header=False, allow_nan=False).X[0], [0, 1, 2])


def test_tsv_and_whitespace_text(tmp_path):
    X, _ = _rng_data(n=5, d=3)
    tsv = tmp_path / "t.tsv"
    np.savetxt(tsv, X, delimiter="\t", header="a\tb\tc", comments="", fmt="%.17g")
    ds = load_vectors(tsv)
    np.testing.assert_array_equal(ds.X, X)
    assert ds.extra["columns"] == ["a", "b", "c"]
    txt = tmp_path / "w.txt"
    np.savetxt(txt, X, delimiter="   ", fmt="%.17g")
    np.testing.assert_array_equal(load_vectors(txt).X, X)
    semi = tmp_path / "s.csv"
    np.savetxt(semi, X, delimiter=";", fmt="%.17g")
    np.testing.assert_array_equal(load_csv(semi).X, X)


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("a,b,c\n1,2,3\n4,oops,6\n")
    msg = r"bad.csv line 3, column 2 \('b'\): non-numeric value 'oops'; expected a number"
    with pytest.raises(DataError, match=msg):
        load_csv(f)
    g = tmp_path / "bad2.csv"
    g.write_text("1,2\n3,x\n")
    with pytest.raises(DataError, match=r"line 2, column 2: non-numeric value 'x'"):
        load_csv(g)


def test_csv_ragged_rows_and_empty_cells(tmp_path):
    f = tmp_path / "ragged.csv"
    f.write_text("1,2,3\n4,5\n")
    with pytest.raises(DataError, match="line 2 has 2 columns; expected 3"):
        load_csv(f)
    g = tmp_path / "long.csv"
    g.write_text("1,2\n4,5,6\n")
    with pytest.raises(DataError, match="line 2 has 3 columns; expected 2"):
        load_csv(g)
    short_header = tmp_path / "short_header.csv"
    short_header.write_text("a,b\n1,2,3\n4,5,6\n")  # a column would silently go missing
    with pytest.raises(DataError, match="line 2 has 3 columns; expected 2"):
        load_csv(short_header)
    h = tmp_path / "gaps.csv"
    h.write_text("x,y\n1,\n,4\n5,6\n")
    with pytest.raises(DataError, match="X contains 2 NaN values"):
        load_csv(h)
    ds = load_csv(h, allow_nan=True)
    np.testing.assert_array_equal(ds.X, [[1, np.nan], [np.nan, 4], [5, 6]])


def test_csv_label_column_errors(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="label_column 'z' not found .*available columns: a, b"):
        load_csv(f, label_column="z")
    with pytest.raises(DataError, match="out of range"):
        load_csv(f, label_column=5)
    one = tmp_path / "one.csv"
    one.write_text("1\n2\n")
    with pytest.raises(DataError, match="no feature column"):
        load_csv(one, label_column=0)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="is empty"):
        load_csv(empty)


# --------------------------------------------------------------------------- .mat


def test_mat_v5_fea_gnd_round_trip(tmp_path):
    X, y = _rng_data(n=7, d=5)
    f = tmp_path / "set.mat"
    scipy.io.savemat(f, {"fea": X, "gnd": (y + 1)[:, None].astype(np.uint8)})
    before = _snapshot(f)
    ds = load_mat(f)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y + 1)
    assert ds.extra["key"] == "fea" and ds.extra["label_key"] == "gnd"
    assert ds.name == "set" and ds.X.flags.c_contiguous
    assert _snapshot(f) == before


def test_mat_largest_2d_array_sparse_and_key_errors(tmp_path):
    small = np.ones((3, 2))
    big = np.arange(40.0).reshape(10, 4)
    f = tmp_path / "auto.mat"
    scipy.io.savemat(f, {"small": small, "big": big, "words": "text", "y": np.arange(10)})
    ds = load_vectors(f)
    np.testing.assert_array_equal(ds.X, big)
    np.testing.assert_array_equal(ds.y, np.arange(10))
    with pytest.raises(DataError, match=r"key 'nope' not found .*available keys: big, small, y"):
        load_mat(f, key="nope")
    s = tmp_path / "sparse.mat"
    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0]])
    scipy.io.savemat(s, {"X": sp.csc_matrix(dense)})
    np.testing.assert_array_equal(load_mat(s).X, dense)


def test_mat_v73_is_transposed_back(tmp_path):
    X, y = _rng_data(n=7, d=5)  # non-square so a missing transpose cannot go unnoticed
    f = tmp_path / "big.mat"
    _write_v73(f, {"fea": X, "gnd": (y + 1).astype(np.uint8)})
    assert h5py.is_hdf5(f)
    before = _snapshot(f)
    variables = read_mat_variables(f)
    assert sorted(variables) == ["fea", "gnd"]
    assert variables["fea"].shape == (7, 5) and variables["gnd"].shape == (7, 1)
    ds = load_vectors(f)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y + 1)
    assert ds.X.flags.c_contiguous
    assert _snapshot(f) == before


def test_mat_v73_sparse_group(tmp_path):
    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 3.0]])
    csc = sp.csc_matrix(dense)
    f = tmp_path / "sp.mat"
    with h5py.File(f, "w", userblock_size=512) as fh:
        g = fh.create_group("X")
        g.attrs["MATLAB_class"] = np.bytes_("double")
        g.attrs["MATLAB_sparse"] = np.uint64(dense.shape[0])
        g.create_dataset("data", data=csc.data)
        g.create_dataset("ir", data=csc.indices.astype(np.uint64))
        g.create_dataset("jc", data=csc.indptr.astype(np.uint64))
    np.testing.assert_array_equal(load_mat(f).X, dense)


def test_mat_corrupt_and_missing(tmp_path):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"\0" * 300)
    with pytest.raises(DataError, match="bad.mat is not a valid .mat file"):
        load_mat(bad)
    with pytest.raises(DataNotFoundError):
        load_mat(tmp_path / "absent.mat")


# --------------------------------------------------------------------------- dispatch


def test_load_vectors_dispatch_and_option_errors(tmp_path):
    X, y = _rng_data()
    np.save(tmp_path / "a.npy", X)
    np.savez(tmp_path / "b.npz", X=X, y=y)
    np.savetxt(tmp_path / "c.csv", X, delimiter=",", fmt="%.17g")
    scipy.io.savemat(tmp_path / "d.mat", {"X": X, "y": y})
    for name in ("a.npy", "b.npz", "c.csv", "d.mat"):
        ds = load_vectors(tmp_path / name)
        np.testing.assert_array_equal(ds.X, X)
        assert ds.kind == "vectors" and ds.name == name.split(".")[0]
    with pytest.raises(DataError, match=r"unsupported file type '.xyz'"):
        load_vectors(tmp_path / "e.xyz")
    with pytest.raises(ConfigError, match="key/label_key apply to .npz and .mat"):
        load_vectors(tmp_path / "c.csv", key="X")
    with pytest.raises(ConfigError, match="label_column applies"):
        load_vectors(tmp_path / "a.npy", label_column=0)
    with pytest.raises(DataNotFoundError):
        load_vectors(tmp_path / "missing.csv")


def test_error_messages_are_one_line(tmp_path):
    f = tmp_path / "x.npy"
    np.save(f, np.arange(4.0))
    cases = [
        lambda: load_npy(f),
        lambda: load_npy(tmp_path / "missing.npy"),
        lambda: load_vectors(tmp_path / "y.unknown"),
    ]
    for case in cases:
        with pytest.raises(DataError) as info:
            case()
        assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_real_orl_as_a_feature_table():
    f = shared_file("images", "ORL_32x32.mat")
    mtime = os.stat(f).st_mtime_ns
    ds = load_mat(f)
    assert ds.X.shape == (400, 1024) and ds.X.dtype == np.float64
    assert ds.X.min() >= 0 and ds.X.max() <= 255
    np.testing.assert_array_equal(np.bincount(ds.y)[1:], np.full(40, 10))
    assert os.stat(f).st_mtime_ns == mtime
