"""Label-free checks of a clustering's assignments (collapse, empty clusters).

A deep clustering method can "succeed" by putting nearly every sample into one cluster;
its loss may even look fine. These checks use the assignments only (never ground truth),
so methods may act on them (restart) and the command line reports them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: A cluster holding more than this share of the samples counts as a collapse.
DOMINANT_SHARE = 0.9


def assignment_report(labels: Any, n_clusters: int) -> dict[str, Any]:
    """Cluster sizes and whether the assignment is degenerate.

    Parameters
    ----------
    labels : array-like of int
        Cluster of each sample; negative values (unassigned) are ignored.
    n_clusters : int
        How many clusters were asked for.

    Returns
    -------
    dict
        ``n_clusters_requested``, ``n_clusters_found`` (non-empty clusters),
        ``largest_cluster_share``, ``collapsed`` (fewer non-empty clusters than asked, or
        one cluster over 90 % of the samples) and ``warning`` (a sentence, or None).
    """
    lab = np.asarray(labels).ravel()
    lab = lab[lab >= 0]
    sizes = np.bincount(lab) if lab.size else np.zeros(0, dtype=np.int64)
    found = int((sizes > 0).sum())
    share = float(sizes.max() / lab.size) if lab.size else 0.0
    problems = []
    if found < n_clusters:
        problems.append(f"only {found} of the {n_clusters} requested clusters are non-empty")
    if share > DOMINANT_SHARE and n_clusters > 1:
        problems.append(f"one cluster holds {share:.0%} of the samples")
    return {
        "n_clusters_requested": int(n_clusters),
        "n_clusters_found": found,
        "largest_cluster_share": share,
        "collapsed": bool(problems),
        "warning": ("degenerate clustering: " + "; ".join(problems)) if problems else None,
    }


def is_collapsed(labels: Any, n_clusters: int) -> bool:
    """True when :func:`assignment_report` finds the assignment degenerate."""
    return bool(assignment_report(labels, n_clusters)["collapsed"])


__all__ = ["DOMINANT_SHARE", "assignment_report", "is_collapsed"]
