"""MLC's frozen-feature mode on a feature table, beside subspace clustering on the same
table (issue 13; the layout of the paper's Table 1).

    python benchmarks/mlc_frozen_features.py --model benchmarks/results/mlc_coil20/mlc-seed0.pt \
        --data coil20 --seeds 0 1 2 --out benchmarks/results/mlc_coil20_frozen

The table is what a user with a pretrained network has: the backbone features (before
any head) of the images of a suite set, from a saved MLC model whose backbone was
trained by TCR alone (MLC freezes it afterwards), written to ``<out>/features.npy``.
On it, with every method's defaults: MLC in frozen-feature mode (``backbone_hidden=()``:
the two heads on the features, no backbone), k-means, spectral clustering on a kNN
graph, EnSC and SSC-OMP, for each seed. ``<out>/results.json``: ACC/NMI per method and
seed (labels for evaluation only) and the seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

METHODS = ("mlc", "kmeans", "spectral", "ensc", "ssc-omp")


def backbone_features(model: Path, X: np.ndarray) -> np.ndarray:
    """The saved model's backbone output for every row of ``X``, in batches."""
    from deepclust import MLC

    est = MLC.load(model)
    net = est.network_.backbone.eval()
    data = est._as_tensor(est._scaled(X))
    with torch.no_grad():
        parts = [net(est._batch(data[i : i + 512])) for i in range(0, len(data), 512)]
    return torch.cat(parts).cpu().numpy().astype(np.float32)


def estimator(method: str, k: int, seed: int) -> Any:
    from deepclust.methods import get_method

    if method == "mlc":
        return get_method("mlc")(k, backbone_hidden=(), random_state=seed, device="cpu")
    return get_method(method)(k, random_state=seed)


def main() -> None:
    from deepclust.metrics import external_metrics

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", default="coil20")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from mlc_images import load

    _, X, y, k = load(args.data)
    H = backbone_features(args.model, X)
    np.save(args.out / "features.npy", H)
    path = args.out / "results.json"
    runs: list[dict[str, Any]] = json.loads(path.read_text())["runs"] if path.is_file() else []
    done = {(r["method"], r["seed"]) for r in runs}
    for seed in args.seeds:
        for method in args.methods:
            if (method, seed) in done:
                continue
            tic = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = estimator(method, k, seed).fit(H).labels_
            scores = external_metrics(y, labels)
            runs.append({"method": method, "seed": seed, "acc": round(scores["acc"], 4),
                         "nmi": round(scores["nmi"], 4),
                         "seconds": round(time.perf_counter() - tic, 1)})  # fmt: skip
            print(json.dumps(runs[-1]), flush=True)
            path.write_text(json.dumps({
                "data": args.data, "model": str(args.model), "features": list(H.shape),
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": platform.platform(), "torch": torch.__version__, "runs": runs,
            }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
