"""The CIFAR protocol script of MLC (``benchmarks/mlc_cifar.py``) on a tiny file in the
official CIFAR-10 format, on the CPU (the real run needs a GPU)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
from test_data_images import write_cifar10

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "mlc_cifar.py"


def _script():
    spec = importlib.util.spec_from_file_location("mlc_cifar", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlc_cifar_script_rehearses_on_a_tiny_cifar10(tmp_path):
    write_cifar10(tmp_path / "c10", np.random.default_rng(0))  # 10 train, 3 test images
    out = tmp_path / "out"
    report = _script().main([
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
    again = _script().main([
        "--data", f"cifar10:{tmp_path / 'c10'}", "--quick", "--epochs", "1",
        "--batch-size", "8", "--device", "cpu", "--init-from", str(out / "mlc-seed0.pt"),
        "--seed", "1", "--out", str(out),
    ])  # fmt: skip
    assert set(again["epoch_seconds"]) == {"mlc"}  # no TCR stage
