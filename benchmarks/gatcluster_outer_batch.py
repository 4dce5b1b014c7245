"""GATCluster: seconds and peak memory of one outer batch as M grows (issue 14).

Each M runs in its own process (peak RSS is per process): one outer batch of Algorithm 1
on MNIST-sized images (28 x 28, the default network), i.e. step one over M images in
eval-mode sub-batches, then one pass of step two in sub-batches of 32.

    python benchmarks/gatcluster_outer_batch.py --sizes 1000 2000 4000 --threads 1

Prints one JSON line per M: seconds, peak RSS (MiB) and the RSS before training.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(m: int, threads: int) -> dict:
    import numpy as np
    import torch

    from deepclust.methods.gatcluster import GATCluster

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    X = rng.random((m, 1, 28, 28), dtype=np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tic = time.perf_counter()
    GATCluster(10, outer_batch=m, epochs=1, passes=1, random_state=0, device="cpu").fit(X)
    return {
        "M": m,
        "seconds": time.perf_counter() - tic,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_fit_mib": before,
        "threads": threads,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.threads)), flush=True)
        return
    for m in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(m), "--threads", str(args.threads)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
