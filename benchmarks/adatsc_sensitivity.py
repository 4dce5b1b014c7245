"""A-DATSC sensitivity of the internal metrics to K (elbow, 3..12) and to the window T.

Runs A-DATSC on a cube for every K (and every T) given, one seed, and prints one JSON
line per run with the six internal metrics of Table 1 on the min-max scaled
``[time, lat*lon*var]`` view (plus ACC/NMI when the cube has known regimes). Labels
are read only to score; nothing is chosen with them.

    python benchmarks/adatsc_sensitivity.py --data climate:../shared/data/climate/canesm2_2095 \\
        --k 3 4 5 6 7 8 9 10 11 12 --window 8 --threads 1 > k_elbow.jsonl
    python benchmarks/adatsc_sensitivity.py --data climate:... --k 7 --window 4 8 16
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from deepclust.data import load
from deepclust.methods.adatsc import ADATSC
from deepclust.metrics import external_metrics, internal_metrics


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--k", type=int, nargs="+", default=[7])
    p.add_argument("--window", type=int, nargs="+", default=[8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import yaml

    extra = {k: yaml.safe_load(v) for k, _, v in (s.partition("=") for s in args.set)}
    ds = load(args.data)
    for window in args.window:
        for k in args.k:
            tic = time.perf_counter()
            est = ADATSC(k, window=window, random_state=args.seed, device="cpu", **extra)
            est.fit(ds.cube, mask=ds.mask)
            row = {"k": k, "window": window, "seed": args.seed,
                   "seconds": time.perf_counter() - tic,
                   **internal_metrics(ds.X, est.labels_)}  # fmt: skip
            if ds.y is not None:
                ext = external_metrics(ds.y, est.labels_)
                row.update(acc=ext["acc"], nmi=ext["nmi"])
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
