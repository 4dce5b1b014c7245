"""Figures: embedding scatter, hyperspectral cluster map, climate regime timeline.

Every function draws onto a new figure, returns it (so it can be inspected) and, given
``path``, writes a PNG atomically. Colours of clusters are matched to ground-truth
classes (Hungarian matching) when labels exist, so a correct cluster shows in the
colour of its class; legends say which cluster went to which class.

A picture must never end a run: degenerate embeddings (identical rows, NaN, a handful
of samples) fall back to simpler layouts with a warning instead of reaching t-SNE,
whose Barnes-Hut code crashes the interpreter on them.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .utils import atomic_path  # noqa: E402

_BACKGROUND = (0.0, 0.0, 0.0, 1.0)
_GREY = (0.6, 0.6, 0.6, 1.0)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Below this many samples t-SNE is meaningless (and its perplexity must stay < n).
_TSNE_MIN_SAMPLES = 10
#: At most this many distinct points: PCA to 2-D is exact (3 points span a plane).
_EXACT_PCA_POINTS = 3
#: Legends longer than this become a colour bar.
_MAX_LEGEND = 40


def palette(n: int) -> np.ndarray:
    """``n`` distinguishable RGBA colours (tab10/tab20, then a hue wheel)."""
    if n <= 10:
        return plt.get_cmap("tab10")(np.arange(n))
    if n <= 20:
        return plt.get_cmap("tab20")(np.arange(n))
    return plt.get_cmap("hsv")(np.linspace(0, 1, n, endpoint=False))


def _extra_colors(n_fixed: int, n_extra: int) -> np.ndarray:
    """``n_extra`` colours distinct from ``palette(n_fixed)``, which they do not change.

    Class colours must not depend on how many unmatched clusters a method produced,
    or two pictures of the same data would colour the same class differently.
    """
    pool: list[np.ndarray] = []
    if n_fixed < 10:
        pool += list(plt.get_cmap("tab10")(np.arange(n_fixed, 10)))
    if n_fixed <= 20:
        pool += list(plt.get_cmap("tab20b")(np.arange(20)))
        pool += list(plt.get_cmap("tab20c")(np.arange(20)))
    if len(pool) >= n_extra:
        return np.array(pool[:n_extra]).reshape(n_extra, 4)
    shift = 0.5 / max(n_fixed, 1)  # between the hues of the fixed wheel
    return plt.get_cmap("hsv")((np.linspace(0, 1, n_extra, endpoint=False) + shift) % 1.0)


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG atomically and close it."""
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return target


def format_metrics(
    metrics: Mapping[str, Any] | None,
    spec: Sequence[tuple[str, Sequence[str]]] = (("ACC", ("acc",)), ("NMI", ("nmi",))),
) -> str:
    """``"ACC 0.812 · NMI 0.734"`` from a metrics dict; missing or non-finite ones skipped.

    Parameters
    ----------
    metrics : mapping or None
        Metric name -> value, e.g. what :func:`deepclust.metrics.external_metrics`
        returns. Keys are matched case-insensitively.
    spec : sequence of (label, keys)
        What to show, in order: the first of ``keys`` present gives the value shown
        as ``label``.

    Returns
    -------
    str
        The text, empty when nothing could be shown.
    """
    if not metrics:
        return ""
    lower = {str(k).lower(): v for k, v in metrics.items()}
    parts = []
    for label, keys in spec:
        for key in keys:
            value = lower.get(key.lower())
            if isinstance(value, (int, float, np.number)) and np.isfinite(value):
                parts.append(f"{label} {float(value):.3f}")
                break
    return " · ".join(parts)


def _join_title(*parts: str) -> str:
    return "\n".join(p for p in (s.strip() for s in parts) if p)


# --------------------------------------------------------------------- projection


@dataclass
class Projection:
    """A 2-D layout of (a subsample of) an embedding.

    Attributes
    ----------
    coords : ndarray of shape (n_shown, 2)
    index : ndarray of shape (n_shown,)
        Rows of the input that ``coords`` show, increasing.
    method : str
        What produced the layout (``"t-SNE"``, ``"PCA"``, ``"2-D embedding as is"``, ...).
    n_total : int
        Rows of the input.
    """

    coords: np.ndarray
    index: np.ndarray
    method: str
    n_total: int

    def caption(self) -> str:
        """``"t-SNE · 3,000 of 70,000 points shown"``."""
        shown = len(self.index)
        count = (
            f"all {shown:,} points"
            if shown == self.n_total
            else f"{shown:,} of {self.n_total:,} points shown"
        )
        return f"{self.method} · {count}"


def project_2d(
    Z: np.ndarray, *, method: str = "auto", max_points: int = 3000, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Project an embedding to 2-D for plotting; returns (coords, indices of shown samples).

    ``"auto"`` keeps 2-D embeddings, otherwise uses t-SNE on at most ``max_points``
    randomly chosen samples (PCA first when the dimension is large); ``"pca"`` and
    ``"tsne"`` force one. Rows with NaN/inf are left out; degenerate inputs (identical
    rows, fewer than :data:`_TSNE_MIN_SAMPLES` samples, at most 3 distinct rows) fall
    back to PCA or a jittered layout with a warning. See :func:`projection_2d`.
    """
    p = projection_2d(Z, method=method, max_points=max_points, random_state=random_state)
    return p.coords, p.index


def projection_2d(
    Z: np.ndarray, *, method: str = "auto", max_points: int = 3000, random_state: int = 0
) -> Projection:
    """Like :func:`project_2d` but also says which layout was used and of how many rows.

    Parameters
    ----------
    Z : array-like of shape (n_samples,) or (n_samples, n_features)
    method : {"auto", "identity", "pca", "tsne"}
    max_points : int
        Random subsample size above which rows are left out (t-SNE is quadratic-ish).
    random_state : int

    Returns
    -------
    Projection

    Warns
    -----
    UserWarning
        When rows are left out for NaN/inf, or a degenerate input changes the layout.
    """
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z.reshape(len(Z), -1) if Z.ndim != 2 else Z
    n_total = Z.shape[0]
    finite = np.flatnonzero(np.isfinite(Z).all(axis=1)) if Z.size else np.arange(n_total)
    if len(finite) < n_total:
        warnings.warn(
            f"{n_total - len(finite)} of {n_total} embedding rows contain NaN/inf and are "
            "not drawn",
            stacklevel=3,
        )
    rng = np.random.default_rng(random_state)
    keep = max(int(max_points), 1)
    idx = np.sort(rng.choice(finite, size=keep, replace=False)) if len(finite) > keep else finite
    Zs = Z[idx]
    if len(idx) == 0:
        return Projection(np.zeros((0, 2)), idx, "nothing to draw", n_total)
    coords, used = _layout(Zs, method, rng, random_state)
    return Projection(coords, idx, used, n_total)


def _layout(
    Zs: np.ndarray, method: str, rng: np.random.Generator, random_state: int
) -> tuple[np.ndarray, str]:
    """2-D coordinates of the finite rows ``Zs`` and the name of the layout used."""
    n, d = Zs.shape
    # One global affine rescale changes neither PCA's nor t-SNE's picture but keeps
    # distances away from under/overflow (data scaled by 1e-300 or 1e300).
    magnitude = float(np.abs(Zs).max()) if Zs.size else 0.0
    centred = Zs / magnitude if magnitude > 0 else Zs
    centred = centred - centred.mean(axis=0)
    spread = float(np.abs(centred).max()) if centred.size else 0.0
    if d == 0 or spread <= 1e-12:  # float noise around one value counts as constant
        what = "the single embedding row" if n == 1 else f"all {n} embedding rows are identical"
        warnings.warn(
            f"{what} (zero variance): nothing to project; points drawn jittered around "
            "one location",
            stacklevel=4,
        )
        return rng.normal(scale=0.05, size=(n, 2)), "all rows identical (drawn jittered)"
    scaled = centred / spread
    if d == 1:
        xy = np.column_stack([scaled[:, 0], rng.normal(scale=1e-2, size=n)])
        return xy, "1-D embedding (vertical jitter)"
    if d == 2 and method in ("auto", "identity"):
        return Zs, "2-D embedding as is"
    if method == "pca":
        return _pca(scaled, 2, random_state), "PCA"
    n_distinct = len(np.unique(np.round(scaled, 9), axis=0))
    reason = None
    if n < _TSNE_MIN_SAMPLES:
        reason = f"only {n} samples (t-SNE needs at least {_TSNE_MIN_SAMPLES})"
    elif n_distinct <= _EXACT_PCA_POINTS:
        reason = f"only {n_distinct} distinct rows among {n}"
    if reason is not None:
        warnings.warn(f"{reason}: using PCA instead of t-SNE", stacklevel=4)
        xy = _pca(scaled, 2, random_state)
        if n_distinct < n:  # show stacks of duplicates as blobs, not single dots
            xy = xy + rng.normal(scale=0.02 * max(float(np.ptp(xy)), 1e-12), size=xy.shape)
        return xy, "PCA"
    return _tsne(scaled, random_state), "t-SNE"


def _pca(X: np.ndarray, k: int, random_state: int) -> np.ndarray:
    """PCA to ``k`` columns, zero-padded when the data has fewer directions."""
    from sklearn.decomposition import PCA

    k_fit = min(k, X.shape[0], X.shape[1])
    out = PCA(k_fit, random_state=random_state).fit_transform(X)
    return np.pad(out, ((0, 0), (0, k - k_fit))) if k_fit < k else out


def _tsne(X: np.ndarray, random_state: int) -> np.ndarray:
    """t-SNE of at least ``_TSNE_MIN_SAMPLES`` rows with at least 4 distinct values."""
    from sklearn.manifold import TSNE

    n = X.shape[0]
    if X.shape[1] > 50:
        X = _pca(X, min(50, n), random_state)
    # scikit-learn requires perplexity < n; (n - 1) / 3 is the usual small-n choice.
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
    tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=random_state)
    return tsne.fit_transform(X)


# ------------------------------------------------------------------------ colours


@dataclass
class ColorTables:
    """Colours of clusters and classes and which cluster was matched to which class."""

    cluster: dict[int, np.ndarray]
    klass: dict[int, np.ndarray]
    match: dict[int, int]


def color_tables(
    pred: np.ndarray,
    truth: np.ndarray | None,
    *,
    classes: Sequence[int] | None = None,
    clusters: Sequence[int] | None = None,
) -> ColorTables:
    """Matched colours of the clusters in ``pred`` (ids < 0 mean "no cluster").

    Parameters
    ----------
    pred : ndarray of shape (n,)
        Cluster ids; negative ids are left out of the matching and get no colour.
    truth : ndarray of shape (n,) or None
        Class ids of the same samples; None colours clusters by a plain palette.
    classes : sequence of int, optional
        All class ids to colour (default: those in ``truth``), e.g. classes that no
        evaluated sample shows.
    clusters : sequence of int, optional
        All cluster ids to colour (default: the non-negative ones in ``pred``), e.g.
        clusters found only on unlabelled pixels.

    Returns
    -------
    ColorTables
        Matched clusters share their class's colour; the others get colours not used
        by any class, and class colours do not depend on the number of clusters.
    """
    pred = np.asarray(pred)
    ids = np.unique(pred) if clusters is None else clusters
    clusters = [int(c) for c in ids if c >= 0]
    if truth is None:
        return ColorTables(dict(zip(clusters, palette(len(clusters)), strict=True)), {}, {})
    from .metrics import match_clusters

    truth = np.asarray(truth)
    class_ids = [int(c) for c in (np.unique(truth) if classes is None else classes)]
    ok = pred >= 0
    match = (
        {int(k): int(v) for k, v in match_clusters(truth[ok], pred[ok]).items()} if ok.any() else {}
    )
    match = {k: v for k, v in match.items() if v in class_ids}
    class_col = dict(zip(class_ids, palette(len(class_ids)), strict=True))
    unmatched = [c for c in clusters if c not in match]
    cluster_col = {c: class_col[match[c]] for c in clusters if c in match}
    cluster_col.update(zip(unmatched, _extra_colors(len(class_ids), len(unmatched)), strict=True))
    return ColorTables(cluster_col, class_col, match)


def matched_colors(
    pred: np.ndarray, truth: np.ndarray | None
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Colours for cluster ids and class ids; matched clusters share their class's colour."""
    t = color_tables(pred, truth)
    return t.cluster, t.klass


def cluster_entries(
    tables: ColorTables, class_names: Mapping[int, str] | None = None
) -> list[tuple[str, Any]]:
    """Legend entries ``("3 → cat", colour)`` for every coloured cluster."""
    names = class_names or {}
    out = []
    for c, col in tables.cluster.items():
        if not tables.klass:
            out.append((str(c), col))
        elif c in tables.match:
            k = tables.match[c]
            out.append((f"{c} → {names.get(k, k)}", col))
        else:
            out.append((f"{c} (unmatched)", col))
    return out


def class_entries(
    tables: ColorTables, class_names: Mapping[int, str] | None = None
) -> list[tuple[str, Any]]:
    """Legend entries ``("cat", colour)`` for every class."""
    names = class_names or {}
    return [(str(names.get(k, k)), col) for k, col in tables.klass.items()]


def add_color_key(
    ax: plt.Axes,
    entries: Sequence[tuple[str, Any]],
    *,
    title: str,
    marker: str = "o",
    rows_per_column: int = 16,
) -> Any:
    """A compact legend right of ``ax``, or a colour bar when there are many entries.

    Returns the legend or the colour bar (None when ``entries`` is empty).
    """
    if not entries:
        return None
    if len(entries) > _MAX_LEGEND:
        cmap = ListedColormap([col for _, col in entries])
        norm = BoundaryNorm(np.arange(len(entries) + 1) - 0.5, len(entries))
        bar = ax.figure.colorbar(ScalarMappable(norm, cmap), ax=ax, fraction=0.05, pad=0.02)
        ticks = np.unique(np.linspace(0, len(entries) - 1, 12).round().astype(int))
        bar.set_ticks(ticks)
        bar.set_ticklabels([entries[t][0] for t in ticks], fontsize=6)
        bar.set_label(title, fontsize=7)
        return bar
    handles = [
        Line2D(
            [],
            [],
            marker=marker,
            ls="",
            color=col,
            markersize=5,
            label=lab,
            markeredgecolor=(0.4, 0.4, 0.4, 1.0),
            markeredgewidth=0.3,
        )
        for lab, col in entries
    ]
    return ax.legend(
        handles=handles,
        title=title,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=7,
        title_fontsize=7,
        frameon=False,
        ncol=int(np.ceil(len(entries) / rows_per_column)),
        handletextpad=0.2,
        columnspacing=0.8,
        borderaxespad=0.0,
    )


# ---------------------------------------------------------------------- embedding


def _scatter(ax: plt.Axes, xy: np.ndarray, ids: np.ndarray, colors: dict[int, np.ndarray]) -> None:
    c = np.array([colors.get(int(i), _GREY) for i in ids]).reshape(len(ids), 4)
    size = float(np.clip(2e4 / max(len(ids), 1), 4, 30))  # bigger dots for few points
    ax.scatter(xy[:, 0], xy[:, 1], c=c, s=size, linewidths=0, alpha=0.8)
    if not len(ids):
        ax.text(0.5, 0.5, "nothing to draw", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_embedding(
    embedding: np.ndarray,
    labels: np.ndarray,
    y: np.ndarray | None = None,
    *,
    title: str = "",
    path: str | os.PathLike | None = None,
    projection: str = "auto",
    random_state: int = 0,
    metrics: Mapping[str, Any] | None = None,
    class_names: Mapping[int, str] | None = None,
    max_points: int = 3000,
) -> plt.Figure:
    """Scatter of a (projected) embedding coloured by cluster, and by class if ``y``.

    Parameters
    ----------
    embedding : array-like of shape (n_samples, n_dims)
    labels : array-like of shape (n_samples,)
        Cluster ids (negative: no cluster, drawn grey).
    y : array-like of shape (n_samples,), optional
        Class ids; adds a ground-truth panel and matches cluster colours to classes.
    title, path, projection, random_state
        Figure title, PNG to write, layout (see :func:`projection_2d`) and its seed.
    metrics : mapping, optional
        E.g. ``{"acc": 0.81, "nmi": 0.73}``; ACC and NMI go into the cluster panel's title.
    class_names : mapping, optional
        Class id -> name for the legends.
    max_points : int
        Random subsample drawn above this size; the figure says how many are shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    proj = projection_2d(
        embedding, method=projection, max_points=max_points, random_state=random_state
    )
    xy, idx = proj.coords, proj.index
    labels = np.asarray(labels)[idx]
    truth = None if y is None else np.asarray(y)[idx]
    tables = color_tables(labels, truth)
    panels = 2 if truth is not None else 1
    fig, axes = plt.subplots(
        1, panels, figsize=(5.4 * panels, 5.0), squeeze=False, layout="constrained"
    )
    k = len(tables.cluster)
    _scatter(axes[0, 0], xy, labels, tables.cluster)
    axes[0, 0].set_title(_join_title(f"clusters (K={k})", format_metrics(metrics)), fontsize=10)
    entries = cluster_entries(tables, class_names)
    if (labels < 0).any():
        entries.append(("no cluster", _GREY))
    add_color_key(axes[0, 0], entries, title="cluster → class" if truth is not None else "cluster")
    if truth is not None:
        _scatter(axes[0, 1], xy, truth, tables.klass)
        axes[0, 1].set_title(f"ground truth ({len(tables.klass)} classes)", fontsize=10)
        add_color_key(axes[0, 1], class_entries(tables, class_names), title="class")
    fig.suptitle(_join_title(title, proj.caption()), fontsize=11)
    if path is not None:
        save_figure(fig, path)
    return fig


# -------------------------------------------------------------------- cluster map


def _rgb_map(ids: np.ndarray, colors: dict[int, np.ndarray], invalid: np.ndarray) -> np.ndarray:
    img = np.zeros(ids.shape + (4,))
    img[...] = _BACKGROUND
    for k, col in colors.items():
        img[(ids == k) & ~invalid] = col
    return img


def plot_cluster_map(
    pred_map: np.ndarray,
    gt_map: np.ndarray | None = None,
    *,
    unlabelled: int = 0,
    class_names: dict[int, str] | None = None,
    title: str = "",
    path: str | os.PathLike | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> plt.Figure:
    """Hyperspectral cluster map beside the ground truth, colours matched to classes.

    Parameters
    ----------
    pred_map : ndarray of shape (rows, cols)
        Cluster ids, negative for pixels without a prediction (drawn black).
    gt_map : ndarray of shape (rows, cols), optional
        Class ids with ``unlabelled`` for pixels without a label (drawn black). The
        matching uses pixels that have both a label and a prediction.
    unlabelled, class_names, title, path
        The "no label" value, class id -> name, figure title and PNG to write.
    metrics : mapping, optional
        Overall accuracy (key ``oa``, else ``acc``) and ``kappa`` go into the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    pred_map = np.asarray(pred_map)
    truth = None if gt_map is None else np.asarray(gt_map)
    if truth is not None:
        lab = (truth != unlabelled) & (pred_map >= 0)
        # Every class and every cluster gets a colour, also those with no pixel that
        # has both a label and a prediction (those clusters stay unmatched).
        tables = color_tables(
            pred_map[lab],
            truth[lab],
            classes=[int(c) for c in np.unique(truth) if c != unlabelled],
            clusters=np.unique(pred_map[pred_map >= 0]),
        )
    else:
        tables = color_tables(pred_map.ravel(), None)
    panels = 2 if truth is not None else 1
    fig, axes = plt.subplots(
        1, panels, figsize=(5.6 * panels, 4.8), squeeze=False, layout="constrained"
    )
    axes[0, 0].imshow(_rgb_map(pred_map, tables.cluster, pred_map < 0), interpolation="nearest")
    spec = (("OA", ("oa", "acc")), ("κ", ("kappa",)))
    axes[0, 0].set_title(_join_title(f"{title} clusters", format_metrics(metrics, spec)))
    entries = cluster_entries(tables, class_names)
    if (pred_map < 0).any():
        entries.append(("no prediction", _BACKGROUND))
    add_color_key(
        axes[0, 0], entries, title="cluster → class" if truth is not None else "cluster", marker="s"
    )
    if truth is not None:
        axes[0, 1].imshow(
            _rgb_map(truth, tables.klass, truth == unlabelled), interpolation="nearest"
        )
        axes[0, 1].set_title(f"ground truth ({len(tables.klass)} classes)")
        entries = class_entries(tables, class_names)
        if (truth == unlabelled).any():
            entries.append(("unlabelled", _BACKGROUND))
        add_color_key(axes[0, 1], entries, title="class", marker="s")
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    if path is not None:
        save_figure(fig, path)
    return fig


# ----------------------------------------------------------------------- timeline


@dataclass
class Calendar:
    """Calendar fields of a time axis (any calendar: noleap, 360_day, ...)."""

    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray

    @property
    def step_hours(self) -> float:
        """Median time step in hours (months taken as 30.44 days), NaN for one step."""
        if len(self.year) < 2:
            return float("nan")
        days = self.year * 365.25 + (self.month - 1) * 30.44 + (self.day - 1)
        return float(np.median(np.abs(np.diff(days * 24.0 + self.hour))))

    def key(self, unit: str) -> np.ndarray:
        """One integer per step that changes exactly when ``unit`` changes."""
        y, m, d, h = (a.astype(np.int64) for a in (self.year, self.month, self.day, self.hour))
        keys = {
            "year": y,
            "month": y * 12 + m,
            "day": (y * 12 + m) * 32 + d,
            "hour": ((y * 12 + m) * 32 + d) * 24 + h,
        }
        return keys[unit]


_ISO = re.compile(r"\s*([+-]?\d{1,6})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}))?")


def calendar_of(time: Sequence | np.ndarray | None, n: int) -> Calendar | None:
    """Calendar fields of ``time`` (datetime64, cftime/datetime objects, ISO strings).

    Returns None when ``time`` is missing, of the wrong length, or not a date (e.g. a
    step index); the timeline then falls back to step numbers.
    """
    if time is None or len(time) != n or n == 0:
        return None
    t = np.asarray(time)
    if np.issubdtype(t.dtype, np.datetime64):
        if np.isnat(t).any():
            return None
        years = t.astype("datetime64[Y]").astype(np.int64) + 1970
        months = t.astype("datetime64[M]").astype(np.int64) % 12 + 1
        days = (t.astype("datetime64[D]") - t.astype("datetime64[M]")).astype(np.int64) + 1
        hours = (t.astype("datetime64[h]") - t.astype("datetime64[D]")).astype(np.int64)
        return Calendar(years, months, days, hours)
    if t.dtype.kind == "O" and all(hasattr(v, "month") and hasattr(v, "day") for v in t.flat):
        fields = np.array([(v.year, v.month, v.day, getattr(v, "hour", 0)) for v in t.flat])
    elif t.dtype.kind in "USO":
        parsed = [_ISO.match(str(v)) for v in t.flat]
        if not all(parsed):
            return None
        fields = np.array([[int(g or 0) for g in p.groups()] for p in parsed])  # type: ignore[union-attr]
    else:
        return None
    fields = fields.reshape(n, 4).astype(np.int64)
    valid = (fields[:, 1] >= 1) & (fields[:, 1] <= 12) & (fields[:, 2] >= 1) & (fields[:, 2] <= 31)
    if not (valid & (fields[:, 3] >= 0) & (fields[:, 3] <= 23)).all():
        return None  # not dates after all (e.g. "12-34-56" codes)
    return Calendar(*fields.T)


def regime_counts(
    keys: np.ndarray, labels: np.ndarray, clusters: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Time steps of each regime per group: the bar heights of a timeline panel.

    Parameters
    ----------
    keys : ndarray of shape (n,)
        Group of each time step (e.g. its month).
    labels : ndarray of shape (n,)
        Regime of each time step.
    clusters : ndarray, optional
        Regime ids giving the column order (default: the sorted unique labels).

    Returns
    -------
    groups : ndarray of shape (n_groups,)
        Sorted unique ``keys``.
    counts : ndarray of shape (n_groups, n_clusters)
        ``counts[g, j]``: steps of group ``g`` in regime ``clusters[j]``; rows sum to
        the number of steps in the group.
    """
    labels = np.asarray(labels)
    clusters = np.unique(labels) if clusters is None else np.asarray(clusters)
    groups, inverse = np.unique(np.asarray(keys), return_inverse=True)
    counts = np.zeros((len(groups), len(clusters)), dtype=np.int64)
    np.add.at(counts, (inverse.ravel(), np.searchsorted(clusters, labels)), 1)
    return groups, counts


def timeline_panels(cal: Calendar | None) -> list[str]:
    """Which summary panels suit this time axis: "hour", "day", "month", "year", "decade".

    Sub-daily data gets an hour-of-day panel, and a per-day panel when it spans at
    most ~2 months; otherwise data covering several calendar months gets a per-month
    panel (months pooled over years). Several years add a per-year panel, or
    a per-decade one for one step a year over 20 years or more (a per-year bar would
    then repeat the strip). Without calendar information: ``["block"]`` (12 blocks of
    consecutive steps).
    """
    if cal is None or len(cal.year) < 2:
        return ["block"]
    step = cal.step_hours
    n_days = len(np.unique(cal.key("day")))
    n_years = len(np.unique(cal.year))
    panels = []
    if step < 20 and len(np.unique(cal.hour)) > 1:
        panels.append("hour")
    if step < 20 and 2 <= n_days <= 62:  # at one step a day, day bars would repeat the strip
        panels.append("day")
    elif len(np.unique(cal.month)) >= 2:
        panels.append("month")
    if n_years >= 20 and n_years == len(cal.year):
        panels.append("decade")
    elif n_years >= 2:
        panels.append("year")
    return panels or ["block"]


def _step_unit(step_hours: float) -> str:
    """What one time step is, for axis labels: "hours", "days", "3-hourly steps", ..."""
    for unit, hours, tol in (("hours", 1, 0.1), ("days", 24, 1), ("months", 730.6, 60)):
        if abs(step_hours - hours) <= tol:
            return unit
    if 1 < step_hours < 24 and abs(step_hours - round(step_hours)) < 0.05:
        return f"{round(step_hours)}-hourly steps"
    return "years" if 8000 <= step_hours <= 9000 else "time steps"


def _nice_stride(count: int, max_ticks: int = 12) -> int:
    """The smallest of 1, 2, 5, 10, 20, 25, 50, ... giving at most ``max_ticks`` ticks."""
    for stride in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if count / stride <= max_ticks:
            return stride
    return int(np.ceil(count / max_ticks))


def _panel_groups(kind: str, cal: Calendar | None, n: int) -> tuple[np.ndarray, str]:
    """Group key of every step for a panel, and the panel's x label."""
    if kind == "hour":
        return cal.hour, "hour of day"
    if kind == "day":
        return cal.key("day"), "day"
    if kind == "month":
        pooled = " (all years)" if len(np.unique(cal.year)) > 1 else ""
        return cal.month, "calendar month" + pooled
    if kind == "year":
        return cal.year, "year"
    if kind == "decade":
        return cal.year // 10 * 10, "decade"
    size = max(1, int(np.ceil(n / 12)))
    return np.arange(n) // size * size, f"time step (blocks of {size})"


def _group_ticks(
    kind: str, groups: np.ndarray, compact: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Bar positions, tick positions and tick labels of a panel's groups."""
    if kind == "month":
        return groups, np.arange(1, 13), [m[:1] if compact else m for m in _MONTHS]
    if kind == "hour":
        return groups, np.arange(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)]
    if kind == "year":
        stride = _nice_stride(int(groups[-1] - groups[0]) + 1)
        ticks = groups[groups % stride == 0] if stride > 1 else groups
        return groups, ticks, [str(g) for g in ticks]
    x = np.arange(len(groups))
    if kind == "day":  # key = (year*12 + month)*32 + day
        month, day = (groups // 32 - 1) % 12, groups % 32
        labels = [f"{_MONTHS[m]} {d}" for m, d in zip(month, day, strict=True)]
    elif kind == "decade":
        labels = [f"{g}s" for g in groups]
    else:
        labels = [str(g) for g in groups]
    stride = max(1, int(np.ceil(len(groups) / 12)))
    return x, x[::stride], labels[::stride]


def _bar_panel(
    ax: plt.Axes,
    kind: str,
    cal: Calendar | None,
    labels: np.ndarray,
    clusters: np.ndarray,
    colors: dict[int, Any],
    *,
    unit: str,
    fractions: bool,
    compact: bool = False,
) -> None:
    """Stacked bars of regime counts (or fractions) per group; ``ax`` gets label ``kind``."""
    keys, xlabel = _panel_groups(kind, cal, len(labels))
    groups, counts = regime_counts(keys, labels, clusters)
    x, ticks, names = _group_ticks(kind, groups, compact)
    heights = counts / counts.sum(axis=1, keepdims=True) if fractions else counts
    bottom = np.zeros(len(groups))
    for j, c in enumerate(clusters):
        ax.bar(
            x,
            heights[:, j],
            bottom=bottom,
            width=0.85,
            color=colors[int(c)],
            label=_regime_name(c),
            linewidth=0,
        )
        bottom = bottom + heights[:, j]
    ax.set_label(kind)
    if kind in ("hour", "month"):  # the whole day / year, also hours or months absent
        ax.set_xlim((-0.6, 23.6) if kind == "hour" else (0.4, 12.6))
    ax.set_xticks(ticks)
    ax.set_xticklabels(names, fontsize=7, rotation=90 if kind in ("day", "year", "decade") else 0)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("fraction of " + unit if fractions else unit, fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"regimes per {kind}" if kind != "block" else "regimes over time", fontsize=9)


def _regime_name(c: Any) -> str:
    return "no regime" if int(c) < 0 else f"regime {int(c)}"


def _regime_labels(labels: np.ndarray, clusters: np.ndarray) -> list[str]:
    """``"regime 2: 85 (23%)"`` for every regime."""
    n = max(len(labels), 1)
    totals = [int((labels == c).sum()) for c in clusters]
    return [
        f"{_regime_name(c)}: {t:,} ({t / n:.0%})" for c, t in zip(clusters, totals, strict=True)
    ]


def _regime_strip(
    ax: plt.Axes, cal: Calendar | None, labels: np.ndarray, colors: dict[int, Any]
) -> None:
    """One coloured cell per time step, ticks at day/month/year starts; label "strip"."""
    n = len(labels)
    ax.set_label("strip")
    ax.set_yticks([])
    if n == 0:
        ax.text(0.5, 0.5, "nothing to draw", ha="center", va="center", transform=ax.transAxes)
        return
    strip = np.array([colors[int(c)] for c in labels]).reshape(1, n, 4)
    ax.imshow(strip, aspect="auto", interpolation="nearest", extent=(0, n, 0, 1))
    ticks, names = _strip_ticks(cal, n)
    ax.set_xticks(ticks)
    ax.set_xticklabels(names, fontsize=7)


def _tick_starts(cal: Calendar, max_ticks: int) -> tuple[str, np.ndarray]:
    """Unit ("hour" .. "year") and step indices of the strip's ticks.

    Takes the finest unit whose starts give 3 to ``max_ticks`` ticks, else thins the
    coarsest unit with too many (every 2nd month, round years, ...).
    """
    starts = {}
    for unit in ("hour", "day", "month", "year"):
        k = cal.key(unit)
        starts[unit] = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    fitting = [u for u, s in starts.items() if 3 <= len(s) <= max_ticks]
    too_many = [u for u, s in starts.items() if len(s) > max_ticks]
    unit = fitting[0] if fitting else too_many[-1] if too_many else "year"
    pos = starts[unit]
    if len(pos) <= max_ticks:
        return unit, pos
    if unit == "month":  # aligned on January so that the year labels show
        for stride in (2, 3, 4, 6, 12):
            aligned = pos[(cal.month[pos] - 1) % stride == 0]
            if len(aligned) <= max_ticks and len(aligned) >= 2:
                return unit, aligned
    if unit == "year":  # round years: 2000, 2010, ...
        years = cal.year[pos]
        stride = _nice_stride(int(years[-1] - years[0]) + 1, max_ticks)
        if (years % stride == 0).sum() >= 2:
            return unit, pos[years % stride == 0]
    return unit, pos[:: int(np.ceil(len(pos) / max_ticks))]


def _strip_ticks(cal: Calendar | None, n: int, max_ticks: int = 14) -> tuple[list[int], list[str]]:
    """Ticks at the starts of hours, days, months or years, with readable labels."""
    if cal is None:
        step = max(1, n // 10)
        return list(range(0, n, step)), [str(p) for p in range(0, n, step)]
    unit, pos = _tick_starts(cal, max_ticks)
    multi_year = len(np.unique(cal.year)) > 1
    names = []
    for i, p in enumerate(pos):
        y, m, d, h = int(cal.year[p]), int(cal.month[p]), int(cal.day[p]), int(cal.hour[p])
        if unit == "year":
            names.append(str(y))
        elif unit == "month":
            show_year = i == 0 or (multi_year and m == 1)
            names.append(_MONTHS[m - 1] + (f"\n{y}" if show_year else ""))
        elif unit == "day":
            names.append(f"{_MONTHS[m - 1]} {d}" + (f"\n{y}" if i == 0 else ""))
        else:
            names.append(f"{h:02d}:00" + (f"\n{_MONTHS[m - 1]} {d}" if i == 0 or h == 0 else ""))
    return [int(p) for p in pos], names


def plot_regime_timeline(
    time: Sequence | np.ndarray | None,
    labels: np.ndarray,
    *,
    title: str = "",
    path: str | os.PathLike | None = None,
    metrics: Mapping[str, Any] | None = None,
    fractions: bool = False,
) -> plt.Figure:
    """Climate regimes over time: a strip with the regime of every step, plus summaries.

    The summary panels follow the time step (:func:`timeline_panels`): hourly data in
    one month gets hour-of-day and per-day panels, daily data over a year a per-month
    panel, multi-year data also a per-year panel. Each bar stacks, for one group, the
    steps (or their fraction) in each regime, up to the group's total.

    Parameters
    ----------
    time : array-like of shape (n,), optional
        datetime64 values, cftime or datetime objects (any calendar), ISO date strings;
        None or anything else uses step numbers.
    labels : array-like of shape (n,)
        Regime of each step (negative: no regime, drawn grey).
    title, path
        Figure title and PNG to write.
    metrics : mapping, optional
        Silhouette, ACC and NMI (when present) go into the title.
    fractions : bool
        Stack fractions of each group (to 1) instead of step counts.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = np.asarray(labels).ravel()
    n = labels.size
    clusters = np.unique(labels)
    regimes = [int(c) for c in clusters if c >= 0]
    colors = dict(zip(regimes, palette(len(regimes)), strict=True))
    colors.update({int(c): _GREY for c in clusters if c < 0})
    cal = calendar_of(time, n)
    kinds = timeline_panels(cal)
    unit = _step_unit(cal.step_hours) if cal is not None else "time steps"
    # Panel widths follow their number of bars, so bars look alike across panels.
    bars = {
        "hour": 24,
        "month": 14,
        "block": 14,
        "day": len(np.unique(cal.key("day"))) if cal else 0,
    }
    if cal is not None:
        bars["year"] = int(cal.year.max() - cal.year.min()) + 1
        bars["decade"] = bars["year"] // 10 + 1
    widths = [float(np.clip(bars.get(k, 12), 8, 40)) for k in kinds]
    fig = plt.figure(figsize=(11, 5.2), layout="constrained")
    grid = fig.add_gridspec(2, len(kinds), height_ratios=[1, 2.2], width_ratios=widths)
    strip_ax = fig.add_subplot(grid[0, :])
    _regime_strip(strip_ax, cal, labels, colors)
    spec = (("silhouette", ("silhouette",)), ("ACC", ("acc",)), ("NMI", ("nmi",)))
    strip_ax.set_title(
        _join_title(f"{title} — regime of each of {n:,} {unit}", format_metrics(metrics, spec)),
        fontsize=10,
    )
    for i, kind in enumerate(kinds):
        ax = fig.add_subplot(grid[1, i])
        _bar_panel(
            ax,
            kind,
            cal,
            labels,
            clusters,
            colors,
            unit=unit,
            fractions=fractions,
            compact=len(kinds) > 2,
        )
    handles = [
        Line2D([], [], marker="s", ls="", color=colors[int(c)], markersize=7, label=lab)
        for c, lab in zip(clusters, _regime_labels(labels, clusters), strict=True)
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=max(1, min(len(handles), 6)),
        fontsize=8,
        frameon=False,
    )
    if path is not None:
        save_figure(fig, path)
    return fig


# ------------------------------------------------------------------------- others


def cluster_mean_anomalies(cube: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each cluster's steps minus the mean of all steps: ``(K, lat, lon, var)``.

    Returns the maps and the cluster ids (sorted); steps labelled < 0 are ignored.
    """
    ok = labels >= 0
    ids = np.unique(labels[ok])
    with warnings.catch_warnings():  # all-NaN cells (land in SST) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        overall = np.nanmean(cube[ok], axis=0)
        maps = np.stack([np.nanmean(cube[labels == k], axis=0) - overall for k in ids])
    return maps, ids


def plot_cluster_anomaly_maps(
    cube: np.ndarray,
    labels: np.ndarray,
    *,
    variables: Sequence[str] | None = None,
    lat: np.ndarray | None = None,
    lon: np.ndarray | None = None,
    title: str = "",
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """One map per (cluster, variable): the cluster's mean anomaly, diverging colours.

    Every variable has one symmetric colour scale across clusters, so rows compare;
    axes are longitude/latitude when the coordinates are given (no coastlines: cartopy
    is not a dependency).
    """
    maps, ids = cluster_mean_anomalies(np.asarray(cube, dtype=np.float64), np.asarray(labels))
    k, _, _, v = maps.shape
    names = list(variables) if variables is not None else [f"var {i}" for i in range(v)]
    fig, axes = plt.subplots(
        k, v, figsize=(2.6 * v + 1.2, 2.0 * k + 0.8), squeeze=False, constrained_layout=True
    )
    extent = None
    if lat is not None and lon is not None and len(lat) > 1 and len(lon) > 1:
        if lat[0] > lat[-1]:  # north up: rows in increasing latitude for origin="lower"
            maps, lat = maps[:, ::-1], np.asarray(lat)[::-1]
        extent = (float(lon[0]), float(lon[-1]), float(lat[0]), float(lat[-1]))
    counts = {c: int((labels == c).sum()) for c in ids}
    for j in range(v):
        scale = float(np.nanmax(np.abs(maps[..., j]))) or 1.0
        for i, c in enumerate(ids):
            ax = axes[i, j]
            im = ax.imshow(maps[i, :, :, j], cmap="RdBu_r", vmin=-scale, vmax=scale,
                           origin="lower", extent=extent, aspect="auto")  # fmt: skip
            if i == 0:
                ax.set_title(names[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{_regime_name(c)} (n={counts[c]})", fontsize=8)
            ax.tick_params(labelsize=6)
        fig.colorbar(im, ax=axes[:, j], shrink=0.5, label="anomaly (input units)")
    fig.suptitle(_join_title(title, "cluster mean minus overall mean"), fontsize=10)
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_generated_samples(
    images: np.ndarray,
    variances: np.ndarray,
    *,
    image_shape: tuple[int, int],
    title: str = "",
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """DGG Fig. 2 style: per component, a grid of decoded latent traversals and sigma^2.

    ``images`` is (n_components, n_dims, n_steps, H*W); ``variances`` is
    (n_components, n_dims).
    """
    k, m, s, _ = images.shape
    h, w = image_shape
    fig, axes = plt.subplots(
        k,
        2,
        figsize=(s * 0.45 + 2.5, k * m * 0.45 / 1.0 + 0.5),
        gridspec_kw={"width_ratios": [s, 3]},
        squeeze=False,
    )
    for c in range(k):
        grid = images[c].reshape(m, s, h, w).transpose(0, 2, 1, 3).reshape(m * h, s * w)
        axes[c, 0].imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[c, 0].set_xticks([])
        axes[c, 0].set_yticks([])
        axes[c, 0].set_ylabel(f"component {c}", fontsize=8)
        axes[c, 1].barh(np.arange(m), variances[c], color="tab:blue")
        axes[c, 1].invert_yaxis()
        axes[c, 1].set_yticks(np.arange(m))
        axes[c, 1].tick_params(labelsize=6)
        axes[c, 1].set_title("sigma^2", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_attention_examples(
    images: np.ndarray,
    maps: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike | None = None,
    *,
    title: str = "GATCluster: most confident images per cluster, attention overlaid",
) -> plt.Figure:
    """GATCluster Fig. 4: one row per cluster, its images with the Gaussian attention map.

    ``images`` is ``(n, C, H, W)`` in [0, 1], ``maps`` ``(n, h, w)`` (resized to the image
    by bilinear interpolation), ``labels`` the cluster of every image (rows in order).
    """
    from scipy.ndimage import zoom

    images, maps, labels = np.asarray(images), np.asarray(maps), np.asarray(labels)
    clusters = np.unique(labels)
    per_row = int(np.bincount(np.searchsorted(clusters, labels)).max())
    fig, axes = plt.subplots(len(clusters), per_row, squeeze=False,
                             figsize=(per_row * 1.1 + 0.6, len(clusters) * 1.1 + 0.4))  # fmt: skip
    for ax in axes.flat:
        ax.set_axis_off()
    _, _, h, w = images.shape
    for r, c in enumerate(clusters):
        for j, i in enumerate(np.flatnonzero(labels == c)):
            img = images[i].transpose(1, 2, 0)
            ax = axes[r, j]
            ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray", vmin=0, vmax=1)
            m = zoom(maps[i], (h / maps.shape[1], w / maps.shape[2]), order=1)
            ax.imshow(m, cmap="jet", alpha=0.45, vmin=0, vmax=max(float(m.max()), 1e-6))
        axes[r, 0].set_title(f"cluster {c}", fontsize=7, loc="left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def cluster_colormap(n: int) -> ListedColormap:
    """A qualitative colormap with ``n`` entries."""
    return ListedColormap(palette(n))


def plot_cosine_similarity(
    Z: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike,
    *,
    title: str = "",
    max_points: int = 2000,
    random_state: int = 0,
) -> Path:
    """Heat map of ``|z_i^T z_j|`` with samples sorted by cluster (MLC Fig. 4 style).

    Rows of ``Z`` are normalised first. A block-diagonal picture means the clusters lie
    in mutually orthogonal subspaces. Above ``max_points`` samples a stratified random
    subset (the same share of every cluster) is drawn.
    """
    Z = np.asarray(Z, dtype=np.float64)
    labels = np.asarray(labels)
    if Z.ndim != 2 or len(Z) != len(labels):
        raise ValueError(f"Z must be (n, d) with one label per row; got {Z.shape}, {labels.shape}")
    idx = np.arange(len(Z))
    if len(Z) > max_points:
        rng = np.random.default_rng(random_state)
        idx = rng.choice(len(Z), max_points, replace=False)
    idx = idx[np.argsort(labels[idx], kind="stable")]
    U = Z[idx] / np.maximum(np.linalg.norm(Z[idx], axis=1, keepdims=True), 1e-12)
    fig, ax = plt.subplots(figsize=(5.2, 4.5))
    im = ax.imshow(np.abs(U @ U.T), vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    sizes = np.bincount(np.searchsorted(np.unique(labels[idx]), labels[idx]))
    for edge in np.cumsum(sizes)[:-1]:
        ax.axhline(edge - 0.5, color="w", lw=0.5)
        ax.axvline(edge - 0.5, color="w", lw=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or "|z_i^T z_j|, samples sorted by cluster")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return save_figure(fig, path)
