"""GATCluster step costs on one thread, to fix a CPU schedule before any score (session 13).

    python benchmarks/scratch/s13_gatcluster_step_cost.py

For each (input side, widths): the seconds of one fit of one outer batch of M = 500 random
images with 1 and with 3 passes of step two (sub-batches of 32). (t3 - t1) / 2 is one
pass (15 steps); t1 minus that is step one, the transform, set-up and the final
labelling of the 500 images. No labels, no scores.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from deepclust.methods.gatcluster import GATCluster

torch.set_num_threads(1)
M = 500


def fit_seconds(side: int, widths: tuple[int, ...], passes: int) -> float:
    X = np.random.default_rng(0).random((M, 1, side, side), dtype=np.float32)
    tic = time.perf_counter()
    GATCluster(10, widths=widths, outer_batch=M, epochs=1, passes=passes,
               random_state=0, device="cpu").fit(X)  # fmt: skip
    return time.perf_counter() - tic


for side in (28, 32):
    for widths in ((64, 128, 256), (32, 64, 128)):
        t1, t3 = fit_seconds(side, widths, 1), fit_seconds(side, widths, 3)
        per_pass = (t3 - t1) / 2
        print(
            json.dumps(
                {
                    "side": side,
                    "widths": widths,
                    "t1": round(t1, 2),
                    "t3": round(t3, 2),
                    "s_per_step": round(per_pass / (M // 32), 3),
                    "step_one_and_setup_s": round(t1 - per_pass, 2),
                }
            ),
            flush=True,
        )
