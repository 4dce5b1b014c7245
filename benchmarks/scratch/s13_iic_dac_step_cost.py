"""IIC and DAC seconds per optimiser step on MNIST-sized images, one thread (session 13).

    python benchmarks/scratch/s13_iic_dac_step_cost.py

Random 1 x 28 x 28 images, the narrow network (32-64-128) used for the CPU schedules:
IIC with its default batch of 256 (two views each), DAC with its default 128. Fixes the
epochs of the MNIST runs from costs, before any score. No labels.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from deepclust.methods.dac import DAC
from deepclust.methods.iic import IIC

torch.set_num_threads(1)
X = np.random.default_rng(0).random((1024, 1, 28, 28), dtype=np.float32)
W = (32, 64, 128)
for name, make, steps in (
    ("iic", lambda e: IIC(10, widths=W, epochs=e, random_state=0), 4),
    ("dac", lambda e: DAC(10, widths=W, epochs=e, random_state=0), 8),
):
    times = []
    for epochs in (1, 3):
        tic = time.perf_counter()
        make(epochs).fit(X)
        times.append(time.perf_counter() - tic)
    print(json.dumps({"method": name, "s_per_step": round((times[1] - times[0]) / (2 * steps), 3)}))
