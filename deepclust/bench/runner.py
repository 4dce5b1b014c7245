"""Run every (method, dataset, seed) cell of a bench, one JSON file per cell.

Each cell is one :func:`deepclust.run.run` (no output folder) whose outcome is written to
``OUT/cells/METHOD__DATASET__seedS.json``: the settings, the metrics, the fit seconds,
the collapse flag and warning, or the error of a cell that failed. A failing cell never
stops the bench, and a cell whose file exists is not run again (resume); delete a file
to recompute its cell (or pass ``retry_failed=True`` for the failed ones). With
``jobs > 1`` cells run in that many worker processes, one thread each.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import inspect
import json
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError
from .suite import BenchDataset, select

#: Shorter training for ``quick=True`` (a smoke test; scores are not comparable), given
#: to every method that has the parameter and whose value the user did not set.
QUICK_PARAMS: dict[str, Any] = {
    "ae_layerwise_epochs": 5,
    "ae_finetune_epochs": 10,
    "epochs": 10,
    "vae_epochs": 10,
    "classifier_epochs": 5,
    "siamese_epochs": 5,
    "pretrain_epochs": 10,
    "init_epochs": 5,
    "finetune_epochs": 5,
    "max_rounds": 2,
}
CELLS_DIR = "cells"


@dataclass(frozen=True, eq=False)
class Cell:
    """One (method, dataset, seed) run of the bench."""

    method: str
    dataset: BenchDataset
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    quick: bool = False

    @property
    def key(self) -> str:
        """``METHOD__DATASET__seedS``, the cell's file name without ``.json``."""
        return f"{self.method}__{self.dataset.name}__seed{self.seed}"

    def settings_record(self) -> dict[str, Any]:
        """What decides the cell's result (compared on resume)."""
        d = self.dataset
        return _plain(
            {
                "spec": d.spec,
                "data_options": d.data_options,
                "preprocess": d.preprocess,
                "n_clusters": d.n_clusters,
                "params": self.params,
                "quick": self.quick,
            }
        )


# ------------------------------------------------------------------ planning
def _accepted(method: str) -> set[str]:
    from ..methods import get_method

    return set(inspect.signature(get_method(method).__init__).parameters) - {"self"}


def methods_for(kind: str, names: str | Sequence[str] = "all") -> list[str]:
    """Registered methods to run on data of ``kind``.

    ``"all"`` is every method that clusters vectors (any data flatten to vectors) plus
    those made for this kind only (``scdsc`` for hyperspectral scenes). Named methods
    are kept when they can run on ``kind``.
    """
    from ..methods import METHODS, get_method

    names = [names] if isinstance(names, str) else list(names)
    wanted = list(METHODS) if "all" in names else names
    out = []
    for name in wanted:
        own = getattr(get_method(name), "input_kind", "vectors")
        if own in ("vectors", kind):
            out.append(name.strip().lower())
    return out


def method_params(method: str, params: dict[str, Any], quick: bool) -> dict[str, Any]:
    """The parameters of ``params`` (``KEY`` or ``METHOD.KEY``) that ``method`` takes."""
    accepted = _accepted(method)
    out = {k: v for k, v in QUICK_PARAMS.items() if quick and k in accepted}
    for key, value in params.items():
        scope, dot, name = key.rpartition(".")
        if dot and scope == method:
            out[name] = value
        elif not dot and key in accepted:
            out[key] = value
    return out


def _check_params(methods: Iterable[str], params: dict[str, Any]) -> None:
    """Refuse parameters no selected method takes (a typo would otherwise do nothing).

    ``METHOD.KEY`` is checked against ``METHOD`` (which must be registered, but need not
    run in this bench); a plain ``KEY`` against the methods of the bench.
    """
    methods = list(methods)
    for key in params:
        scope, dot, name = key.rpartition(".")
        targets = [scope] if dot else methods
        if not targets:
            continue
        if not any(name in _accepted(m) for m in targets):
            raise ConfigError(
                f"no method of this bench has a parameter {name!r} ({', '.join(targets)})"
            )


def plan(
    methods: str | Sequence[str],
    entries: Sequence[BenchDataset],
    seeds: Sequence[int],
    params: dict[str, Any] | None = None,
    quick: bool = False,
) -> tuple[list[Cell], list[str]]:
    """Cells of the bench (datasets x methods x seeds) and notes on pairs left out."""
    from ..methods import get_method

    names = [methods] if isinstance(methods, str) else list(methods)
    for name in names:
        if name != "all":
            get_method(name)  # unknown names fail before anything runs
    params = dict(params or {})
    cells, notes, used = [], [], set()
    for entry in entries:
        chosen = methods_for(entry.kind, names)
        left = [m for m in names if m != "all" and m.strip().lower() not in chosen]
        if left:
            notes.append(f"skipping {', '.join(left)} on {entry.name}: not for {entry.kind} data")
        for method in chosen:
            used.add(method)
            p = method_params(method, params, quick)
            cells += [Cell(method, entry, int(s), p, quick) for s in seeds]
    _check_params(sorted(used), params)
    return cells, notes


# ------------------------------------------------------------------ one cell
def cell_path(out_dir: str | os.PathLike, cell: Cell) -> Path:
    """Where the cell's JSON goes."""
    return Path(out_dir) / CELLS_DIR / f"{cell.key}.json"


def _plain(obj: Any) -> Any:
    """JSON-friendly values; NaN and infinities become None (strict JSON)."""
    from ..records import plain

    obj = plain(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` atomically (a crash never leaves half a file to resume from)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_plain(record), indent=2) + "\n")
    os.replace(tmp, path)


def run_cell(cell: Cell, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run one cell; return its record (and write it to ``path``). Never raises for the cell.

    Only ``KeyboardInterrupt`` and other non-``Exception`` errors propagate.
    """
    from .. import run as runmod
    from ..threads import configure_threads

    d = cell.dataset
    record: dict[str, Any] = {"method": cell.method, "dataset": d.name, "seed": cell.seed}
    record["settings"] = cell.settings_record()
    settings = runmod.RunSettings(
        cell.method,
        d.spec,
        n_clusters=d.n_clusters,
        params=dict(cell.params),
        data_options=dict(d.data_options),
        preprocess=dict(d.preprocess),
        seed=cell.seed,
    )
    tic = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = runmod.run(settings, out=None)
        except Exception as exc:  # noqa: BLE001 - a failed cell is a result of the bench
            record.update(_failure(exc))
        else:
            record.update(_success(result))
    record["wall_seconds"] = time.perf_counter() - tic
    record["threads"] = configure_threads()  # the count the fit ran with (cached, cheap)
    record["python_warnings"] = sorted({str(w.message).splitlines()[0] for w in caught})[:5]
    record["finished_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if path is not None:
        write_json(Path(path), record)
    return record


def _success(result: Any) -> dict[str, Any]:
    metrics = dict(result.metrics)
    clusters = metrics.get("clusters") or {}
    return {
        "status": "ok",
        "metrics": metrics,
        "seconds": float(metrics.get("fit_seconds", result.seconds)),
        "collapsed": bool(clusters.get("collapsed", False)),
        "warning": metrics.get("warning"),
        "n_clusters": int(result.settings.n_clusters),
        "n_samples": int(result.dataset.n_samples),
        "error": None,
    }


def _failure(exc: BaseException) -> dict[str, Any]:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {
        "status": "error",
        "metrics": None,
        "seconds": None,
        "collapsed": None,
        "warning": None,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(tb)[-4000:],
    }


# ------------------------------------------------------------------ the bench
@dataclass
class BenchReport:
    """What :func:`run_bench` did."""

    out_dir: Path
    records: list[dict[str, Any]]
    ran: int
    resumed: int
    notes: list[str]
    leaderboard: dict[str, Path]

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Records of the cells that failed."""
        return [r for r in self.records if r.get("status") != "ok"]


def _init_worker() -> None:
    from ..threads import set_num_threads

    set_num_threads(1)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No stage lines from the runs while the progress bar is shown."""
    from .. import progress

    before = progress.mode()
    progress.set_mode("quiet")
    try:
        yield
    finally:
        progress.set_mode(before)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _todo(
    cells: list[Cell], out_dir: Path, retry_failed: bool
) -> tuple[list[Cell], dict[str, dict[str, Any]], list[str]]:
    """Cells to run, records of the ones already done, and notes on stale settings."""
    done, todo, stale = {}, [], []
    for cell in cells:
        path = cell_path(out_dir, cell)
        old = _read(path) if path.exists() else None
        if old is None or (retry_failed and old.get("status") != "ok"):
            todo.append(cell)
            continue
        done[cell.key] = old
        if old.get("settings") != cell.settings_record():
            stale.append(cell.key)
    notes = []
    if stale:
        notes.append(
            f"{len(stale)} finished cell(s) were computed with other settings and were kept "
            f"(e.g. {stale[0]}); delete their files or use another --out to recompute"
        )
    return todo, done, notes


def _execute(
    cells: list[Cell], out_dir: Path, jobs: int, bar: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``cells`` (in ``jobs`` processes when > 1), updating ``bar`` as each ends.

    A worker process that dies (out of memory, a crash in native code) leaves its cell
    without a file, so that the next call runs it again; a note says so.
    """
    records: list[dict[str, Any]] = []
    notes: list[str] = []

    def finished(rec: dict[str, Any]) -> None:
        records.append(rec)
        bar.set_postfix_str(f"{rec['method']} {rec['dataset']} s{rec['seed']}: {rec['status']}")
        bar.update(1)

    if jobs <= 1 or len(cells) <= 1:
        with _quiet():
            for cell in cells:
                bar.set_postfix_str(f"running {cell.key}")
                finished(run_cell(cell, cell_path(out_dir, cell)))
        return records, notes
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    workers = min(jobs, len(cells))
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {pool.submit(run_cell, c, cell_path(out_dir, c)): c for c in cells}
        for future in as_completed(futures):
            try:
                finished(future.result())
            except Exception as exc:  # noqa: BLE001 - the worker died, not the cell's code
                notes.append(f"{futures[future].key} not finished ({type(exc).__name__}: {exc})")
                bar.update(1)
    return records, notes


def run_bench(
    methods: str | Sequence[str] = "all",
    datasets: Iterable[str | BenchDataset] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    out_dir: str | os.PathLike = "runs/bench",
    jobs: int | str = 1,
    params: dict[str, Any] | None = None,
    quick: bool = False,
    *,
    shared: str | os.PathLike | None = None,
    n_clusters: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
) -> BenchReport:
    """Run a bench and write its cells and leaderboard into ``out_dir``.

    Parameters
    ----------
    methods : "all" or sequence of str
        Method names; ``"all"``: every method applicable to each dataset's kind
        (:func:`methods_for`).
    datasets : iterable, optional
        Suite names, tiers (``"quick"``, ``"full"``), data specs (``mat:my.mat``) or
        :class:`~deepclust.bench.suite.BenchDataset` objects; default the quick tier.
        Suite entries whose files are absent are left out with a note.
    seeds : sequence of int, default (0, 1, 2)
    out_dir : path-like, default "runs/bench"
    jobs : int or "auto", default 1
        Worker processes (one thread each); 1 runs the cells in this process, ``"auto"``
        one per core not kept busy by other processes.
    params : dict, optional
        Method parameters, ``KEY`` (every method that has it) or ``METHOD.KEY``.
    quick : bool, default False
        Shorter training (:data:`QUICK_PARAMS`) for a smoke test.
    shared : path-like, optional
        The real-data folder (default: :func:`~deepclust.bench.suite.shared_root`).
    n_clusters : int, optional
        K of ad-hoc data specs (default: their number of classes).
    retry_failed : bool, default False
        Run failed cells again instead of keeping their recorded error.
    progress : bool, default True
        A tqdm bar on stderr.

    Returns
    -------
    BenchReport
    """
    from tqdm.auto import tqdm

    from .leaderboard import write_leaderboard

    if jobs == "auto":
        from ..threads import default_num_threads

        jobs = default_num_threads()
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(f"jobs={jobs!r}; expected a positive integer or 'auto'")
    entries, notes = select(datasets, shared=shared, n_clusters=n_clusters)
    cells, plan_notes = plan(methods, entries, seeds, params, quick)
    out = Path(out_dir)
    todo, done, resume_notes = _todo(cells, out, retry_failed)
    notes += plan_notes + resume_notes
    bar = tqdm(total=len(todo), desc="bench", unit="cell", file=sys.stderr, disable=not progress)
    with bar:
        new, run_notes = _execute(todo, out, jobs, bar)
    notes += run_notes
    by_key = {**done, **{f"{r['method']}__{r['dataset']}__seed{r['seed']}": r for r in new}}
    records = [by_key[c.key] for c in cells if c.key in by_key]
    board = write_leaderboard(out)
    return BenchReport(out, records, len(new), len(done), notes, board)


__all__ = [
    "QUICK_PARAMS",
    "BenchReport",
    "Cell",
    "cell_path",
    "method_params",
    "methods_for",
    "plan",
    "run_bench",
    "run_cell",
    "write_json",
]
