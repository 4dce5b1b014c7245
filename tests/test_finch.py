"""Tests of FINCH (deepclust.graphs.finch and the FINCH estimator).

The reference is the authors' package ``finch-clust`` (``from finch import FINCH``), run
on its exact path (``ann_threshold`` above n). Two findings shape the comparisons:

* Its ``ensure_early_exit`` writes zeros into a CSR matrix; ``scipy.sparse.csgraph``
  counts stored zeros as edges, so the option has no effect there. Ours cuts the links,
  so the comparisons run ours with ``ensure_early_exit=False``
  (``test_reference_early_exit_is_a_no_op`` pins that finding).
* Ties: both exact paths take the first minimum of a row (the lower index), so tied
  first neighbours agree (``test_ties_go_to_the_lower_index``). On the HNSW path ties
  are resolved in whatever order faiss returns them.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from deepclust.exceptions import ConfigError
from deepclust.graphs.finch import finch, first_neighbours
from deepclust.methods.finch import FINCH

reference = pytest.importorskip("finch")

BIG = 10**9  # ann_threshold that keeps the reference on its exact path


def run_reference(X, metric, req_clust=None, ensure_early_exit=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c, nc, req = reference.FINCH(
            np.asarray(X, dtype=np.float32),
            req_clust=req_clust,
            distance=metric,
            ensure_early_exit=ensure_early_exit,
            ann_threshold=BIG,
            verbose=False,
        )
    return np.asarray(c).reshape(len(X), -1), [int(v) for v in nc], req


def same_partition(a, b) -> bool:
    """Equal up to a relabelling: a bijection between the label sets."""
    a, b = np.asarray(a), np.asarray(b)
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == np.unique(a).size == np.unique(b).size


def assert_coarsening(P):
    for lev in range(P.shape[1] - 1):
        fine, coarse = P[:, lev], P[:, lev + 1]
        # every fine cluster maps onto exactly one coarse cluster
        assert np.unique(np.stack([fine, coarse]), axis=1).shape[1] == np.unique(fine).size


def dataset(kind, n, d, seed):
    if kind == "blobs":
        X, _ = make_blobs(n, d, centers=8, cluster_std=2.0, random_state=seed)
    else:
        X = np.random.default_rng(seed).random((n, d))
    return X.astype(np.float32)


CASES = [
    ("blobs", 500, 10, 0),
    ("blobs", 3000, 50, 1),
    ("uniform", 800, 15, 3),
    ("uniform", 2000, 30, 4),
]


# ------------------------------------------------------------ agreement with finch-clust


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("kind,n,d,seed", CASES)
def test_agrees_with_reference(kind, n, d, seed, metric):
    X = dataset(kind, n, d, seed)
    c, nc, _ = run_reference(X, metric)
    ours = finch(X, metric=metric, ensure_early_exit=False)
    assert ours.n_clusters == nc
    assert ours.partitions.shape == c.shape
    for lev in range(len(nc)):
        assert same_partition(ours.partitions[:, lev], c[:, lev]), lev
    # req_clust: merging from level 0 (between two levels) and below the coarsest level
    for req in (nc[0] - 7, max(1, nc[-1] - 1)):
        _, _, ref_req = run_reference(X, metric, req_clust=req)
        got = finch(X, metric=metric, ensure_early_exit=False, req_clust=req).req_labels
        assert np.unique(got).size == req
        assert same_partition(got, ref_req), req


def test_euclidean_first_neighbours_far_from_origin():
    # The exact search expands |a|^2 - 2ab + |b|^2 in float32; without centring, data
    # shifted away from the origin lose digits and 1-2 of these 3000 first neighbours
    # differ from the float64-accurate ones sklearn (and so the reference) computes.
    from sklearn.metrics import pairwise_distances

    X = dataset("blobs", 3000, 50, 2) + np.float32(30.0)
    D = pairwise_distances(X, X)
    np.fill_diagonal(D, np.inf)
    idx, dist = first_neighbours(X, metric="euclidean")
    np.testing.assert_array_equal(idx, D.argmin(1))
    np.testing.assert_allclose(dist, D.min(1), rtol=1e-4)


def test_reference_early_exit_is_a_no_op():
    # Pins the finding documented in deepclust.graphs.finch: if finch-clust starts to
    # cut the links, this fails and the comparisons above must be revisited.
    X = dataset("blobs", 1200, 20, 5)
    c1, nc1, _ = run_reference(X, "euclidean", ensure_early_exit=True)
    c0, nc0, _ = run_reference(X, "euclidean", ensure_early_exit=False)
    assert nc1 == nc0
    np.testing.assert_array_equal(c1, c0)
    # while ours stops earlier on this data (the blobs are further apart than any
    # level-0 first-neighbour pair)
    assert finch(X, metric="euclidean").n_clusters != nc0


# --------------------------------------------------------------------- hand-made cases


def test_six_points_on_a_line():
    # Values:             0    1    3    10   11.5  12   (indices shuffled below)
    # first neighbours:   1    0    1    11.5 12    11.5
    # i.e. {0,1,3} chain through 1 and {10,11.5,12} through 11.5 -> 2 clusters at level
    # 0; the two means are each other's first neighbour, which would give 1 cluster,
    # so the hierarchy stops at level 0.
    values = np.array([11.5, 0.0, 12.0, 3.0, 10.0, 1.0])
    X = values[:, None]
    idx, dist = first_neighbours(X, metric="euclidean")
    value_of = dict(enumerate(values))
    assert [value_of[j] for j in idx] == [12.0, 1.0, 11.5, 1.0, 11.5, 0.0]
    np.testing.assert_allclose(dist, [0.5, 1.0, 0.5, 2.0, 1.5, 1.0], atol=1e-5)
    res = finch(X, metric="euclidean")
    assert res.n_clusters == [2]
    # labels in order of first appearance: index 0 (11.5) gets label 0
    np.testing.assert_array_equal(res.partitions[:, 0], [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(res.first_neighbours, idx)
    # req_clust: 1 merges the two clusters; 5 > 2 returns level 0 with a warning
    np.testing.assert_array_equal(finch(X, metric="euclidean", req_clust=1).req_labels, 0)
    with pytest.warns(UserWarning, match="exceeds the 2 clusters"):
        got = finch(X, metric="euclidean", req_clust=5).req_labels
    np.testing.assert_array_equal(got, [0, 1, 0, 1, 0, 1])


def test_two_levels_and_early_exit_by_hand():
    # Pairs {0,1} {3,4} {20,21} {23,24}: level 0 = the 4 pairs (first-neighbour distance
    # 1 everywhere, so the early-exit threshold is 1). Means 0.5, 3.5, 20.5, 23.5 pair
    # up at distance 3: level 1 = 2 clusters without early exit; with it, the links
    # (3 > 1) are cut, nothing merges, and the hierarchy ends at level 0.
    X = np.array([0, 1, 3, 4, 20, 21, 23, 24], dtype=float)[:, None]
    free = finch(X, metric="euclidean", ensure_early_exit=False)
    assert free.n_clusters == [4, 2]
    np.testing.assert_array_equal(free.partitions[:, 0], [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(free.partitions[:, 1], [0, 0, 0, 0, 1, 1, 1, 1])
    cut = finch(X, metric="euclidean", ensure_early_exit=True)
    assert cut.early_exit_threshold == pytest.approx(1.0)
    assert cut.n_clusters == [4]
    _, nc, _ = run_reference(X, "euclidean", ensure_early_exit=True)
    assert nc == [4, 2]  # the reference's option has no effect


def test_cosine_ignores_norms_by_hand():
    # Directions (degrees) 0, 10, 40 | 90, 100, 130 with very different lengths: first
    # neighbours by angle are 10, 0, 10 | 100, 90, 100 -> two clusters.
    ang = np.deg2rad([0, 10, 40, 90, 100, 130])
    r = np.array([1.0, 50.0, 0.1, 7.0, 0.5, 300.0])
    X = np.c_[r * np.cos(ang), r * np.sin(ang)]
    idx, _ = first_neighbours(X, metric="cosine")
    np.testing.assert_array_equal(idx, [1, 0, 1, 4, 3, 4])
    np.testing.assert_array_equal(finch(X).partitions[:, 0], [0, 0, 0, 1, 1, 1])


@pytest.mark.parametrize(
    "X,metric,expected_idx,expected_labels",
    [
        # 2.5 (index 2) is 1.5 from 4 and from 1; duplicates make four tied candidates.
        # The lowest index wins and decides its cluster.
        ([[4.0], [4.0], [2.5], [1.0], [1.0]], "euclidean", [1, 0, 0, 4, 3], [0, 0, 0, 1, 1]),
        ([[1.0], [4.0], [2.5], [4.0], [1.0]], "euclidean", [4, 3, 0, 1, 0], [0, 1, 0, 1, 0]),
        # (1, 1) is at 45 degrees from both duplicate pairs: again index 0 wins.
        ([[0, 2], [3, 0], [1, 1], [3, 0], [0, 2]], "cosine", [4, 3, 0, 1, 0], [0, 1, 0, 1, 0]),
    ],
)
def test_ties_go_to_the_lower_index(X, metric, expected_idx, expected_labels):
    X = np.asarray(X, dtype=np.float32)
    idx, _ = first_neighbours(X, metric=metric)
    np.testing.assert_array_equal(idx, expected_idx)
    res = finch(X, metric=metric)
    np.testing.assert_array_equal(res.partitions[:, 0], expected_labels)
    c, _, _ = run_reference(X, metric)
    assert same_partition(c[:, 0], expected_labels)


# -------------------------------------------------------------------------- properties


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_hierarchy_properties(metric):
    X = dataset("uniform", 2000, 6, 7)  # low dimension: a deep hierarchy
    res = finch(X, metric=metric)
    P, nc = res.partitions, res.n_clusters
    assert P.shape == (2000, len(nc)) and P.dtype == np.int64 and len(nc) >= 3
    assert_coarsening(P)
    assert all(a - b >= 2 for a, b in zip(nc, nc[1:], strict=False))  # stop rule
    assert nc[-1] >= 2
    for lev, k in enumerate(nc):
        labels = P[:, lev]
        np.testing.assert_array_equal(np.unique(labels), np.arange(k))
        # numbered in order of first appearance
        _, first = np.unique(labels, return_index=True)
        assert np.all(np.diff(first) > 0)
    for req in (nc[0] + 1, nc[0], nc[0] - 1, nc[1] + 3, nc[-1], 3, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = finch(X, metric=metric, req_clust=req).req_labels
        k = min(req, nc[0])
        np.testing.assert_array_equal(np.unique(got), np.arange(k))
        if req <= nc[0]:
            # a merge of the level it started from: coarsens that level
            start = max(i for i, c in enumerate(nc) if c >= req)
            assert_coarsening(np.c_[P[:, start], got])


def test_bad_arguments():
    X = dataset("uniform", 50, 3, 0)
    with pytest.raises(ConfigError, match="metric='manhattan' is unknown"):
        finch(X, metric="manhattan")
    with pytest.raises(ConfigError, match="req_clust"):
        finch(X, req_clust=0)
    with pytest.raises(ConfigError, match="exact_limit"):
        finch(X, exact_limit=0)
    one = finch(X[:1])
    assert one.n_clusters == [1] and one.partitions.shape == (1, 1)


# ------------------------------------------------------------------------------- scale


def test_hnsw_path_agrees_with_exact_path_in_linear_memory():
    n = 20_000
    X = dataset("blobs", n, 8, 11)
    exact = finch(X, metric="cosine", exact_limit=50_000)
    tracemalloc.start()  # sees numpy's allocations (not torch's or faiss's)
    t0 = time.perf_counter()
    approx = finch(X, metric="cosine", exact_limit=1_000)  # HNSW at each level
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.mean(exact.first_neighbours == approx.first_neighbours) > 0.97
    assert adjusted_rand_score(exact.partitions[:, 0], approx.partitions[:, 0]) > 0.95
    assert_coarsening(approx.partitions)
    # X is 0.6 MB; one n x n float32 matrix would be 1.6 GB
    assert peak < 50 * 2**20, peak
    assert elapsed < 60, elapsed  # ~3 s on 2 busy cores


# --------------------------------------------------------------------------- estimator


def test_estimator_contract(tmp_path):
    X = dataset("blobs", 600, 12, 9)
    est = FINCH(metric="euclidean", ensure_early_exit=False)
    assert clone(est).get_params() == est.get_params()
    assert est.fit(X) is est
    res = finch(X, metric="euclidean", ensure_early_exit=False)
    np.testing.assert_array_equal(est.partitions_, res.partitions)
    np.testing.assert_array_equal(est.n_clusters_per_level_, res.n_clusters)
    np.testing.assert_array_equal(est.labels_, res.partitions[:, -1])
    np.testing.assert_array_equal(est.first_neighbours_, res.first_neighbours)
    assert est.labels_.shape == (600,) and est.n_clusters_ == res.n_clusters[-1]
    assert not hasattr(est, "predict")

    k = int(res.n_clusters[-1]) + 2
    labels = FINCH(n_clusters=k, metric="euclidean", ensure_early_exit=False).fit_predict(X)
    assert np.unique(labels).size == k
    np.testing.assert_array_equal(
        labels, finch(X, metric="euclidean", ensure_early_exit=False, req_clust=k).req_labels
    )

    path = est.save(tmp_path / "finch.pt")
    back = FINCH.load(path)
    np.testing.assert_array_equal(back.partitions_, est.partitions_)
    np.testing.assert_array_equal(back.labels_, est.labels_)


def test_estimator_errors():
    X = dataset("uniform", 100, 4, 1)
    with pytest.raises(ConfigError) as info:
        FINCH(metric="manhattan").fit(X)
    assert "\n" not in str(info.value) and "manhattan" in str(info.value)
    with pytest.raises(ConfigError, match="n_clusters"):
        FINCH(n_clusters=1).fit(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FINCH().fit(bad)


def test_max_levels_stops_early_with_the_same_partitions():
    X, _ = make_blobs(2000, 8, centers=30, cluster_std=3.0, random_state=1)
    full = finch(X, metric="euclidean", ensure_early_exit=False)
    assert full.partitions.shape[1] >= 3
    two = finch(X, metric="euclidean", ensure_early_exit=False, max_levels=2)
    assert two.partitions.shape[1] == 2
    np.testing.assert_array_equal(two.partitions, full.partitions[:, :2])
    assert two.n_clusters == full.n_clusters[:2]
