"""A-DATSC cost: seconds per epoch and peak memory at 1x, 4x and 16x a grid (issue 12).

Each size runs in its own process (peak RSS is per process) on a synthetic cube from
``make_climate_cube`` with the bundled CanESM2 grid (36 x 36, 3 variables, 365 days)
scaled in area by 1, 4 and 16 (side x1, x2, x4); one pretraining and one joint epoch
with the defaults otherwise.

    python benchmarks/adatsc_cost.py --factors 1 4 16 --threads 1

Prints one JSON line per size: seconds of the pretraining and the joint epoch, and the
peak RSS in MiB.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys


def one(factor: int, threads: int, n_time: int) -> dict:
    import torch

    from deepclust.data.synthetic import make_climate_cube
    from deepclust.methods.adatsc import ADATSC

    torch.set_num_threads(threads)
    side = int(36 * math.sqrt(factor))
    ds = make_climate_cube(n_time, n_lat=side, n_lon=side, n_vars=3, n_regimes=7, random_state=0)
    est = ADATSC(7, pretrain_epochs=1, epochs=1, random_state=0, device="cpu").fit(ds.cube)
    secs = {h["stage"]: h["seconds"] for h in est.history_}
    return {"factor": factor, "grid": [side, side], "n_time": n_time, "threads": threads,
            "filters": list(est.filters_), "pretrain_epoch_s": secs.get("pretrain"),
            "joint_epoch_s": secs.get("adatsc"),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n-time", type=int, default=365)
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.threads, args.n_time)), flush=True)
        return
    for f in args.factors:
        cmd = [sys.executable, __file__, "--one", str(f), "--threads", str(args.threads),
               "--n-time", str(args.n_time)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
