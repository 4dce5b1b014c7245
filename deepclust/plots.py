"""Figures: embedding scatter, hyperspectral cluster map, climate regime timeline.

Every function draws onto a new figure and, given ``path``, writes a PNG atomically.
Colours of clusters are matched to ground-truth classes (Hungarian matching) when
labels exist, so a correct cluster shows in the colour of its class.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from .utils import atomic_path  # noqa: E402

_BACKGROUND = (0.0, 0.0, 0.0, 1.0)


def palette(n: int) -> np.ndarray:
    """``n`` distinguishable RGBA colours (tab10/tab20, then a hue wheel)."""
    if n <= 10:
        return plt.get_cmap("tab10")(np.arange(n))
    if n <= 20:
        return plt.get_cmap("tab20")(np.arange(n))
    return plt.get_cmap("hsv")(np.linspace(0, 1, n, endpoint=False))


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG atomically and close it."""
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return target


def project_2d(
    Z: np.ndarray, *, method: str = "auto", max_points: int = 3000, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Project an embedding to 2-D for plotting; returns (coords, indices of shown samples).

    ``"auto"`` keeps 2-D embeddings, otherwise uses t-SNE on at most ``max_points``
    randomly chosen samples (PCA first when the dimension is large).
    """
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    Zs = Z[idx]
    if Zs.ndim == 1:
        Zs = Zs[:, None]
    if Zs.shape[1] == 1:
        return np.column_stack([Zs[:, 0], rng.normal(scale=1e-3, size=len(Zs))]), idx
    if Zs.shape[1] == 2 and method in ("auto", "identity"):
        return Zs, idx
    from sklearn.decomposition import PCA

    if method == "pca":
        return PCA(2, random_state=random_state).fit_transform(Zs), idx
    from sklearn.manifold import TSNE

    if Zs.shape[1] > 50:
        Zs = PCA(50, random_state=random_state).fit_transform(Zs)
    perplexity = float(min(30.0, max(5.0, (len(Zs) - 1) / 3.0)))
    tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=random_state)
    return tsne.fit_transform(Zs), idx


def matched_colors(
    pred: np.ndarray, truth: np.ndarray | None
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Colours for cluster ids and class ids; matched clusters share their class's colour."""
    clusters = [int(c) for c in np.unique(pred) if c >= 0]
    if truth is None:
        cols = palette(len(clusters))
        return {c: cols[i] for i, c in enumerate(clusters)}, {}
    from .metrics import match_clusters

    classes = [int(c) for c in np.unique(truth)]
    match = match_clusters(truth, pred)
    unmatched = [c for c in clusters if c not in match]
    cols = palette(len(classes) + len(unmatched))
    class_col = {c: cols[i] for i, c in enumerate(classes)}
    cluster_col = {c: class_col[int(match[c])] for c in clusters if c in match}
    cluster_col.update({c: cols[len(classes) + i] for i, c in enumerate(unmatched)})
    return cluster_col, class_col


def _scatter(ax: plt.Axes, xy: np.ndarray, ids: np.ndarray, colors: dict[int, np.ndarray]) -> None:
    c = np.array([colors.get(int(i), (0.5, 0.5, 0.5, 1.0)) for i in ids])
    ax.scatter(xy[:, 0], xy[:, 1], c=c, s=4, linewidths=0, alpha=0.8)
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
) -> plt.Figure:
    """Scatter of a (projected) embedding coloured by cluster, and by class if ``y``."""
    xy, idx = project_2d(embedding, method=projection, random_state=random_state)
    labels = np.asarray(labels)
    truth = None if y is None else np.asarray(y)
    cluster_col, class_col = matched_colors(labels[idx], None if truth is None else truth[idx])
    panels = 2 if truth is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.6), squeeze=False)
    _scatter(axes[0, 0], xy, labels[idx], cluster_col)
    axes[0, 0].set_title(f"{title} clusters".strip())
    if truth is not None:
        _scatter(axes[0, 1], xy, truth[idx], class_col)
        axes[0, 1].set_title("ground truth")
    if path is not None:
        save_figure(fig, path)
    return fig


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
) -> plt.Figure:
    """Hyperspectral cluster map beside the ground truth, colours matched to classes.

    ``pred_map`` holds cluster ids with negative values for pixels without a prediction;
    ``gt_map`` holds class ids with ``unlabelled`` for pixels without a label.
    """
    pred_map = np.asarray(pred_map)
    truth = None if gt_map is None else np.asarray(gt_map)
    if truth is not None:
        lab = (truth != unlabelled) & (pred_map >= 0)
        cluster_col, class_col = matched_colors(pred_map[lab], truth[lab])
        for c in np.unique(pred_map[pred_map >= 0]):  # clusters seen only off the labels
            cluster_col.setdefault(int(c), (0.6, 0.6, 0.6, 1.0))
    else:
        cluster_col, class_col = matched_colors(pred_map[pred_map >= 0], None)
    panels = 2 if truth is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(4.8 * panels, 4.8), squeeze=False)
    axes[0, 0].imshow(_rgb_map(pred_map, cluster_col, pred_map < 0), interpolation="nearest")
    axes[0, 0].set_title(f"{title} clusters".strip())
    if truth is not None:
        axes[0, 1].imshow(_rgb_map(truth, class_col, truth == unlabelled), interpolation="nearest")
        axes[0, 1].set_title("ground truth")
        names = class_names or {}
        handles = [
            plt.Line2D([], [], marker="s", ls="", color=col, label=names.get(k, str(k)))
            for k, col in class_col.items()
        ]
        axes[0, 1].legend(
            handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False
        )
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_regime_timeline(
    time: Sequence | np.ndarray | None,
    labels: np.ndarray,
    *,
    title: str = "",
    path: str | os.PathLike | None = None,
) -> plt.Figure:
    """Climate regimes over time: one coloured bar per time step, plus cluster sizes by month.

    ``time`` may be datetime64 values, ISO date strings (non-standard calendars) or None
    (then the step index is used).
    """
    labels = np.asarray(labels)
    n = labels.size
    clusters = np.unique(labels)
    cols = palette(len(clusters))
    col_of = {int(c): cols[i] for i, c in enumerate(clusters)}
    months = _months(time, n)
    fig, (ax0, ax1) = plt.subplots(
        2, 1, figsize=(11, 4.6), gridspec_kw={"height_ratios": [1, 2]}, constrained_layout=True
    )
    strip = np.array([col_of[int(c)] for c in labels])[None, :, :]
    ax0.imshow(strip, aspect="auto", interpolation="nearest", extent=(0, n, 0, 1))
    ax0.set_yticks([])
    ax0.set_title(f"{title} regime of each time step".strip())
    ticks, names = _time_ticks(time, n)
    ax0.set_xticks(ticks)
    ax0.set_xticklabels(names, fontsize=8)
    if months is not None:
        counts = np.zeros((12, len(clusters)))
        np.add.at(counts, (months - 1, np.searchsorted(clusters, labels)), 1)
        bottom = np.zeros(12)
        for j, c in enumerate(clusters):
            ax1.bar(
                np.arange(1, 13),
                counts[:, j],
                bottom=bottom,
                color=col_of[int(c)],
                label=f"cluster {c}",
            )
            bottom += counts[:, j]
        ax1.set_xticks(np.arange(1, 13))
        ax1.set_xlabel("month")
        ax1.set_ylabel("time steps")
    else:
        ax1.scatter(np.arange(n), labels, c=[col_of[int(c)] for c in labels], s=6)
        ax1.set_xlabel("time step")
        ax1.set_ylabel("cluster")
    ax1.legend(
        fontsize=7,
        ncol=min(len(clusters), 8),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        frameon=False,
    )
    if path is not None:
        save_figure(fig, path)
    return fig


def _months(time: Sequence | np.ndarray | None, n: int) -> np.ndarray | None:
    if time is None or len(time) != n:
        return None
    t = np.asarray(time)
    if np.issubdtype(t.dtype, np.datetime64):
        return t.astype("datetime64[M]").astype(int) % 12 + 1
    try:  # ISO strings "YYYY-MM-DD..." from non-standard calendars
        return np.array([int(str(s)[5:7]) for s in t])
    except ValueError:
        return None


def _time_ticks(time: Sequence | np.ndarray | None, n: int) -> tuple[list[float], list[str]]:
    if time is None or len(time) != n:
        step = max(1, n // 10)
        pos = list(range(0, n, step))
        return [p + 0.5 for p in pos], [str(p) for p in pos]
    t = np.asarray(time)
    text = t.astype("datetime64[D]").astype(str) if np.issubdtype(t.dtype, np.datetime64) else t
    step = max(1, n // 12)
    pos = list(range(0, n, step))
    return [p + 0.5 for p in pos], [str(text[p])[:10] for p in pos]


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


def cluster_colormap(n: int) -> ListedColormap:
    """A qualitative colormap with ``n`` entries."""
    return ListedColormap(palette(n))
