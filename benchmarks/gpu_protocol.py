"""Shared plumbing of the GPU protocol scripts (``mlc_cifar.py``, ``gatcluster_stl10.py``):
the process group under ``torchrun``, one timed fit with its peak GPU memory, and the
common fields of the JSON report. Only rank 0 writes."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch


def add_run_options(p: argparse.ArgumentParser, quick: str) -> None:
    """The options every protocol script shares: device, precision, compile, seed, out,
    and ``--quick`` (a CPU rehearsal, described by ``quick``)."""
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default=None,
                   help="default: bf16 on CUDA, fp32 elsewhere")  # fmt: skip
    p.add_argument("--compile", action="store_true", help="torch.compile the networks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true", help=f"CPU rehearsal: {quick}")


def on_cuda(device: str) -> bool:
    """Whether ``device`` (``"auto"`` picks CUDA when present) is a CUDA device."""
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def default_precision(precision: str | None, device: str) -> str:
    """bf16 autocast on CUDA unless told otherwise; fp32 elsewhere."""
    return precision or ("bf16" if on_cuda(device) else "fp32")


def in_process_group(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()`` inside the process group ``torchrun`` describes (nccl on GPUs, gloo on
    CPUs), or plainly outside one."""
    from deepclust.distributed import init_from_environment

    created = init_from_environment()
    try:
        return run()
    finally:
        if created:
            torch.distributed.destroy_process_group()


def timed_fit(est: Any, X: Any, y: Any, device: str) -> dict[str, Any]:
    """Fit ``est`` on ``X`` and report the seconds (whole fit and per epoch of every
    stage), ACC/NMI/ARI against ``y`` (evaluation only), the device, the GPU and its
    peak memory, the number of ranks, the date and the machine."""
    from deepclust.distributed import is_distributed
    from deepclust.metrics import external_metrics

    cuda = on_cuda(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    tic = time.perf_counter()
    est.fit(X)
    if cuda:
        torch.cuda.synchronize()
    epochs: dict[str, list[float]] = {}
    for r in est.history_:
        epochs.setdefault(r["stage"], []).append(round(r["seconds"], 2))
    return {
        "n_samples": int(len(X)), "fit_seconds": round(time.perf_counter() - tic, 1),
        "epoch_seconds": epochs,
        **{k: round(v, 4) for k, v in external_metrics(y, est.labels_).items()
           if k in ("acc", "nmi", "ari")},
        "device": str(est.device_), "precision": est.precision,
        "compiled": bool(est.compile_networks),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None,
        "ranks": torch.distributed.get_world_size() if is_distributed() else 1,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(), "torch": torch.__version__,
    }  # fmt: skip


def write_report(report: dict[str, Any], path: Path) -> bool:
    """Write ``report`` as JSON on rank 0 (creating the folder); True where written."""
    from deepclust.distributed import is_writer

    if not is_writer():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: report.get(k) for k in ("acc", "nmi", "fit_seconds")}), flush=True)
    return True
