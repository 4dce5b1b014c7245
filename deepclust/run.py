"""One clustering run: settings -> data -> fitted estimator -> labels, metrics, pictures.

This is what ``deepclust run`` does, as a Python API, so that a run from the command
line can be reproduced (or scripted over many datasets) without the command line::

    from deepclust.run import RunSettings, run
    result = run(RunSettings("idec", "digits", n_clusters=10), out="runs/idec-digits")
    result.metrics["acc"], result.labels

Order of work, cheapest checks first: the settings (method, parameter names and values,
preprocessing keys) are validated before any data is read; the output folder is checked
before fitting; outputs go to a temporary folder published only when complete
(:class:`~deepclust.outdir.OutputFolder`).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import progress
from .data.container import Dataset
from .data.lazy_images import is_lazy_rows
from .data.registry import check_options, load, parse_spec, path_exists
from .diagnostics import assignment_report
from .exceptions import ConfigError, DataError, DataNotFoundError
from .methods import get_method
from .outdir import OutputFolder
from .records import data_file_record, environment, plain, read_config

#: ``preprocess`` keys and what each accepts.
PREPROCESS_KEYS = {
    "standardize": "true or false",
    "pca": "a positive integer (number of components)",
    "region": "'labelled' or 'all'",
    "anomalies": "true or false (climate data: seasonal cycle and trend removed)",
}
#: Most threads a run may ask for (more than the cores only oversubscribes them).
MAX_THREADS = 1024
_PICTURES = {"hsi": "cluster_map.png", "climate": "regime_timeline.png"}


@dataclass
class RunSettings:
    """Everything that decides a run's result (what ``config.yaml`` records).

    Parameters
    ----------
    method : str
        Registered method name (``deepclust methods``).
    data : str
        Data spec, ``KIND:PATH`` or a bundled name (``deepclust datasets``).
    n_clusters : int, optional
        Default: the number of ground-truth classes.
    params : dict
        Estimator parameters.
    data_options : dict
        Loader options.
    preprocess : dict
        ``standardize``, ``pca``, ``region``, ``anomalies`` (see :data:`PREPROCESS_KEYS`).
    seed : int
        ``random_state`` of the estimator.
    threads : int, optional
        CPU threads (default: the cores not busy elsewhere, see :mod:`deepclust.threads`).
    data_file : dict, optional
        Size and checksum of the data recorded by an earlier run; a mismatch warns.
    """

    method: str
    data: str
    n_clusters: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    threads: int | None = None
    data_file: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, source: str | dict[str, Any] | None, **overrides: Any) -> RunSettings:
        """Settings from a config (path, bundled name or dict), then ``overrides``.

        Dict-valued overrides (``params``, ``data_options``, ``preprocess``) are merged
        key by key into the config's; ``None`` overrides are ignored.
        """
        cfg = read_config(source) if not isinstance(source, dict) else dict(source)
        values: dict[str, Any] = {
            f.name: cfg[f.name] for f in dataclasses.fields(cls) if cfg.get(f.name) is not None
        }
        for name in ("params", "data_options", "preprocess"):
            if name in values and not isinstance(values[name], dict):
                where = f"config {source}: " if not isinstance(source, dict) else ""
                raise ConfigError(
                    f"{where}{name} must be a mapping of KEY: VALUE, got "
                    f"{type(values[name]).__name__} {values[name]!r}"
                )
        for key, value in overrides.items():
            if value is None:
                continue
            if isinstance(value, dict):
                values[key] = {**(values.get(key) or {}), **value}
            else:
                values[key] = value
        for key in ("method", "data"):
            if not values.get(key):
                flag = "`deepclust run METHOD`" if key == "method" else "--data KIND:PATH"
                raise ConfigError(f"no {key} given; expected {flag} or `{key}:` in the config")
        if cfg.get("method") and overrides.get("method") and cfg["method"] != overrides["method"]:
            raise ConfigError(
                f"config is for method {cfg['method']!r} but {overrides['method']!r} was asked"
            )
        return cls(**values)

    def __post_init__(self) -> None:
        expected = {
            "method": "a method name (see `deepclust methods`)",
            "data": "KIND:PATH or a bundled name (see `deepclust datasets`)",
        }
        for name, what in expected.items():
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ConfigError(
                    f"{name} must be a string, got {value!r} ({type(value).__name__}); "
                    f"expected {what}"
                )

    # ---------------------------------------------------------------- checks
    def check(self) -> None:
        """Validate everything that can be checked without the data (fast)."""
        for name in ("params", "data_options", "preprocess"):
            if not isinstance(getattr(self, name), dict):
                raise ConfigError(f"{name} must be a mapping of KEY: VALUE")
        _check_int("seed", self.seed, low=0)
        if self.threads is not None:
            _check_int("threads", self.threads, low=1)
            from .threads import available_cores

            cap = max(MAX_THREADS, available_cores())
            if self.threads > cap:  # OpenMP would try to start them all (and hang)
                raise ConfigError(
                    f"threads={self.threads} is too many (this machine has "
                    f"{available_cores()} cores); expected 1 <= threads <= {cap}"
                )
        if self.n_clusters is not None:
            _check_int("n_clusters", self.n_clusters, low=2)
        check_preprocess(self.preprocess)
        entry, path = parse_spec(self.data)
        check_options(entry, entry.loader(), self.data_options)
        if path and not path_exists(Path(path).expanduser()):
            raise DataNotFoundError(f"{entry.name}: no such file or directory: {path}")
        build_estimator(self.method, self.n_clusters or 2, self.params, self.seed, validate=True)

    def resolved(self, ds: Dataset) -> RunSettings:
        """These settings with ``n_clusters`` filled in and checked against ``ds``."""
        k = self.n_clusters if self.n_clusters is not None else ds.n_classes
        if k is None:
            hint = ds.extra.get("labels_hint")
            more = f" ({hint})" if hint else ""
            raise ConfigError(f"{ds.name} has no ground truth; pass --n-clusters K{more}")
        _check_int("n_clusters", k, low=2)
        n_fit = len(fit_region(ds, self.preprocess))
        if k > n_fit:
            raise ConfigError(
                f"n_clusters={k} is larger than the number of samples ({n_fit}); "
                "expected 2 <= n_clusters <= n_samples"
            )
        return dataclasses.replace(self, n_clusters=int(k))


def _check_int(name: str, value: Any, *, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ConfigError(f"{name}={value} is too small; expected an integer >= {low}")


def check_preprocess(preprocess: dict[str, Any]) -> None:
    """Refuse unknown ``preprocess`` keys and values of the wrong kind."""
    unknown = set(preprocess) - set(PREPROCESS_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown preprocess option(s) {sorted(unknown)}; expected some of "
            f"{sorted(PREPROCESS_KEYS)}"
        )
    std = preprocess.get("standardize")
    if std is not None and not isinstance(std, bool):
        raise ConfigError(
            f"preprocess standardize={std!r}; expected {PREPROCESS_KEYS['standardize']}"
        )
    pca = preprocess.get("pca")
    if pca is not None and (not isinstance(pca, int) or isinstance(pca, bool) or pca < 1):
        raise ConfigError(f"preprocess pca={pca!r}; expected {PREPROCESS_KEYS['pca']}")
    region = preprocess.get("region", "labelled")
    if region not in ("labelled", "all"):
        raise ConfigError(f"preprocess region={region!r}; expected {PREPROCESS_KEYS['region']}")
    anomalies = preprocess.get("anomalies")
    if anomalies is not None and not isinstance(anomalies, bool):
        raise ConfigError(
            f"preprocess anomalies={anomalies!r}; expected {PREPROCESS_KEYS['anomalies']}"
        )


def with_anomalies(ds: Dataset) -> Dataset:
    """``ds`` with its cube replaced by standardised anomalies (``preprocess anomalies``)."""
    from dataclasses import replace

    from .data.anomalies import standardised_anomalies

    if ds.kind != "climate" or ds.cube is None:
        raise ConfigError(
            f"preprocess anomalies=true needs climate data; {ds.name} is {ds.kind} data"
        )
    cube = standardised_anomalies(ds.cube, ds.time)
    extra = {**ds.extra, "anomalies": "3 annual harmonics and a linear trend removed"}
    return replace(ds, cube=cube, X=cube.reshape(cube.shape[0], -1), extra=extra)


def build_estimator(
    method: str,
    n_clusters: int,
    params: dict[str, Any],
    seed: int | None,
    *,
    validate: bool = False,
) -> Any:
    """Instantiate a registered method, checking parameter names (and values if ``validate``)."""
    cls = get_method(method)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = set(params) - accepted
    if unknown:
        raise ConfigError(
            f"{method} has no parameter(s) {sorted(unknown)}; expected some of {sorted(accepted)}"
        )
    if "n_clusters" in params:
        raise ConfigError("n_clusters is not a method parameter here; use --n-clusters K")
    kwargs = dict(params)
    if "n_clusters" in accepted:
        kwargs["n_clusters"] = n_clusters
    if "random_state" in accepted and seed is not None:
        kwargs.setdefault("random_state", seed)
    est = cls(**kwargs)
    if validate:
        from .validation import validate_params

        validate_params(est)
    return est


# ------------------------------------------------------------------ data adaptors
def vectors_for(ds: Dataset, preprocess: dict[str, Any]) -> np.ndarray:
    """The flat feature matrix a vector method sees, after optional preprocessing.

    Hyperspectral pixels are band-standardised by default (the SCDSC paper's baseline
    protocol); ``preprocess: {pca: N}`` reduces them with PCA.
    """
    if is_lazy_rows(ds.X) and not (preprocess.get("standardize") or preprocess.get("pca")):
        return ds.X  # a lazily decoded image folder: the image methods read it by batches
    _check_float32_range(ds)
    X = np.asarray(ds.X, dtype=np.float32)
    if preprocess.get("standardize", ds.kind == "hsi"):
        mu = X.mean(axis=0)
        sd = X.std(axis=0)
        X = (X - mu) / np.where(sd > 0, sd, 1.0)
    n_pca = preprocess.get("pca")
    if n_pca:
        from sklearn.decomposition import PCA

        if n_pca > min(X.shape):
            raise ConfigError(
                f"preprocess pca={n_pca} is more components than {ds.name} allows "
                f"({X.shape[0]} samples of {X.shape[1]} features); expected "
                f"1 <= pca <= {min(X.shape)}"
            )
        X = PCA(int(n_pca), random_state=0).fit_transform(X).astype(np.float32)
    return X


def _check_float32_range(ds: Dataset) -> None:
    """Refuse features that float32 (what the methods compute in) cannot hold."""
    X = ds.X
    if X.dtype.kind != "f" or X.dtype.itemsize <= 4 or X.size == 0:
        return
    limit = float(np.finfo(np.float32).max)
    lo, hi = float(np.nanmin(X)), float(np.nanmax(X))
    worst = hi if abs(hi) >= abs(lo) else lo
    if abs(worst) > limit:
        raise DataError(
            f"{ds.name}: feature values reach {worst:.3g}, beyond the float32 range "
            f"(+-{limit:.3g}) the methods compute in; expected smaller values: rescale the "
            "data first"
        )


def fit_region(ds: Dataset, preprocess: dict[str, Any]) -> np.ndarray:
    """Samples the method is fitted on.

    For a labelled hyperspectral scene the papers' protocol fits on the labelled region
    (the "task area" of SCDSC §3.4) and ground-truth *values* are never used;
    ``preprocess: {region: all}`` fits on every pixel instead (what a user without
    ground truth does).
    """
    if ds.kind == "hsi" and ds.y is not None and preprocess.get("region", "labelled") == "labelled":
        return np.flatnonzero(ds.labelled)
    return np.arange(ds.n_samples)


def _tell_image_shape(est: Any, ds: Dataset, X: np.ndarray) -> None:
    """Give image methods (``image_shape`` parameter, e.g. MLC) the shape of the rows,
    when the user did not set it and preprocessing kept one value per pixel."""
    params = est.get_params() if hasattr(est, "get_params") else {}
    if "image_shape" not in params or params["image_shape"] is not None or ds.image_shape is None:
        return
    shape = tuple(ds.image_shape)
    shape = (1, *shape) if len(shape) == 2 else shape
    if int(np.prod(shape)) == X.shape[1]:
        est.set_params(image_shape=shape)


def fit_method(est: Any, ds: Dataset, preprocess: dict[str, Any]) -> dict[str, Any]:
    """Fit ``est`` on ``ds``; labels for every sample (-1 where none), embedding, seconds."""
    region = fit_region(ds, preprocess)
    labels = np.full(ds.n_samples, -1, dtype=np.int64)
    kind = getattr(est, "input_kind", "vectors")
    tic = time.perf_counter()
    # image methods take image rows: an image set, or vectors with an image_shape given
    if kind == "vectors" or (kind == "images" and ds.kind in ("images", "vectors")):
        X = vectors_for(ds, preprocess)
        _tell_image_shape(est, ds, X)
        whole = len(region) == ds.n_samples
        est.fit(X if whole else X[region])  # as given: a lazy folder stays lazy
        labels[region] = est.labels_
        if len(region) < ds.n_samples and hasattr(est, "predict"):
            labels[:] = est.predict(X)  # full map: every pixel gets a cluster
        embedding = getattr(est, "embedding_", None)
        if embedding is None and not is_lazy_rows(X):
            embedding = X[region]
    elif kind == ds.kind:
        if ds.kind == "hsi":
            mask = np.zeros(ds.n_samples, bool)
            mask[region] = True
            est.fit(ds.cube, mask=mask.reshape(ds.grid_shape))
        elif ds.mask is not None and "mask" in inspect.signature(est.fit).parameters:
            est.fit(ds.cube, mask=ds.mask)  # valid climate cells (land/sea)
        else:
            est.fit(ds.cube)
        label_map = getattr(est, "label_map_", None)
        if label_map is not None and label_map.size == ds.n_samples:
            labels[:] = label_map.reshape(-1)  # structured methods label every pixel
        else:
            labels[region] = est.labels_
        embedding = getattr(est, "embedding_", None)
    else:
        spec = {"hsi": "hsi:SCENE.mat", "climate": "climate:FILE_OR_DIR"}.get(kind, f"{kind}:PATH")
        raise ConfigError(
            f"{type(est).__name__} clusters {kind} data but {ds.name} is {ds.kind} data; "
            f"expected --data {spec}"
        )
    seconds = time.perf_counter() - tic
    return {"labels": labels, "region": region, "embedding": embedding, "seconds": seconds}


def compute_metrics(
    ds: Dataset, labels: np.ndarray, region: np.ndarray, X_internal: np.ndarray | None = None
) -> dict[str, Any]:
    """External metrics on labelled samples; internal ones for unlabelled data."""
    from .metrics import external_metrics, internal_metrics

    out: dict[str, Any] = {}
    if ds.y is not None:
        lab = ds.labelled & (labels >= 0)
        ext = external_metrics(ds.y[lab], labels[lab])
        per_class = ext.pop("per_class")
        out.update({k: float(v) for k, v in ext.items()})
        out["per_class_accuracy"] = {str(k): float(v) for k, v in per_class.items()}
        out["n_evaluated"] = int(lab.sum())
    if ds.y is None or ds.kind == "climate":
        X = ds.X if X_internal is None else X_internal
        ok = labels >= 0
        if np.unique(labels[ok]).size >= 2 and not is_lazy_rows(X):  # lazy: not decoded again
            out.update({k: float(v) for k, v in internal_metrics(X[ok], labels[ok]).items()})
    if ds.kind == "climate":
        out.update(climate_checks(ds, labels))
    return out


def climate_checks(ds: Dataset, labels: np.ndarray) -> dict[str, Any]:
    """What a climate scientist checks beside the internal metrics (A-DATSC issue).

    ``mean_run_length``: how many consecutive steps a regime persists (time order);
    ``nmi_with_month``: NMI between the clusters and the calendar month, an external
    sanity check where a seasonal cycle is known (reported, never used to tune).
    """
    from .metrics import nmi, regime_persistence
    from .plots import calendar_of

    ok = labels >= 0
    if ok.sum() < 2:
        return {}
    out: dict[str, Any] = {"mean_run_length": regime_persistence(labels[ok])["mean_run_length"]}
    cal = calendar_of(ds.time, ds.n_samples)
    if cal is not None and np.unique(cal.month).size > 1:
        out["nmi_with_month"] = float(nmi(cal.month[ok], labels[ok]))
    return out


# --------------------------------------------------------------------- the run
@dataclass
class RunResult:
    """What a run produced (the same as the files of its output folder)."""

    settings: RunSettings
    estimator: Any
    dataset: Dataset
    labels: np.ndarray
    region: np.ndarray
    embedding: np.ndarray | None
    metrics: dict[str, Any]
    seconds: float
    out: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label_array(self) -> np.ndarray:
        """Labels as written to ``labels.npy`` (a rows x cols map for a scene)."""
        if self.dataset.kind == "hsi" and self.dataset.grid_shape is not None:
            return self.labels.reshape(self.dataset.grid_shape)
        return self.labels


def run(
    settings: RunSettings,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    save_model: bool = False,
    pictures: bool = True,
    command: str | None = None,
) -> RunResult:
    """Execute a run; with ``out``, publish labels, metrics, config and pictures there.

    Parameters
    ----------
    settings : RunSettings
    out : path-like, optional
        Output folder; written completely or not at all (see :mod:`deepclust.outdir`).
    overwrite : bool
        Replace an existing non-empty ``out``.
    save_model : bool
        Also write ``model.pt``.
    pictures : bool
        Draw the picture(s) for this kind of data.
    command : str, optional
        The command line, recorded in ``config.yaml``.
    """
    from .threads import configure_threads, set_num_threads

    settings.check()
    folder = OutputFolder(out, overwrite=overwrite) if out is not None else None
    if folder is not None:
        check_out_apart_from_data(folder.out, settings.data)
        folder.check()
    if settings.threads is not None:
        set_num_threads(int(settings.threads))
    with progress.stage(f"loading {settings.data}"):
        ds = load(settings.data, **settings.data_options)
    if settings.preprocess.get("anomalies"):
        with progress.stage("standardised anomalies"):
            ds = with_anomalies(ds)
    settings = settings.resolved(ds)
    notes = _data_file_notes(settings)
    est = build_estimator(settings.method, settings.n_clusters, settings.params, settings.seed)
    threads = configure_threads()
    with progress.stage(f"fitting {settings.method} on {ds.n_samples:,} samples"):
        fitted = fit_method(est, ds, settings.preprocess)
    result = _result(settings, est, ds, fitted, notes)
    if folder is None:
        return result
    record = run_record(result, threads=threads, command=command)
    with folder as tmp:
        write_outputs(result, tmp, record, save_model=save_model, pictures=pictures)
    result.out = folder.out
    return result


def check_out_apart_from_data(out: Path, spec: str) -> None:
    """Refuse an output folder that holds the input data or lies inside a data folder.

    Publishing replaces ``out`` whole (with ``--overwrite``), which would delete data inside
    it, and a run written into a data folder changes that folder (and its checksum).
    """
    _, path = parse_spec(spec)
    if not path:
        return
    data = Path(os.path.realpath(Path(path).expanduser()))
    target = Path(os.path.realpath(out))
    if data == target and not data.is_dir():
        return  # --out names the data file itself: OutputFolder refuses a file
    if data.is_relative_to(target):
        raise ConfigError(
            f"--out {out} holds the input data {data}; replacing it would delete the input: "
            "expected an output folder apart from the data"
        )
    if data.is_dir() and target.is_relative_to(data):
        raise ConfigError(
            f"--out {out} is inside the data folder {data}; expected an output folder outside "
            "the input (inputs are never modified)"
        )


def _result(
    settings: RunSettings, est: Any, ds: Dataset, fitted: dict[str, Any], notes: list[str]
) -> RunResult:
    X_internal = vectors_for(ds, settings.preprocess) if ds.kind == "climate" else None
    with progress.stage("computing metrics"):
        metrics = compute_metrics(ds, fitted["labels"], fitted["region"], X_internal)
    metrics["fit_seconds"] = fitted["seconds"]
    report = assignment_report(fitted["labels"][fitted["region"]], settings.n_clusters)
    metrics["clusters"] = {k: v for k, v in report.items() if k != "warning"}
    if report["warning"]:
        metrics["warning"] = report["warning"]
        notes.append(report["warning"])
    return RunResult(
        settings=settings,
        estimator=est,
        dataset=ds,
        labels=fitted["labels"],
        region=fitted["region"],
        embedding=fitted["embedding"],
        metrics=metrics,
        seconds=fitted["seconds"],
        notes=notes,
    )


def _data_file_notes(settings: RunSettings) -> list[str]:
    """Warn when the data changed since the config that is being repeated was written."""
    if not settings.data_file:
        return []
    now = data_file_record(settings.data)
    if now is None or now == settings.data_file:
        return []
    msg = f"the data at {settings.data} changed since the config was written (size or checksum)"
    warnings.warn(msg, UserWarning, stacklevel=3)
    return [msg]


def run_record(result: RunResult, *, threads: int, command: str | None) -> dict[str, Any]:
    """``config.yaml``: the settings that repeat the run from any folder, and its context."""
    s = result.settings
    params = {k: v for k, v in result.estimator.get_params(deep=False).items() if k != "n_clusters"}
    return plain(
        {
            "method": s.method,
            "data": absolute_spec(s.data),
            "data_options": s.data_options,
            "n_clusters": s.n_clusters,
            "seed": s.seed,
            "threads": threads,
            "preprocess": s.preprocess,
            "params": params,
            "data_file": data_file_record(s.data),
            "environment": environment(getattr(result.estimator, "device_", None)),
            "command": command,
        }
    )


def absolute_spec(spec: str) -> str:
    """``KIND:PATH`` with an absolute PATH, so the run repeats from any folder."""
    entry, path = parse_spec(spec)
    if not path:
        return spec
    return f"{entry.name}:{os.path.abspath(Path(path).expanduser())}"


def write_outputs(
    result: RunResult, folder: Path, record: dict[str, Any], *, save_model: bool, pictures: bool
) -> None:
    """Write labels, metrics, config, pictures (and the model) into ``folder``."""
    import json

    import yaml

    ds = result.dataset
    with open(folder / "labels.npy", "wb") as fh:
        np.save(fh, result.label_array)
    if ds.kind == "climate" and ds.time is not None:
        _write_timeline_csv(folder / "labels.csv", ds.time, result.labels)
    (folder / "metrics.json").write_text(json.dumps(plain(result.metrics), indent=2) + "\n")
    (folder / "config.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    if pictures:
        with progress.stage("drawing"):
            draw_safely(result, folder)
    if save_model and hasattr(result.estimator, "save"):
        result.estimator.save(folder / "model.pt")


def _write_timeline_csv(path: Path, time_axis: Any, labels: np.ndarray) -> None:
    lines = ["time,cluster"] + [f"{t},{int(c)}" for t, c in zip(time_axis, labels, strict=False)]
    path.write_text("\n".join(lines) + "\n")


def draw_safely(result: RunResult, folder: Path) -> None:
    """Draw the run's pictures; a picture that cannot be drawn warns, never fails the run."""
    try:
        draw(result, folder / _PICTURES.get(result.dataset.kind, "embedding.png"))
        extra = getattr(result.estimator, "write_figures", None)
        if callable(extra):
            extra(folder, result.dataset)
    except Exception as exc:  # noqa: BLE001 - the labels and metrics are still good
        first = str(exc).splitlines()[0] if str(exc) else ""
        note = f"picture not drawn ({type(exc).__name__}: {first})"
        warnings.warn(note, UserWarning, stacklevel=2)
        result.notes.append(note)


def draw(result: RunResult, path: Path) -> Path:
    """The picture for this kind of data."""
    from . import plots

    ds, labels = result.dataset, result.labels
    title = f"{result.settings.method} on {ds.name}"
    if ds.kind == "hsi" and ds.grid_shape is not None:
        gt = None if ds.y is None else ds.y.reshape(ds.grid_shape)
        plots.plot_cluster_map(
            labels.reshape(ds.grid_shape),
            gt,
            unlabelled=ds.unlabelled if ds.unlabelled is not None else 0,
            class_names=ds.extra.get("class_names"),
            title=title,
            path=path,
            metrics=result.metrics,
        )
    elif ds.kind == "climate":
        plots.plot_regime_timeline(ds.time, labels, title=title, path=path, metrics=result.metrics)
        if ds.cube is not None:
            plots.plot_cluster_anomaly_maps(
                ds.cube, labels, variables=ds.variables or None, lat=ds.extra.get("lat"),
                lon=ds.extra.get("lon"), title=title, path=path.with_name("anomaly_maps.png"),
            )  # fmt: skip
    else:
        region, emb = result.region, result.embedding
        if emb is None or len(emb) != len(region):
            if is_lazy_rows(ds.X):
                return path  # no embedding, and the folder is not decoded for a picture
            emb = ds.X[region]
        y = None if ds.y is None else ds.y[region]
        plots.plot_embedding(emb, labels[region], y, title=title, path=path, metrics=result.metrics)
    return path


__all__ = [
    "MAX_THREADS",
    "PREPROCESS_KEYS",
    "RunResult",
    "RunSettings",
    "absolute_spec",
    "build_estimator",
    "check_out_apart_from_data",
    "check_preprocess",
    "compute_metrics",
    "draw",
    "fit_method",
    "fit_region",
    "run",
    "run_record",
    "vectors_for",
    "write_outputs",
]
