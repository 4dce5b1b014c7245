"""The GPU check of issue 15, in one command for the short time a GPU is lent.

    python benchmarks/gpu_check.py --data ../shared/data/mnist --compile --out $OUT/gpu_check
    python benchmarks/gpu_check.py --quick --devices cpu --out /tmp/gpu_check   # rehearsal

For IDEC and DGG on all 70,000 MNIST images it fits the same short schedule (a few
epochs of every stage, fixed seed) on each device and precision asked for, and records:

* seconds per epoch of every stage (``history_``), the fit time and the peak GPU memory;
* ACC/NMI of each run, and the agreement of each run's labels with the first device's
  (``cluster_accuracy`` between the two label sets: 1.0 is the same partition);
* on CUDA, a profile of one IDEC clustering epoch: device-to-host copies and host
  syncs (``aten::_local_scalar_dense``, i.e. ``.item()``) per optimiser step.

One JSON (``gpu_check.json``) in ``--out``, written after every run so that a run cut
short by the device's time limit keeps what finished. Labels are used for the report
only. The schedules are short on purpose: timings, not accuracy.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepclust.metrics import cluster_accuracy, external_metrics

#: epochs of every stage: enough for a steady per-epoch time, short enough for 15 min
SCHEDULES = {
    "idec": dict(ae_layerwise_epochs=1, ae_finetune_epochs=2, epochs=2),
    "dgg": dict(ae_layerwise_epochs=1, ae_finetune_epochs=2, vae_epochs=1, siamese_epochs=1,
                classifier_epochs=1, epochs=2, n_init=1),
}  # fmt: skip


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    if args.quick:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y
    from deepclust.data import load

    ds = load(f"mnist:{args.data}")
    return ds.X.reshape(len(ds.X), -1).astype(np.float32), ds.y


def fit_once(
    method: str, device: str, precision: str, X: np.ndarray, seed: int, compiled: bool = False
) -> Any:
    from deepclust import DGG, IDEC

    cls = {"idec": IDEC, "dgg": DGG}[method]
    est = cls(10, device=device, precision=precision, random_state=seed,
              compile_networks=compiled, **SCHEDULES[method])  # fmt: skip
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    tic = time.perf_counter()
    est.fit(X)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    est.fit_seconds_ = time.perf_counter() - tic
    return est


def epoch_seconds(history: list[dict[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in history:
        out.setdefault(r["stage"], []).append(round(float(r["seconds"]), 3))
    return out


def host_syncs_per_step(X: np.ndarray, seed: int) -> dict[str, Any]:
    """Profile one IDEC clustering epoch on CUDA: copies to the host and syncs per step."""
    from torch.profiler import ProfilerActivity, profile

    from deepclust import IDEC
    from deepclust.training import TrainingLoop

    original = TrainingLoop.run
    counts: dict[str, Any] = {}

    def run(self: TrainingLoop, epoch_fn: Any) -> Any:
        if self.stage != "idec":
            return original(self, epoch_fn)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            out = original(self, epoch_fn)
        events = prof.key_averages()
        counts["steps"] = sum(e.count for e in events if "Adam" in e.key and "step" in e.key)
        counts["item_calls"] = sum(e.count for e in events if e.key == "aten::_local_scalar_dense")
        counts["dtoh_copies"] = sum(e.count for e in events if "DtoH" in e.key)
        top = sorted(events, key=lambda e: -e.device_time_total)[:8]
        counts["top_cuda_ops_ms"] = [(e.key, round(e.device_time_total / 1e3, 1)) for e in top]
        return out

    TrainingLoop.run = run
    try:
        IDEC(10, device="cuda", random_state=seed, ae_layerwise_epochs=0, ae_finetune_epochs=1,
             epochs=1).fit(X)  # fmt: skip
    finally:
        TrainingLoop.run = original
    return counts


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "gpu_check.json.tmp"
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(out / "gpu_check.json")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--devices", nargs="+", default=["cuda", "cpu"])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                   help="precisions tried on CUDA (the CPU runs fp32)")  # fmt: skip
    p.add_argument("--methods", nargs="+", default=["idec", "dgg"])
    p.add_argument("--compile", action="store_true",
                   help="also an fp32 run with compile_networks=True on CUDA")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="sklearn digits: a CPU rehearsal")
    args = p.parse_args()
    X, y = load_data(args)
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(), "cpu_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__, "n_samples": len(X), "schedules": SCHEDULES, "runs": [],
    }  # fmt: skip
    for method in args.methods:
        first = None
        for device in args.devices:
            cuda = device.startswith("cuda")
            arms = [(p, False) for p in (args.precisions if cuda else ["fp32"])]
            arms += [("fp32", True)] if cuda and args.compile else []
            for precision, compiled in arms:
                est = fit_once(method, device, precision, X, args.seed, compiled)
                first = est.labels_ if first is None else first
                report["runs"].append({
                    "method": method, "device": device, "precision": precision,
                    "compiled": compiled,
                    "fit_seconds": round(est.fit_seconds_, 2),
                    "epoch_seconds": epoch_seconds(est.history_),
                    "peak_gpu_mb": (round(torch.cuda.max_memory_allocated() / 2**20)
                                    if device.startswith("cuda") else None),
                    **{k: round(v, 4) for k, v in external_metrics(y, est.labels_).items()
                       if k in ("acc", "nmi", "ari")},
                    "agreement_with_first": round(cluster_accuracy(first, est.labels_), 4),
                })  # fmt: skip
                print(json.dumps(report["runs"][-1]), flush=True)
                write(report, args.out)
    if torch.cuda.is_available() and "cuda" in args.devices:
        report["idec_epoch_profile"] = host_syncs_per_step(X, args.seed)
        write(report, args.out)


if __name__ == "__main__":
    main()
