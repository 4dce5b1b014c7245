"""Thread settings on a free and on a busy machine: one IDEC fit on the digits.

    python benchmarks/threads_load.py --out benchmarks/results/threads_load

Each configuration runs in a fresh process (OpenMP reads its environment at load time),
first with the machine otherwise idle, then beside one CPU-bound process (a Python busy
loop, what "another job on the machine" looks like):

* ``active-2``: two threads, OpenMP spinning while it waits (``OMP_WAIT_POLICY=ACTIVE``):
  torch's and OpenMP's own defaults on a 2-core machine, i.e. deepclust before the fix;
* ``passive-2``: two threads, OpenMP sleeping while it waits;
* ``auto``: deepclust's default (threads = cores not busy elsewhere, passive waiting).

Run it with nothing else on the machine. One JSON per (configuration, load) in --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

FIT = """
import time
from deepclust import IDEC
from deepclust.data.registry import load_digits
X = load_digits().X
tic = time.perf_counter()
m = IDEC(n_clusters=10, random_state=0, device="cpu").fit(X)
import torch
print(time.perf_counter() - tic, torch.get_num_threads())
"""
CONFIGS = {
    "active-2": {"OMP_WAIT_POLICY": "ACTIVE", "DEEPCLUST_NUM_THREADS": "2"},
    "passive-2": {"OMP_WAIT_POLICY": "PASSIVE", "DEEPCLUST_NUM_THREADS": "2"},
    "auto": {},
}
BURNER = "while True: pass"


def fit_seconds(extra_env: dict[str, str]) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.pop("DEEPCLUST_NUM_THREADS", None)
    env.pop("OMP_WAIT_POLICY", None)
    env.update(extra_env)
    out = subprocess.run(
        [sys.executable, "-c", FIT], env=env, capture_output=True, text=True, check=True
    )
    seconds, threads = out.stdout.split()
    return float(seconds), int(threads)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="benchmarks/results/threads_load")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for load in ("free", "busy"):
        burner = subprocess.Popen([sys.executable, "-c", BURNER]) if load == "busy" else None
        try:
            time.sleep(1.0 if burner else 0.0)
            for name in args.configs:
                seconds, threads = fit_seconds(CONFIGS[name])
                rec = {
                    "config": name,
                    "load": load,
                    "seconds": seconds,
                    "threads": threads,
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
                }
                (out / f"{name}-{load}.json").write_text(json.dumps(rec, indent=2) + "\n")
                print(f"{load:<5} {name:<10} {seconds:6.1f} s  ({threads} threads)", flush=True)
        finally:
            if burner is not None:
                burner.kill()


if __name__ == "__main__":
    main()
