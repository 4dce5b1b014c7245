"""The optional climate readers end to end: a tiny zarr store and a tiny GRIB file written
here and loaded through ``deepclust.load("climate:...")``, plus their damaged variants.

Needs the ``dev`` extra (zarr; cfgrib + eccodes, whose ecCodes library comes from the
``eccodeslib`` wheel); each test skips when its package is missing.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import deepclust
from deepclust.exceptions import DataError

T, NLAT, NLON = 4, 3, 5


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _tree_md5(root: Path) -> dict[str, str]:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


def _cube(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(280.0, 4.0, size=(T, NLAT, NLON))


# --------------------------------------------------------------------------- zarr


def _write_zarr(store: Path, zarr_format: int, consolidated: bool) -> np.ndarray:
    tas = _cube()
    ds = xr.Dataset(
        {"tas": (("time", "lat", "lon"), tas, {"units": "K"})},
        coords={
            "time": np.array(["2001-01-01", "2001-01-02", "2001-01-03", "2001-01-04"], "M8[ns]"),
            "lat": np.linspace(50.0, 48.0, NLAT),
            "lon": np.linspace(0.0, 4.0, NLON),
        },
    )
    with warnings.catch_warnings():  # zarr 3 warns that consolidated metadata is not standard
        warnings.simplefilter("ignore")
        ds.to_zarr(store, zarr_format=zarr_format, consolidated=consolidated)
    return tas


@pytest.mark.parametrize(("zarr_format", "consolidated"), [(2, True), (3, False)])
def test_zarr_store_through_load(tmp_path, zarr_format, consolidated):
    pytest.importorskip("zarr")
    store = tmp_path / "cube.zarr"
    tas = _write_zarr(store, zarr_format, consolidated)
    before = _tree_md5(store)
    ds = deepclust.load(f"climate:{store}", scale=None)
    assert ds.kind == "climate" and ds.name == "cube" and ds.variables == ["tas"]
    assert ds.cube.shape == (T, NLAT, NLON, 1) and ds.grid_shape == (NLAT, NLON)
    np.testing.assert_allclose(ds.cube[..., 0], tas, rtol=1e-6)
    assert ds.time[1] == np.datetime64("2001-01-02") and ds.extra["units"] == {"tas": "K"}
    scaled = deepclust.load(f"climate:{store}")  # A-DATSC Min-Max per column
    assert scaled.X.min() == 0.0 and scaled.X.max() == 1.0
    assert _tree_md5(store) == before


def test_damaged_zarr_stores(tmp_path):
    pytest.importorskip("zarr")
    bad_meta = tmp_path / "meta.zarr"
    _write_zarr(bad_meta, 3, False)
    (bad_meta / "zarr.json").write_text("{not json")
    with pytest.raises(DataError) as e:
        deepclust.load(f"climate:{bad_meta}")
    assert _err(e).startswith(f"{bad_meta} is not a valid zarr store (")
    assert "expected a store written by zarr/xarray" in _err(e)

    bad_chunk = tmp_path / "chunk.zarr"
    _write_zarr(bad_chunk, 3, False)
    for chunk in (bad_chunk / "tas").rglob("*"):
        if chunk.is_file() and chunk.name != "zarr.json":
            chunk.write_bytes(b"\x00garbage" * 8)
    with pytest.raises(DataError) as e:  # was a RuntimeError from the codec
        deepclust.load(f"climate:{bad_chunk}")
    assert _err(e).startswith(f"cannot read the values of 'tas' from {bad_chunk} (")

    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    with pytest.raises(DataError, match="empty.zarr is not a valid zarr store"):
        deepclust.load(f"climate:{empty}")


# --------------------------------------------------------------------------- GRIB


@pytest.fixture
def eccodes():
    pytest.importorskip("cfgrib")
    try:
        import eccodes as ec
    except (ImportError, RuntimeError):  # the python package without its library
        pytest.skip("eccodes (with its ecCodes library) is not usable here")
    return ec


def _write_grib(ec, path: Path, values: np.ndarray) -> None:
    """Daily 2 m temperature on a 1-degree grid, one GRIB2 message per day."""
    grid = {
        "Ni": NLON,
        "Nj": NLAT,
        "latitudeOfFirstGridPointInDegrees": 50.0,
        "longitudeOfFirstGridPointInDegrees": 0.0,
        "latitudeOfLastGridPointInDegrees": 50.0 - (NLAT - 1),
        "longitudeOfLastGridPointInDegrees": float(NLON - 1),
        "iDirectionIncrementInDegrees": 1.0,
        "jDirectionIncrementInDegrees": 1.0,
        "dataTime": 0,
        "shortName": "2t",
    }
    with open(path, "wb") as fh:
        for t in range(values.shape[0]):
            h = ec.codes_grib_new_from_samples("regular_ll_sfc_grib2")
            try:
                for key, value in {**grid, "dataDate": 20010101 + t}.items():
                    ec.codes_set(h, key, value)
                ec.codes_set_values(h, values[t].ravel())
                ec.codes_write(h, fh)
            finally:
                ec.codes_release(h)


def test_grib_file_through_load(tmp_path, eccodes):
    vals = _cube(1)
    path = tmp_path / "t2m.grib2"
    _write_grib(eccodes, path, vals)
    before = _tree_md5(tmp_path)
    ds = deepclust.load(f"climate:{path}", scale=None)
    assert ds.variables == ["t2m"] and ds.cube.shape == (T, NLAT, NLON, 1)
    np.testing.assert_allclose(ds.cube[..., 0], vals, atol=1e-3)  # GRIB packing precision
    np.testing.assert_allclose(ds.extra["lat"], [50.0, 49.0, 48.0])
    assert ds.time[3] == np.datetime64("2001-01-04") and ds.extra["units"]["t2m"] == "K"
    assert _tree_md5(tmp_path) == before  # no .idx index written beside the input


def test_grib_in_a_folder(tmp_path, eccodes):
    vals = _cube(2)
    _write_grib(eccodes, tmp_path / "t2m.grib", vals)
    ds = deepclust.load(f"climate:{tmp_path}", scale=None)
    assert ds.variables == ["t2m"] and ds.extra["files"]["t2m"] == [str(tmp_path / "t2m.grib")]


def test_damaged_grib_files(tmp_path, eccodes, capfd):
    junk = tmp_path / "junk.grib"
    junk.write_bytes(np.random.default_rng(0).bytes(200))
    with pytest.raises(DataError) as e:
        deepclust.load(f"climate:{junk}")
    assert _err(e) == (
        f"{junk} is not a valid GRIB file (no 'GRIB' message header; starts with bytes "
        f"{junk.read_bytes()[:8].hex()}); expected GRIB edition 1 or 2"
    )
    good = tmp_path / "good.grib"
    _write_grib(eccodes, good, _cube(3))
    cut = tmp_path / "cut.grib"
    cut.write_bytes(good.read_bytes()[:60])
    with pytest.raises(DataError) as e:
        deepclust.load(f"climate:{cut}")
    assert "cut.grib is not a valid GRIB file (no readable message" in _err(e)
    assert "Traceback" not in capfd.readouterr().err  # cfgrib's logged tracebacks are kept back
    empty = tmp_path / "empty.grib"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty.grib is empty"):
        deepclust.load(f"climate:{empty}")


def test_grib_with_one_damaged_message_loads_with_one_warning(tmp_path, eccodes, capfd):
    path = tmp_path / "tail.grib"
    vals = _cube(4)
    _write_grib(eccodes, path, vals)
    path.write_bytes(path.read_bytes() + b"GRIB\x00\x00\x00\x02" + bytes(40))
    with pytest.warns(UserWarning, match="cfgrib skipped 1 unreadable GRIB message"):
        ds = deepclust.load(f"climate:{path}", scale=None)
    np.testing.assert_allclose(ds.cube[..., 0], vals, atol=1e-3)
    assert "Traceback" not in capfd.readouterr().err
