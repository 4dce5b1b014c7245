"""Benchmark many methods on many datasets: ``deepclust bench``.

::

    from deepclust.bench import run_bench
    report = run_bench(["kmeans", "idec"], ["quick"], seeds=[0, 1, 2], out_dir="runs/bench")
    report.leaderboard["md"]  # runs/bench/leaderboard.md

The suite of datasets is :mod:`deepclust.bench.suite`, the runner (one JSON per method,
dataset and seed; resumable; parallel) :mod:`deepclust.bench.runner`, the tables and heat
map :mod:`deepclust.bench.leaderboard`. :func:`bench_main` is the command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ..exceptions import DeepclustError
from ..records import parse_assignments

EXIT_OK, EXIT_FAILED_CELLS, EXIT_ERROR = 0, 1, 2


def _jobs(text: str) -> int | str:
    """``--jobs``: a positive integer or ``auto``."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive integer or 'auto'")
    return value


def build_parser(prog: str = "deepclust bench") -> argparse.ArgumentParser:
    """The argument parser of :func:`bench_main`."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run methods x datasets x seeds, one JSON per cell (resumable), then "
        "write leaderboard.md/.csv/.png into --out.",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=["all"],
        metavar="NAME",
        help="method names, or 'all' (every method fit for each dataset)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=["quick"],
        metavar="NAME",
        help=(
            "suite names (see --list), 'quick', 'full', 'scenes' (every hyperspectral "
            "scene), or data specs KIND:PATH"
        ),
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], metavar="S")
    p.add_argument("--out", default="runs/bench", help="bench folder (default runs/bench)")
    p.add_argument(
        "--jobs",
        type=_jobs,
        default="auto",
        help="worker processes, one thread each (default auto: one per free core)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="shorter training (a smoke test; scores not comparable)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="method parameter; METHOD.KEY=VALUE for one method only",
    )
    p.add_argument("--n-clusters", type=int, metavar="K", help="K of data given as specs")
    p.add_argument("--retry-failed", action="store_true", help="rerun cells that failed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="print the suite and exit")
    return p  # fmt: skip


def list_suite() -> str:
    """The suite as a text table: name, tier, K, kind, available, spec, description."""
    from .suite import shared_root, suite

    lines = [f"shared data: {shared_root()}", ""]
    head = f"{'name':31} {'tier':5} {'K':>3} {'kind':7} {'here':4}  description"
    lines += [head, "-" * len(head)]
    for e in suite():
        here = "no" if e.missing() else "yes"
        lines.append(
            f"{e.name:31} {e.tier:5} {e.n_clusters or '-':>3} {e.kind:7} {here:4}  {e.description}"
        )
    return "\n".join(lines)


def bench_main(argv: Sequence[str] | None = None) -> int:
    """Command line of the bench; returns the exit code.

    0: every cell finished; 1: the bench finished but some cells failed (their errors
    are in their cell files and the leaderboard); 2: bad arguments or data.
    """
    args = build_parser().parse_args(argv)
    if args.list:
        print(list_suite())
        return EXIT_OK
    from .runner import run_bench

    try:
        report = run_bench(
            methods=args.methods,
            datasets=args.datasets,
            seeds=args.seeds,
            out_dir=args.out,
            jobs=args.jobs,
            params=parse_assignments(args.set, "--set"),
            quick=args.quick,
            n_clusters=args.n_clusters,
            retry_failed=args.retry_failed,
            progress=not args.no_progress,
        )
    except DeepclustError as exc:
        print(f"deepclust: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    failed = report.failed
    print(
        f"{len(report.records)} cells ({report.ran} run now, {report.resumed} already done, "
        f"{len(failed)} failed); leaderboard: {report.leaderboard['md']}"
    )
    return EXIT_FAILED_CELLS if failed else EXIT_OK


def __getattr__(name: str) -> Any:
    """``run_bench`` and ``write_leaderboard`` without importing them eagerly."""
    lazy = {"run_bench": "runner", "write_leaderboard": "leaderboard"}
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{lazy[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["bench_main", "build_parser", "list_suite", "run_bench"]
