"""The ``deepclust`` command line: one-line errors, untouched inputs, the files a run writes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import yaml
from conftest import SHARED, requires_shared
from threadpoolctl import threadpool_limits

from deepclust.cli import main
from deepclust.metrics import cluster_accuracy

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROGRESS = "[deepclust] "

# One OpenMP thread: on the shared 2-core machine, k-means and t-SNE run several times
# faster than with threads spinning on a busy core.
pytestmark = pytest.mark.usefixtures("single_thread")


# --------------------------------------------------------------------------- helpers
def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``deepclust ARGS`` in-process; returns (exit code, stdout, stderr)."""
    capsys.readouterr()  # drop anything printed before
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def run_quiet(*args: str) -> tuple[int, str, str]:
    """Same as :func:`run_cli` without capsys (for module-scoped fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        threadpool_limits(limits=1),
    ):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def assert_one_line_error(rc: int, err: str, *fragments: str) -> str:
    """Non-zero exit, exactly one stderr line ``deepclust: error: ...`` naming the problem."""
    assert rc != 0
    assert "Traceback" not in err
    # progress lines ("[deepclust] loading ...") may precede the error; they are not it
    lines = [line for line in err.splitlines() if not line.startswith(PROGRESS)]
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    line = lines[0]
    assert line.startswith("deepclust: error: "), line
    for frag in fragments:
        assert frag in line, f"{frag!r} not in {line!r}"
    return line


def assert_png(path: Path, min_bytes: int = 5_000) -> None:
    import matplotlib.image as mpimg

    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    # a real picture, not a blank canvas
    assert float(np.ptp(img[..., :3])) > 0.1


def no_temp_files(directory: Path) -> list[str]:
    return [n for n in os.listdir(directory) if n.endswith(".tmp")]


def blobs(n_per: int = 20, seed: int = 0) -> np.ndarray:
    """Three small well-separated 2-D groups (cheap to cluster and to plot)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.concatenate([c + rng.normal(scale=0.5, size=(n_per, 2)) for c in centres])


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


# ------------------------------------------------------------------ bad input cases
def _missing(tmp: Path):
    return ["--data", "npy:/nonexistent.npy"], ["no such file", "/nonexistent.npy"]


def _unknown_kind(tmp: Path):
    return ["--data", "foo:/x.npy"], ["unknown data spec", "'foo:/x.npy'"]


def _unknown_bundled(tmp: Path):
    return ["--data", "nosuchdata"], ["unknown data spec", "'nosuchdata'"]


def _unknown_method(tmp: Path):
    return ["--data", "digits"], ["unknown method", "'nope'", "kmeans"]


def _mat_key(tmp: Path):
    p = tmp / "feat.mat"
    scipy.io.savemat(p, {"X": np.arange(40.0).reshape(20, 2), "y": np.arange(20) % 2})
    return ["--data", f"mat:{p}", "--data-opt", "key=nope"], ["'nope'", "feat.mat", "X"]


def _climate_variable(tmp: Path):
    import pandas as pd
    import xarray as xr

    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {"tas": (("time", "lat", "lon"), rng.normal(size=(8, 3, 4)))},
        coords={
            "time": pd.date_range("2000-01-01", periods=8),
            "lat": np.arange(3.0),
            "lon": np.arange(4.0),
        },
    )
    p = tmp / "cube.nc"
    ds.to_netcdf(p)
    args = ["--data", f"climate:{p}", "--data-opt", "variables=[nope]", "--n-clusters", "2"]
    return args, ["'nope'", "tas"]


def _rank_1d(tmp: Path):
    p = tmp / "one.npy"
    np.save(p, np.arange(10.0))
    return ["--data", f"npy:{p}", "--n-clusters", "2"], ["2-D", "(10,)"]


def _rank_hsi_2d(tmp: Path):
    p = tmp / "flat.npy"
    np.save(p, np.ones((20, 3)))
    return ["--data", f"hsi:{p}", "--n-clusters", "2"], ["(20, 3)", "3-D"]


def _nan(tmp: Path):
    p = tmp / "nan.npy"
    X = blobs()
    X[3, 1] = np.nan
    np.save(p, X)
    return ["--data", f"npy:{p}", "--n-clusters", "2"], ["NaN", "nan.npy"]


def _one_cluster(tmp: Path):
    return ["--data", "digits", "--n-clusters", "1"], ["n_clusters=1"]


def _too_many_clusters(tmp: Path):
    p = tmp / "small.npy"
    np.save(p, blobs(n_per=7))  # 21 samples
    return ["--data", f"npy:{p}", "--n-clusters", "22"], ["n_clusters=22", "21"]


def _gt_shape(tmp: Path):
    rng = np.random.default_rng(0)
    scene, gt = tmp / "scene.mat", tmp / "scene_labels.mat"
    scipy.io.savemat(scene, {"cube": rng.normal(size=(10, 12, 5))})
    scipy.io.savemat(gt, {"gt": rng.integers(0, 3, size=(10, 11)).astype(np.uint8)})
    args = ["--data", f"hsi:{scene}", "--data-opt", f"gt={gt}", "--n-clusters", "2"]
    return args, ["ground truth", "(10, 11)", "10 x 12"]


def _config_not_yaml(tmp: Path):
    p = tmp / "broken.yaml"
    p.write_text("method: [kmeans\nn_clusters: 3\n")
    return ["--data", "digits", "--config", str(p)], ["broken.yaml", "not valid YAML"]


def _config_unknown_key(tmp: Path):
    p = tmp / "extra.yaml"
    p.write_text("method: kmeans\nbogus_key: 1\n")
    return ["--data", "digits", "--config", str(p)], ["unknown keys", "bogus_key"]


def _unknown_param(tmp: Path):
    return ["--data", "digits", "--set", "nope=1"], ["no parameter", "'nope'", "n_init"]


def _set_without_equals(tmp: Path):
    return ["--data", "digits", "--set", "n_init"], ["--set", "'n_init'", "KEY=VALUE"]


def _no_k(tmp: Path):
    p = tmp / "unlabelled.npy"
    np.save(p, blobs())
    return ["--data", f"npy:{p}"], ["no ground truth", "--n-clusters"]


BAD_INPUTS = {
    "missing-file": _missing,
    "unknown-kind": _unknown_kind,
    "unknown-bundled-name": _unknown_bundled,
    "unknown-method": _unknown_method,
    "mat-unknown-key": _mat_key,
    "climate-unknown-variable": _climate_variable,
    "npy-1d": _rank_1d,
    "hsi-2d": _rank_hsi_2d,
    "nan": _nan,
    "n-clusters-1": _one_cluster,
    "n-clusters-gt-n-samples": _too_many_clusters,
    "gt-shape-mismatch": _gt_shape,
    "config-not-yaml": _config_not_yaml,
    "config-unknown-key": _config_unknown_key,
    "unknown-method-param": _unknown_param,
    "set-without-equals": _set_without_equals,
    "no-gt-no-k": _no_k,
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_error(case, tmp_path, capsys):
    args, fragments = BAD_INPUTS[case](tmp_path)
    method = "nope" if case == "unknown-method" else "kmeans"
    out_dir = tmp_path / "out"
    rc, out, err = run_cli(capsys, "run", method, *args, "--out", out_dir)
    assert rc == 2
    assert_one_line_error(rc, err, *fragments)
    assert out == ""
    # nothing was fitted, so nothing was written
    assert not (out_dir / "labels.npy").exists()


def _console_script() -> Path:
    script = Path(sys.executable).parent / "deepclust"
    if not script.is_file():
        pytest.skip("the deepclust console script is not installed in this environment")
    return script


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--data", "npy:/nonexistent.npy"], ["/nonexistent.npy"]),
        (["--data", "digits", "--set", "nope=1"], ["'nope'"]),
    ],
    ids=["missing-file", "unknown-param"],
)
def test_console_script_error_exit(args, fragments, tmp_path):
    proc = subprocess.run(
        [str(_console_script()), "run", "kmeans", *args, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 2
    assert_one_line_error(proc.returncode, proc.stderr, *fragments)
    assert proc.stdout == ""


# ------------------------------------------------------------------ inputs untouched
def test_successful_run_leaves_input_untouched(tmp_path, capsys):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    os.utime(src, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = snapshot(src)
    out = tmp_path / "out"
    rc, _, err = run_cli(
        capsys, "run", "kmeans", "--data", f"npy:{src}", "--n-clusters", "3", "--out", out
    )
    assert rc == 0, err
    assert snapshot(src) == before
    labels = np.load(out / "labels.npy")
    assert labels.shape == (60,)
    # the three groups are found exactly
    assert cluster_accuracy(np.repeat([0, 1, 2], 20), labels) == 1.0


def test_failing_run_leaves_input_untouched(tmp_path, capsys):
    src = tmp_path / "feat.mat"
    scipy.io.savemat(src, {"X": blobs(), "y": np.repeat([0, 1, 2], 20)})
    os.utime(src, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = snapshot(src)
    # fails after loading (k > n), and once more inside the loader (unknown key)
    base = ["run", "kmeans", "--data", f"mat:{src}", "--out", tmp_path / "out"]
    rc, _, err = run_cli(capsys, *base, "--n-clusters", "61")
    assert_one_line_error(rc, err, "n_clusters=61")
    rc, _, err = run_cli(capsys, *base, "--data-opt", "key=nope")
    assert_one_line_error(rc, err, "'nope'")
    assert snapshot(src) == before


# --------------------------------------------------------------------------- outputs
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """``deepclust run kmeans --data digits --out DIR`` once for the module (t-SNE plot)."""
    out = tmp_path_factory.mktemp("digits") / "run"
    rc, stdout, stderr = run_quiet("run", "kmeans", "--data", "digits", "--out", out)
    return rc, stdout, stderr, out


def test_digits_run_labels_and_metrics(digits_run):
    from sklearn.datasets import load_digits

    rc, stdout, stderr, out = digits_run
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    labels = np.load(out / "labels.npy")
    assert labels.shape == (1797,)
    assert np.issubdtype(labels.dtype, np.integer)
    assert set(np.unique(labels)) == set(range(10))

    metrics = json.loads((out / "metrics.json").read_text())
    assert {"acc", "nmi", "ari"} <= set(metrics)
    assert metrics["acc"] > 0.6
    assert 0.0 < metrics["nmi"] <= 1.0 and 0.0 < metrics["ari"] <= 1.0
    assert metrics["n_evaluated"] == 1797
    # the reported accuracy is the one of the written labels
    y = load_digits().target
    assert metrics["acc"] == pytest.approx(cluster_accuracy(y, labels), abs=1e-9)
    assert f"acc={metrics['acc']:.4f}" in stdout


def test_digits_run_config_and_picture(digits_run):
    rc, _, stderr, out = digits_run
    assert rc == 0, stderr
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["method"] == "kmeans"
    assert cfg["data"] == "digits"
    assert cfg["environment"]["numpy"] and cfg["threads"] >= 1
    # --n-clusters defaults to the number of classes
    assert cfg["n_clusters"] == 10
    assert "n_clusters" not in cfg["params"]  # recorded once, at the top
    assert cfg["params"]["random_state"] == 0
    assert cfg["seed"] == 0
    assert_png(out / "embedding.png", min_bytes=10_000)
    assert not no_temp_files(out)
    assert sorted(os.listdir(out)) == [
        "config.yaml",
        "embedding.png",
        "labels.npy",
        "metrics.json",
    ]


def test_rerun_into_same_dir_needs_overwrite_and_replaces_whole(tmp_path, capsys):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    out = tmp_path / "out"
    base = ["run", "kmeans", "--data", f"npy:{src}", "--out", out]
    rc, _, err = run_cli(capsys, *base, "--n-clusters", "2", "--seed", "1")
    assert rc == 0, err
    first = {n: (out / n).read_bytes() for n in os.listdir(out)}
    assert set(first) == {"config.yaml", "embedding.png", "labels.npy", "metrics.json"}
    assert np.unique(np.load(out / "labels.npy")).size == 2

    rc, _, err = run_cli(capsys, *base, "--n-clusters", "3", "--seed", "2")
    assert_one_line_error(rc, err, "already holds an earlier run", "--overwrite")
    assert {n: (out / n).read_bytes() for n in os.listdir(out)} == first  # untouched

    rc, _, err = run_cli(capsys, *base, "--n-clusters", "3", "--seed", "2", "--overwrite")
    assert rc == 0, err
    assert sorted(os.listdir(out)) == sorted(first)  # same files, no leftovers
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".out.")]
    assert not no_temp_files(out)
    labels = np.load(out / "labels.npy")
    assert labels.shape == (60,) and np.unique(labels).size == 3
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["n_clusters"] == 3 and cfg["seed"] == 2 and cfg["params"]["random_state"] == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert "silhouette" in metrics  # no labels: internal metrics
    for name in ("config.yaml", "labels.npy", "metrics.json", "embedding.png"):
        assert (out / name).read_bytes() != first[name], f"{name} was not rewritten"
    assert_png(out / "embedding.png")


# ------------------------------------------------------------------------- real data
@pytest.mark.shared_data
@requires_shared
def test_salinas_a_kmeans(tmp_path, capsys):
    out = tmp_path / "salinas"
    scene = SHARED / "hsi" / "SalinasA_corrected.mat"
    rc, stdout, err = run_cli(capsys, "run", "kmeans", "--data", f"hsi:{scene}", "--out", out)
    assert rc == 0, err
    labels = np.load(out / "labels.npy")
    assert labels.shape == (83, 86)
    assert labels.min() >= 0  # every pixel of the map gets a cluster
    assert np.unique(labels).size == 6  # K defaults to the 6 ground-truth classes
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.70 <= metrics["acc"] <= 0.85
    assert metrics["n_evaluated"] == 5348
    assert_png(out / "cluster_map.png")
    assert not (out / "embedding.png").exists()
    assert "acc=" in stdout


@pytest.mark.shared_data
@requires_shared
def test_climate_kmeans(tmp_path, capsys):
    out = tmp_path / "climate"
    cube = SHARED / "climate" / "canesm2_2095"
    rc, _, err = run_cli(
        capsys, "run", "kmeans", "--data", f"climate:{cube}", "--n-clusters", "7", "--out", out
    )
    assert rc == 0, err
    labels = np.load(out / "labels.npy")
    assert labels.shape == (365,)
    assert np.unique(labels).size == 7
    metrics = json.loads((out / "metrics.json").read_text())
    internal = {
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "rmse",
        "variance",
        "inter_cluster_distance",
    }
    assert internal <= set(metrics)
    assert "acc" not in metrics  # no ground truth for the climate cube
    assert -1.0 <= metrics["silhouette"] <= 1.0
    assert metrics["davies_bouldin"] > 0 and metrics["calinski_harabasz"] > 0
    assert all(np.isfinite(metrics[k]) for k in internal)
    assert metrics["mean_run_length"] >= 1.0
    assert 0.0 <= metrics["nmi_with_month"] <= 1.0
    assert_png(out / "regime_timeline.png")
    assert_png(out / "anomaly_maps.png")


# ------------------------------------------------------------------ listing commands
def _first_column(text: str) -> set[str]:
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def test_datasets_lists_registered_names(capsys):
    rc, out, err = run_cli(capsys, "datasets")
    assert rc == 0 and err == ""
    names = _first_column(out)
    assert {"mnist", "hsi", "climate", "digits", "synthetic:half-circles", "npy", "mat"} <= names


def test_methods_lists_registered_names(capsys):
    from deepclust.methods import METHODS

    rc, out, err = run_cli(capsys, "methods")
    assert rc == 0 and err == ""
    names = _first_column(out)
    assert {"kmeans", "dgg", "gmm", "spectral", "fcm"} <= names
    assert names == set(METHODS)


# --------------------------------------------------------------------------- config
@pytest.fixture
def kmeans_config(tmp_path) -> Path:
    cfg = tmp_path / "kmeans.yaml"
    cfg.write_text("method: kmeans\nn_clusters: 3\nseed: 5\nparams:\n  n_init: 2\n  max_iter: 50\n")
    return cfg


def test_config_file_sets_method_params_and_k(tmp_path, capsys, kmeans_config):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    out = tmp_path / "out"
    # no METHOD argument: it comes from the config
    rc, _, err = run_cli(
        capsys, "run", "--config", kmeans_config, "--data", f"npy:{src}", "--out", out
    )
    assert rc == 0, err
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["method"] == "kmeans"
    assert cfg["n_clusters"] == 3
    assert cfg["params"]["n_init"] == 2
    assert cfg["params"]["max_iter"] == 50
    assert cfg["params"]["random_state"] == 5
    assert np.unique(np.load(out / "labels.npy")).size == 3

    # the same method named on the command line is fine; --set overrides the config
    rc, _, err = run_cli(
        capsys,
        "run",
        "kmeans",
        "--config",
        kmeans_config,
        "--data",
        f"npy:{src}",
        "--set",
        "n_init=3",
        "--out",
        out,
        "--overwrite",
    )
    assert rc == 0, err
    assert yaml.safe_load((out / "config.yaml").read_text())["params"]["n_init"] == 3


def test_config_method_mismatch_is_error(tmp_path, capsys, kmeans_config):
    rc, _, err = run_cli(
        capsys,
        "run",
        "gmm",
        "--config",
        kmeans_config,
        "--data",
        "digits",
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(rc, err, "'kmeans'", "'gmm'")
    assert not (tmp_path / "out").exists()


def test_scdsc_run_writes_map_metrics_and_config(tmp_path, capsys):
    out = tmp_path / "scdsc"
    fast = dict(
        n_components=4, patch_size=5, finch_patch_size=7, finch_components=20,
        pretrain_epochs=3, epochs=6, window=3, kmeans_n_init=2,
    )  # fmt: skip
    sets = [a for k, v in fast.items() for a in ("--set", f"{k}={v}")]
    rc, stdout, err = run_cli(
        capsys, "run", "scdsc", "--data", "synthetic:hsi", "--seed", "0", "--out", out, *sets
    )
    assert rc == 0, err
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["method"] == "scdsc" and cfg["params"]["epochs"] == 6
    labels = np.load(out / "labels.npy")
    assert labels.ndim == 2 and labels.min() >= 0  # a cluster for every pixel of the scene
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"acc", "nmi", "kappa", "per_class_accuracy"} <= set(metrics)
    assert metrics["acc"] > 0.8  # distinct synthetic spectra in coherent regions
    assert_png(out / "cluster_map.png")
    assert "acc=" in stdout


def test_demo_prints_table_and_writes_picture(tmp_path, capsys):
    out = tmp_path / "demo"
    rc, stdout, err = run_cli(capsys, "demo", "--quick", "--out", out)
    assert rc == 0, err
    rows = json.loads((out / "metrics.json").read_text())
    names = [r["method"] for r in rows]
    assert names[0] == "k-means" and "IDEC" in names and len(names) >= 5
    assert all(0.0 <= r["acc"] <= 1.0 and r["seconds"] >= 0 for r in rows)
    # real digits: the classic baselines land far above chance (0.1)
    assert {r["method"]: r["acc"] for r in rows}["k-means"] > 0.7
    assert "| method | ACC | NMI | ARI | seconds |" in stdout
    assert (out / "metrics.md").read_text().count("\n") == len(rows) + 2
    assert_png(out / "demo.png")


def test_adatsc_run_labels_every_time_step(tmp_path, capsys):
    out = tmp_path / "adatsc"
    sets = ["window=4", "filters=[4, 8]", "latent_dim=8", "heads=2", "pretrain_epochs=1",
            "epochs=1", "n_init=2", "n_real=4", "n_fake=4"]  # fmt: skip
    # one thread: deepclust otherwise takes the cores it finds free, and after one epoch
    # this tiny run ends with 2 clusters on one thread but 1 on two (no silhouette then),
    # so the test depended on the machine's load
    args = ["run", "adatsc", "--data", "synthetic:climate", "--n-clusters", "4", "--out", out,
            "--threads", "1"]  # fmt: skip
    for opt in ("n_time=48", "n_lat=8", "n_lon=8"):
        args += ["--data-opt", opt]
    for item in sets:
        args += ["--set", item]
    rc, _, err = run_cli(capsys, *args)
    assert rc == 0, err
    labels = np.load(out / "labels.npy")
    assert labels.shape == (48,) and labels.min() >= 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"acc", "nmi", "silhouette", "mean_run_length"} <= set(metrics)
    assert_png(out / "regime_timeline.png")
