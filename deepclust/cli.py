"""Command line: ``deepclust run | datasets | methods | demo``.

``deepclust run METHOD --data SPEC`` loads data in its native format, fits the method,
and writes ``labels.npy``, ``metrics.json`` (when labels exist), ``config.yaml`` (the
resolved settings) and a PNG into ``--out``. Bad input ends with a one-line error and a
non-zero exit, never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import sys
import time
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import __version__
from .data.container import Dataset
from .data.registry import DATASETS, load
from .exceptions import ConfigError, DataError, DeepclustError
from .methods import METHODS, get_method
from .utils import atomic_path, atomic_write_text

EXIT_ERROR = 2


# --------------------------------------------------------------------------- config
def bundled_configs() -> dict[str, Path]:
    """Configs shipped with the package (``deepclust/configs/*.yaml``) by name."""
    root = resources.files("deepclust") / "configs"
    if not root.is_dir():
        return {}
    return {Path(p.name).stem: Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml")}


def read_config(spec: str | None) -> dict[str, Any]:
    """Read a YAML config from a path or a bundled config name."""
    if not spec:
        return {}
    path = Path(spec)
    if not path.is_file():
        bundled = bundled_configs()
        if spec in bundled:
            path = bundled[spec]
        else:
            names = ", ".join(sorted(bundled)) or "none"
            raise ConfigError(f"config {spec!r} not found; expected a YAML file or one of: {names}")
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"config {path} is not valid YAML: {first}") from exc
    if not isinstance(cfg, dict):
        raise ConfigError(f"config {path} must be a mapping of settings, got {type(cfg).__name__}")
    known = {
        "method",
        "data",
        "data_options",
        "n_clusters",
        "params",
        "preprocess",
        "seed",
        "description",
    }
    unknown = set(cfg) - known
    if unknown:
        raise ConfigError(
            f"config {path} has unknown keys {sorted(unknown)}; expected some of {sorted(known)}"
        )
    return cfg


def parse_assignments(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["a=1", "b=[3,4]"]`` -> ``{"a": 1, "b": [3, 4]}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item!r} must look like KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{what} {item!r}: value is not valid YAML") from exc
    return out


def build_estimator(method: str, n_clusters: int, params: dict[str, Any], seed: int | None):
    """Instantiate a registered method, checking parameter names first."""
    cls = get_method(method)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = set(params) - accepted
    if unknown:
        raise ConfigError(
            f"{method} has no parameter(s) {sorted(unknown)}; expected some of {sorted(accepted)}"
        )
    kwargs = dict(params)
    if "n_clusters" in accepted:
        kwargs["n_clusters"] = n_clusters
    if "random_state" in accepted and seed is not None:
        kwargs.setdefault("random_state", seed)
    return cls(**kwargs)


# ------------------------------------------------------------------ data adaptors
def vectors_for(ds: Dataset, preprocess: dict[str, Any]) -> np.ndarray:
    """The flat feature matrix a vector method sees, after optional preprocessing.

    Hyperspectral pixels are band-standardised by default (the SCDSC paper's baseline
    protocol); ``preprocess: {pca: N}`` reduces them with PCA.
    """
    X = np.asarray(ds.X, dtype=np.float32)
    standardize = preprocess.get("standardize", ds.kind == "hsi")
    if standardize:
        mu = X.mean(axis=0)
        sd = X.std(axis=0)
        X = (X - mu) / np.where(sd > 0, sd, 1.0)
    n_pca = preprocess.get("pca")
    if n_pca:
        from sklearn.decomposition import PCA

        X = PCA(int(n_pca), random_state=0).fit_transform(X).astype(np.float32)
    return X


def fit_region(ds: Dataset, preprocess: dict[str, Any]) -> np.ndarray:
    """Samples the method is fitted on.

    For a labelled hyperspectral scene the papers' protocol fits on the labelled region
    (the "task area" of SCDSC §3.4) and ground-truth *values* are never used;
    ``preprocess: {region: all}`` fits on every pixel instead.
    """
    region = preprocess.get("region", "labelled")
    if region not in ("labelled", "all"):
        raise ConfigError(f"preprocess.region={region!r}; expected 'labelled' or 'all'")
    if ds.kind == "hsi" and ds.y is not None and region == "labelled":
        return np.flatnonzero(ds.labelled)
    return np.arange(ds.n_samples)


def run_method(est: Any, ds: Dataset, preprocess: dict[str, Any]) -> dict[str, Any]:
    """Fit ``est`` on ``ds`` and return labels for every sample (-1 where none)."""
    region = fit_region(ds, preprocess)
    labels = np.full(ds.n_samples, -1, dtype=np.int64)
    kind = getattr(est, "input_kind", "vectors")
    tic = time.perf_counter()
    if kind == "vectors":
        X = vectors_for(ds, preprocess)
        est.fit(X[region])
        labels[region] = est.labels_
        if len(region) < ds.n_samples and hasattr(est, "predict"):
            labels[:] = est.predict(X)  # full map: every pixel gets a cluster
        embedding = getattr(est, "embedding_", None)
        embedding = X[region] if embedding is None else embedding
    elif kind == ds.kind:
        if ds.kind == "hsi":
            mask = np.zeros(ds.n_samples, bool)
            mask[region] = True
            est.fit(ds.cube, mask=mask.reshape(ds.grid_shape))
        else:
            est.fit(ds.cube)
        label_map = getattr(est, "label_map_", None)
        if label_map is not None and label_map.size == ds.n_samples:
            labels[:] = label_map.reshape(-1)  # structured methods label every pixel
        else:
            labels[region] = est.labels_
        embedding = getattr(est, "embedding_", None)
    else:
        raise ConfigError(
            f"{type(est).__name__} clusters {kind} data but {ds.name} is {ds.kind} data"
        )
    return {
        "labels": labels,
        "region": region,
        "embedding": embedding,
        "seconds": time.perf_counter() - tic,
    }


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
        if np.unique(labels[ok]).size >= 2:
            out.update({k: float(v) for k, v in internal_metrics(X[ok], labels[ok]).items()})
    return out


def draw(ds: Dataset, result: dict[str, Any], title: str, path: Path) -> Path:
    """The picture for this kind of data."""
    from . import plots

    labels = result["labels"]
    if ds.kind == "hsi" and ds.grid_shape is not None:
        gt = None if ds.y is None else ds.y.reshape(ds.grid_shape)
        names = ds.extra.get("class_names")
        plots.plot_cluster_map(
            labels.reshape(ds.grid_shape),
            gt,
            unlabelled=ds.unlabelled if ds.unlabelled is not None else 0,
            class_names=names,
            title=title,
            path=path,
        )
    elif ds.kind == "climate":
        plots.plot_regime_timeline(ds.time, labels, title=title, path=path)
    else:
        region = result["region"]
        emb = result["embedding"]
        if emb is None or len(emb) != len(region):
            emb = ds.X[region]
        y = None if ds.y is None else ds.y[region]
        plots.plot_embedding(emb, labels[region], y, title=title, path=path)
    return path


def _environment() -> dict[str, Any]:
    import torch

    return {
        "deepclust": __version__,
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "machine": platform.machine(),
        "cuda": torch.cuda.is_available(),
    }


# --------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    cfg = read_config(args.config)
    method = args.method or cfg.get("method")
    if not method:
        raise ConfigError("no method given; expected `deepclust run METHOD` or `method:` in config")
    if cfg.get("method") and args.method and cfg["method"] != args.method:
        raise ConfigError(f"config is for method {cfg['method']!r} but {args.method!r} was asked")
    spec = args.data or cfg.get("data")
    if not spec:
        raise ConfigError("no data given; expected --data KIND:PATH or `data:` in the config")
    data_options = {
        **(cfg.get("data_options") or {}),
        **parse_assignments(args.data_opt, "--data-opt"),
    }
    params = {**(cfg.get("params") or {}), **parse_assignments(args.set, "--set")}
    preprocess = {
        **(cfg.get("preprocess") or {}),
        **parse_assignments(args.preprocess, "--preprocess"),
    }
    seed = args.seed if args.seed is not None else cfg.get("seed", 0)
    if args.device:
        params["device"] = args.device
    if args.verbose:
        params["verbose"] = True

    ds = load(spec, **data_options)
    n_clusters = args.n_clusters if args.n_clusters is not None else cfg.get("n_clusters")
    if n_clusters is None:
        n_clusters = ds.n_classes
        if n_clusters is None:
            raise ConfigError(f"{ds.name} has no ground truth; pass --n-clusters K")
    if not isinstance(n_clusters, int) or isinstance(n_clusters, bool):
        raise ConfigError(f"n_clusters must be an integer, got {n_clusters!r}")
    if n_clusters < 2:
        raise ConfigError(f"n_clusters={n_clusters} is too small; expected an integer >= 2")
    n_fit = len(fit_region(ds, preprocess))
    if n_clusters > n_fit:
        raise ConfigError(
            f"n_clusters={n_clusters} is larger than the number of samples ({n_fit}); "
            "expected 2 <= n_clusters <= n_samples"
        )
    est = build_estimator(method, n_clusters, params, seed)
    out = Path(args.out or f"runs/{method}-{ds.name}")
    out.mkdir(parents=True, exist_ok=True)

    if args.verbose:
        print(f"deepclust: {method} on {ds!r}, n_clusters={n_clusters}", file=sys.stderr)
    result = run_method(est, ds, preprocess)
    X_internal = vectors_for(ds, preprocess) if ds.kind == "climate" else None
    metrics = compute_metrics(ds, result["labels"], result["region"], X_internal)
    metrics["fit_seconds"] = result["seconds"]

    labels = result["labels"]
    if ds.kind == "hsi" and ds.grid_shape is not None:
        labels = labels.reshape(ds.grid_shape)
    with atomic_path(out / "labels.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, labels)
    if ds.y is not None or metrics:
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    resolved = {
        "method": method,
        "data": spec,
        "data_options": data_options,
        "n_clusters": n_clusters,
        "seed": seed,
        "preprocess": preprocess,
        "params": _plain(est.get_params(deep=False)),
        "environment": _environment(),
        "command": " ".join(sys.argv),
    }
    atomic_write_text(out / "config.yaml", yaml.safe_dump(_plain(resolved), sort_keys=False))
    picture = {"hsi": "cluster_map.png", "climate": "regime_timeline.png"}.get(
        ds.kind, "embedding.png"
    )
    draw(ds, result, f"{method} on {ds.name}", out / picture)
    extra = getattr(est, "write_figures", None)
    if callable(extra):
        extra(out, ds)
    if args.save_model and hasattr(est, "save"):
        est.save(out / "model.pt")
    print(format_metrics(method, metrics))
    print(f"wrote {out}/")
    return 0


def _plain(obj: Any) -> Any:
    """Parameters as YAML-friendly values."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return str(obj)  # plain str, not a subclass such as torch's version string
    return repr(obj)


def format_metrics(name: str, metrics: dict[str, Any]) -> str:
    keys = [
        k
        for k in (
            "acc",
            "nmi",
            "ari",
            "kappa",
            "purity",
            "silhouette",
            "davies_bouldin",
            "calinski_harabasz",
            "rmse",
            "variance",
            "inter_cluster_distance",
            "fit_seconds",
        )
        if k in metrics
    ]
    return f"{name}: " + "  ".join(f"{k}={metrics[k]:.4f}" for k in keys)


# ----------------------------------------------------------------- small commands
def cmd_datasets(args: argparse.Namespace) -> int:
    width = max(len(n) for n in DATASETS)
    for name, entry in DATASETS.items():
        how = {"required": "KIND:PATH", "optional": "KIND[:PATH]", "none": "bundled"}[entry.path]
        print(f"{name:<{width}}  {how:<11}  {entry.description}")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    width = max(len(n) for n in METHODS)
    for name, entry in METHODS.items():
        print(f"{name:<{width}}  {entry.description}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.out), quick=args.quick)


# -------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepclust", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"deepclust {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="cluster a dataset with one method")
    r.add_argument("method", nargs="?", help=f"one of: {', '.join(METHODS)}")
    r.add_argument("--data", help="KIND:PATH (e.g. mnist:DIR, hsi:SCENE.mat) or a bundled name")
    r.add_argument("--n-clusters", type=int, help="default: number of ground-truth classes")
    r.add_argument("--config", help="YAML config file or bundled config name")
    r.add_argument("--out", help="output directory (default runs/METHOD-DATA)")
    r.add_argument("--seed", type=int, help="random_state (default 0)")
    r.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="method parameter")
    r.add_argument("--data-opt", action="append", metavar="KEY=VALUE", help="loader option")
    r.add_argument(
        "--preprocess",
        action="append",
        metavar="KEY=VALUE",
        help="standardize=BOOL, pca=N, region=labelled|all",
    )
    r.add_argument("--save-model", action="store_true", help="also write model.pt")
    r.add_argument("-v", "--verbose", action="store_true", help="progress bars")
    r.set_defaults(func=cmd_run)

    sub.add_parser("datasets", help="list data loaders").set_defaults(func=cmd_datasets)
    sub.add_parser("methods", help="list methods").set_defaults(func=cmd_methods)
    d = sub.add_parser("demo", help="cluster bundled data with several methods")
    d.add_argument("--out", default="out/demo")
    d.add_argument("--quick", action="store_true", help="fewer epochs (for tests)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            if not (args.debug or getattr(args, "verbose", False)):
                # library warnings would break the one-line-error promise on stderr
                warnings.simplefilter("ignore")
            return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `deepclust datasets | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("deepclust: interrupted", file=sys.stderr)
        return 130
    except (DeepclustError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if args.debug:
            raise
        print(f"deepclust: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"deepclust: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser", "DataError"]
