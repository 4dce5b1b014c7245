"""Tensor-to-host reads and ``.to(device)`` calls made by kornia's own lines per
augmentation call, for deepclust's augmentation sets, on a batch of 64 images (10 calls
counted after one warm-up). Session 12, RESULTS.md."""

import traceback
from collections import Counter
from pathlib import Path

import kornia
import torch
from torch.overrides import TorchFunctionMode

from deepclust.nn.augment import colour_augmentation, gatcluster_augmentation, grey_augmentation

KORNIA = str(Path(kornia.__file__).resolve().parent) + "/"
READS = {"item", "__float__", "__int__", "__bool__", "tolist", "cpu", "__index__", "numpy"}


def _moves(name: str, args: tuple, kwargs: dict) -> bool:
    return name == "to" and (
        "device" in kwargs or any(isinstance(a, (torch.device, str)) for a in args[1:])
    )


class Count(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()
        self.moves: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        move = _moves(name, args, kwargs)
        if name in READS or move:
            for frame in traceback.extract_stack(limit=6)[:-1]:
                if str(Path(frame.filename).resolve()).startswith(KORNIA):
                    (self.moves if move else self.reads)[name] += 1
                    break
        return func(*args, **kwargs)


SETS = [
    ("colour (MLC)", colour_augmentation((32, 32)), torch.rand(64, 3, 32, 32)),
    ("grey (MLC/NMCE)", grey_augmentation((28, 28)), torch.rand(64, 1, 28, 28)),
    ("GATCluster grey", gatcluster_augmentation(1, True, False), torch.rand(64, 1, 28, 28)),
]
for label, aug, x in SETS:
    aug(x)
    count = Count()
    with count:
        for _ in range(10):
            aug(x)
    reads = {k: v / 10 for k, v in count.reads.items()}
    moves = {k: v / 10 for k, v in count.moves.items()}
    print(label, "reads per call", reads, "moves per call", moves)
