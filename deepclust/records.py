"""Run records: config files in, ``config.yaml`` / ``metrics.json`` out, and their report.

A finished run's ``config.yaml`` holds the settings that repeat it from any folder
(absolute data path, seed, every parameter, thread count) and its context (the data
file's size and checksum, package versions, the device), so ``deepclust run --config
OUT/config.yaml`` repeats it and ``deepclust report OUT`` describes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .exceptions import ConfigError, DataError

#: Keys of a config file that set the run.
SETTING_KEYS = (
    "method",
    "data",
    "data_options",
    "n_clusters",
    "params",
    "preprocess",
    "seed",
    "threads",
    "data_file",
)
#: Keys a run writes for the record only; accepted (and ignored) when read back.
RECORD_KEYS = ("description", "environment", "command")
#: Data larger than this is not hashed (the size is still recorded).
_HASH_LIMIT = 4 * 2**30


def bundled_configs() -> dict[str, Path]:
    """Configs shipped with the package (``deepclust/configs/*.yaml``) by name."""
    root = resources.files("deepclust") / "configs"
    if not root.is_dir():
        return {}
    return {Path(p.name).stem: Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml")}


def read_config(spec: str | Path | None) -> dict[str, Any]:
    """Read a YAML config from a path or a bundled config name (``None``: empty)."""
    if not spec:
        return {}
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "config.yaml").is_file():
        path = path / "config.yaml"  # a finished run's folder
    elif path.is_dir():
        raise ConfigError(
            f"config {path} is a folder without config.yaml; expected a YAML file, a finished "
            "run's folder or a bundled config name"
        )
    if not path.is_file():
        bundled = bundled_configs()
        if str(spec) not in bundled:
            names = ", ".join(sorted(bundled)) or "none"
            raise ConfigError(f"config {spec!r} not found; expected a YAML file or one of: {names}")
        path = bundled[str(spec)]
    cfg = _read_yaml(path, "config")
    if not isinstance(cfg, dict):
        raise ConfigError(f"config {path} must be a mapping of settings, got {type(cfg).__name__}")
    known = set(SETTING_KEYS) | set(RECORD_KEYS)
    unknown = set(cfg) - known
    if unknown:
        raise ConfigError(
            f"config {path} has unknown keys {sorted(unknown)}; expected some of {sorted(known)}"
        )
    return {k: cfg[k] for k in SETTING_KEYS if k in cfg}


def _read_yaml(path: Path, what: str) -> Any:
    """A YAML file's content; a one-line ConfigError saying where it is malformed."""
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} {path} is not valid YAML (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start} is not UTF-8 text); expected a YAML text file"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(
            f"{what} {path} is not valid YAML ({where}{' '.join(str(problem).split())}); "
            "expected KEY: VALUE lines"
        ) from exc


def parse_assignments(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["a=1", "b=[3,4]"]`` -> ``{"a": 1, "b": [3, 4]}`` (values parsed as YAML)."""
    import yaml

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


def plain(obj: Any) -> Any:
    """Values as YAML/JSON-friendly Python types."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return str(obj)  # plain str, not a subclass such as torch's version string
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def environment(device: Any = None) -> dict[str, Any]:
    """Versions and hardware that produced a run."""
    env: dict[str, Any] = {
        "deepclust": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(terse=True),
    }
    for name in ("torch", "sklearn"):
        module = sys.modules.get(name)
        if module is not None:
            env[name] = str(module.__version__)
    env["device"] = None if device is None else str(device)
    return env


def data_file_record(spec: str) -> dict[str, Any] | None:
    """Absolute path, size and SHA-256 of the file (or folder) behind a data spec."""
    from .data.registry import parse_spec

    _, path = parse_spec(spec)
    if not path:
        return None
    p = Path(os.path.abspath(Path(path).expanduser()))
    if not p.exists():
        return None
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    size = sum(f.stat().st_size for f in files)
    record: dict[str, Any] = {"path": str(p), "size": size, "files": len(files), "sha256": None}
    if size <= _HASH_LIMIT:
        h = hashlib.sha256()
        for f in files:
            h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
            with open(f, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
        record["sha256"] = h.hexdigest()
    return record


def report_text(folder: str | Path) -> str:
    """A finished run's settings and metrics as text (``deepclust report OUT``)."""
    out = Path(folder).expanduser()
    config = out / "config.yaml"
    if not config.is_file():
        raise DataError(f"{out} is not a finished deepclust run (no config.yaml)")
    cfg = _read_yaml(config, "run record")
    if not isinstance(cfg, dict):
        raise DataError(f"{config} holds a {type(cfg).__name__}; expected a run's settings")
    metrics_path = out / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{metrics_path} is not valid JSON ({' '.join(str(exc).split())}); expected the "
            "metrics a run wrote"
        ) from exc
    if not isinstance(metrics, dict):
        raise DataError(f"{metrics_path} holds a {type(metrics).__name__}; expected a mapping")
    env = cfg.get("environment")
    env = env if isinstance(env, dict) else {}  # a hand-edited record: show what is there
    lines = [
        f"run        {out.absolute()}",
        f"method     {cfg.get('method')}  (n_clusters={cfg.get('n_clusters')}, "
        f"seed={cfg.get('seed')}, threads={cfg.get('threads')})",
        f"data       {cfg.get('data')}",
        f"versions   deepclust {env.get('deepclust')}, torch {env.get('torch', '-')}, "
        f"numpy {env.get('numpy')}, device {env.get('device') or 'cpu'}",
    ]
    if cfg.get("command"):
        lines.append(f"command    {cfg['command']}")
    params = cfg.get("params")
    changed = dict(params) if isinstance(params, dict) else {}
    if changed:
        lines.append("params     " + ", ".join(f"{k}={v}" for k, v in changed.items()))
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    if scalars:
        lines.append("metrics    " + "  ".join(f"{k}={v:.4g}" for k, v in scalars.items()))
    if metrics.get("warning"):
        lines.append(f"warning    {metrics['warning']}")
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    lines.append("files      " + ", ".join(files))
    return "\n".join(lines)


__all__ = [
    "RECORD_KEYS",
    "SETTING_KEYS",
    "bundled_configs",
    "data_file_record",
    "environment",
    "parse_assignments",
    "plain",
    "read_config",
    "report_text",
]
