"""Standardised anomalies: the seasonal cycle and the trend leave, the weather stays."""

from __future__ import annotations

import numpy as np
import pytest

from deepclust.data.anomalies import anomaly_design, standardised_anomalies, year_fraction
from deepclust.exceptions import DataError


def _daily(n: int) -> np.ndarray:
    return np.datetime64("2001-01-01") + np.arange(n).astype("timedelta64[D]")


def test_year_fraction_and_design():
    t = year_fraction(_daily(3), 3)
    np.testing.assert_allclose(t - 2001, [0, 1 / 365.25, 2 / 365.25])
    d = anomaly_design(t, n_harmonics=2)
    assert d.shape == (3, 6)
    np.testing.assert_allclose(d[:, 0], 1.0)
    assert anomaly_design(t, 0, detrend=False).shape == (3, 1)
    with pytest.raises(DataError, match="dates"):
        year_fraction(np.arange(3), 3)


def test_seasonal_cycle_and_trend_are_removed():
    n = 3 * 365
    time = _daily(n)
    years = year_fraction(time, n)
    rng = np.random.default_rng(0)
    weather = rng.normal(size=(n, 2, 2, 1))
    season = 10 * np.sin(2 * np.pi * years)[:, None, None, None]
    trend = 3 * (years - years[0])[:, None, None, None]
    raw = (season + trend + weather).astype(np.float32)
    anom = standardised_anomalies(raw, time)
    # the anomalies are the weather (up to its own scale), not the season or the trend
    corr = np.corrcoef(anom[:, 0, 0, 0], weather[:, 0, 0, 0])[0, 1]
    assert corr > 0.99
    assert abs(np.corrcoef(anom[:, 0, 0, 0], season[:, 0, 0, 0])[0, 1]) < 0.05
    np.testing.assert_allclose(anom.reshape(n, -1).std(0), 1.0, rtol=1e-4)
    # per-column affine changes (units, min-max scaling) give the same anomalies
    np.testing.assert_allclose(standardised_anomalies(5 * raw + 2, time), anom, atol=1e-4)


def test_nan_stays_nan_and_too_short_series_is_an_error():
    time = _daily(30)
    cube = np.random.default_rng(1).normal(size=(30, 2, 1, 1)).astype(np.float32)
    cube[:, 1] = np.nan
    cube[3, 0] = np.nan
    out = standardised_anomalies(cube, time)
    assert np.isnan(out[:, 1]).all() and np.isnan(out[3, 0]).all()
    assert np.isfinite(out[[0, 1, 2, 4], 0]).all()
    with pytest.raises(DataError, match="too few"):
        standardised_anomalies(cube[:5], time[:5])


def test_cli_preprocess_anomalies(tmp_path):
    from deepclust.exceptions import ConfigError
    from deepclust.run import RunSettings, check_preprocess, run

    with pytest.raises(ConfigError, match="anomalies"):
        check_preprocess({"anomalies": "yes"})
    settings = RunSettings(method="kmeans", data="synthetic:climate", n_clusters=4, seed=0,
                           preprocess={"anomalies": True})  # fmt: skip
    result = run(settings, out=tmp_path / "o")
    assert result.dataset.extra["anomalies"].startswith("3 annual harmonics")
    assert np.isfinite(result.metrics["silhouette"])
    with pytest.raises(ConfigError, match="needs climate data"):
        run(RunSettings(method="kmeans", data="synthetic:half-circles", n_clusters=2,
                        preprocess={"anomalies": True}))  # fmt: skip
