"""The run pipeline (deepclust.run): repeatable configs, complete-or-nothing outputs, reports."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from deepclust.cli import main
from deepclust.diagnostics import assignment_report
from deepclust.exceptions import ConfigError
from deepclust.outdir import OutputFolder
from deepclust.run import RunSettings, run

pytestmark = pytest.mark.usefixtures("single_thread")
FAST_IDEC = ["--set", "ae_layerwise_epochs=2", "--set", "ae_finetune_epochs=3", "--set", "epochs=3"]


def blobs(n: int = 90, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    return (centres[np.arange(n) % 3] + rng.normal(size=(n, 2))).astype(np.float32)


def kmeans_cli(src: Path, out: str, *extra: str) -> int:
    """``deepclust run kmeans --data npy:SRC --n-clusters 3 --out OUT EXTRA...``."""
    return main(
        ["run", "kmeans", "--data", f"npy:{src}", "--n-clusters", "3", "--out", out, *extra]
    )


def test_cli_import_does_not_load_torch_or_sklearn():
    code = (
        "import sys, deepclust.cli; "
        "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_is_fast():
    import time

    tic = time.perf_counter()
    subprocess.run([sys.executable, "-m", "deepclust", "--help"], capture_output=True, check=True)
    assert time.perf_counter() - tic < 3.0  # < 1 s on a free machine; slack for a busy one


def test_config_repeats_the_run_bit_for_bit_from_another_folder(tmp_path, monkeypatch, capsys):
    src = tmp_path / "data" / "points.npy"
    src.parent.mkdir()
    np.save(src, blobs())
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    rel = os.path.relpath(src)  # a relative path, as users type it
    rc = main(
        [
            "run",
            "idec",
            "--data",
            f"npy:{rel}",
            "--n-clusters",
            "3",
            "--out",
            "first",
            "-q",
            *FAST_IDEC,
        ]
    )
    assert rc == 0, capsys.readouterr().err
    cfg = yaml.safe_load((work / "first" / "config.yaml").read_text())
    assert cfg["data"] == f"npy:{src}"  # absolute, so it repeats from anywhere
    assert cfg["data_file"]["size"] == src.stat().st_size and len(cfg["data_file"]["sha256"]) == 64
    assert cfg["environment"]["torch"] and cfg["params"]["epochs"] == 3

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = work / "first" / "config.yaml"
    assert main(["run", "--config", str(config), "--out", "again", "-q"]) == 0
    first = np.load(work / "first" / "labels.npy")
    np.testing.assert_array_equal(np.load(elsewhere / "again" / "labels.npy"), first)

    # the same run through the Python API gives the same labels
    result = run(RunSettings.from_config(str(config)))
    np.testing.assert_array_equal(result.labels, first)


def test_run_api_writes_a_complete_folder(tmp_path):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    settings = RunSettings("kmeans", f"npy:{src}", n_clusters=3)
    result = run(settings, tmp_path / "out")
    assert result.out == (tmp_path / "out").absolute()
    names = sorted(os.listdir(result.out))
    assert names == ["config.yaml", "embedding.png", "labels.npy", "metrics.json"]
    assert result.metrics["clusters"]["n_clusters_found"] == 3
    assert result.metrics["clusters"]["collapsed"] is False


def test_output_files_honour_the_umask(tmp_path):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    old = os.umask(0o022)
    try:
        run(RunSettings("kmeans", f"npy:{src}", n_clusters=3), tmp_path / "out", save_model=True)
    finally:
        os.umask(old)
    for f in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_a_failed_run_leaves_the_previous_folder_untouched(tmp_path, monkeypatch):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    out = tmp_path / "out"
    run(RunSettings("kmeans", f"npy:{src}", n_clusters=3, seed=1), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    import deepclust.run as run_module

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # a kill while writing the outputs

    monkeypatch.setattr(run_module, "write_outputs", killed)
    with pytest.raises(KeyboardInterrupt):
        run(RunSettings("kmeans", f"npy:{src}", n_clusters=4, seed=2), out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["out", "points.npy"]  # no temporary folders


def test_rerun_without_save_model_leaves_no_stale_model(tmp_path):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    out = tmp_path / "out"
    run(RunSettings("kmeans", f"npy:{src}", n_clusters=3), out, save_model=True)
    assert (out / "model.pt").is_file()
    run(RunSettings("kmeans", f"npy:{src}", n_clusters=4), out, overwrite=True)
    assert not (out / "model.pt").exists()


def test_unwritable_out_fails_before_fitting(tmp_path, monkeypatch):
    import deepclust.run as run_module

    src = tmp_path / "points.npy"
    np.save(src, blobs())
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    called = []
    monkeypatch.setattr(run_module, "fit_method", lambda *a, **k: called.append(1))
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(ConfigError, match="cannot write into"):
            run(RunSettings("kmeans", f"npy:{src}", n_clusters=3), locked / "out")
    finally:
        locked.chmod(0o700)
    assert called == []


def test_output_folder_check_refuses_a_file(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        OutputFolder(f).check()
    with pytest.raises(ConfigError, match="is not a folder"):
        OutputFolder(f / "below").check()


def test_collapsed_result_is_reported(tmp_path, capsys):
    src = tmp_path / "points.npy"
    X = np.zeros((100, 2), np.float32)
    X[0] = 5.0  # 99 identical points and one outlier: 3 clusters cannot all be used well
    np.save(src, X)
    rc = kmeans_cli(src, str(tmp_path / "out"), "-q")
    err = capsys.readouterr().err
    assert rc == 0
    assert "deepclust: warning: degenerate clustering" in err
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["clusters"]["collapsed"] is True and "degenerate" in metrics["warning"]


def test_assignment_report():
    rep = assignment_report(np.array([0] * 95 + [1] * 5), 3)
    assert rep["n_clusters_found"] == 2 and rep["collapsed"]
    assert "only 2 of the 3" in rep["warning"] and "95%" in rep["warning"]
    ok = assignment_report(np.array([0, 1, 2] * 10 + [-1]), 3)
    assert not ok["collapsed"] and ok["warning"] is None and ok["largest_cluster_share"] == 1 / 3


def test_report_command(tmp_path, capsys):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    run(RunSettings("kmeans", f"npy:{src}", n_clusters=3), tmp_path / "out", command="x")
    capsys.readouterr()
    assert main(["report", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "method     kmeans" in text and "silhouette=" in text and str(src) in text


def test_progress_lines_go_to_stderr_in_log_mode(tmp_path, capsys):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    rc = main(
        [
            "run",
            "idec",
            "--data",
            f"npy:{src}",
            "--n-clusters",
            "3",
            "--out",
            str(tmp_path / "o"),
            *FAST_IDEC,
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0
    assert "[deepclust] fitting idec on 90 samples ..." in captured.err
    assert "[deepclust]   ae_finetune: 3 epochs" in captured.err
    assert "[deepclust]" not in captured.out
    rc = kmeans_cli(src, str(tmp_path / "q"), "-q")
    assert rc == 0 and capsys.readouterr().err == ""


def test_unknown_preprocess_and_set_keys_fail_before_loading(tmp_path, capsys, monkeypatch):
    import deepclust.run as run_module

    monkeypatch.setattr(run_module, "load", lambda *a, **k: pytest.fail("data was loaded"))
    for extra, fragment in [
        (["--preprocess", "foo=1"], "unknown preprocess option(s) ['foo']"),
        (["--set", "epochs=abc"], "'epochs' parameter of IDEC"),
        (["--set", "n_clusters=2.5"], "use --n-clusters"),
        (["--set", "batch_size=-1"], "'batch_size' parameter of IDEC"),
        (["--preprocess", "pca=0"], "preprocess pca=0"),
    ]:
        rc = main(["run", "idec", "--data", "digits", "--out", str(tmp_path / "o"), *extra])
        err = capsys.readouterr().err
        assert rc == 2 and fragment in err, err
        assert not (tmp_path / "o").exists()


def test_settings_from_a_finished_run_folder(tmp_path):
    src = tmp_path / "points.npy"
    np.save(src, blobs())
    run(RunSettings("kmeans", f"npy:{src}", n_clusters=3, seed=4), tmp_path / "out")
    again = RunSettings.from_config(str(tmp_path / "out"))
    assert again.seed == 4 and again.n_clusters == 3 and Path(again.data[4:]).is_absolute()


def test_every_bundled_config_is_accepted_by_its_method():
    from deepclust.records import bundled_configs, read_config
    from deepclust.run import build_estimator

    names = bundled_configs()
    assert "dgg_mnist_authors" in names
    for name in names:
        cfg = read_config(name)
        est = build_estimator(
            cfg["method"], cfg.get("n_clusters", 2), cfg.get("params", {}), 0, validate=True
        )
        assert type(est).__name__.lower().replace("aegmm", "ae-gmm") == cfg["method"], name


def test_image_methods_run_on_image_sets_and_refuse_other_kinds():
    # input_kind "images": the rows of an image set with its shape filled in
    settings = RunSettings("iic", "digits", n_clusters=10, params={"epochs": 1, "device": "cpu"})
    result = run(settings, None)
    assert result.labels.shape == (1797,) and result.estimator.input_shape_ == (1, 8, 8)
    with pytest.raises(ConfigError, match="clusters images data"):
        run(RunSettings("iic", "synthetic:hsi", n_clusters=3, params={"epochs": 1}), None)
