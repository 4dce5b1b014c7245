"""SCDSC with defaults on a 10,000-pixel synthetic scene: wall time per stage (issue 11).

    OMP_NUM_THREADS=1 python benchmarks/scdsc_10k_timing.py --out benchmarks/results/scdsc_10k

The scene is the protocol's base scene (similarity 0.8, noise 0.08, 6 classes) at
100 x 100; every pixel is fitted (a user's scene has no mask). Labels only score the end.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from deepclust.bench.suite import _SCENE_BASE
from deepclust.data.synthetic import make_hsi_scene
from deepclust.methods.scdsc import SCDSC
from deepclust.metrics import external_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/scdsc_10k")
    args = ap.parse_args()
    ds = make_hsi_scene(**{**_SCENE_BASE, "shape": (100, 100)})
    tic = time.perf_counter()
    est = SCDSC(6, random_state=args.seed).fit(ds.cube)
    seconds = time.perf_counter() - tic
    m = external_metrics(ds.y[ds.labelled], est.label_map_.ravel()[ds.labelled])
    record = {
        "seed": args.seed, "pixels": 10_000, "seconds": seconds, "timings": est.timings_,
        "oa": m["acc"], "nmi": m["nmi"], "window": est.window_, "stopped_epoch": est.stopped_epoch_,
        "best_epoch": est.best_epoch_, "machine": platform.node(),
        "date": datetime.now(timezone.utc).isoformat(),
    }  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"seed{args.seed}.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
