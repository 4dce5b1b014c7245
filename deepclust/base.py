"""The estimator contract every deepclust method follows.

:class:`BaseClusterer` gives the scikit-learn clustering contract (``fit`` returns self,
``fit_predict``, ``predict``/``transform`` where the method allows, learned attributes
ending in ``_``), input validation with one-line errors, seeding, and ``save``/``load``.
:class:`DeepClusterer` adds what torch models need: device choice, a progress bar,
per-epoch ``history_``, and checkpoint/resume through :mod:`deepclust.training`.

A subclass implements ``_fit(X)`` (and ``_predict``/``_transform`` when it can) and, for
torch models, ``_build_modules()`` so that :meth:`BaseClusterer.load` can rebuild the
networks before loading their weights.
"""

from __future__ import annotations

import importlib
import numbers
import os
import warnings
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .diagnostics import assignment_report
from .exceptions import ConfigError, DataError
from .precision import check_precision
from .scaling import apply_scaling, choose_scaling
from .threads import configure_threads
from .training import TrainingDivergedError, TrainingLoop, fit_fingerprint
from .utils import atomic_path, resolve_device, seed_everything
from .validation import TORCH_CONSTRAINTS, validate_params

_FORMAT = "deepclust-model"
_FORMAT_VERSION = 1


def check_not_constant(X: Any) -> None:
    """Refuse data whose samples are all identical: there is no structure to find.

    ``X`` is (n_samples, ...) with samples along the first axis; the test is O(n d).
    Lazily decoded images are tested on 256 evenly spaced rows (decoding them all
    would defeat the point).
    """
    from .data.lazy_images import sample_rows

    arr = sample_rows(X)
    flat = arr.reshape(arr.shape[0], -1) if arr.ndim != 1 else arr[:, None]
    if flat.shape[0] >= 2 and bool((flat == flat[:1]).all()):
        raise DataError(f"all {flat.shape[0]} samples are identical: nothing to cluster")


class InputTypeError(DataError, TypeError):
    """Input of the wrong type (sparse, objects): a DataError that is still a TypeError."""


def input_error(owner: Any, X: Any, exc: BaseException) -> DataError:
    """One line for input that sklearn's ``validate_data`` refused.

    sklearn's messages run over several lines (NaN advice, a printout of the array); the
    first line is kept as it is (sklearn's own estimator checks look for its wording), with
    where the problem lies and what was expected.
    """
    name = type(owner).__name__
    first = " ".join(str(exc).strip().split("\n")[0].split()).rstrip(".:")[:200]
    first = first or type(exc).__name__
    try:
        arr = np.asarray(X) if not hasattr(X, "toarray") else None
    except Exception:  # noqa: BLE001 - ragged nested lists and the like
        arr = None
    detail, hint = None, "a numeric array (n_samples, n_features)"
    if arr is not None and arr.dtype.kind not in "biuf":
        detail, hint = f"dtype {arr.dtype}", "real numbers (n_samples, n_features)"
    elif arr is not None and (arr.ndim != 2 or 0 in arr.shape):
        detail = None if "shape=" in first else f"shape {arr.shape}"
        hint = "a 2-D array (n_samples, n_features) with at least one sample and feature"
    elif arr is not None:
        from .data._files import first_nonfinite

        detail = first_nonfinite(arr.astype(np.float64, copy=False))
        if detail is not None:
            hint = "finite features: fill or drop them"
        elif getattr(owner, "n_features_in_", arr.shape[1]) != arr.shape[1]:
            hint = "the features the model was fitted on"
    where = f": {detail}" if detail else ""
    kind = InputTypeError if isinstance(exc, TypeError) else DataError
    return kind(f"{name}: {first}{where}; expected {hint}")


class CollapseWarning(UserWarning):
    """A fit ended with empty clusters or one cluster holding most samples."""


def warn_if_collapsed(est: Any) -> None:
    """Say so when a fitted estimator's assignment is degenerate (label-free check)."""
    k = getattr(est, "n_clusters", None)
    labels = getattr(est, "labels_", None)
    if k is None or labels is None:
        return
    report = assignment_report(labels, int(k))
    if report["warning"]:
        warnings.warn(f"{type(est).__name__}: {report['warning']}", CollapseWarning, stacklevel=3)


class PersistenceMixin:
    """``save``/``load`` of parameters, learned attributes and network weights.

    Learned attributes (names ending in ``_``) that are arrays, tensors, numbers,
    strings or containers of those are stored as they are; ``torch.nn.Module``
    attributes are stored as state dicts and rebuilt by ``_build_modules()`` on load.
    """

    def _module_attributes(self) -> dict[str, torch.nn.Module]:
        return {
            k: v
            for k, v in vars(self).items()
            if k.endswith("_") and not k.startswith("_") and isinstance(v, torch.nn.Module)
        }

    def _build_modules(self) -> None:
        """Recreate the (untrained) networks from parameters and learned shapes.

        Torch-based subclasses override this; it is called by :meth:`load` before the
        saved weights are copied in.
        """

    def _after_load(self) -> None:
        """Hook to rebuild non-serialisable helpers from restored attributes."""

    def save(self, path: str | os.PathLike) -> Path:
        """Write parameters, learned attributes and network weights to ``path``.

        The file is written atomically; it is read back with :meth:`load`, which needs
        no pickle of arbitrary objects (``torch.load(weights_only=True)``).
        """
        check_is_fitted(self)
        attributes = {}
        for key, value in vars(self).items():
            if not key.endswith("_") or key.startswith("_"):
                continue
            if isinstance(value, torch.nn.Module):
                continue
            encoded = _encode(value)
            if encoded is not _SKIP:
                attributes[key] = encoded
        payload = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "params": _encode(self.get_params(deep=False)),
            "attributes": attributes,
            "modules": {k: m.state_dict() for k, m in self._module_attributes().items()},
        }
        target = Path(path)
        with atomic_path(target) as tmp:
            torch.save(payload, tmp)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> Any:
        """Read an estimator written by :meth:`save`.

        Parameters
        ----------
        path : path-like
            File written by ``save``.
        device : str, optional
            Device for the networks (default: the saved ``device`` parameter, resolved
            on this machine).
        """
        p = Path(path)
        if not p.is_file():
            raise DataError(f"model file not found: {p}")
        try:
            payload = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
            name = exc.__class__.__name__
            raise DataError(f"{p} is not a deepclust model file ({name})") from exc
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise DataError(f"{p} is not a deepclust model file")
        klass = _model_class(p, payload.get("class"), cls)
        missing = [k for k in ("params", "attributes", "modules") if k not in payload]
        if missing:
            raise DataError(f"{p} is a damaged deepclust model file (no {', '.join(missing)})")
        try:
            est = klass(**_decode(payload["params"]))
        except TypeError as exc:
            raise DataError(f"{p}: its parameters do not fit {klass.__name__} ({exc})") from exc
        if device is not None and "device" in est.get_params():
            est.set_params(device=device)
        for key, value in payload["attributes"].items():
            setattr(est, key, _decode(value))
        if "device" in est.get_params():
            est.device_ = resolve_device(est.device)
        try:
            est._build_modules()
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            what = f"{type(exc).__name__}: {exc}"
            raise DataError(f"{p}: a learned attribute is missing or damaged ({what})") from exc
        modules = est._module_attributes()
        for name, state in payload["modules"].items():
            if name not in modules:
                raise DataError(f"{p}: network {name!r} is unknown to {klass.__name__}")
            try:
                modules[name].load_state_dict(state)
            except (RuntimeError, TypeError, AttributeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise DataError(f"{p}: weights of network {name!r} do not fit ({first})") from exc
        for m in modules.values():
            m.to(getattr(est, "device_", "cpu"))
            m.eval()
        est._after_load()
        return est


def _model_class(path: Path, name: Any, expected: type) -> type:
    """The deepclust class a model file names, or a one-line error."""
    if not isinstance(name, str) or ":" not in name:
        raise DataError(f"{path} is a damaged deepclust model file (class {name!r})")
    module_name, _, qualname = name.partition(":")
    if not module_name.startswith("deepclust."):
        raise DataError(f"{path} names a class outside deepclust: {name}")
    try:
        klass = getattr(importlib.import_module(module_name), qualname)
    except (ImportError, AttributeError) as exc:
        raise DataError(
            f"{path} holds a {qualname} from {module_name}, which this deepclust does not have"
        ) from exc
    if not (isinstance(klass, type) and issubclass(klass, expected)):
        raise DataError(f"{path} holds a {qualname}, not a {expected.__name__}")
    return klass


class BaseClusterer(PersistenceMixin, ClusterMixin, BaseEstimator, metaclass=ABCMeta):
    """Base of all deepclust estimators (classic and deep).

    Subclasses store their parameters in ``__init__`` only (sklearn rule) and implement
    ``_fit(X)``; validation, seeding and the ``n_clusters`` check happen in :meth:`fit`.
    """

    #: What ``fit`` accepts: ``"vectors"`` (n_samples, n_features); ``"hsi"`` a scene cube
    #: (rows, cols, bands); ``"climate"`` a cube (time, lat, lon, variables).
    input_kind: ClassVar[str] = "vectors"

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None) -> BaseClusterer:
        """Learn the clustering of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.
        y : ignored
            Present for API consistency; labels are never used for fitting.

        Returns
        -------
        self
        """
        validate_params(self)
        configure_threads()
        X = self._validate_fit_input(X)
        check_not_constant(X)
        self._check_n_clusters(self._n_samples_of(X))
        seed_everything(getattr(self, "random_state", None))
        self._fit(X)
        return self

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, **kwargs).labels_

    @abstractmethod
    def _fit(self, X: Any) -> None:
        """Fit on validated input; must set ``labels_``."""

    # ------------------------------------------------------------ validation
    def _validate_fit_input(self, X: Any) -> Any:
        return self._checked_input(X, reset=True)

    def _validate_new_input(self, X: Any) -> Any:
        check_is_fitted(self)
        X = self._checked_input(X, reset=False)
        if getattr(self, "input_scaling_", "none") != "none":  # as in fit
            X = apply_scaling(X, self.input_offset_, self.input_scale_)
        return X

    def _checked_input(self, X: Any, *, reset: bool) -> Any:
        """sklearn's ``validate_data``, its multi-paragraph ValueErrors as one-line DataErrors."""
        try:
            return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        except DataError:
            raise
        except (ValueError, TypeError) as exc:
            raise input_error(self, X, exc) from exc

    @staticmethod
    def _n_samples_of(X: Any) -> int:
        return int(X.shape[0])

    def _check_n_clusters(self, n_samples: int) -> None:
        k = getattr(self, "n_clusters", None)
        if k is None:
            return
        if not isinstance(k, numbers.Integral) or isinstance(k, bool):
            raise ConfigError(f"n_clusters must be an integer, got {k!r}")
        if k < 2:
            raise ConfigError(f"n_clusters={k} is too small; expected an integer >= 2")
        if k > n_samples:
            raise ConfigError(
                f"n_clusters={k} is larger than the number of samples (n_samples={n_samples}); "
                "expected 2 <= n_clusters <= n_samples"
            )


class TorchMixin:
    """Fit-time plumbing shared by every torch-based estimator.

    The estimator's ``__init__`` lists these parameters explicitly (sklearn rule):

    ``device``
        ``"auto"`` (CUDA > MPS > CPU) or an explicit torch device string.
    ``precision``
        ``"fp32"`` (default), or ``"bf16"`` / ``"fp16"`` mixed precision for the training
        stages (autocast; fp16 with dynamic loss scaling): :mod:`deepclust.precision`.
    ``compile_networks``
        ``torch.compile`` the networks' forwards during training (off by default: each
        network and batch shape costs seconds to compile; it pays on long GPU runs).
    ``random_state``
        Seeds torch, NumPy and Python; a seeded CPU run reproduces ``labels_`` exactly.
    ``verbose``
        Show a progress bar with the current losses.
    ``checkpoint_dir``, ``checkpoint_every``, ``resume``
        Save the training state every N epochs; with ``resume=True`` a stopped run
        continues from its last checkpoint and ends exactly as an uninterrupted one.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = TORCH_CONSTRAINTS

    #: Under ``torchrun``, may the one loop give each rank a share of every batch? Only
    #: where the batch loss is a mean of per-sample terms and no table is updated batch
    #: by batch (see :class:`~deepclust.distributed.LoopSync`); otherwise every rank
    #: trains on whole batches: the same result, without the speed-up.
    _data_parallel_batches: ClassVar[bool] = False

    device: str
    precision: str
    compile_networks: bool
    random_state: int | None
    verbose: bool
    checkpoint_dir: str | None
    checkpoint_every: int
    resume: bool

    def _begin_fit(self, *data: Any) -> None:
        """Seed, pick the device and fingerprint the run (class, settings, ``data``)."""
        every = self.checkpoint_every
        if not isinstance(every, numbers.Integral) or every < 1:
            raise ConfigError(f"checkpoint_every must be a positive integer, got {every!r}")
        if self.resume and not self.checkpoint_dir:
            raise ConfigError("resume=True needs checkpoint_dir (where the checkpoints are)")
        seed_everything(self.random_state)
        self.device_ = resolve_device(self.device)
        check_precision(getattr(self, "precision", "fp32"), self.device_)
        self.history_: list[dict[str, Any]] = []
        self._fingerprint = fit_fingerprint(self, *data) if self.checkpoint_dir else None

    def _loop(
        self, stage: str, n_epochs: int, state: dict[str, Any], *, checkpoint_dir: Any = None
    ) -> TrainingLoop:
        """A :class:`~deepclust.training.TrainingLoop` wired to this estimator's settings."""
        return TrainingLoop(
            stage,
            n_epochs,
            state=state,
            history=self.history_,
            checkpoint_dir=checkpoint_dir or getattr(self, "_run_dir", None) or self.checkpoint_dir,
            checkpoint_every=self.checkpoint_every,
            resume=self.resume,
            verbose=self.verbose,
            fingerprint=getattr(self, "_fingerprint", None),
            owner=type(self).__name__,
            device=self.device_,
            precision=getattr(self, "precision", "fp32"),
            compile_networks=getattr(self, "compile_networks", False),
            data_parallel=self._data_parallel_batches,
        )

    def _as_tensor(self, X: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32, device=self.device_)


class DeepClusterer(TorchMixin, BaseClusterer):
    """Base of the torch-based clustering estimators (see :class:`TorchMixin`)."""

    def fit(self, X: Any, y: Any = None) -> DeepClusterer:
        validate_params(self)
        X = self._validate_fit_input(X)
        # the networks for <= 10 features are D-20-20-D: too small to share between threads
        configure_threads(limit=1 if X.shape[1] <= 10 else None)
        check_not_constant(X)
        self._check_n_clusters(self._n_samples_of(X))
        X = self._fit_input_scaling(X)
        self._begin_fit(X)
        self._fit(X)
        self._check_finite_result()
        warn_if_collapsed(self)
        return self

    def _fit_input_scaling(self, X: np.ndarray) -> np.ndarray:
        """Bring ``X`` to unit scale as ``input_scaling`` says (see :mod:`deepclust.scaling`)."""
        mode = getattr(self, "input_scaling", None)
        if mode is None:  # estimators without the parameter take the data as given
            return X
        if mode == "auto" and getattr(self, "pretrained", None) is not None:
            mode = "none"  # the given autoencoder was trained on the data as they are
        self.input_scaling_, self.input_offset_, self.input_scale_ = choose_scaling(X, mode)
        if self.input_scaling_ == "none":
            return X
        return apply_scaling(X, self.input_offset_, self.input_scale_)

    def _check_finite_result(self) -> None:
        """A NaN embedding means training broke down: say so instead of returning labels."""
        emb = getattr(self, "embedding_", None)
        if emb is not None and not np.isfinite(np.asarray(emb)).all():
            raise TrainingDivergedError(
                f"{type(self).__name__} produced a non-finite embedding (training diverged); "
                "try standardised input (--preprocess standardize=true) or a smaller "
                "learning rate"
            )


_SKIP = object()


def _encode(value: Any) -> Any:
    """Map a learned attribute onto types ``torch.load(weights_only=True)`` accepts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return {"__list__": [_encode(v) for v in value.tolist()]}
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        if any(v is _SKIP for v in items):
            return _SKIP
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            ev = _encode(v)
            if ev is _SKIP:
                return _SKIP
            out[str(k)] = ev
        return out
    return _SKIP


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value and len(value) == 1:
            return value["__ndarray__"].numpy()
        if "__list__" in value and len(value) == 1:
            return np.array([_decode(v) for v in value["__list__"]], dtype=object)
        if "__tuple__" in value and len(value) == 1:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__device__" in value and len(value) == 1:
            return torch.device(value["__device__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
