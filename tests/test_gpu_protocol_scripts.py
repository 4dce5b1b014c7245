"""The GPU protocol scripts (``benchmarks/mlc_cifar.py``, ``benchmarks/gatcluster_stl10.py``)
rehearsed on tiny files in the official CIFAR-10 and STL-10 formats, on the CPU (the real
runs need a GPU)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
from test_data_images import write_cifar10, write_stl

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # their shared gpu_protocol module
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlc_cifar_script_rehearses_on_a_tiny_cifar10(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "c10", np.random.default_rng(0))  # 10 train, 3 test images
    out = tmp_path / "out"
    report = _script("mlc_cifar", monkeypatch).main([
        "--data", f"cifar10:{tmp_path / 'c10'}", "--quick", "--init-epochs", "1",
        "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--save-init",
        "--out", str(out),
    ])  # fmt: skip
    saved = json.loads((out / "mlc-seed0.json").read_text())
    assert saved["n_samples"] == 10 and saved["ranks"] == 1  # the training split
    assert set(saved["epoch_seconds"]) == {"tcr", "mlc"}
    assert 0.0 <= saved["acc"] <= 1.0 and saved["precision"] == "fp32"
    assert saved == json.loads(json.dumps(report))
    # the saved model is a TCR initialisation that a second run reuses
    again = _script("mlc_cifar", monkeypatch).main([
        "--data", f"cifar10:{tmp_path / 'c10'}", "--quick", "--epochs", "1",
        "--batch-size", "8", "--device", "cpu", "--init-from", str(out / "mlc-seed0.pt"),
        "--seed", "1", "--out", str(out),
    ])  # fmt: skip
    assert set(again["epoch_seconds"]) == {"mlc"}  # no TCR stage


def test_gatcluster_stl10_script_rehearses_on_a_tiny_stl10(tmp_path, monkeypatch):
    write_stl(tmp_path / "stl10_binary", np.random.default_rng(0), {"train": 12, "test": 8})
    out = tmp_path / "out"
    report = _script("gatcluster_stl10", monkeypatch).main([
        "--data", f"stl10:{tmp_path}", "--quick", "--outer-batch", "8", "--out", str(out),
    ])  # fmt: skip
    saved = json.loads((out / "gatcluster-seed0.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["n_samples"] == 20 and saved["outer_batches_per_epoch"] == 3  # 8 + 6 + 6
    assert len(saved["seconds_per_outer_batch"]) == 1 and saved["settings"]["passes"] == 1
    assert 0.0 <= saved["acc"] <= 1.0 and saved["gpu"] is None
    assert (out / "attention.png").stat().st_size > 1000  # Fig. 4
