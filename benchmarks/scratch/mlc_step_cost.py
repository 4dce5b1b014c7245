"""Seconds of one MLC loss step (eq. 4 forward and backward, Sinkhorn membership of the
cluster features) on random unit features, one thread, by batch size:
``python benchmarks/scratch/mlc_step_cost.py 256 512 1024``. Session 8, RESULTS.md."""

import sys
import time

import torch
import torch.nn.functional as F

from deepclust.objectives.coding_rate import mlc_loss
from deepclust.objectives.sinkhorn import membership

torch.set_num_threads(1)
for n in [int(a) for a in sys.argv[1:]] or [256, 512, 1024]:
    z = F.normalize(torch.randn(n, 128), dim=1).requires_grad_(True)
    c = F.normalize(torch.randn(n, 128), dim=1).requires_grad_(True)
    tic = time.perf_counter()
    mlc_loss(z, membership(c, 0.175, 5))["loss"].backward()
    print(n, f"{time.perf_counter() - tic:.2f} s per step", flush=True)
