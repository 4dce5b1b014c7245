"""The one training loop: epochs, progress bar, history, checkpoint every N epochs, exact resume.

Every method runs its training stages (pretraining, clustering, ...) through
:class:`TrainingLoop`. A stage is a named sequence of epochs; the method supplies an
``epoch_fn(epoch) -> dict of losses`` and the objects whose state must survive a restart
(networks, optimizers, schedulers, tensors). The loop owns a torch generator for
shuffling, so that a resumed run draws the same batches as an uninterrupted one.

A checkpoint holds the stage's objects, the epoch reached, the history so far and the
Python/NumPy/torch random states. With ``resume=True`` a stage whose checkpoint says it
finished is restored without training; an unfinished one continues from its last
checkpoint. Because the random states are restored too, the resumed run ends with the
same weights and labels as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from . import progress
from .data.lazy_images import is_lazy_rows
from .distributed import LoopSync, evenly_split, is_distributed, shard_of_draw
from .exceptions import DataError, DeepclustError
from .precision import LossScaler, active_scaler, autocast
from .utils import atomic_path

#: Parameters that do not change a fit's result, left out of the checkpoint fingerprint.
_RUNTIME_PARAMS = frozenset(
    {"verbose", "checkpoint_dir", "checkpoint_every", "resume", "device", "compile_networks"}
)


#: state key of the loop's generator on a non-CPU device
_DEVICE_GENERATOR = "_device_generator"


class TrainingDivergedError(DeepclustError):
    """A training loss became NaN or infinite; the run stopped instead of going on silently."""


def _fingerprint_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_fingerprint_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _fingerprint_value(v) for k, v in sorted(value.items())}
    get_params = getattr(value, "get_params", None)
    if callable(get_params):  # e.g. a pretrained Autoencoder: its class and settings
        params = {k: v for k, v in get_params().items() if k not in _RUNTIME_PARAMS}
        return {"class": type(value).__name__, "params": _fingerprint_value(params)}
    return f"{type(value).__module__}.{type(value).__qualname__}"


def data_digest(*arrays: Any, max_rows: int = 2048) -> str:
    """A short hash of the arrays' shapes, dtypes and an evenly spaced sample of rows.

    Cheap on any size (at most ``max_rows`` rows are read), yet it tells two datasets apart
    unless they agree on every sampled row.
    """
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        arr = a if is_lazy_rows(a) else np.asarray(a)
        h.update(repr((arr.shape, str(arr.dtype))).encode())
        if arr.ndim and arr.shape[0]:
            # lazy images: their file names, and 64 decoded rows
            rows = min(max_rows, 64) if is_lazy_rows(a) else max_rows
            if is_lazy_rows(a):
                h.update("\n".join(a.files).encode())
            step = max(1, arr.shape[0] // rows)
            h.update(np.ascontiguousarray(arr[::step]).tobytes())
    return h.hexdigest()[:16]


def fit_fingerprint(est: Any, *arrays: Any) -> dict[str, Any]:
    """What makes a checkpoint belong to one run: class, result-changing params, data."""
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in _RUNTIME_PARAMS}
    return {
        "class": type(est).__name__,
        "params": _fingerprint_value(params),
        "data": data_digest(*arrays),
    }


def _fingerprint_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> str:
    """A short account of how two fingerprints differ (for the error message)."""
    if saved.get("class") != current["class"]:
        return f"class {saved.get('class')} vs {current['class']}"
    diffs = []
    old, new = saved.get("params", {}), current["params"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            diffs.append(f"{key}={old.get(key)!r} vs {new.get(key)!r}")
    if saved.get("data") != current["data"]:
        diffs.append("different data")
    return ", ".join(diffs[:4]) + (" ..." if len(diffs) > 4 else "")


class TensorState:
    """Bundle plain tensors (e.g. a table of per-sample statistics) for checkpointing.

    Tensors are updated in place by the method; ``load_state_dict`` copies saved values
    back into the same tensors.
    """

    def __init__(self, **tensors: torch.Tensor) -> None:
        self.tensors = tensors

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.tensors[key]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.tensors.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for k, v in state.items():
            self.tensors[k].copy_(v.to(self.tensors[k].device))


class GlobalRNGState:
    """The global torch RNG (CPU, and CUDA when present) as a checkpointable object, for
    stages whose randomness does not come from the loop's generator (kornia
    augmentations draw from the global RNG), so a resumed run draws the same."""

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["cpu"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


class _GeneratorState:
    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"state": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["state"])


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()  # noqa: NPY002 - the global state is what we restore
    state = {
        "python": random.getstate(),
        "numpy": (
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class TrainingLoop:
    """Run one named training stage.

    Parameters
    ----------
    stage : str
        Name of the stage (used for the checkpoint file and in ``history_``).
    n_epochs : int
        Number of epochs of this stage.
    state : dict
        Objects with ``state_dict``/``load_state_dict`` to checkpoint (modules,
        optimizers, schedulers, :class:`TensorState`).
    history : list
        The estimator's ``history_``; one dict per epoch is appended.
    checkpoint_dir : path-like or None
        Where checkpoints go (``<dir>/<stage>.pt``); None disables checkpointing.
    checkpoint_every : int
        Save every this many epochs (and always after the last one).
    resume : bool
        Continue from an existing checkpoint of this stage.
    verbose : bool
        Show a tqdm progress bar with the latest losses.
    fingerprint : dict, optional
        :func:`fit_fingerprint` of the run; stored in every checkpoint, and a checkpoint
        with another fingerprint is refused on resume (it belongs to another run).
    owner : str
        Name of the estimator, for error messages.
    device : torch.device or None
        Where the stage trains (the autocast device type); None: CPU.
    precision : {"fp32", "bf16", "fp16"}
        Run each epoch under autocast to this half type (:mod:`deepclust.precision`);
        ``"fp16"`` also scales the losses that :func:`~deepclust.precision.backward`
        back-propagates and unscales (or skips) every optimiser step of the stage.
    compile_networks : bool
        ``torch.compile`` the forward of every network of the stage and of its direct
        children for the stage's epochs (:func:`compiled_forwards`).
    data_parallel : bool
        Inside a process group (``torchrun``), give each rank its share of every batch
        (:class:`~deepclust.distributed.LoopSync`); only for methods whose batch loss is
        a mean of per-sample terms and whose tables are not updated batch by batch.
        Without it every rank trains on whole batches (the same result, no speed-up).
        Gradients are averaged over ranks and rank 0 alone writes checkpoints either way.
    """

    def __init__(
        self,
        stage: str,
        n_epochs: int,
        *,
        state: dict[str, Any],
        history: list[dict[str, Any]],
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 10,
        resume: bool = False,
        verbose: bool = False,
        fingerprint: dict[str, Any] | None = None,
        owner: str = "",
        device: torch.device | None = None,
        precision: str = "fp32",
        data_parallel: bool = False,
        compile_networks: bool = False,
    ) -> None:
        self.stage = stage
        self.compile_networks = compile_networks
        self.fingerprint = fingerprint
        self.owner = owner
        self.n_epochs = int(n_epochs)
        self.history = history
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.resume = resume
        self.verbose = verbose
        # Seeded from the global torch RNG, so it follows random_state.
        seed = int(torch.randint(0, 2**62, (1,)).item())
        self.generator = torch.Generator().manual_seed(seed)
        self.state = dict(state)
        self.state["_batch_generator"] = _GeneratorState(self.generator)
        self.device = device if device is not None else torch.device("cpu")
        self.device_generator = self._device_generator(seed)
        self.epoch = 0
        self.stopped = False
        self.sync = LoopSync(self.state, shard_batches=data_parallel) if is_distributed() else None
        self.precision = precision
        self.scaler = LossScaler() if precision == "fp16" else None
        if self.scaler is not None:
            self.state["_loss_scale"] = self.scaler
        self.rows_seen = 0  # rows handed out by batches() in the current epoch
        self.global_batch = torch.zeros(0, dtype=torch.long)  # the last batch, all ranks
        self.host_batch = self.global_batch  # the last batch this rank was given
        self.placed_global_batch = self.global_batch

    def _device_generator(self, seed: int) -> torch.Generator:
        """The generator for draws made inside a step (negatives, noise), on the device so
        that no step copies random numbers from the host: the loop's own on the CPU (the
        same draws as always), a checkpointed one seeded from it elsewhere."""
        if self.device.type == "cpu":
            return self.generator
        generator = torch.Generator(self.device).manual_seed(seed + 1)
        self.state[_DEVICE_GENERATOR] = _GeneratorState(generator)
        return generator

    # ----------------------------------------------------------------- batches
    def batches(
        self,
        n: int,
        batch_size: int,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        device: torch.device | None = None,
    ) -> Iterator[torch.Tensor]:
        """Yield index tensors covering ``range(n)`` in mini-batches.

        The permutation comes from the loop's own generator, whose state is
        checkpointed, so a resumed run sees the same batches. With ``device`` (where the
        data the indices select lives: :func:`index_device`) the epoch's permutation is
        copied there once and every batch is a slice of it, so no step copies indices
        from the host. Under data parallelism each rank gets its share of every batch (a
        batch too small to share is skipped). :attr:`host_batch` holds the last yielded
        indices on the host, :attr:`global_batch` those the ranks' shards cover together
        (and :attr:`placed_global_batch` the same on ``device``).
        """
        order = torch.randperm(n, generator=self.generator) if shuffle else torch.arange(n)
        placed = order if device is None else order.to(device)  # one copy per epoch
        stop = (n // batch_size) * batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            rows = slice(start, min(start + batch_size, n))
            self.global_batch = order[rows]  # on the host, the same on every rank
            self.placed_global_batch = placed[rows]
            if self.sync is not None:
                if self.sync.shard_batches:  # the rows the shards cover together
                    self.global_batch = evenly_split(self.global_batch, self.sync.world)
                    self.placed_global_batch = self.placed_global_batch[: len(self.global_batch)]
                share = self.sync.shard_slice(rows.stop - rows.start)
                rows = slice(start + share.start, start + share.stop)
                if rows.stop == rows.start:
                    continue
            self.host_batch = order[rows]
            self.rows_seen += rows.stop - rows.start
            yield placed[rows]

    def draw_for_batch(self, draw: Callable[[int], torch.Tensor], b: int) -> torch.Tensor:
        """``draw(b)`` for a batch of ``b`` rows; when the batch is this rank's shard, its
        rows of the draw for the global batch (:func:`~deepclust.distributed.shard_of_draw`),
        so that the ranks together draw what one process draws."""
        if self.sync is not None and self.sync.shard_batches:
            return shard_of_draw(draw, b)
        return draw(b)

    def randint(self, high: int, m: int) -> torch.Tensor:
        """``m`` integers in ``[0, high)`` from :attr:`device_generator`, on the device."""
        return torch.randint(high, (m,), generator=self.device_generator, device=self.device)

    def mean(self, total: float | torch.Tensor) -> float | torch.Tensor:
        """``total`` (a sum of per-sample losses over this epoch's batches) per sample
        this rank was given; averaged over ranks by :meth:`run`, it is the epoch mean."""
        return total / max(1, self.rows_seen)

    def n_batches(self, n: int, batch_size: int, drop_last: bool = False) -> int:
        return n // batch_size if drop_last else math.ceil(n / batch_size)

    def stop(self) -> None:
        """End the stage after the current epoch (e.g. a label-free convergence test).

        The checkpoint records it, so a resumed run does not train the stage further.
        """
        self.stopped = True

    # -------------------------------------------------------------- checkpoint
    @property
    def checkpoint_path(self) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        return self.checkpoint_dir / f"{self.stage}.pt"

    def _save(self, epoch: int) -> None:
        path = self.checkpoint_path
        if path is None:
            return
        if self.sync is not None and not self.sync.writes:
            self.sync.barrier()  # rank 0 writes; the others wait until the file is whole
            return
        payload = {
            "stage": self.stage,
            "epoch": epoch,
            "n_epochs": self.n_epochs,
            "stopped": self.stopped,
            "fingerprint": self.fingerprint,
            "history": list(self.history),
            "rng": _rng_state(),
            "state": {k: obj.state_dict() for k, obj in self.state.items()},
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        if self.sync is not None:
            self.sync.barrier()

    def _load(self) -> int:
        path = self.checkpoint_path
        if path is None or not self.resume or not path.is_file():
            return 0
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"checkpoint {path} cannot be read ({exc.__class__.__name__})") from exc
        if payload.get("stage") != self.stage or payload.get("n_epochs") != self.n_epochs:
            raise DataError(
                f"checkpoint {path} is for stage {payload.get('stage')!r} with "
                f"{payload.get('n_epochs')} epochs, not {self.stage!r} with {self.n_epochs}; "
                "use a fresh checkpoint_dir or the same settings"
            )
        saved = payload.get("fingerprint")
        if self.fingerprint is not None and saved != self.fingerprint:
            why = (
                "no fingerprint"
                if saved is None
                else _fingerprint_mismatch(saved, self.fingerprint)
            )
            raise DataError(
                f"checkpoint {path} belongs to another run ({why}); resume with the same "
                "settings and data, or use a fresh checkpoint_dir"
            )
        # a run checkpointed on the CPU has no device generator: it keeps its fresh seed
        missing = set(self.state) - set(payload["state"]) - {_DEVICE_GENERATOR}
        if missing:
            raise DataError(f"checkpoint {path} lacks state for {sorted(missing)}")
        for key, obj in self.state.items():
            if key in payload["state"]:
                obj.load_state_dict(payload["state"][key])
        self.history[:] = payload["history"]
        _set_rng_state(payload["rng"])
        self.stopped = bool(payload.get("stopped", False))
        return self.n_epochs if self.stopped else int(payload["epoch"])

    # --------------------------------------------------------------------- run
    def run(self, epoch_fn: Callable[[int], dict[str, float]]) -> list[dict[str, Any]]:
        """Run the remaining epochs of the stage; return this stage's history records."""
        start = self._load()
        self.epoch = start
        sync = self.sync
        quiet = sync is not None and not sync.writes
        if sync is not None:
            sync.start()
        # after the gradient all-reduce hooks: an overflow on any rank is seen by all
        scaling = self._register_scaler()
        bar = tqdm(
            total=self.n_epochs,
            initial=start,
            desc=self.stage,
            disable=quiet or not (self.verbose or progress.mode() == "bar"),
            leave=False,
            dynamic_ncols=True,
        )
        log = progress.StageLog(self.stage, self.n_epochs, start)
        losses: dict[str, float] = {}
        compiled = ExitStack()
        try:
            if self.compile_networks:
                compiled.enter_context(compiled_forwards(self.state.values()))
            for epoch in range(start, self.n_epochs):
                tic = time.perf_counter()
                self.rows_seen = 0
                with autocast(self.device, self.precision), active_scaler(self.scaler):
                    losses = epoch_fn(epoch)
                # the epochs sum their losses on the device; one host sync per epoch
                losses = {k: float(v) for k, v in losses.items()}
                if sync is not None:
                    losses = sync.mean_losses(losses)
                    self.stopped = sync.any_stopped(self.stopped)
                self._check_finite(losses, epoch + 1)
                record: dict[str, Any] = {"stage": self.stage, "epoch": epoch + 1}
                record.update({k: float(v) for k, v in losses.items()})
                record["seconds"] = time.perf_counter() - tic
                self.history.append(record)
                self.epoch = epoch + 1
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
                log.epoch(self.epoch, losses)
                last = self.epoch == self.n_epochs or self.stopped
                if self.epoch % self.checkpoint_every == 0 or last:
                    self._save(self.epoch)
                if self.stopped:
                    break
        finally:
            compiled.close()
            bar.close()
            for hook in scaling:
                hook.remove()
            if sync is not None:
                sync.close()
        log.done(self.epoch, losses)
        return [r for r in self.history if r.get("stage") == self.stage]

    def _register_scaler(self) -> list[Any]:
        """The fp16 scaler's unscale-or-skip pre-hook on every optimiser of the stage."""
        if self.scaler is None:
            return []
        opts = [o for o in self.state.values() if isinstance(o, torch.optim.Optimizer)]
        return [o.register_step_pre_hook(self.scaler.unscale_or_skip) for o in opts]

    def _check_finite(self, losses: dict[str, float], epoch: int) -> None:
        """Stop at the first NaN/inf loss: every later epoch and the labels would be garbage."""
        bad = {k: float(v) for k, v in losses.items() if not math.isfinite(float(v))}
        if bad:
            key, value = next(iter(bad.items()))
            who = f"{self.owner} " if self.owner else ""
            raise TrainingDivergedError(
                f"{who}training diverged in stage {self.stage!r} at epoch {epoch} "
                f"({key}={value}); try standardised input (--preprocess standardize=true) "
                "or a smaller learning rate"
            )


@contextmanager
def compiled_forwards(objects: Iterable[Any]) -> Iterator[None]:
    """``torch.compile`` the ``forward`` of each module in ``objects`` and of its direct
    children (methods call encoders and heads directly) for the duration of the block.

    The compiled forwards are instance attributes, removed afterwards, so the modules
    save, pickle and predict as before; parameters and ``state_dict`` keys are unchanged.
    The first steps of a stage pay the compilation (seconds per network and shape), and
    compiled kernels round differently: a run is not bit-for-bit the eager one. A module
    marked ``eager_only`` (with its children) is left alone: compiled backward passes
    cannot be differentiated again (ClusterGAN's gradient penalty).
    """
    targets: dict[int, torch.nn.Module] = {}
    for top in objects:
        if isinstance(top, torch.nn.Module) and not getattr(top, "eager_only", False):
            for m in (top, *top.children()):
                if "forward" not in vars(m):
                    targets[id(m)] = m
    for m in targets.values():
        m.forward = torch.compile(m.forward)
    try:
        yield
    finally:
        for m in targets.values():
            del m.forward


def index_device(data: Any) -> torch.device:
    """Where indices into ``data`` belong (:meth:`TrainingLoop.batches`' ``device``): a
    tensor's own device; the host for rows read there (arrays, memory maps, image folders)."""
    return data.device if isinstance(data, torch.Tensor) else torch.device("cpu")


def add_terms(sums: dict[str, Any], terms: dict[str, torch.Tensor], weight: float) -> None:
    """Accumulate the logged terms of one batch (``weight`` = its size) into ``sums``
    (the keys logged), on the device and in float32: :meth:`TrainingLoop.run` reads
    them once per epoch, so no step waits for the host."""
    for key in sums:
        sums[key] = sums[key] + terms[key].detach().float() * weight


def adam(params: Any, lr: float, **kwargs: Any) -> torch.optim.Adam:
    """Adam with the fused kernel where torch has one (about 1.5x faster steps on CPU)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, **kwargs)


class CollapseGuard:
    """Stop a clustering stage when its assignment degenerates; keep the last sound state.

    After every epoch the method passes the current training-set assignment to
    :meth:`check`. While the assignment is sound (no empty cluster, none over 90 % of the
    samples; :func:`deepclust.diagnostics.is_collapsed`, label-free) the guard keeps a
    copy of ``state``. The first time it degenerates after a sound one, the guard puts
    the kept copy back and ends the stage: a mixture model whose weight or variance
    has run off with every sample does not come back (VaDE on two half circles: one
    component at pi = 0.996 after 25 of 300 epochs, and it stays there).

    Parameters
    ----------
    state : dict
        Objects with ``state_dict``/``load_state_dict`` that define the model
        (networks, mixture, tables), not the optimiser.
    n_clusters : int

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch whose assignment degenerated (the stage ended there), or None.
    kept_epoch : int or None
        The epoch whose end state was put back (0: the state before the first epoch).
    """

    def __init__(self, state: dict[str, Any], n_clusters: int) -> None:
        self.state = dict(state)
        self.n_clusters = int(n_clusters)
        self.stopped_epoch: int | None = None
        self.kept_epoch: int | None = None
        self._kept: dict[str, Any] | None = None

    def check(self, labels: Any, epoch: int) -> bool:
        """Record a sound state, or restore the last one; True when the stage must stop."""
        from .diagnostics import is_collapsed

        if not is_collapsed(labels, self.n_clusters):
            self._kept = {k: _copy_state(v.state_dict()) for k, v in self.state.items()}
            self.kept_epoch = int(epoch)
            return False
        if self._kept is None:  # degenerate from the start: nothing sound to go back to
            return False
        for k, v in self.state.items():
            v.load_state_dict(self._kept[k])
        self.stopped_epoch = int(epoch)
        return True


class StopsOnCollapse:
    """The ``stop_on_collapse`` parameter of an estimator: a :class:`CollapseGuard` per
    training stage, and ``collapse_stopped_epoch_`` / ``collapse_kept_epoch_`` (None: the
    stage was never stopped)."""

    stop_on_collapse: bool
    n_clusters: int

    def _collapse_guard(self, state: dict[str, Any], labels: Any) -> CollapseGuard | None:
        """A guard over ``state`` that keeps the start (assignment ``labels``) when sound;
        None when ``stop_on_collapse`` is off."""
        self.collapse_stopped_epoch_ = self.collapse_kept_epoch_ = None
        if not self.stop_on_collapse:
            return None
        guard = CollapseGuard(state, self.n_clusters)
        self._guard_epoch(guard, None, labels, 0)
        return guard

    def _guard_epoch(self, guard: CollapseGuard | None, loop: Any, labels: Any, epoch: int) -> None:
        """After an epoch: end the stage on a degenerate assignment (model put back)."""
        if guard is None:
            return
        if isinstance(labels, torch.Tensor):
            labels = labels.cpu().numpy()
        if guard.check(labels, epoch) and loop is not None:
            loop.stop()
        self.collapse_stopped_epoch_ = guard.stopped_epoch
        self.collapse_kept_epoch_ = guard.kept_epoch


def _copy_state(state: Any) -> Any:
    """A detached copy of a (nested) state dict."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {k: _copy_state(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_copy_state(v) for v in state)
    return state
