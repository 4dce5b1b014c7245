"""The bench: its suite of datasets, the resumable runner and the leaderboard."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from deepclust.bench import bench_main
from deepclust.bench.leaderboard import (
    aggregate,
    kmeans_comparison,
    load_cells,
    markdown,
    write_leaderboard,
)
from deepclust.bench.runner import QUICK_PARAMS, method_params, methods_for, plan, run_bench
from deepclust.bench.suite import (
    SHARED_ENV,
    BenchDataset,
    load_subset,
    make_half_circles_spaced,
    select,
    shared_root,
    suite,
)
from deepclust.data.registry import load, parse_spec
from deepclust.exceptions import ConfigError
from deepclust.methods import METHODS, MethodEntry
from deepclust.methods.classic import KMeans
from deepclust.records import parse_assignments

pytestmark = pytest.mark.usefixtures("single_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = [
    BenchDataset("tiny-manifolds", "synthetic:two-manifolds", 2, "quick",
                 {"n_per_manifold": 40, "random_state": 0}),
    BenchDataset("tiny-subspaces", "synthetic:subspaces", 3, "quick",
                 {"n_subspaces": 3, "ambient_dim": 6, "subspace_dim": 2, "n_per_subspace": 30,
                  "random_state": 0}),
]  # fmt: skip


class Boom(KMeans):
    """k-means whose fit always fails (a broken method)."""

    def fit(self, X, y=None):
        raise RuntimeError("boom: this method is broken")


# ------------------------------------------------------------------ suite
def test_suite_entries_have_valid_specs_and_stated_classes():
    entries = suite()
    names = [e.name for e in entries]
    assert len(names) == len(set(names))
    assert {"digits", "mnist-70k", "mnist-10k", "usps", "coil20", "orl"} <= set(names)
    assert {"salinas-a-labelled", "salinas-a-all"} <= set(names)
    assert sum(n.startswith("half-circles-") for n in names) == 12  # 3 noises x 2 x 2
    for e in entries:
        assert e.tier in ("quick", "full")
        assert all(c.isalnum() or c in "._-" for c in e.name), e.name
        parse_spec(e.spec)
        if "source" in e.data_options:
            parse_spec(e.data_options["source"])
        if e.requires or e.spec == "digits":
            continue
        ds = load(e.spec, **e.data_options)
        assert ds.n_classes == e.n_clusters, e.name
        if e.tier == "quick":
            assert ds.n_samples <= 4000, e.name
    quick = [e.name for e in entries if e.tier == "quick"]
    assert "digits" in quick and not any(n.startswith("mnist") for n in quick)
    by_name = {e.name: e for e in entries}
    assert by_name["salinas-a-all"].preprocess == {"region": "all"}
    assert by_name["half-circles-n0.03-random-std"].preprocess == {"standardize": True}
    assert by_name["half-circles-n0.03-random-raw"].preprocess == {}


def test_missing_shared_data_is_skipped_with_a_note(tmp_path, monkeypatch):
    entries, notes = select(["full"], shared=tmp_path / "absent")
    names = {e.name for e in entries}
    assert "digits" in names and "hsi-5c" in names
    assert not names & {"mnist-70k", "usps", "coil20", "orl", "salinas-a-all"}
    assert any("mnist-70k" in n and "not found" in n for n in notes)
    monkeypatch.setenv(SHARED_ENV, str(tmp_path))
    assert shared_root() == tmp_path
    monkeypatch.delenv(SHARED_ENV)
    assert shared_root().parts[-2:] == ("shared", "data")


def test_select_tiers_names_and_user_specs(tmp_path):
    quick, _ = select(["quick", "digits"], shared=tmp_path)  # digits once, tier order kept
    assert [e.name for e in quick].count("digits") == 1
    assert all(e.tier == "quick" for e in quick)
    assert [e.name for e in select("quick", shared=tmp_path)[0]] == [e.name for e in quick]
    np.save(tmp_path / "mine.npy", np.zeros((5, 2), np.float32))
    (mine,), _ = select([f"npy:{tmp_path / 'mine.npy'}"], n_clusters=2)
    assert (mine.name, mine.n_clusters, mine.kind) == ("npy-mine", 2, "vectors")
    with pytest.raises(ConfigError, match="neither a suite dataset"):
        select(["no-such-dataset"])
    with pytest.raises(FileNotFoundError):
        select([f"npy:{tmp_path / 'absent.npy'}"])


def test_half_circles_random_spacing_is_seeded_and_differs_from_even():
    even = make_half_circles_spaced(300, noise=0.0, spacing="even", random_state=1)
    rand = make_half_circles_spaced(300, noise=0.0, spacing="random", random_state=1)
    again = make_half_circles_spaced(300, noise=0.0, spacing="random", random_state=1)
    np.testing.assert_array_equal(rand.X, again.X)
    assert rand.X.shape == (600, 2) and np.bincount(rand.y).tolist() == [300, 300]
    upper = rand.X[rand.y == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-5)

    def gaps(ds):
        x, y = ds.X[ds.y == 0].T
        return np.diff(np.sort(np.arctan2(y, x)))

    assert gaps(even).std() < 1e-5 < gaps(rand).std()  # even vs uniform random angles
    with pytest.raises(ConfigError, match="spacing"):
        make_half_circles_spaced(10, spacing="zigzag")


def test_subset_is_seeded_and_stratified():
    full = load("digits")
    a = load_subset(source="digits", n_samples=500, random_state=0)
    b = load("bench:subset", source="digits", n_samples=500, random_state=0)
    c = load_subset(source="digits", n_samples=500, random_state=1)
    idx = a.extra["subset_indices"]
    np.testing.assert_array_equal(idx, b.extra["subset_indices"])
    assert not np.array_equal(idx, c.extra["subset_indices"])
    np.testing.assert_array_equal(a.X, full.X[idx])
    share = np.bincount(a.y) / 500 - np.bincount(full.y) / full.n_samples
    assert np.abs(share).max() < 0.01 and a.kind == "images"


# ------------------------------------------------------------------ runner
def test_methods_for_kinds_and_params():
    assert "scdsc" in methods_for("hsi") and "kmeans" in methods_for("hsi")
    vec = methods_for("vectors")
    assert "scdsc" not in vec and {"kmeans", "gmm", "idec", "dgg"} <= set(vec)
    assert methods_for("images", ["kmeans", "scdsc"]) == ["kmeans"]
    # the augmentation methods cluster images only: never run on vectors
    assert methods_for("vectors", ["gatcluster", "iic", "dac", "kmeans"]) == ["kmeans"]
    assert methods_for("images", ["gatcluster", "iic", "dac"]) == ["gatcluster", "iic", "dac"]
    p = {"n_init": 3, "gmm.max_iter": 7}
    assert method_params("gmm", p, quick=False) == {"n_init": 3, "max_iter": 7}
    assert method_params("kmeans", p, quick=False) == {"n_init": 3}
    assert method_params("idec", {}, quick=True)["epochs"] == QUICK_PARAMS["epochs"]
    with pytest.raises(ConfigError, match="no method of this bench has a parameter"):
        plan(["kmeans"], TINY, [0], {"epoch": 3})
    with pytest.raises(ConfigError, match="unknown method"):
        plan(["kmeans", "nosuch"], TINY, [0])


def test_bench_writes_cells_and_leaderboard_then_resumes(tmp_path, monkeypatch):
    import deepclust.run as runmod

    report = run_bench(["kmeans", "gmm"], TINY, [0, 1], tmp_path, progress=False)
    files = sorted((tmp_path / "cells").glob("*.json"))
    assert len(files) == 8 and report.ran == 8 and not report.failed
    assert (tmp_path / "cells" / "gmm__tiny-subspaces__seed1.json") in files
    rec = json.loads((tmp_path / "cells" / "kmeans__tiny-manifolds__seed0.json").read_text())
    assert rec["status"] == "ok" and rec["error"] is None and rec["collapsed"] is False
    assert 0.5 <= rec["metrics"]["acc"] <= 1.0 and rec["seconds"] >= 0
    assert rec["settings"]["spec"] == "synthetic:two-manifolds"
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "leaderboard.png").read_bytes()[:8] == PNG_MAGIC
    csv_lines = (tmp_path / "leaderboard.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 4 and csv_lines[1].startswith("kmeans,tiny-manifolds,2,2,0,0,")

    mtimes = {f: f.stat().st_mtime_ns for f in files}
    calls = []
    monkeypatch.setattr(runmod, "run", lambda *a, **k: calls.append(a) or 1 / 0)
    again = run_bench(["kmeans", "gmm"], TINY, [0, 1], tmp_path, progress=False)
    assert calls == [] and again.ran == 0 and again.resumed == 8
    assert {f: f.stat().st_mtime_ns for f in files} == mtimes
    assert [r["status"] for r in again.records] == ["ok"] * 8


def test_failing_cell_is_recorded_and_the_bench_finishes(tmp_path, monkeypatch):
    monkeypatch.setitem(METHODS, "boom", MethodEntry("boom", f"{__name__}:Boom", "broken"))
    report = run_bench(["boom", "kmeans"], TINY[:1], [0], tmp_path, progress=False)
    assert report.ran == 2 and len(report.failed) == 1
    bad = json.loads((tmp_path / "cells" / "boom__tiny-manifolds__seed0.json").read_text())
    assert bad["status"] == "error" and bad["metrics"] is None
    assert bad["error"] == "RuntimeError: boom: this method is broken"
    assert "Traceback" in bad["traceback"]
    good = json.loads((tmp_path / "cells" / "kmeans__tiny-manifolds__seed0.json").read_text())
    assert good["status"] == "ok"
    md = (tmp_path / "leaderboard.md").read_text()
    assert "| failed |" in md and "failed cells 1" in md
    # resume keeps the recorded error; retry_failed runs it again
    assert run_bench(["boom"], TINY[:1], [0], tmp_path, progress=False).ran == 0
    assert run_bench(["boom"], TINY[:1], [0], tmp_path, progress=False, retry_failed=True).ran == 1


@pytest.mark.slow
def test_parallel_workers_use_one_thread(tmp_path):
    report = run_bench(["kmeans"], TINY, [0], tmp_path, jobs=2, progress=False)
    assert report.ran == 2 and not report.failed
    assert [r["threads"] for r in report.records] == [1, 1]


# ------------------------------------------------------------------ leaderboard
def _cell(out: Path, method: str, dataset: str, seed: int, acc: float | None, **extra) -> None:
    rec = {
        "method": method,
        "dataset": dataset,
        "seed": seed,
        "status": "ok",
        "metrics": {"acc": acc, "nmi": acc},
        "seconds": 1.0,
        "collapsed": False,
    }
    rec.update(extra)
    path = out / "cells" / f"{method}__{dataset}__seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))  # fmt: skip


def test_kmeans_comparison_counts_on_hand_made_cells(tmp_path):
    base = {"d1": 0.5, "d2": 0.6, "d3": 0.7, "d4": 0.8, "d5": 0.9}
    good = {"d1": 0.9, "d2": 0.6, "d3": 0.8, "d4": 0.85, "d5": 0.5}  # >= on 4 of 5
    bad = {"d1": 0.4, "d2": 0.7, "d3": 0.9, "d4": 0.1, "d5": 0.95}  # >= on 3 of 5
    for seed in (0, 1):
        for d in base:
            _cell(tmp_path, "kmeans", d, seed, base[d])
            _cell(tmp_path, "good", d, seed, good[d] + (0.02 if seed else -0.02))
            _cell(tmp_path, "bad", d, seed, bad[d], collapsed=(d == "d4"))
    _cell(tmp_path, "good", "only-good", 0, 1.0)  # no k-means there: not compared
    _cell(tmp_path, "partial", "d1", 0, 0.9)  # one row of five: not a pass over the bench
    _cell(tmp_path, "bad", "d1", 2, None, status="error", metrics=None, error="X: y")
    agg = aggregate(load_cells(tmp_path))
    assert agg[("good", "d1")]["acc_mean"] == pytest.approx(0.9)
    assert agg[("good", "d1")]["acc_sd"] == pytest.approx(np.std([0.88, 0.92], ddof=1))
    assert agg[("bad", "d1")]["failed"] == 1 and agg[("bad", "d1")]["ok"] == 2
    cmp = kmeans_comparison(agg)
    assert (cmp["good"]["at_least"], cmp["good"]["compared"], cmp["good"]["meets"]) == (4, 5, True)
    assert (cmp["bad"]["at_least"], cmp["bad"]["compared"], cmp["bad"]["meets"]) == (3, 5, False)
    assert (cmp["bad"]["collapsed"], cmp["bad"]["cells"], cmp["bad"]["failed"]) == (2, 11, 1)
    md = markdown(agg)
    assert "**good**: mean ACC >= k-means on 4 / 5 datasets (80%; criterion >= 80%: met)" in md
    assert "**bad**: mean ACC >= k-means on 3 / 5 datasets (60%" in md and "not met" in md
    assert ("**partial**: mean ACC >= k-means on 1 / 1 datasets (100%; criterion >= 80%: "
            "met on the 1 of 5 datasets it has rows for)") in md  # fmt: skip
    assert "0.100 ± 0.000*" in md  # the collapsed cells are marked
    paths = write_leaderboard(tmp_path)
    assert paths["png"].read_bytes()[:8] == PNG_MAGIC and paths["png"].stat().st_size > 1000
    rows = paths["csv"].read_text().splitlines()
    assert rows[0].startswith("method,dataset,seeds,ok,failed,collapsed,acc_mean")
    assert len(rows) == 1 + 5 * 3 + 1 + 1


# ------------------------------------------------------------------ command line
def test_bench_main(tmp_path, capsys):
    assert bench_main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "mnist-10k" in out and "half-circles-n0.12-random-std" in out
    assert bench_main(["--datasets", "no-such", "--out", str(tmp_path)]) == 2
    assert "neither a suite dataset" in capsys.readouterr().err
    assert bench_main(["--methods", "kmeans", "--set", "nosuch=1", "--out", str(tmp_path)]) == 2
    assert parse_assignments(["idec.gamma=0.2", "hidden_dims=[8, 4]"], "--set") == {
        "idec.gamma": 0.2,
        "hidden_dims": [8, 4],
    }
    np.save(
        tmp_path / "blobs.npy",
        np.r_[np.zeros((20, 2)), np.ones((20, 2))] + 0.01 * np.arange(40)[:, None],
    )
    args = ["--methods", "kmeans", "--datasets", f"npy:{tmp_path / 'blobs.npy'}", "--n-clusters",
            "2", "--seeds", "0", "--out", str(tmp_path / "b"), "--no-progress"]  # fmt: skip
    assert bench_main(args) == 0
    assert os.path.exists(tmp_path / "b" / "cells" / "kmeans__npy-blobs__seed0.json")


def test_bench_jobs_option():
    from deepclust.bench import build_parser

    assert build_parser().parse_args([]).jobs == "auto"
    assert build_parser().parse_args(["--jobs", "3"]).jobs == 3
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--jobs", bad])
    with pytest.raises(ConfigError, match="jobs=0"):
        run_bench(["kmeans"], TINY, [0], "unused", jobs=0, progress=False)


def test_scenes_selects_every_hyperspectral_entry_and_the_protocol_varies_one_thing():
    from deepclust.bench.suite import _SCENE_BASE

    entries, _ = select(["scenes"], shared="/nonexistent")
    names = [e.name for e in entries]
    assert all(e.kind == "hsi" for e in entries)
    assert {"hsi-5c", "scene-base", "scene-16c", "scene-mixed"} <= set(names)
    base = next(e for e in entries if e.name == "scene-base").data_options
    assert base == _SCENE_BASE
    mixed = next(e for e in entries if e.name == "scene-mixed").data_options
    assert {k for k in mixed if mixed[k] != base.get(k)} == {"mixing"}
    ds = load("synthetic:hsi", **next(e for e in entries if e.name == "scene-similar").data_options)
    assert ds.extra["similarity"] == 0.85 and ds.grid_shape == (64, 64)
