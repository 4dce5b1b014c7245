"""Standardised anomalies of a climate cube: seasonal cycle and linear trend removed.

What climatologists usually cluster: on a multi-decade warming run, clusters of raw
fields follow the trend (contiguous blocks of years), and within one year they follow
the seasons. For every grid cell and variable (every column of the ``[time,
lat*lon*var]`` view) a least-squares fit of

    a + b t + sum_k (c_k sin(2 pi k d / P) + s_k cos(2 pi k d / P)),   k = 1..n_harmonics

(``t`` time in years, ``d`` the day of the year, ``P`` = 365.25 days) is subtracted, and
the residual is divided by its standard deviation. A harmonic annual cycle can be fitted
from a single year, where a day-of-year climatology cannot. All columns share one design
matrix, so the fit is a single ``lstsq`` call.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError

YEAR_DAYS = 365.25


def year_fraction(time: Any, n: int) -> np.ndarray:
    """Time of each step in years (year + day-of-year / 365.25) from a time axis."""
    from ..plots import calendar_of

    cal = calendar_of(time, n)
    if cal is None:
        raise DataError(
            "standardised anomalies need dates on the time axis (datetime64, cftime or ISO "
            "strings); this cube has none"
        )
    doy = (cal.month - 1) * (YEAR_DAYS / 12.0) + (cal.day - 1) + cal.hour / 24.0
    return cal.year + doy / YEAR_DAYS


def anomaly_design(years: np.ndarray, n_harmonics: int = 3, detrend: bool = True) -> np.ndarray:
    """Columns ``1, t, sin/cos(2 pi k t)`` (``t`` in years) of the seasonal-trend fit."""
    if n_harmonics < 0:
        raise ConfigError(f"n_harmonics={n_harmonics} must be >= 0")
    t = np.asarray(years, dtype=np.float64)
    cols = [np.ones_like(t)]
    if detrend:
        cols.append(t - t.mean())
    for k in range(1, n_harmonics + 1):
        cols += [np.sin(2 * np.pi * k * t), np.cos(2 * np.pi * k * t)]
    return np.column_stack(cols)


def standardised_anomalies(
    cube: np.ndarray, time: Any, *, n_harmonics: int = 3, detrend: bool = True
) -> np.ndarray:
    """Anomalies of ``cube`` (time first; any trailing shape) in units of their spread.

    Parameters
    ----------
    cube : ndarray (time, ...)
    time : array-like
        Dates of the steps (see :func:`year_fraction`).
    n_harmonics : int, default 3
        Harmonics of the annual cycle removed (0: none).
    detrend : bool, default True
        Remove a linear trend too.
    """
    n = cube.shape[0]
    design = anomaly_design(year_fraction(time, n), n_harmonics, detrend)
    if design.shape[1] >= n:
        raise DataError(
            f"{n} time steps are too few to fit {design.shape[1]} seasonal/trend terms; "
            "expected more steps or fewer harmonics"
        )
    flat = cube.reshape(n, -1).astype(np.float64)
    finite = np.isfinite(flat)
    with warnings.catch_warnings():  # an all-NaN column (land in an SST field) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        column_mean = np.nanmean(np.where(finite, flat, np.nan), axis=0)
    filled = np.where(finite, flat, column_mean)
    filled = np.nan_to_num(filled)
    coef, *_ = np.linalg.lstsq(design, filled, rcond=None)
    resid = filled - design @ coef
    sd = resid.std(axis=0)
    out = resid / np.where(sd > 0, sd, 1.0)
    out[~finite] = np.nan
    return out.astype(np.float32).reshape(cube.shape)


__all__ = ["anomaly_design", "standardised_anomalies", "year_fraction"]
