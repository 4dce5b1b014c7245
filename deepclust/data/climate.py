"""Gridded climate cubes: NetCDF / GRIB / zarr files or folders -> ``(time, lat, lon, var)``.

The loader follows the preprocessing of A-DATSC (§6.1): missing values are replaced by
the mean, then every column of the flattened ``[time, lat*lon*var]`` matrix is Min-Max
scaled to ``[0, 1]``. Time steps are the samples (rows of ``X``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError, DataNotFoundError
from ._files import describe_start, is_hdf5, read_start, require_nonempty
from .container import Dataset

__all__ = ["climate_sequences", "load_climate", "to_tabular"]

_NETCDF = {".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5"}
_GRIB = {".grib", ".grib2", ".grb", ".grb2"}
_TIME_NAMES = {"time", "valid_time", "t"}
_LAT_NAMES = {"lat", "latitude", "y", "rlat"}
_LON_NAMES = {"lon", "longitude", "x", "rlon"}
_LEVEL_NAMES = {"level", "plev", "lev", "isobaricinhpa", "pressure", "pressure_level"}
_LAT_UNITS = {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"}
_LON_UNITS = {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"}
_LAT_STD = {"latitude", "grid_latitude", "projection_y_coordinate"}
_LON_STD = {"longitude", "grid_longitude", "projection_x_coordinate"}
_LEVEL_STD = {
    "air_pressure",
    "altitude",
    "height",
    "depth",
    "model_level_number",
    "atmosphere_hybrid_sigma_pressure_coordinate",
    "atmosphere_sigma_coordinate",
}
_ROLES = ("time", "lat", "lon")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


# --------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------


def _is_zarr(path: Path) -> bool:
    if path.suffix.lower() == ".zarr":
        return True
    return path.is_dir() and any(
        (path / m).exists() for m in (".zgroup", ".zarray", ".zmetadata", "zarr.json")
    )


def _zarr_consolidated(path: Path) -> bool | None:
    if (path / ".zmetadata").is_file():
        return True
    meta = path / "zarr.json"
    if meta.is_file():
        try:
            return json.loads(meta.read_text()).get("consolidated_metadata") is not None
        except (OSError, ValueError, AttributeError):
            return None  # let xarray find out
    return False


def _open(path: Path, chunks: Any) -> Any:
    import xarray as xr

    kwargs: dict[str, Any] = {}
    if chunks is not None:
        kwargs["chunks"] = chunks
    if _is_zarr(path):
        if importlib.util.find_spec("zarr") is None:
            raise DataError(
                f"reading zarr store {path} needs the optional zarr package "
                "(pip install 'deepclust[zarr]')"
            )
        kwargs["engine"] = "zarr"
        # Say whether metadata are consolidated, else xarray warns when falling back.
        kwargs["consolidated"] = _zarr_consolidated(path)
        what = "a zarr store"
    elif path.suffix.lower() in _GRIB:
        try:
            import cfgrib  # noqa: F401
        except ImportError as exc:
            raise DataError(
                f"reading GRIB file {path} needs the optional cfgrib package "
                "(pip install 'deepclust[grib]')"
            ) from exc
        kwargs["engine"] = "cfgrib"
        # cfgrib writes a .idx file beside the input by default; inputs stay untouched.
        kwargs["backend_kwargs"] = {"indexpath": ""}
        what = "GRIB"
    else:
        what = "NetCDF"
    if path.is_file():
        require_nonempty(path, f"a {what} file")
    try:
        with _grib_log_captured(path) if what == "GRIB" else contextlib.nullcontext():
            return xr.open_dataset(path, **kwargs)
    except Exception as exc:  # backends raise many types for unreadable files
        raise _open_error(path, what, exc) from exc


_NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")


def _open_error(path: Path, what: str, exc: BaseException) -> DataError:
    """Say what an unreadable climate input looks like and what was expected, in one line."""
    detail = _one_line(exc)
    if what == "a zarr store":
        return DataError(
            f"{path} is not a valid zarr store ({detail}); expected a store written by "
            "zarr/xarray (zarr.json or .zgroup/.zarray metadata)"
        )
    if what == "GRIB":
        if b"GRIB" not in read_start(path, 1 << 16):
            return DataError(
                f"{path} is not a valid GRIB file (no 'GRIB' message header; "
                f"{describe_start(path)}); expected GRIB edition 1 or 2"
            )
        return DataError(
            f"{path} is not a valid GRIB file (no readable message: {detail}); expected "
            "GRIB edition 1 or 2 (a damaged or truncated file?)"
        )
    start = read_start(path, 4)
    if start in _NETCDF3_MAGIC or is_hdf5(path):
        kind = "NetCDF-3" if start in _NETCDF3_MAGIC else "NetCDF-4/HDF5"
        return DataError(
            f"{path} is a damaged or truncated {kind} file ({detail}); expected a complete "
            "NetCDF file"
        )
    return DataError(
        f"{path} is not a valid NetCDF file ({describe_start(path)}); expected NetCDF-3 "
        "(starts with 'CDF') or NetCDF-4 (HDF5)"
    )


@contextlib.contextmanager
def _grib_log_captured(path: Path) -> Iterator[None]:
    """Keep cfgrib's tracebacks for skipped messages off the console; warn in one line.

    cfgrib logs a full traceback for every corrupted message it skips. When the file
    still opens, one warning says how many were skipped; when it does not, the DataError
    raised by the caller says why.
    """
    records: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("cfgrib")
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    skipped = [r for r in records if r.levelno >= logging.WARNING]
    if skipped:
        warnings.warn(
            f"{path}: cfgrib skipped {len(skipped)} unreadable GRIB message(s) "
            f"({skipped[0].getMessage()})",
            UserWarning,
            stacklevel=4,
        )


def _list_inputs(path: Path) -> list[Path]:
    if not path.exists():
        raise DataNotFoundError(f"climate data {path} does not exist")
    if path.is_file() or _is_zarr(path):
        return [path]
    files = sorted(
        p
        for p in path.iterdir()
        if not p.name.startswith(".")
        and ((p.is_file() and p.suffix.lower() in _NETCDF | _GRIB) or (p.is_dir() and _is_zarr(p)))
    )
    if not files:
        raise DataNotFoundError(
            f"no climate files in {path}; expected NetCDF (.nc), GRIB (.grib) or zarr stores"
        )
    return files


# --------------------------------------------------------------------------------------
# Axes and variables
# --------------------------------------------------------------------------------------


def _role(ds: Any, dim: str) -> str | None:
    """'time', 'lat', 'lon', 'level' or None for one dimension, from CF attributes then names."""
    coord = ds.variables.get(dim)
    attrs = coord.attrs if coord is not None else {}
    axis = str(attrs.get("axis", "")).upper()
    std = str(attrs.get("standard_name", "")).lower()
    units = str(attrs.get("units", "")).lower().replace(" ", "")
    name = dim.lower()
    kind = coord.dtype.kind if coord is not None else ""
    if axis == "T" or std == "time" or kind == "M":
        return "time"
    if axis == "Y" or std in _LAT_STD or units in _LAT_UNITS:
        return "lat"
    if axis == "X" or std in _LON_STD or units in _LON_UNITS:
        return "lon"
    if axis == "Z" or std in _LEVEL_STD or "positive" in attrs:
        return "level"
    if name in _TIME_NAMES:
        return "time"
    if name in _LAT_NAMES:
        return "lat"
    if name in _LON_NAMES:
        return "lon"
    if name in _LEVEL_NAMES:
        return "level"
    return None


def _dims_text(da: Any) -> str:
    return "(" + ", ".join(str(d) for d in da.dims) + ")"


def _shape_problem(da: Any, roles: dict[str, str | None]) -> str | None:
    """Why a variable is not a time x lat x lon (+ optional level) field, or None."""
    found = [roles[d] for d in da.dims]
    for r in _ROLES:
        if r not in found:
            return f"no {r} axis"
    if len(set(found)) != len(found) or None in found:
        other = [str(d) for d in da.dims if roles[d] is None]
        return "extra dimensions " + ", ".join(other) if other else "repeated axes"
    return None


def _take_level(da: Any, name: str, dim: str, level: Any) -> Any:
    values = np.asarray(da[dim].values) if dim in da.coords else np.arange(da.sizes[dim])
    if level is None:
        if da.sizes[dim] == 1:
            return da.isel({dim: 0})
        shown = ", ".join(str(v) for v in values[:8]) + (", ..." if values.size > 8 else "")
        raise DataError(
            f"variable {name!r} has {values.size} levels on {dim!r} ({shown}); "
            "expected level= to choose one"
        )
    try:
        return da.sel({dim: level})
    except (KeyError, ValueError, TypeError) as exc:
        shown = ", ".join(str(v) for v in values[:8]) + (", ..." if values.size > 8 else "")
        raise DataError(
            f"level {level!r} is not on {dim!r} of {name!r}; available: {shown}"
        ) from exc


def _select(
    ds: Any, src: Path, wanted: list[str] | None, level: Any
) -> tuple[dict[str, Any], bool, bool]:
    """Usable variables of one file as (time, lat, lon) DataArrays with canonical dims.

    Also returns whether the file has a time axis and whether a level axis was used.
    """
    roles = {d: _role(ds, str(d)) for d in ds.dims}
    has_time = "time" in roles.values()
    had_level = False
    out: dict[str, Any] = {}
    for name in ds.data_vars:
        name = str(name)
        if wanted is not None and name not in wanted:
            continue
        da = ds[name]
        problem = _shape_problem(da, roles)
        levels = [d for d in da.dims if roles[d] == "level"]
        if problem is None and len(da.dims) != 3 + len(levels):
            problem = "wrong rank"
        if problem is not None:
            if wanted is None:
                continue  # default selection: e.g. CanESM2's time_vectors(time, ts, lon, lat)
            raise DataError(
                f"variable {name!r} in {src.name} has dims {_dims_text(da)} ({problem}); "
                "expected time x lat x lon (plus an optional level)"
            )
        if da.dtype.kind not in "biuf":
            if wanted is None:
                continue
            raise DataError(f"variable {name!r} has dtype {da.dtype}; expected numbers")
        if levels:
            da = _take_level(da, name, str(levels[0]), level)
            had_level = True
        dims = {r: next(d for d in da.dims if roles[d] == r) for r in _ROLES}
        # Non-index coordinates (scalar level, 2-D lat/lon of curvilinear grids) would clash
        # with the canonical dim names; the 1-D index coordinates are kept.
        da = da.reset_coords(drop=True).rename({v: k for k, v in dims.items() if v != k})
        out[name] = da.transpose("time", "lat", "lon")
    return out, has_time, had_level


def _apply_time_slice(da: Any, time_slice: Any) -> Any:
    if time_slice is None:
        return da
    if isinstance(time_slice, (tuple, list)) and len(time_slice) == 2:  # a list: YAML, CLI
        time_slice = slice(*time_slice)
    if not isinstance(time_slice, slice):
        raise ConfigError(f"time_slice must be a slice or a (start, stop) pair; got {time_slice!r}")
    ends = (time_slice.start, time_slice.stop)
    positional = all(e is None or isinstance(e, (int, np.integer)) for e in ends)
    try:
        return da.isel(time=time_slice) if positional else da.sel(time=time_slice)
    except Exception as exc:
        raise DataError(f"time_slice {time_slice!r} cannot be applied ({_one_line(exc)})") from exc


def _span(da: Any) -> str:
    t = da["time"].values if "time" in da.coords else np.arange(da.sizes["time"])
    return f"{da.sizes['time']} steps" + (f" ({_iso(t[0])} .. {_iso(t[-1])})" if t.size else "")


def _iso(t: Any) -> str:
    if isinstance(t, np.datetime64):
        return str(t.astype("datetime64[s]"))
    return t.isoformat() if hasattr(t, "isoformat") else str(t)


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=0, atol=1e-6 * max(1.0, float(np.abs(a).max()))))
    return bool(np.all(a == b))


def _check_common_axes(fields: dict[str, Any]) -> None:
    names = list(fields)
    ref = fields[names[0]]
    for name in names[1:]:
        da = fields[name]
        for ax in ("lat", "lon"):
            ra = ref[ax].values if ax in ref.coords else np.arange(ref.sizes[ax])
            va = da[ax].values if ax in da.coords else np.arange(da.sizes[ax])
            if not _same(ra, va):
                raise DataError(
                    f"variables {names[0]!r} and {name!r} are on different grids "
                    f"({ref.sizes['lat']} x {ref.sizes['lon']} vs {da.sizes['lat']} x "
                    f"{da.sizes['lon']}, or different {ax} values); expected one common grid"
                )
        rt = ref["time"].values if "time" in ref.coords else np.arange(ref.sizes["time"])
        vt = da["time"].values if "time" in da.coords else np.arange(da.sizes["time"])
        if rt.shape != vt.shape or not np.all(rt == vt):
            raise DataError(
                f"variables {names[0]!r} and {name!r} have different time axes "
                f"({_span(ref)} vs {_span(da)}); expected the same time steps"
            )


def _time_out(da: Any) -> tuple[np.ndarray, str | None]:
    if "time" not in da.coords:
        return np.arange(da.sizes["time"]), None
    values = np.asarray(da["time"].values)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]"), "standard"
    if values.dtype.kind == "O" and values.size and hasattr(values[0], "calendar"):
        # Non-standard calendars (365_day, 360_day, ...) have no datetime64 equivalent.
        return np.array([t.isoformat() for t in values]), str(values[0].calendar)
    return values, None


# --------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------


def _fill_missing(cube: np.ndarray, names: Sequence[str], fill: str | None) -> dict[str, Any]:
    """Fill NaN/inf in place, variable by variable; return the mask and what was done."""
    valid = np.zeros(cube.shape[1:3], dtype=bool)
    counts: dict[str, int] = {}
    values: dict[str, float] = {}
    for i, name in enumerate(names):
        layer = cube[..., i]  # a view: filled in place
        bad = ~np.isfinite(layer)
        valid |= ~bad.all(axis=0)
        n_bad = int(np.count_nonzero(bad))
        counts[name] = n_bad
        if not n_bad:
            continue
        if fill is None:
            raise DataError(
                f"variable {name!r} has {n_bad} missing values (NaN); "
                "expected fill='mean' or fill='zero'"
            )
        if n_bad == layer.size:
            raise DataError(
                f"variable {name!r} has no finite value (all {n_bad} values are NaN or "
                "missing); expected some data: pick other variables with variables=[...]"
            )
        value = float(layer[~bad].mean(dtype=np.float64)) if fill == "mean" else 0.0
        layer[bad] = value
        values[name] = value
    return {"mask": valid, "n_missing": counts, "fill_values": values}


def _minmax_inplace(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale every (lat, lon, var) column to [0, 1] over time, in place; constant -> 0."""
    lo = cube.min(axis=0)
    hi = cube.max(axis=0)
    span = (hi.astype(np.float64) - lo).astype(np.float32)
    inv = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
    cube -= lo
    cube *= inv
    np.clip(cube, 0.0, 1.0, out=cube)  # float32 rounding can overshoot 1 by an ulp
    return lo, hi


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def load_climate(
    path: str | os.PathLike,
    *,
    variables: Sequence[str] | str | None = None,
    chunks: Any = None,
    fill: str | None = "mean",
    scale: str | None = "minmax",
    level: Any = None,
    time_slice: slice | tuple | None = None,
) -> Dataset:
    """Load a gridded multivariate climate cube with A-DATSC's preprocessing.

    Parameters
    ----------
    path : str or path-like
        A NetCDF file, a GRIB file (optional ``cfgrib``; no index file is written), a zarr
        store, or a directory of such files. In a directory each file may hold one or
        several variables; a variable found in several files is concatenated along time
        (files covering distinct periods). Files are opened lazily.
    variables : list of str, optional
        Variables to keep, in this order. Default: every numeric data variable whose
        dims are exactly time x lat x lon after level selection (others, such as
        CanESM2's ``time_vectors(time, ts, lon, lat)``, are skipped), in file order.
    chunks : int, dict or "auto", optional
        Open with dask chunks (requires dask) so that only the selected variables, levels
        and time steps are ever read - for sources larger than memory. Each file is
        opened with ``xarray.open_dataset(chunks=...)`` and concatenated lazily, which is
        what ``open_mfdataset`` does, but keeps per-variable error messages. The returned
        cube itself is an in-memory array.
    fill : {"mean", "zero"} or None, default "mean"
        Missing (NaN/inf) values: ``"mean"`` replaces them by the overall mean of that
        variable (over all times and cells; one mean per variable because variables
        have different units), ``"zero"`` by 0; ``None`` makes any missing value an error.
    scale : {"minmax"} or None, default "minmax"
        ``"minmax"``: every column of the ``[time, lat*lon*var]`` matrix is rescaled to
        ``[0, 1]`` over time (a constant column becomes 0). ``None``: physical units.
    level : scalar, optional
        Value of the vertical coordinate (axis ``Z``, or named ``level``, ``plev``,
        ``lev``, ``isobaricInhPa``) to select. Required when a selected variable has
        several levels; single-level axes are dropped.
    time_slice : slice or (start, stop), optional
        Time steps to keep: integer bounds select by position, other bounds (dates or
        strings such as ``"2095-06"``) by label, ends included.

    Returns
    -------
    Dataset
        ``kind="climate"``: ``cube`` float32 ``(T, lat, lon, var)``; ``X`` its
        ``(T, lat*lon*var)`` view (rows = time steps; column order lat, lon, var);
        ``y`` None; ``time`` datetime64[ns], or ISO strings for non-standard calendars
        (e.g. CanESM2's 365-day calendar); ``grid_shape=(lat, lon)``; ``mask`` the cells
        with at least one finite value; ``variables`` the names; ``extra``: ``lat``,
        ``lon``, ``source``, ``files``, ``calendar``, ``units``, ``level``, ``fill``,
        ``n_missing``, ``fill_values``, ``scale`` and ``scale_min`` / ``scale_max``
        (``(lat, lon, var)`` column minima/maxima before scaling, None if not scaled).

    Raises
    ------
    DataNotFoundError
        Missing file or directory, or a directory without climate files.
    DataError
        Unreadable file, no time axis, unknown variable (the message lists the available
        ones), a variable without lat/lon or with other dims, several levels and no
        ``level``, variables on different grids or time axes, missing values with
        ``fill=None``, optional reader (cfgrib, zarr, dask) not installed.
    ConfigError
        Invalid ``fill``, ``scale`` or ``time_slice``.

    Notes
    -----
    Axes are identified from CF attributes (``axis``, ``standard_name``, ``units`` such as
    ``degrees_north``) before common names (time: ``time``, ``valid_time``, ``t``; lat:
    ``lat``, ``latitude``, ``y``, ``rlat``; lon: ``lon``, ``longitude``, ``x``, ``rlon``), and
    each variable is transposed to ``(time, lat, lon)`` whatever its stored order. The
    stored coordinate order is kept (latitude may descend). Peak memory is the float32
    cube plus one variable in its source dtype.
    """
    wanted = _check_load_arguments(variables, chunks, fill, scale)
    root = Path(path)
    files = _list_inputs(root)
    opened: list[Any] = []
    try:
        parts, sources = _select_variables(root, files, wanted, level, chunks, opened)
        order = wanted if wanted is not None else list(parts)
        fields = {name: _sliced_field(name, parts[name], time_slice) for name in order}
        _check_common_axes(fields)
        ref = fields[order[0]]
        n_t, n_lat, n_lon = (ref.sizes[d] for d in _ROLES)
        cube = np.empty((n_t, n_lat, n_lon, len(order)), dtype=np.float32)
        for i, name in enumerate(order):
            cube[..., i] = _read_values(fields[name], name, sources[name])
        time, calendar = _time_out(ref)
        lat = np.asarray(ref["lat"].values) if "lat" in ref.coords else np.arange(n_lat)
        lon = np.asarray(ref["lon"].values) if "lon" in ref.coords else np.arange(n_lon)
        units = {name: str(fields[name].attrs.get("units", "")) for name in order}
    finally:
        for ds in opened:
            ds.close()

    info = _fill_missing(cube, order, fill)
    lo = hi = None
    if scale == "minmax":
        lo, hi = _minmax_inplace(cube)
    return Dataset(
        X=cube.reshape(n_t, -1),
        y=None,
        name=root.stem if root.suffix.lower() == ".zarr" or root.is_file() else root.name,
        kind="climate",
        grid_shape=(n_lat, n_lon),
        mask=info["mask"],
        time=time,
        variables=list(order),
        cube=cube,
        extra={
            "lat": lat,
            "lon": lon,
            "source": str(root),
            "files": {name: sorted(sources[name]) for name in order},
            "calendar": calendar,
            "units": units,
            "level": level,
            "fill": fill,
            "n_missing": info["n_missing"],
            "fill_values": info["fill_values"],
            "scale": scale,
            "scale_min": lo,
            "scale_max": hi,
        },
    )


def _check_load_arguments(
    variables: Sequence[str] | str | None, chunks: Any, fill: str | None, scale: str | None
) -> list[str] | None:
    """Validate :func:`load_climate`'s options before any file is opened; the wanted names."""
    if fill not in ("mean", "zero", None):
        raise ConfigError(f"fill={fill!r}; expected 'mean', 'zero' or None")
    if scale not in ("minmax", None):
        raise ConfigError(f"scale={scale!r}; expected 'minmax' or None")
    if not (
        chunks is None
        or chunks == "auto"
        or isinstance(chunks, dict)
        or (isinstance(chunks, int) and not isinstance(chunks, bool))
    ):
        raise ConfigError(f"chunks={chunks!r}; expected an int, a dict, 'auto' or None")
    if chunks is not None and importlib.util.find_spec("dask") is None:
        raise DataError("chunks= needs the optional dask package (pip install 'deepclust[dask]')")
    if isinstance(variables, str):
        variables = [variables]
    if variables is not None and (
        not isinstance(variables, (Sequence, np.ndarray))
        or not all(isinstance(v, str) for v in variables)
    ):
        raise ConfigError(
            f"variables={variables!r}; expected a list of variable names "
            "(CLI: --data-opt variables=[tas,pr])"
        )
    wanted = None if variables is None else [str(v) for v in variables]
    if wanted is not None and (not wanted or len(set(wanted)) != len(wanted)):
        raise ConfigError(f"variables={variables!r}; expected distinct names, at least one")
    return wanted


def _select_variables(
    root: Path, files: list[Path], wanted: list[str] | None, level: Any, chunks: Any,
    opened: list[Any],
) -> tuple[dict[str, list[Any]], dict[str, set[str]]]:  # fmt: skip
    """Each selected variable's pieces (one per file holding it) and their source files.

    Every dataset opened is appended to ``opened`` (the caller closes them)."""
    parts: dict[str, list[Any]] = {}
    sources: dict[str, set[str]] = {}
    available: dict[str, None] = {}
    any_time = used_level = False
    for f in files:
        ds = _open(f, chunks)
        opened.append(ds)
        available.update(dict.fromkeys(str(v) for v in ds.data_vars))
        sel, has_time, had_level = _select(ds, f, wanted, level)
        any_time |= has_time
        used_level |= had_level
        for name, da in sel.items():
            parts.setdefault(name, []).append(da)
            sources.setdefault(name, set()).add(str(f))
    unknown = [v for v in wanted or () if v not in available]
    if unknown:
        raise DataError(
            f"unknown variable(s) {', '.join(map(repr, unknown))} in {root}; "
            f"available: {', '.join(available) or 'none'}"
        )
    if not parts and not any_time:
        raise DataError(
            f"no time axis in {root}: expected a dimension with axis='T' or "
            "standard_name='time' or named time/valid_time/t"
        )
    if not parts:
        raise DataError(
            f"no variable with dims time x lat x lon in {root}; "
            f"available: {', '.join(available) or 'none'} (pass variables= or level=)"
        )
    if level is not None and not used_level:
        raise DataError(
            f"level={level!r} was given but no selected variable in {root} has a "
            "vertical axis; expected level=None"
        )
    return parts, sources


def _sliced_field(name: str, pieces: list[Any], time_slice: slice | tuple | None) -> Any:
    """One variable's pieces joined along time and cut to ``time_slice`` (not empty)."""
    field = _apply_time_slice(_concat_time(name, pieces), time_slice)
    if field.sizes["time"] == 0:
        raise DataError(
            f"time_slice {time_slice!r} selects no time step of {name!r}; expected at least one"
        )
    return field


def _read_values(da: Any, name: str, files: set[str]) -> np.ndarray:
    """The values of one variable; damaged chunks (zarr, HDF5) are reported here."""
    try:
        return np.asarray(da.values)  # reads (or computes) the variable
    except Exception as exc:  # codecs raise RuntimeError, OSError, ValueError, ...
        raise DataError(
            f"cannot read the values of {name!r} from {', '.join(sorted(files))} "
            f"({_one_line(exc)}); the data are damaged: expected readable chunks"
        ) from exc


def _concat_time(name: str, pieces: list[Any]) -> Any:
    """One variable spread over several files: concatenate along time, sorted."""
    if len(pieces) == 1:
        return pieces[0]
    import xarray as xr

    try:
        da = xr.concat(pieces, dim="time", join="exact", coords="minimal", compat="override")
    except ValueError as exc:
        raise DataError(
            f"files holding {name!r} are on different grids ({_one_line(exc)}); "
            "expected one common lat x lon grid"
        ) from exc
    if "time" in da.coords:
        times = da["time"].values
        if np.unique(times).size != times.size:
            raise DataError(
                f"variable {name!r} repeats time steps across files; "
                "expected files covering distinct periods"
            )
        da = da.sortby("time")
    return da


def _as_4d(cube: Any) -> np.ndarray:
    if isinstance(cube, Dataset):
        if cube.cube is None:
            raise DataError(f"dataset {cube.name!r} has no cube; expected a climate dataset")
        cube = cube.cube
    arr = np.asarray(cube)
    if arr.ndim != 4:
        raise DataError(f"cube has shape {arr.shape}; expected 4-D (time, lat, lon, var)")
    return arr


def climate_sequences(cube: np.ndarray | Dataset, length: int, *, stride: int = 1) -> np.ndarray:
    """Sliding windows of ``length`` consecutive time steps, as a strided view.

    Parameters
    ----------
    cube : ndarray of shape (T, lat, lon, var) or Dataset
    length : int
        Steps per sequence, ``1 <= length <= T``.
    stride : int, default 1
        Step between the starts of consecutive sequences.

    Returns
    -------
    ndarray of shape (n_seq, length, lat, lon, var)
        ``out[i] == cube[i*stride : i*stride + length]`` with
        ``n_seq = (T - length) // stride + 1``. A read-only view sharing memory with
        ``cube`` (copy it before writing).
    """
    arr = _as_4d(cube)
    for label, v in (("length", length), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{label} must be a positive integer; got {v!r}")
    if length > arr.shape[0]:
        raise DataError(
            f"length={length} but the cube has {arr.shape[0]} time steps; expected length <= T"
        )
    win = np.lib.stride_tricks.sliding_window_view(arr, int(length), axis=0)
    return np.moveaxis(win, -1, 1)[:: int(stride)]


def to_tabular(cube: np.ndarray | Dataset) -> np.ndarray:
    """The ``[time, lat*lon*var]`` matrix of a cube (a view when the cube is C-ordered).

    Parameters
    ----------
    cube : ndarray of shape (T, lat, lon, var) or Dataset

    Returns
    -------
    ndarray of shape (T, lat*lon*var)
        Column ``(i * lon + j) * var + v`` is variable ``v`` at cell ``(i, j)``, the layout
        of ``Dataset.X`` from :func:`load_climate`.
    """
    arr = _as_4d(cube)
    return arr.reshape(arr.shape[0], -1)
