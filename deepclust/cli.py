"""Command line: ``deepclust run | report | bench | datasets | methods | demo``.

``deepclust run METHOD --data SPEC`` loads data in its native format, fits the method,
and writes ``labels.npy``, ``metrics.json``, ``config.yaml`` (the settings that repeat
the run) and a PNG into ``--out``. Bad input ends with a one-line error and exit code 2,
never a traceback (``--debug`` shows one). This module only parses arguments and prints;
the run itself is :mod:`deepclust.run`, and nothing heavy (torch, scikit-learn) is
imported until a command needs it, so ``deepclust --help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from . import __version__, progress
from .exceptions import DeepclustError
from .records import parse_assignments

EXIT_ERROR = 2
_SHOWN = (
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


def format_metrics(name: str, metrics: dict[str, Any]) -> str:
    """One line of the main metrics."""
    keys = [k for k in _SHOWN if isinstance(metrics.get(k), (int, float))]
    return f"{name}: " + "  ".join(f"{k}={metrics[k]:.4f}" for k in keys)


# --------------------------------------------------------------------------- run
def settings_from_args(args: argparse.Namespace) -> Any:
    """The run's settings: the config file, then the command-line options over it."""
    from .run import RunSettings

    params = parse_assignments(args.set, "--set")
    if args.device:
        params["device"] = args.device
    if args.precision:
        params["precision"] = args.precision
    if args.compile:
        params["compile_networks"] = True
    return RunSettings.from_config(
        args.config,
        method=args.method,
        data=args.data,
        n_clusters=args.n_clusters,
        seed=args.seed,
        threads=args.threads,
        params=params,
        data_options=parse_assignments(args.data_opt, "--data-opt"),
        preprocess=parse_assignments(args.preprocess, "--preprocess"),
    )


def cmd_run(args: argparse.Namespace) -> int:
    from .distributed import init_from_environment, is_writer
    from .run import run

    settings = settings_from_args(args)
    if args.verbose:
        settings.params.setdefault("verbose", True)
    out = args.out or f"runs/{settings.method}-{_data_name(settings.data)}"
    created = init_from_environment()  # under torchrun: every rank fits, rank 0 writes
    writer = is_writer()
    try:
        result = run(
            settings,
            out if writer else None,
            overwrite=args.overwrite,
            save_model=args.save_model,
            command=" ".join(["deepclust", *sys.argv[1:]]),
        )
    finally:
        if created:
            import torch.distributed as dist

            dist.destroy_process_group()
    if not writer:
        return 0
    for note in result.notes:
        print(f"deepclust: warning: {note}", file=sys.stderr)
    print(format_metrics(settings.method, result.metrics))
    print(f"wrote {result.out}/")
    return 0


def _data_name(spec: str) -> str:
    kind, _, path = spec.partition(":")
    stem = Path(path.rstrip("/")).stem if path else ""
    return (stem or kind).replace(":", "-") or "data"


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench_main

    return bench_main(args.bench_args)


def cmd_report(args: argparse.Namespace) -> int:
    from .records import report_text

    print(report_text(args.folder))
    return 0


# ----------------------------------------------------------------- small commands
def cmd_datasets(args: argparse.Namespace) -> int:
    from .data.registry import DATASETS

    width = max(len(n) for n in DATASETS)
    for name, entry in DATASETS.items():
        how = {"required": "KIND:PATH", "optional": "KIND[:PATH]", "none": "bundled"}[entry.path]
        print(f"{name:<{width}}  {how:<11}  {entry.description}")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from .methods import METHODS

    width = max(len(n) for n in METHODS)
    for name, entry in METHODS.items():
        print(f"{name:<{width}}  {entry.description}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.out), quick=args.quick)


# -------------------------------------------------------------------------- main
class UsageError(Exception):
    """A command line argparse cannot parse (printed as one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises :class:`UsageError` instead of printing
    the usage block and exiting, so that it ends with one ``deepclust: error:`` line."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _integer(text: str) -> int:
    """``type=`` for integer options: a one-line reason instead of "invalid int value"."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _run_parser(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("run", parents=common, help="cluster a dataset with one method")
    r.add_argument("method", nargs="?", help="a method name (see `deepclust methods`)")
    r.add_argument("--data", help="KIND:PATH (e.g. mnist:DIR, hsi:SCENE.mat) or a bundled name")
    r.add_argument("--n-clusters", type=_integer, help="default: number of ground-truth classes")
    r.add_argument("--config", help="YAML config, bundled config name, or a finished run's folder")
    r.add_argument("--out", help="output folder (default runs/METHOD-DATA)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    r.add_argument("--seed", type=_integer, help="random_state (default 0)")
    r.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    r.add_argument("--precision", choices=("fp32", "bf16", "fp16"), help="mixed-precision training")
    r.add_argument("--compile", action="store_true", help="torch.compile the networks (GPU runs)")
    r.add_argument("--threads", type=_integer, help="CPU threads (default: the cores not busy)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="method parameter")
    r.add_argument("--data-opt", action="append", metavar="KEY=VALUE", help="loader option")
    r.add_argument(
        "--preprocess",
        action="append",
        metavar="KEY=VALUE",
        help="standardize=BOOL, pca=N, region=labelled|all",
    )
    r.add_argument("--save-model", action="store_true", help="also write model.pt")
    r.set_defaults(func=cmd_run)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="deepclust", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"deepclust {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    loud = _Parser(add_help=False)
    loud.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    loud.add_argument("-v", "--verbose", action="store_true", help="progress bars and warnings")
    common = [loud]
    sub = p.add_subparsers(dest="command", required=True)
    _run_parser(sub, common)
    rep = sub.add_parser("report", parents=common, help="print a finished run's settings")
    rep.add_argument("folder", help="a run's output folder")
    rep.set_defaults(func=cmd_report)
    bench = sub.add_parser(
        "bench",
        add_help=False,
        help="methods x datasets x seeds, resumable, with a leaderboard (`bench --help`)",
    )
    bench.set_defaults(func=cmd_bench, bench_args=[])
    sub.add_parser("datasets", help="list data loaders").set_defaults(func=cmd_datasets)
    sub.add_parser("methods", help="list methods").set_defaults(func=cmd_methods)
    d = sub.add_parser("demo", parents=common, help="cluster bundled data with several methods")
    d.add_argument("--out", default="out/demo")
    d.add_argument("--quick", action="store_true", help="fewer epochs (for tests)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"]:  # the bench has its own parser (`deepclust bench --help`)
            args = argparse.Namespace(
                func=cmd_bench, bench_args=argv[1:], debug=False, quiet=False, verbose=False
            )
        else:
            args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"deepclust: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    progress.set_mode("quiet" if quiet else ("bar" if verbose else "auto"))
    try:
        with warnings.catch_warnings():
            if not (args.debug or verbose):
                # library warnings would break the one-line-error promise on stderr;
                # what a user must know (a collapsed result) is printed as a note
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
    except (ValueError, TypeError, OSError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"deepclust: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        progress.set_mode("quiet")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["UsageError", "build_parser", "format_metrics", "main", "parse_assignments"]
