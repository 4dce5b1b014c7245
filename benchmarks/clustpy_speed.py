"""Seconds per VaDE training epoch of an established library (clustpy) on full MNIST.

    pip install --no-deps --target /tmp/cp_target clustpy      # not a deepclust dependency
    PYTHONPATH=/tmp/cp_target python benchmarks/clustpy_speed.py --threads 1

clustpy's VaDE uses the same 784-500-500-2000-10 network as ``vade_mnist``. One fit with
one clustering epoch and one with ``1 + --extra`` epochs (both after one pretraining
epoch, same seed, one GMM initialisation) are timed; the difference divided by
``--extra`` is the cost of one clustering epoch, free of the set-up. clustpy imports
torchvision only for type hints and optional augmentation, which is not used here; a
stub module stands in for it so that torchvision's CUDA torch is not pulled in.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import platform
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path

import torch

from deepclust.data.images import load_mnist


def _dummy(attr: str) -> type:
    if attr.startswith("__"):
        raise AttributeError(attr)
    return type(attr, (), {})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves empty ``torchvision.*`` modules whose every attribute is a dummy class."""

    def find_spec(self, name, path=None, target=None):  # noqa: D102
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):  # noqa: D102
        mod = types.ModuleType(spec.name)
        mod.__path__ = []
        mod.__file__ = None  # no source: inspect and traceback skip it
        mod.__getattr__ = _dummy
        return mod

    def exec_module(self, module):  # noqa: D102
        pass


def stub_torchvision() -> None:
    """Let clustpy import without torchvision (used only for hints and augmentation)."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        sys.meta_path.insert(0, _StubFinder())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--extra", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/mnist_speed/clustpy-vade.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    stub_torchvision()
    import clustpy
    from clustpy.deep import VaDE

    X = load_mnist(args.data).X.astype("float32")

    def timed(epochs: int) -> float:
        est = VaDE(
            10, batch_size=args.batch_size, pretrain_epochs=1, clustering_epochs=epochs,
            initial_clustering_params={"n_init": 1, "covariance_type": "diag"},
            device=torch.device("cpu"), random_state=0,
        )  # fmt: skip
        tic = time.perf_counter()
        est.fit(X)
        return time.perf_counter() - tic

    short, long = timed(1), timed(1 + args.extra)
    rec = {
        "library": f"clustpy {getattr(clustpy, '__version__', '0.0.3')}",
        "method": "VaDE",
        "batch_size": args.batch_size,
        "seconds_per_epoch": (long - short) / args.extra,
        "fit_seconds": {"1 epoch": short, f"{1 + args.extra} epochs": long},
        "threads": torch.get_num_threads(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, torch {torch.__version__}",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rec, indent=2) + "\n")
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
