"""Climate cube loader: NetCDF round trips (transposed dims, 365-day calendar, NaN fill,
Min-Max), variable selection, multi-file folders, every error path, sequence views."""

from __future__ import annotations

import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from deepclust.data.climate import climate_sequences, load_climate, to_tabular
from deepclust.exceptions import ConfigError, DataError, DataNotFoundError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
T, NLAT, NLON = 10, 3, 4


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _times(n=T, start="2001-01-01", calendar="noleap"):
    return xr.date_range(start, periods=n, freq="D", calendar=calendar, use_cftime=True)


def _coords(times=None, lat=None, lon=None):
    lat = np.linspace(50.0, 40.0, NLAT) if lat is None else lat  # descending, like CanESM2
    lon = np.linspace(-75.0, -72.0, NLON) if lon is None else lon
    return {
        "time": ("time", _times() if times is None else times, {"axis": "T"}),
        "lat": ("lat", lat, {"units": "degrees_north", "axis": "Y"}),
        "lon": ("lon", lon, {"units": "degrees_east", "axis": "X"}),
    }


def _field(seed, shape=(T, NLAT, NLON)):
    return np.random.default_rng(seed).normal(280.0, 5.0, size=shape)


def _write(path: Path, ds: xr.Dataset, calendar="365_day", tname="time") -> Path:
    enc = {tname: {"units": "days since 2000-01-01", "calendar": calendar}}
    ds.to_netcdf(path, encoding=enc)
    return path


def _dataset(seed=0, times=None, nan_at=(2, 1, 3)):
    """Variables: 'tas' stored as (time, lon, lat), 'pr' as (time, lat, lon), and an extra
    (time, ts, lon, lat) variable that the default selection must skip."""
    tas = _field(seed)  # (time, lat, lon) truth
    if nan_at is not None:
        tas[nan_at] = np.nan
    pr = np.abs(_field(seed + 1)) * 1e-7
    ds = xr.Dataset(
        {
            "tas": (("time", "lon", "lat"), tas.transpose(0, 2, 1), {"units": "K"}),
            "pr": (("time", "lat", "lon"), pr, {"units": "kg m-2 s-1"}),
            "time_vectors": (("time", "ts", "lon", "lat"), np.zeros((T, 2, NLON, NLAT))),
        },
        coords=_coords(times),
    )
    return ds, tas, pr


# ------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------


def test_netcdf_round_trip_transposes_and_fills(tmp_path):
    ds, tas, pr = _dataset()
    path = _write(tmp_path / "cube.nc", ds)
    before = _md5(path)
    out = load_climate(path, scale=None)
    assert out.kind == "climate" and out.name == "cube"
    assert out.variables == ["tas", "pr"]
    assert out.cube.shape == (T, NLAT, NLON, 2) and out.cube.dtype == np.float32
    assert out.X.shape == (T, NLAT * NLON * 2) and np.shares_memory(out.X, out.cube)
    filled = tas.copy()
    filled[2, 1, 3] = np.nanmean(tas)  # overall mean of that variable
    np.testing.assert_allclose(out.cube[..., 0], filled, rtol=1e-6)
    np.testing.assert_allclose(out.cube[..., 1], pr, rtol=1e-6)
    assert out.extra["n_missing"] == {"tas": 1, "pr": 0}
    assert out.extra["fill_values"]["tas"] == pytest.approx(np.nanmean(tas))
    assert out.y is None and out.grid_shape == (NLAT, NLON) and out.mask.all()
    # 365-day calendar: cftime objects become ISO strings.
    assert out.time[0] == "2001-01-01T00:00:00" and out.time[-1] == "2001-01-10T00:00:00"
    assert out.extra["calendar"] == "noleap"
    np.testing.assert_allclose(out.extra["lat"], np.linspace(50.0, 40.0, NLAT))
    np.testing.assert_allclose(out.extra["lon"], np.linspace(-75.0, -72.0, NLON))
    assert out.extra["units"] == {"tas": "K", "pr": "kg m-2 s-1"}
    assert _md5(path) == before


def test_minmax_per_column(tmp_path):
    ds, tas, pr = _dataset(nan_at=None)
    ds["pr"][:, 0, 0] = 3.0  # a constant column
    path = _write(tmp_path / "c.nc", ds)
    out = load_climate(path)
    X = out.X
    assert X.min() >= 0.0 and X.max() <= 1.0
    col = lambda i, j, v: (i * NLON + j) * 2 + v  # noqa: E731
    assert np.all(X[:, col(0, 0, 1)] == 0.0)
    np.testing.assert_allclose(X[:, col(1, 2, 0)].min(), 0.0)
    np.testing.assert_allclose(X[:, col(1, 2, 0)].max(), 1.0)
    x = tas[:, 1, 2]
    np.testing.assert_allclose(X[:, col(1, 2, 0)], (x - x.min()) / (x.max() - x.min()), atol=1e-5)
    np.testing.assert_allclose(out.extra["scale_min"][1, 2, 0], x.min(), rtol=1e-6)
    np.testing.assert_allclose(out.extra["scale_max"][1, 2, 0], x.max(), rtol=1e-6)
    non_const = np.ptp(X, axis=0) > 0
    assert non_const.sum() == X.shape[1] - 1


def test_fill_zero_none_and_bad_options(tmp_path):
    ds, tas, _ = _dataset()
    path = _write(tmp_path / "c.nc", ds)
    out = load_climate(path, fill="zero", scale=None)
    assert out.cube[2, 1, 3, 0] == 0.0
    with pytest.raises(DataError) as e:
        load_climate(path, fill=None)
    assert (
        _err(e) == "variable 'tas' has 1 missing values (NaN); expected fill='mean' or fill='zero'"
    )
    with pytest.raises(ConfigError, match="fill='median'"):
        load_climate(path, fill="median")
    with pytest.raises(ConfigError, match="scale='zscore'"):
        load_climate(path, scale="zscore")


def test_all_nan_cells_are_masked(tmp_path):
    ds, tas, _ = _dataset(nan_at=None)
    ds["tas"][:, 2, 0] = np.nan  # stored (time, lon, lat): cell lat 0, lon 2
    ds["pr"][:, 0, 2] = np.nan
    out = load_climate(_write(tmp_path / "c.nc", ds))
    expected = np.ones((NLAT, NLON), bool)
    expected[0, 2] = False
    np.testing.assert_array_equal(out.mask, expected)
    assert np.isfinite(out.X).all()


def test_variable_selection(tmp_path):
    ds, tas, pr = _dataset(nan_at=None)
    path = _write(tmp_path / "c.nc", ds)
    out = load_climate(path, variables=["pr", "tas"], scale=None)
    assert out.variables == ["pr", "tas"]
    np.testing.assert_allclose(out.cube[..., 0], pr, rtol=1e-6)
    assert load_climate(path, variables="tas").variables == ["tas"]
    with pytest.raises(DataError) as e:
        load_climate(path, variables=["tas", "psl"])
    assert "'psl'" in _err(e) and "available: tas, pr, time_vectors" in _err(e)
    with pytest.raises(DataError) as e:
        load_climate(path, variables=["time_vectors"])
    assert "(time, ts, lon, lat)" in _err(e) and "expected time x lat x lon" in _err(e)
    with pytest.raises(ConfigError):
        load_climate(path, variables=["tas", "tas"])


def test_cf_attributes_identify_unusually_named_axes(tmp_path):
    data = _field(3)
    ds = xr.Dataset(
        {"z500": (("xx", "step", "yy"), data.transpose(2, 0, 1))},
        coords={
            "step": ("step", _times(calendar="standard"), {"standard_name": "time"}),
            "yy": ("yy", np.arange(NLAT) * 1.0, {"units": "degrees_north"}),
            "xx": ("xx", np.arange(NLON) * 2.0, {"standard_name": "longitude"}),
        },
    )
    path = _write(tmp_path / "odd.nc", ds, calendar="standard", tname="step")
    out = load_climate(path, scale=None)
    np.testing.assert_allclose(out.cube[..., 0], data, rtol=1e-6)
    # Standard calendar: numpy datetime64.
    assert out.time.dtype == np.dtype("datetime64[ns]")
    assert out.time[0] == np.datetime64("2001-01-01")
    np.testing.assert_allclose(out.extra["lon"], np.arange(NLON) * 2.0)


def test_multi_file_directory(tmp_path):
    ds, tas, pr = _dataset(nan_at=None)
    folder = tmp_path / "run"
    folder.mkdir()
    _write(folder / "pr_2001.nc", ds[["pr", "time_vectors"]])
    _write(folder / "tas_2001.nc", ds[["tas", "time_vectors"]])
    # A third variable split over two files (second half first on disk).
    psl = _field(7)
    full = xr.Dataset({"psl": (("time", "lat", "lon"), psl)}, coords=_coords())
    _write(folder / "psl_a.nc", full.isel(time=slice(5, None)))
    _write(folder / "psl_b.nc", full.isel(time=slice(0, 5)))
    (folder / "README.txt").write_text("not data")
    digests = {p.name: _md5(p) for p in folder.iterdir()}
    out = load_climate(folder, scale=None)
    assert out.name == "run"
    assert out.variables == ["pr", "psl", "tas"]  # order of the sorted file list
    np.testing.assert_allclose(out.cube[..., 1], psl, rtol=1e-6)
    np.testing.assert_allclose(out.cube[..., 2], tas, rtol=1e-6)
    assert out.time[0] == "2001-01-01T00:00:00" and len(out.time) == T
    assert {p.name: _md5(p) for p in folder.iterdir()} == digests


def test_files_on_different_grids_or_times(tmp_path):
    a = xr.Dataset({"a": (("time", "lat", "lon"), _field(0))}, coords=_coords())
    fine = xr.Dataset(
        {"b": (("time", "lat", "lon"), _field(1, (T, NLAT + 1, NLON)))},
        coords=_coords(lat=np.linspace(50.0, 40.0, NLAT + 1)),
    )
    grid = tmp_path / "grid"
    grid.mkdir()
    _write(grid / "a.nc", a)
    _write(grid / "b.nc", fine)
    with pytest.raises(DataError) as e:
        load_climate(grid)
    assert "'a' and 'b' are on different grids" in _err(e)
    later = xr.Dataset(
        {"b": (("time", "lat", "lon"), _field(1))}, coords=_coords(times=_times(start="2002-01-01"))
    )
    times = tmp_path / "times"
    times.mkdir()
    _write(times / "a.nc", a)
    _write(times / "b.nc", later)
    with pytest.raises(DataError) as e:
        load_climate(times)
    assert "different time axes" in _err(e) and "2002-01-01" in _err(e)
    dup = tmp_path / "dup"
    dup.mkdir()
    _write(dup / "a1.nc", a)
    _write(dup / "a2.nc", a)
    with pytest.raises(DataError, match="repeats time steps"):
        load_climate(dup)


def test_levels(tmp_path):
    ta = np.random.default_rng(0).normal(size=(T, 2, NLAT, NLON))
    coords = _coords()
    coords["plev"] = ("plev", [85000.0, 50000.0], {"units": "Pa", "positive": "down"})
    ds = xr.Dataset({"ta": (("time", "plev", "lat", "lon"), ta)}, coords=coords)
    path = _write(tmp_path / "ta.nc", ds)
    with pytest.raises(DataError) as e:
        load_climate(path)
    assert "2 levels on 'plev'" in _err(e) and "level=" in _err(e)
    out = load_climate(path, level=50000.0, scale=None)
    np.testing.assert_allclose(out.cube[..., 0], ta[:, 1], rtol=1e-6)
    assert out.extra["level"] == 50000.0
    with pytest.raises(DataError, match="level 70000 is not on 'plev'"):
        load_climate(path, level=70000)
    flat, _, _ = _dataset(nan_at=None)
    with pytest.raises(DataError, match="no selected variable"):
        load_climate(_write(tmp_path / "flat.nc", flat), level=850)
    single = ds.isel(plev=[0])
    out = load_climate(_write(tmp_path / "one.nc", single), scale=None)
    np.testing.assert_allclose(out.cube[..., 0], ta[:, 0], rtol=1e-6)


def test_time_slice(tmp_path):
    ds, tas, _ = _dataset(nan_at=None)
    path = _write(tmp_path / "c.nc", ds)
    out = load_climate(path, time_slice=("2001-01-03", "2001-01-05"), scale=None)
    assert list(out.time) == [f"2001-01-0{d}T00:00:00" for d in (3, 4, 5)]
    np.testing.assert_allclose(out.cube[..., 0], tas[2:5], rtol=1e-6)
    out = load_climate(path, time_slice=slice(0, 10, 2), scale=None)
    np.testing.assert_allclose(out.cube[..., 0], tas[::2], rtol=1e-6)
    with pytest.raises(DataError, match="selects no time step"):
        load_climate(path, time_slice=("2005-01-01", "2005-02-01"))
    with pytest.raises(ConfigError):
        load_climate(path, time_slice="2001")


def test_dask_chunks_give_the_same_cube(tmp_path):
    pytest.importorskip("dask")
    ds, _, _ = _dataset()
    folder = tmp_path / "d"
    folder.mkdir()
    _write(folder / "pr.nc", ds[["pr"]])
    _write(folder / "tas.nc", ds[["tas"]])
    eager = load_climate(folder)
    lazy = load_climate(folder, chunks={"time": 5})
    np.testing.assert_array_equal(eager.cube, lazy.cube)


def test_zarr_store(tmp_path):
    pytest.importorskip("zarr")
    ds, tas, pr = _dataset(nan_at=None)
    enc = {"time": {"units": "days since 2000-01-01", "calendar": "365_day"}}
    for consolidated in (False, True):
        store = tmp_path / f"cube{int(consolidated)}.zarr"
        with warnings.catch_warnings():  # zarr 3 warns that consolidation is not standard
            warnings.simplefilter("ignore")
            ds.to_zarr(store, consolidated=consolidated, encoding=enc)
        out = load_climate(store, scale=None)
        assert out.name == store.stem and sorted(out.variables) == ["pr", "tas"]
        np.testing.assert_allclose(out.cube[..., out.variables.index("tas")], tas, rtol=1e-6)
        assert out.time[0] == "2001-01-01T00:00:00"


def test_grib_file_without_index_files(tmp_path):
    pytest.importorskip("cfgrib")
    try:
        import eccodes
    except (ImportError, RuntimeError):
        pytest.skip("eccodes is not usable here")
    vals = np.random.default_rng(0).random((3, 4, 5)) + 280.0
    path = tmp_path / "t2m.grib"
    grid = {
        "Ni": 5,
        "Nj": 4,
        "latitudeOfFirstGridPointInDegrees": 50.0,
        "longitudeOfFirstGridPointInDegrees": 0.0,
        "latitudeOfLastGridPointInDegrees": 47.0,
        "longitudeOfLastGridPointInDegrees": 4.0,
        "iDirectionIncrementInDegrees": 1.0,
        "jDirectionIncrementInDegrees": 1.0,
        "dataTime": 0,
        "shortName": "2t",
    }
    with open(path, "wb") as fh:
        for t in range(3):
            h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
            for key, value in {**grid, "dataDate": 20010101 + t}.items():
                eccodes.codes_set(h, key, value)
            eccodes.codes_set_values(h, vals[t].ravel())
            eccodes.codes_write(h, fh)
            eccodes.codes_release(h)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = load_climate(path, scale=None)
    assert out.variables == ["t2m"] and out.cube.shape == (3, 4, 5, 1)
    np.testing.assert_allclose(out.cube[..., 0], vals, atol=1e-3)  # GRIB packing precision
    np.testing.assert_allclose(out.extra["lat"], [50.0, 49.0, 48.0, 47.0])
    assert out.time[2] == np.datetime64("2001-01-03")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .idx beside the input


def test_missing_unreadable_and_axisless_inputs(tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError):
        load_climate(tmp_path / "nope.nc")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError) as e:
        load_climate(empty)
    assert "no climate files" in _err(e)
    (tmp_path / "junk.nc").write_bytes(b"definitely not netcdf")
    with pytest.raises(DataError) as e:
        load_climate(tmp_path / "junk.nc")
    assert "junk.nc is not a valid NetCDF file" in _err(e)
    static = xr.Dataset({"orog": (("lat", "lon"), np.ones((NLAT, NLON)))}, coords=_coords())
    static = static.drop_vars("time")
    static.to_netcdf(tmp_path / "static.nc")
    with pytest.raises(DataError) as e:
        load_climate(tmp_path / "static.nc")
    assert "no time axis" in _err(e)
    station = xr.Dataset(
        {"obs": (("time", "station"), np.ones((T, 3)))},
        coords={"time": _times(calendar="standard")},
    )
    station.to_netcdf(tmp_path / "station.nc")
    with pytest.raises(DataError, match="no variable with dims time x lat x lon"):
        load_climate(tmp_path / "station.nc")
    with pytest.raises(DataError, match="no lat axis"):
        load_climate(tmp_path / "station.nc", variables=["obs"])
    (tmp_path / "x.grib").write_bytes(b"GRIB")
    monkeypatch.setitem(sys.modules, "cfgrib", None)
    with pytest.raises(DataError) as e:
        load_climate(tmp_path / "x.grib")
    assert "cfgrib" in _err(e)


# ------------------------------------------------------------------------------------------
# Views
# ------------------------------------------------------------------------------------------


def test_climate_sequences_are_strided_views():
    cube = np.arange(10 * 2 * 3 * 2, dtype=np.float32).reshape(10, 2, 3, 2)
    seq = climate_sequences(cube, 4, stride=3)
    assert seq.shape == (3, 4, 2, 3, 2)
    assert np.shares_memory(seq, cube)
    for i in range(3):
        np.testing.assert_array_equal(seq[i], cube[3 * i : 3 * i + 4])
    assert climate_sequences(cube, 10).shape == (1, 10, 2, 3, 2)
    with pytest.raises(DataError, match="length=11"):
        climate_sequences(cube, 11)
    with pytest.raises(ConfigError):
        climate_sequences(cube, 0)
    with pytest.raises(DataError, match="4-D"):
        climate_sequences(cube[0], 2)


def test_to_tabular_layout():
    cube = np.random.default_rng(0).random((5, 2, 3, 4))
    tab = to_tabular(cube)
    assert tab.shape == (5, 24) and np.shares_memory(tab, cube)
    i, j, v = 1, 2, 3
    np.testing.assert_array_equal(tab[:, (i * 3 + j) * 4 + v], cube[:, i, j, v])
    with pytest.raises(DataError):
        to_tabular(cube[0])


# ------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_canesm2_2095():
    folder = SHARED / "climate" / "canesm2_2095"
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder}")
    digests = {p.name: _md5(p) for p in folder.iterdir()}
    ds = load_climate(folder)
    assert ds.variables == ["pr", "tasmax", "tasmin"]
    assert ds.cube.shape == (365, 36, 36, 3) and ds.grid_shape == (36, 36)
    assert ds.X.shape == (365, 36 * 36 * 3)
    assert np.isfinite(ds.X).all() and ds.X.min() >= 0.0 and ds.X.max() <= 1.0
    assert ds.time[0] == "2095-01-01T00:00:00" and ds.time[-1] == "2095-12-31T00:00:00"
    assert ds.extra["calendar"] == "noleap"
    assert int((~ds.mask).sum()) == 2  # two cells are NaN all year in every variable
    assert ds.extra["n_missing"] == {"pr": 730, "tasmax": 730, "tasmin": 730}
    # Summer is warmer than winter: the scaled tasmax of July beats January's.
    assert ds.cube[181:212, ..., 1].mean() > ds.cube[0:31, ..., 1].mean()
    assert {p.name: _md5(p) for p in folder.iterdir()} == digests
