# ruff: noqa
"""Where an A-DATSC step goes on a CanESM2-sized window batch (dev profile)."""

import time, sys, torch

torch.set_num_threads(1)
from deepclust.nn.adatsc import ADATSCNetwork

grid = tuple(int(v) for v in (sys.argv[1] if len(sys.argv) > 1 else "36,36").split(","))
net = ADATSCNetwork(3, grid, 7, 8, 90, filters=(8, 16, 32), latent_dim=16, heads=4)
x = torch.rand(8, 8, 3, *grid)
w = torch.arange(8)
opt = torch.optim.Adam(net.parameters())
for with_code in (False, True):
    for rep in range(3):
        t = time.perf_counter()
        out = net(x, w, with_code=with_code)
        loss = (out["x_hat"] - x).pow(2).mean() + (out.get("x_code", out["x_hat"]) - x).pow(
            2
        ).mean()
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        print(f"with_code={with_code} forward {t1 - t:.2f}s backward+step {t2 - t1:.2f}s")
with torch.autograd.profiler.profile() as prof:
    out = net(x, w, with_code=True)
    ((out["x_hat"] - x).pow(2).mean() + (out["x_code"] - x).pow(2).mean()).backward()
print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=15))
