"""Figures: degenerate embeddings never crash, and pictures carry legends and metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from deepclust import plots
from tests.conftest import SHARED, requires_shared

pytestmark = pytest.mark.usefixtures("single_thread")


def assert_png(path: Path) -> None:
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2_000


def texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def axis(fig, label: str):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert found, f"no axes labelled {label!r} in {[a.get_label() for a in fig.axes]}"
    return found[0]


def bar_heights(ax) -> np.ndarray:
    """(n_groups, n_regimes) heights of a stacked bar panel."""
    return np.array([[p.get_height() for p in c] for c in ax.containers]).T


def three_blobs(n: int = 60, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, d)) * 0.3 + y[:, None] * 3.0, y


# ------------------------------------------------------------------ degenerate input


CRASH = """
import numpy as np
from deepclust import plots
y = np.arange(200) % 4
for name, Z in {"const3": np.full((200, 16), 3.0), "zeros": np.zeros((200, 16))}.items():
    plots.plot_embedding(Z, y, y, title=name, path=f"{OUT}/{name}.png")
print("done")
"""


def test_constant_embedding_used_to_segfault_now_writes_png(tmp_path):
    """t-SNE on identical rows died with SIGSEGV (rc 139); run it in a child process."""
    code = CRASH.replace("{OUT}", str(tmp_path))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="always")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "done" in proc.stdout
    assert "identical" in proc.stderr  # the fallback said what happened
    for name in ("const3", "zeros"):
        assert_png(tmp_path / f"{name}.png")


@pytest.fixture
def no_tsne(monkeypatch):
    """Fail loudly if a degenerate input still reaches t-SNE."""

    def boom(*args, **kwargs):
        raise AssertionError("t-SNE must not run on this input")

    monkeypatch.setattr(plots, "_tsne", boom)


@pytest.mark.parametrize(
    ("Z", "message"),
    [
        (np.full((50, 8), 3.0), "identical"),
        (np.zeros((50, 8)), "identical"),
        (np.full((50, 8), 3.0) + 1e-17, "identical"),  # float noise around a constant
        (np.ones((1, 8)), "single"),
        (np.repeat(np.eye(8)[:2], 25, axis=0), "2 distinct rows"),
        (np.repeat(np.eye(8)[:3], 10, axis=0), "3 distinct rows"),
        (np.random.default_rng(0).normal(size=(4, 8)), "only 4 samples"),
    ],
)
def test_degenerate_embeddings_fall_back_with_a_warning(no_tsne, Z, message):
    with pytest.warns(UserWarning, match=message):
        p = plots.projection_2d(Z)
    assert p.coords.shape == (len(Z), 2)
    assert np.isfinite(p.coords).all()
    assert p.method != "t-SNE"


def test_nan_rows_are_left_out_with_a_warning(no_tsne):
    Z = np.repeat(np.eye(4)[:2], 10, axis=0)
    Z[[3, 7]] = np.nan
    Z[5, 0] = np.inf
    with pytest.warns(UserWarning) as record:
        xy, idx = plots.project_2d(Z)
    messages = [str(w.message) for w in record]
    assert any("3 of 20 embedding rows contain NaN/inf" in m for m in messages)
    assert any("only 2 distinct rows among 17" in m for m in messages)
    assert sorted(set(range(20)) - set(idx.tolist())) == [3, 5, 7]
    assert xy.shape == (17, 2) and np.isfinite(xy).all()


def test_all_nan_embedding_draws_an_empty_picture(tmp_path):
    with pytest.warns(UserWarning, match="NaN/inf"):
        fig = plots.plot_embedding(
            np.full((5, 3), np.nan), np.zeros(5, int), path=tmp_path / "e.png"
        )
    assert_png(tmp_path / "e.png")
    assert "0 of 5 points shown" in fig._suptitle.get_text()


def test_small_sample_tsne_keeps_perplexity_below_n():
    Z, _ = three_blobs(n=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a proper input: no fallback warning
        p = plots.projection_2d(Z, method="tsne")
    assert p.method == "t-SNE" and p.coords.shape == (12, 2)


def test_project_2d_keeps_its_old_contract():
    Z = np.random.default_rng(0).normal(size=(400, 2))
    xy, idx = plots.project_2d(Z, method="auto", max_points=100)
    assert xy.shape == (100, 2) and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(xy, Z[idx])


# ------------------------------------------------------------------------ embedding


def test_embedding_titles_legends_and_subsample_note(tmp_path):
    Z, y = three_blobs(n=500, d=2)
    labels = y.copy()
    labels[:20] = 3  # a fourth cluster: no class left for it
    fig = plots.plot_embedding(
        Z,
        labels,
        y,
        title="km",
        path=tmp_path / "e.png",
        max_points=100,
        metrics={"acc": 0.8123, "nmi": 0.7345, "ari": 0.5},
        class_names={0: "zero", 1: "one", 2: "two"},
    )
    assert_png(tmp_path / "e.png")
    clusters, truth = fig.axes[:2]
    assert "ACC 0.812" in clusters.get_title() and "NMI 0.735" in clusters.get_title()
    assert "ground truth (3 classes)" in truth.get_title()
    suptitle = fig._suptitle.get_text()
    assert "km" in suptitle and "100 of 500 points shown" in suptitle
    assert texts(truth.get_legend()) == ["zero", "one", "two"]
    cluster_texts = texts(clusters.get_legend())
    assert {"0 → zero", "1 → one", "2 → two"} <= set(cluster_texts)
    assert any("unmatched" in t for t in cluster_texts)


def test_embedding_without_labels_or_metrics():
    Z, y = three_blobs(n=90, d=2)
    fig = plots.plot_embedding(Z, y)
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == "clusters (K=3)"
    assert texts(fig.axes[0].get_legend()) == ["0", "1", "2"]
    assert "all 90 points" in fig._suptitle.get_text()


def test_many_clusters_get_a_colour_bar_not_a_giant_legend():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(600, 2))
    labels = np.arange(600) % 60
    fig = plots.plot_embedding(Z, labels, labels % 5)
    assert fig.axes[0].get_legend() is None
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_class_colours_do_not_depend_on_unmatched_clusters():
    y = np.repeat(np.arange(4), 10)
    _, classes_a = plots.matched_colors(y, y)
    pred = y.copy()
    pred[::3] = np.arange(len(pred[::3])) + 10  # many extra clusters
    cluster_b, classes_b = plots.matched_colors(pred, y)
    for k in classes_a:
        np.testing.assert_allclose(classes_a[k], classes_b[k])
    extra = [c for c in cluster_b if c >= 10]
    used = {tuple(np.round(c, 6)) for c in classes_b.values()}
    assert all(tuple(np.round(cluster_b[c], 6)) not in used for c in extra)


def test_format_metrics_skips_missing_and_nan():
    assert plots.format_metrics({"ACC": 0.5, "nmi": float("nan")}) == "ACC 0.500"
    assert plots.format_metrics(None) == ""
    spec = (("OA", ("oa", "acc")),)
    assert plots.format_metrics({"acc": 0.25}, spec) == "OA 0.250"


# ---------------------------------------------------------------------- cluster map


def test_cluster_map_legends_and_overall_accuracy(tmp_path):
    gt = np.zeros((20, 20), int)
    gt[2:10, 2:18] = 1
    gt[12:18, 2:18] = 2
    pred = np.where(gt == 2, 5, 7)
    pred[0, :5] = -1  # no prediction
    pred[19, :] = 9  # a cluster only on unlabelled pixels
    fig = plots.plot_cluster_map(
        pred,
        gt,
        unlabelled=0,
        class_names={1: "corn", 2: "soy"},
        title="km",
        path=tmp_path / "m.png",
        metrics={"acc": 0.9012, "kappa": 0.8},
    )
    assert_png(tmp_path / "m.png")
    clusters, truth = fig.axes[:2]
    assert "OA 0.901" in clusters.get_title() and "κ 0.800" in clusters.get_title()
    assert texts(truth.get_legend()) == ["corn", "soy", "unlabelled"]
    cl = texts(clusters.get_legend())
    assert {"5 → soy", "7 → corn", "9 (unmatched)", "no prediction"} == set(cl)
    img = clusters.get_images()[0].get_array()
    assert tuple(img[0, 0]) == plots._BACKGROUND  # no prediction: black like unlabelled


# ------------------------------------------------------------------------- timeline


def test_month_bars_equal_hand_counted_days(tmp_path):
    time = np.arange("2021-01-01", "2021-04-01", dtype="datetime64[D]")  # 31 + 28 + 31
    labels = np.r_[np.zeros(10), np.ones(21), np.full(28, 2), np.zeros(5), np.ones(26)]
    fig = plots.plot_regime_timeline(time, labels.astype(int), path=tmp_path / "t.png")
    assert_png(tmp_path / "t.png")
    month = axis(fig, "month")
    expected = [[10, 21, 0], [0, 0, 28], [5, 26, 0]]  # Jan, Feb, Mar x regime 0, 1, 2
    np.testing.assert_array_equal(bar_heights(month), expected)
    # stacked: each regime's bar starts where the previous one ended
    tops = np.array([[p.get_y() + p.get_height() for p in c] for c in month.containers])
    np.testing.assert_array_equal(tops[-1], [31, 28, 31])
    assert [p.get_x() + p.get_width() / 2 for p in month.containers[0]] == pytest.approx([1, 2, 3])
    strip = axis(fig, "strip")
    assert list(strip.get_xticks()) == [0, 31, 59]
    names = [t.get_text() for t in strip.get_xticklabels()]
    assert names[0].startswith("Jan") and names[1:] == ["Feb", "Mar"]
    assert "regime of each of 90 days" in strip.get_title()


def test_fractions_stack_to_one():
    time = np.arange("2021-01-01", "2021-04-01", dtype="datetime64[D]")
    labels = np.arange(90) % 3
    fig = plots.plot_regime_timeline(time, labels, fractions=True)
    np.testing.assert_allclose(bar_heights(axis(fig, "month")).sum(axis=1), 1.0)


def test_hourly_month_gets_hour_of_day_and_day_panels():
    time = np.arange("2020-03-01T00", "2020-04-01T00", dtype="datetime64[h]")
    hour = (time - time.astype("datetime64[D]")).astype(int)
    labels = (hour >= 12).astype(int)
    assert plots.timeline_panels(plots.calendar_of(time, len(time))) == ["hour", "day"]
    fig = plots.plot_regime_timeline(time, labels, metrics={"silhouette": 0.4321})
    by_hour = bar_heights(axis(fig, "hour"))
    expected = np.zeros((24, 2))
    expected[:12, 0] = expected[12:, 1] = 31  # 31 days of each hour
    np.testing.assert_array_equal(by_hour, expected)
    np.testing.assert_array_equal(bar_heights(axis(fig, "day")), np.full((31, 2), 12))
    assert "silhouette 0.432" in axis(fig, "strip").get_title()
    assert "hours" in axis(fig, "strip").get_title()


@pytest.mark.parametrize(
    ("time", "panels"),
    [
        (np.arange("2021-01-01", "2022-01-01", dtype="datetime64[D]"), ["month"]),
        (np.arange("2021-01-01", "2021-02-01", dtype="datetime64[D]"), ["block"]),
        (np.arange("2021-01-01", "2021-03-01", dtype="datetime64[D]"), ["month"]),
        (np.arange("2021-01-01T00", "2021-01-03T00", dtype="datetime64[h]"), ["hour", "day"]),
        (np.arange("2015-01-01", "2020-01-01", dtype="datetime64[D]"), ["month", "year"]),
        (np.arange("2000", "2005", dtype="datetime64[Y]"), ["year"]),
        (np.arange("1950", "2000", dtype="datetime64[Y]"), ["decade"]),
        (np.arange("1990-01", "2000-01", 3, dtype="datetime64[M]"), ["month", "year"]),
        (None, ["block"]),
        (np.arange(50), ["block"]),
        (np.array(["a"] * 50), ["block"]),
    ],
)
def test_panels_follow_the_time_step(time, panels):
    n = 50 if time is None else len(time)
    assert plots.timeline_panels(plots.calendar_of(time, n)) == panels
    fig = plots.plot_regime_timeline(time, np.arange(n) % 3)
    assert [ax.get_label() for ax in fig.axes if ax.get_label() != "strip"] == panels


def test_cftime_noleap_iso_and_datetime64_agree():
    cftime = pytest.importorskip("cftime")
    cf = np.array([cftime.DatetimeNoLeap(2095, 1, 1) + np.timedelta64(d, "D") for d in range(365)])
    iso = np.array([t.isoformat() for t in cf])
    d64 = np.arange("2095-01-01", "2096-01-01", dtype="datetime64[D]")
    a, b = plots.calendar_of(cf, 365), plots.calendar_of(iso, 365)
    for field in ("year", "month", "day", "hour"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    # 2095 is not a leap year, so the noleap and standard calendars coincide
    np.testing.assert_array_equal(a.month, plots.calendar_of(d64, 365).month)
    labels = np.arange(365) % 2
    fig = plots.plot_regime_timeline(cf, labels)
    totals = bar_heights(axis(fig, "month")).sum(axis=1)
    np.testing.assert_array_equal(totals, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def test_noise_labels_and_odd_time_never_fail(tmp_path):
    labels = np.r_[np.full(5, -1), np.arange(20) % 2]
    bad_time = np.array(["2021-13-40"] * 25)  # looks like a date, is not
    fig = plots.plot_regime_timeline(bad_time, labels, path=tmp_path / "t.png")
    assert_png(tmp_path / "t.png")
    assert any("no regime: 5" in t.get_text() for t in fig.legends[0].get_texts())
    plots.plot_regime_timeline(None, np.zeros(0, int), path=tmp_path / "empty.png")
    assert_png(tmp_path / "empty.png")


@requires_shared
@pytest.mark.shared_data
def test_canesm2_noleap_timeline(tmp_path):
    import deepclust

    ds = deepclust.load(f"climate:{SHARED / 'climate' / 'canesm2_2095'}")
    labels = np.arange(ds.n_samples) // 100  # four blocks of days
    fig = plots.plot_regime_timeline(ds.time, labels, path=tmp_path / "t.png")
    assert_png(tmp_path / "t.png")
    heights = bar_heights(axis(fig, "month"))
    assert heights.sum(axis=1)[1] == 28  # noleap February
    assert heights[3].tolist() == [10, 20, 0, 0]  # April: days 90..119 -> blocks 0 and 1
    ticks = [t.get_text() for t in axis(fig, "strip").get_xticklabels()]
    assert ticks[0].startswith("Jan") and "Dec" in ticks


# ----------------------------------------------------------------------------- demo


def test_demo_panels_have_acc_in_titles_and_a_class_legend(tmp_path):
    from deepclust.demo import plot_panels

    X, y = three_blobs(n=60)
    good = y.copy()
    split = np.where(y == 2, 2 + (np.arange(60) % 2), y)  # class 2 split in two clusters
    caught = {}

    def keep(fig, path):
        caught["fig"] = fig
        return plots.save_figure(fig, path)

    proxy = types.SimpleNamespace(**{k: getattr(plots, k) for k in dir(plots)})
    proxy.save_figure = keep
    out = plot_panels(X, y, {"perfect": good, "split": split}, tmp_path / "d.png", proxy)
    assert_png(out)
    titles = [ax.get_title() for ax in caught["fig"].axes]
    assert "ACC 1.000" in titles[1] and "perfect" in titles[1]
    assert "split" in titles[2] and "ACC 0.833" in titles[2]
    assert [t.get_text() for t in caught["fig"].legends[0].get_texts()] == ["0", "1", "2"]
    assert texts(caught["fig"].axes[2].get_legend()) == ["3"]  # the unmatched cluster


def test_cluster_mean_anomalies_by_hand_and_picture(tmp_path):
    from deepclust.plots import cluster_mean_anomalies, plot_cluster_anomaly_maps

    cube = np.zeros((4, 2, 3, 2))
    cube[:2, 0, 0, 0] = 2.0  # cluster 0 is warm in one cell
    cube[:, 1, 1, 1] = np.nan  # a land cell stays blank
    labels = np.array([0, 0, 1, 1])
    maps, ids = cluster_mean_anomalies(cube, labels)
    assert ids.tolist() == [0, 1] and maps.shape == (2, 2, 3, 2)
    assert maps[0, 0, 0, 0] == 1.0 and maps[1, 0, 0, 0] == -1.0
    assert np.isnan(maps[:, 1, 1, 1]).all()
    path = tmp_path / "maps.png"
    plot_cluster_anomaly_maps(cube, labels, variables=["t", "p"], lat=np.arange(2.0),
                              lon=np.arange(3.0), path=path)  # fmt: skip
    assert path.stat().st_size > 1000


def test_cosine_similarity_heat_map(tmp_path):
    from deepclust.plots import plot_cosine_similarity

    rng = np.random.default_rng(0)
    Z = np.vstack([np.c_[rng.standard_normal((20, 2)), np.zeros((20, 2))],
                   np.c_[np.zeros((25, 2)), rng.standard_normal((25, 2))]])  # fmt: skip
    labels = np.repeat([1, 0], [20, 25])
    path = plot_cosine_similarity(Z, labels, tmp_path / "cos.png")
    assert path.stat().st_size > 1000
    small = plot_cosine_similarity(Z, labels, tmp_path / "s.png", max_points=10)
    assert small.exists()
    with pytest.raises(ValueError, match="one label per row"):
        plot_cosine_similarity(Z, np.zeros(3), tmp_path / "bad.png")
