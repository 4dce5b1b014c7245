"""``torch.compile`` on this CPU, one thread: a 784-500-500-10 MLP, batch 256, forward and
backward, eager against ``torch.compile(net)``; then ``nn.Module.compile()`` and a
compiled ``forward`` attribute, with dynamo's capture counters. Session 12, RESULTS.md."""

import time

import torch
from torch._dynamo.utils import counters

torch.set_num_threads(1)
x = torch.randn(256, 784)


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(784, 500), torch.nn.ReLU(),
                               torch.nn.Linear(500, 500), torch.nn.ReLU(),
                               torch.nn.Linear(500, 10))  # fmt: skip


def step(m: torch.nn.Module) -> None:
    m(x).pow(2).mean().backward()


net = mlp()
for name, m in [("eager", net), ("compiled", torch.compile(net))]:
    t = time.perf_counter()
    step(m)
    first = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(50):
        step(m)
    print(name, f"first {first:.2f}s, then {(time.perf_counter() - t) / 50 * 1000:.2f} ms/step")
for how in ("Module.compile()", "forward attribute"):
    torch._dynamo.reset()
    counters.clear()
    m = mlp()
    if how == "Module.compile()":
        m.compile()
    else:
        m.forward = torch.compile(m.forward)
    t = time.perf_counter()
    step(m)
    print(how, f"first call {time.perf_counter() - t:.2f} s", dict(counters["stats"]))
