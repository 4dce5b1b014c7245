"""No host read inside the hot loops: the training steps never turn a tensor into a Python
value (``.item()``, ``float()``, ``int()``, ``bool()``, ``.tolist()``, ``.cpu()``).

On a GPU each such read copies to the host and stalls the queue of kernels, once per
step. Sums of the logged losses stay on the device and are read once per epoch by the
loop; branches on tensor values become masked arithmetic. A ``TorchFunctionMode`` counts
the reads made directly by deepclust's code (not those inside torch or kornia) while an
optimiser-step hook counts the steps; with many steps per epoch, per-epoch bookkeeping
stays far below one read per step, and a read in every step does not.
"""

from __future__ import annotations

import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from test_gatcluster import _shapes
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.overrides import TorchFunctionMode

import deepclust
from deepclust.data.synthetic import make_hsi_scene
from deepclust.methods import get_method

READS = {"item", "__float__", "__int__", "__bool__", "tolist", "cpu", "__index__"}
#: the package's own source folder (not a checkout folder that happens to share its name)
PACKAGE = str(Path(deepclust.__file__).resolve().parent) + "/"


def _names_device(args: tuple, kwargs: dict) -> bool:
    """Whether a ``Tensor.to`` call names a device (a copy across devices on a GPU)."""
    return "device" in kwargs or any(isinstance(a, (torch.device, str)) for a in args[1:])


class HostReads(TorchFunctionMode):
    """Counts tensor-to-Python reads whose caller is a deepclust source line, and (as
    ``moves``) that code's ``.to(device)`` calls on host tensors: on a GPU each copies
    from the host, so one per step would be a copy inside the hot loop."""

    def __init__(self) -> None:
        super().__init__()
        self.where: Counter[str] = Counter()
        self.moves: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        name = getattr(func, "__name__", "")
        kwargs = kwargs or {}
        moves = name == "to" and _names_device(args, kwargs)
        if name in READS or moves:
            caller = traceback.extract_stack(limit=2)[0]
            path = str(Path(caller.filename).resolve())
            if path.startswith(PACKAGE):
                where = self.moves if moves else self.where
                where[f"{path[len(PACKAGE) :]}:{caller.lineno}"] += 1
        return func(*args, **kwargs)


def _vectors() -> np.ndarray:
    X, _ = make_blobs(512, n_features=12, centers=3, random_state=0)
    return X.astype(np.float32)


def _cube() -> np.ndarray:
    rng = np.random.default_rng(0)
    regimes = np.repeat([0, 1, 0, 2, 1, 2], 24)
    patterns = rng.normal(size=(3, 6, 5, 2))
    return (patterns[regimes] + 0.1 * rng.normal(size=(144, 6, 5, 2))).astype(np.float32)


AE = dict(hidden_dims=(16,), latent_dim=3, ae_layerwise_epochs=1, ae_finetune_epochs=1)
IMG = dict(widths=(8, 16, 16), feature_dim=8)
CUBE = dict(window=4, filters=(4, 8), latent_dim=8, batch_size=4, pretrain_epochs=1, epochs=2)
#: every hot loop with at least 16 steps per epoch: (settings, data)
CASES = {
    "dec": (dict(batch_size=16, epochs=2, **AE), _vectors),
    "idec": (dict(batch_size=16, epochs=2, **AE), _vectors),
    "dekm": (dict(batch_size=16, epochs=2, **AE), _vectors),
    "edesc": (dict(batch_size=16, epochs=2, **AE), _vectors),
    "vade": (dict(batch_size=16, epochs=2, **AE), _vectors),
    "dgg": (dict(batch_size=16, epochs=2, vae_epochs=1, siamese_epochs=1, classifier_epochs=1,
                 n_init=1, **AE), _vectors),  # fmt: skip
    "spectralnet": (dict(batch_size=16, epochs=2), _vectors),
    "clustergan": (dict(batch_size=16, iterations=100), _vectors),
    "nmce": (dict(batch_size=16, epochs=1, dim=3, backbone_hidden=(16,), head_hidden=(16,)),
             _vectors),  # fmt: skip
    "mlc": (dict(batch_size=16, epochs=1, dim=3, backbone_hidden=(16,), head_hidden=(16,)),
            _vectors),  # fmt: skip
    "iic": (dict(batch_size=8, epochs=2, **IMG), lambda: _shapes()[0]),
    "dac": (dict(batch_size=8, epochs=2, **IMG), lambda: _shapes()[0]),
    "gatcluster": (dict(batch_size=8, epochs=1, **IMG), lambda: _shapes()[0]),
    "adatsc": (dict(heads=2, n_init=1, n_real=4, n_fake=4, **CUBE), _cube),
    "dsc": (dict(lstm_hidden=16, n_init=1, **CUBE), _cube),
    "scdsc": (dict(n_components=4, patch_size=5, finch_patch_size=7, finch_components=20,
                   pretrain_epochs=1, pretrain_batch_size=8, epochs=2, batch_size=8,
                   window=3, tol=0.0, kmeans_n_init=2),
              lambda: make_hsi_scene((16, 16), n_bands=12, n_classes=3, random_state=0).cube),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_steps_do_not_read_tensors_on_the_host(name):
    settings, data = CASES[name]
    cls = get_method(name)
    known = cls().get_params()
    unknown = set(settings) - set(known)
    assert not unknown, f"{name} has no {unknown}"  # keep the settings honest
    est = cls(3, random_state=0, device="cpu", **settings)
    steps = [0]
    hook = register_optimizer_step_post_hook(lambda *_: steps.__setitem__(0, steps[0] + 1))
    reads = HostReads()
    try:
        with warnings.catch_warnings(), reads:
            warnings.simplefilter("ignore")
            est.fit(data())
    finally:
        hook.remove()
    assert steps[0] >= 32
    total = sum(reads.where.values())
    # per-epoch and per-stage bookkeeping only: far below one read per optimiser step
    assert total < steps[0] / 2, f"{total} reads in {steps[0]} steps: {reads.where.most_common(3)}"
    moves = sum(reads.moves.values())  # batch indices and draws made on the device
    assert moves < steps[0] / 2, f"{moves} moves in {steps[0]} steps: {reads.moves.most_common(3)}"
