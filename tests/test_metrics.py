"""Tests of deepclust.metrics against hand-computed references and sklearn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from deepclust import metrics as M
from deepclust.exceptions import ConfigError, DataError

# Shared 3-class example. Contingency (rows true 0,1,2; cols pred 0,1,2):
#   true 0: [0, 1, 1]
#   true 1: [2, 0, 0]
#   true 2: [1, 1, 0]
# Sum of matched cells over the six maps (pred0, pred1, pred2) -> classes:
#   (0,1,2)=0  (0,2,1)=1  (1,0,2)=3  (1,2,0)=4  (2,0,1)=2  (2,1,0)=2
# so the unique best map is {0: 1, 1: 2, 2: 0} and ACC = 4/6.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([2, 1, 0, 0, 0, 1])


# ------------------------------------------------------------------ external


def test_contingency_table_and_ids():
    table, true_ids, pred_ids = M.contingency([5, 5, 9, 9], [-1, 3, 3, 3])
    np.testing.assert_array_equal(true_ids, [5, 9])
    np.testing.assert_array_equal(pred_ids, [-1, 3])
    np.testing.assert_array_equal(table, [[1, 1], [0, 2]])


def test_six_sample_acc_and_mapping():
    assert M.match_clusters(Y_TRUE, Y_PRED) == {0: 1, 1: 2, 2: 0}
    assert M.cluster_accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert M.overall_accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    # pred [2,1,0,0,0,1] through {0:1, 1:2, 2:0}
    np.testing.assert_array_equal(M.map_labels(Y_TRUE, Y_PRED), [0, 2, 1, 1, 1, 2])


def test_arbitrary_ids_on_both_sides():
    # Same partition as Y_TRUE/Y_PRED with other ids: classes 0,1,2 -> 10,-4,7,
    # clusters 0,1,2 -> 100,200,300. Best map becomes {100:-4, 200:7, 300:10}.
    yt = np.array([10, 10, -4, -4, 7, 7])
    yp = np.array([300, 200, 100, 100, 100, 200])
    assert M.match_clusters(yt, yp) == {100: -4, 200: 7, 300: 10}
    np.testing.assert_array_equal(M.map_labels(yt, yp), [10, 7, -4, -4, -4, 7])
    assert M.cluster_accuracy(yt, yp) == pytest.approx(4 / 6)


def test_permutation_invariance():
    rng = np.random.default_rng(0)
    yt = rng.integers(0, 4, 200)
    yp = np.where(rng.random(200) < 0.7, yt, rng.integers(0, 5, 200))
    relabel = np.array([42, -7, 3, 1000, 11])  # a bijection of the cluster ids 0..4
    yp2 = relabel[yp]
    for f in (M.cluster_accuracy, M.nmi, M.ari, M.cohen_kappa, M.purity):
        assert f(yt, yp2) == pytest.approx(f(yt, yp)), f.__name__
    np.testing.assert_array_equal(M.map_labels(yt, yp2), M.map_labels(yt, yp))
    # Non-trivial data: the check above would be vacuous at ACC 0 or 1.
    assert 0.5 < M.cluster_accuracy(yt, yp) < 1.0


def test_more_clusters_than_classes():
    # table rows true 0,1; cols pred 0,1,2: [[2,1,0],[0,0,3]]
    # match 0->0 (2) and 2->1 (3); cluster 1 is unmatched, its sample is an error.
    yt = [0, 0, 0, 1, 1, 1]
    yp = [0, 0, 1, 2, 2, 2]
    assert M.match_clusters(yt, yp) == {0: 0, 2: 1}
    assert M.cluster_accuracy(yt, yp) == pytest.approx(5 / 6)
    np.testing.assert_array_equal(M.map_labels(yt, yp), [0, 0, -1, 1, 1, 1])
    np.testing.assert_array_equal(M.map_labels(yt, yp, unmatched=99), [0, 0, 99, 1, 1, 1])
    # Purity is not one-to-one: every cluster is pure.
    assert M.purity(yt, yp) == pytest.approx(1.0)
    assert M.per_class_accuracy(yt, yp) == pytest.approx({0: 2 / 3, 1: 1.0})


def test_fewer_clusters_than_classes():
    # table rows true 0,1,2; cols pred 0,1: [[2,0],[1,1],[0,2]]
    # match 0->0 (2), 1->2 (2): ACC 4/6, class 1 gets no cluster.
    yt = [0, 0, 1, 1, 2, 2]
    yp = [0, 0, 0, 1, 1, 1]
    assert M.match_clusters(yt, yp) == {0: 0, 1: 2}
    assert M.cluster_accuracy(yt, yp) == pytest.approx(4 / 6)
    assert M.per_class_accuracy(yt, yp) == pytest.approx({0: 1.0, 1: 0.0, 2: 1.0})
    np.testing.assert_array_equal(M.map_labels(yt, yp), [0, 0, 0, 2, 2, 2])
    assert M.purity(yt, yp) == pytest.approx(4 / 6)


def test_kappa_hand_2x2():
    # Clusters 7 -> class 0 and 3 -> class 1. Confusion after matching:
    #   true 0: 5 right, 1 wrong;  true 1: 1 wrong, 3 right   (n = 10)
    # p_o = 8/10; marginals true (6, 4), pred (6, 4): p_e = .36 + .16 = .52
    # kappa = (.8 - .52) / (1 - .52) = .28 / .48 = 7/12
    yt = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    yp = [7, 7, 7, 7, 7, 3, 7, 3, 3, 3]
    assert M.match_clusters(yt, yp) == {7: 0, 3: 1}
    assert M.cohen_kappa(yt, yp) == pytest.approx(7 / 12)


def test_kappa_hand_3_class():
    # Y_TRUE vs mapped [0,2,1,1,1,2]: confusion rows [1,0,1],[0,2,0],[0,1,1]
    # p_o = 4/6; marginals true (2,2,2), mapped (1,3,2): p_e = 12/36 = 1/3
    # kappa = (2/3 - 1/3) / (2/3) = 1/2
    assert M.cohen_kappa(Y_TRUE, Y_PRED) == pytest.approx(0.5)


def test_kappa_unmatched_cluster_is_extra_category():
    # mapped [0,0,U,1,1,1]: p_o = 5/6; true marginals (3,3,0), mapped (2,3,1)
    # p_e = (3*2 + 3*3) / 36 = 15/36; kappa = (30/36 - 15/36) / (21/36) = 5/7
    yt = [0, 0, 0, 1, 1, 1]
    yp = [0, 0, 1, 2, 2, 2]
    assert M.cohen_kappa(yt, yp) == pytest.approx(5 / 7)


@pytest.mark.parametrize("n_pred", [2, 4, 6])
def test_kappa_matches_sklearn_on_matched_labels(n_pred):
    rng = np.random.default_rng(n_pred)
    yt = rng.integers(0, 4, 300)
    yp = np.where(rng.random(300) < 0.6, yt % n_pred, rng.integers(0, n_pred, 300))
    mapped = M.map_labels(yt, yp, unmatched=-99)
    expected = skm.cohen_kappa_score(yt, mapped)
    assert M.cohen_kappa(yt, yp) == pytest.approx(expected)
    # The matched labels really go through the matching (not raw cluster ids).
    assert M.cohen_kappa(yt, yp + 50) == pytest.approx(expected)


def test_kappa_undefined_is_nan():
    assert math.isnan(M.cohen_kappa([1, 1, 1], [4, 4, 4]))


def test_per_class_accuracy_and_purity_by_hand():
    # mapped [0,2,1,1,1,2] vs [0,0,1,1,2,2]: class 0 -> 1/2, class 1 -> 2/2, class 2 -> 1/2
    assert M.per_class_accuracy(Y_TRUE, Y_PRED) == pytest.approx({0: 0.5, 1: 1.0, 2: 0.5})
    # Purity: per-cluster column max of [[0,1,1],[2,0,0],[1,1,0]] is 2, 1, 1 -> 4/6.
    assert M.purity(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    # Two clusters may share a majority class (both are mostly class 0).
    # table rows true 0,1; cols pred 0,1: [[3, 2], [1, 0]]
    # purity = (3 + 2)/6 = 5/6, but one-to-one matching gives at most
    # max(3 + 0, 2 + 1) = 3, so ACC = 3/6.
    yt = [0, 0, 0, 1, 0, 0]
    yp = [0, 0, 0, 0, 1, 1]
    assert M.purity(yt, yp) == pytest.approx(5 / 6)
    assert M.cluster_accuracy(yt, yp) == pytest.approx(3 / 6)


def test_purity_at_least_acc_on_random_labelings():
    rng = np.random.default_rng(1)
    strictly_greater = 0
    for _ in range(30):
        k_true, k_pred = rng.integers(2, 7, size=2)
        yt = rng.integers(0, k_true, 50)
        yp = rng.integers(0, k_pred, 50)
        p, a = M.purity(yt, yp), M.cluster_accuracy(yt, yp)
        assert p >= a - 1e-12
        strictly_greater += p > a
    assert strictly_greater > 0


def test_nmi_ari_equal_sklearn():
    rng = np.random.default_rng(2)
    yt = rng.integers(0, 5, 400)
    yp = np.where(rng.random(400) < 0.5, yt, rng.integers(0, 7, 400)) * 3 - 2
    assert M.nmi(yt, yp) == pytest.approx(
        skm.normalized_mutual_info_score(yt, yp, average_method="arithmetic")
    )
    assert M.nmi(yt, yp) != pytest.approx(
        skm.normalized_mutual_info_score(yt, yp, average_method="geometric")
    )
    assert M.ari(yt, yp) == pytest.approx(skm.adjusted_rand_score(yt, yp))
    # Hand values: identical partitions -> 1; independent 2x2 split -> MI 0.
    assert M.nmi([0, 0, 1, 1], [5, 5, 8, 8]) == pytest.approx(1.0)
    assert M.nmi([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)
    assert M.ari([0, 0, 1, 1], [5, 5, 8, 8]) == pytest.approx(1.0)


def test_external_metrics_dict_and_mask():
    out = M.external_metrics(Y_TRUE, Y_PRED)
    assert set(out) == {"acc", "nmi", "ari", "kappa", "purity", "per_class"}
    assert out["acc"] == pytest.approx(4 / 6)
    assert out["kappa"] == pytest.approx(0.5)
    assert out["purity"] == pytest.approx(4 / 6)
    assert out["per_class"] == pytest.approx({0: 0.5, 1: 1.0, 2: 0.5})
    assert out["nmi"] == pytest.approx(M.nmi(Y_TRUE, Y_PRED))
    assert out["ari"] == pytest.approx(M.ari(Y_TRUE, Y_PRED))
    assert all(isinstance(out[k], float) for k in ("acc", "nmi", "ari", "kappa", "purity"))

    # Hyperspectral-style: class 0 is "unlabelled"; the mask drops those pixels,
    # which the clustering got wrong. On the rest the partition is perfect.
    yt = np.array([0, 0, 0, 1, 1, 2, 2])
    yp = np.array([1, 2, 1, 5, 5, 6, 6])
    masked = M.external_metrics(yt, yp, mask=yt != 0)
    assert masked["acc"] == pytest.approx(1.0)
    assert masked["per_class"] == {1: 1.0, 2: 1.0}
    assert M.external_metrics(yt, yp)["acc"] < 1.0


# ------------------------------------------------------------------ internal


def _blobs(n, seed=0, sep=20.0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [sep, 0.0], [0.0, sep]])
    lab = rng.integers(0, 3, n)
    return centers[lab] + rng.normal(size=(n, 2)), lab


def test_internal_equal_sklearn():
    X, lab = _blobs(300, sep=3.0)
    assert M.silhouette(X, lab) == pytest.approx(skm.silhouette_score(X, lab))
    assert M.davies_bouldin(X, lab) == pytest.approx(skm.davies_bouldin_score(X, lab))
    assert M.calinski_harabasz(X, lab) == pytest.approx(skm.calinski_harabasz_score(X, lab))
    out = M.internal_metrics(X, lab)
    assert out["silhouette"] == pytest.approx(skm.silhouette_score(X, lab))
    assert out["davies_bouldin"] == pytest.approx(skm.davies_bouldin_score(X, lab))
    assert out["calinski_harabasz"] == pytest.approx(skm.calinski_harabasz_score(X, lab))
    # Explicit sampling uses sklearn's draw.
    assert M.silhouette(X, lab, sample_size=100, random_state=3) == pytest.approx(
        skm.silhouette_score(X, lab, sample_size=100, random_state=3)
    )


def test_rmse_variance_distance_1d_by_hand():
    # Cluster A = {0, 2}: centroid 1, squared distances 1, 1 -> msd 1, rmse 1.
    # Cluster B = {10, 12, 14}: centroid 12, squared distances 4, 0, 4 -> msd 8/3.
    # rmse = (1 + sqrt(8/3)) / 2; variance (d=1) = (1 + 8/3) / 2 = 11/6;
    # centroid distance |12 - 1| = 11.
    X = np.array([[0.0], [2.0], [10.0], [12.0], [14.0]])
    lab = np.array([4, 4, -1, -1, -1])
    assert M.intra_cluster_rmse(X, lab) == pytest.approx((1 + math.sqrt(8 / 3)) / 2)
    assert M.average_variance(X, lab) == pytest.approx(11 / 6)
    assert M.inter_cluster_distance(X, lab) == pytest.approx(11.0)
    out = M.internal_metrics(X, lab)
    assert out["rmse"] == pytest.approx((1 + math.sqrt(8 / 3)) / 2)
    assert out["variance"] == pytest.approx(11 / 6)
    assert out["inter_cluster_distance"] == pytest.approx(11.0)


def test_rmse_variance_distance_2d_by_hand():
    # Cluster 0: (-1,0),(1,0) centroid (0,0): sq dists 1,1 -> msd 1;
    #   per-feature variances (1, 0) -> mean 1/2.
    # Cluster 1: (3,1),(3,-1) centroid (3,0): sq dists 1,1 -> msd 1; variances (0,1) -> 1/2.
    # Cluster 2: (0,4) alone: msd 0, variance 0.
    # rmse = (1 + 1 + 0)/3 = 2/3; variance = (1/2 + 1/2 + 0)/3 = 1/3.
    # centroids (0,0),(3,0),(0,4): pair distances 3, 4, 5 -> mean 4.
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [3.0, 1.0], [3.0, -1.0], [0.0, 4.0]])
    lab = np.array([0, 0, 1, 1, 2])
    assert M.intra_cluster_rmse(X, lab) == pytest.approx(2 / 3)
    assert M.average_variance(X, lab) == pytest.approx(1 / 3)
    assert M.inter_cluster_distance(X, lab) == pytest.approx(4.0)


def test_average_variance_matches_numpy_loop():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(100, 3)) * [1.0, 5.0, 0.1]
    lab = rng.integers(0, 4, 100)
    ref = np.mean([X[lab == k].var(axis=0, ddof=0).mean() for k in range(4)])
    rmse_ref = np.mean(
        [np.sqrt(((X[lab == k] - X[lab == k].mean(0)) ** 2).sum(1).mean()) for k in range(4)]
    )
    assert M.average_variance(X, lab) == pytest.approx(ref)
    assert M.intra_cluster_rmse(X, lab) == pytest.approx(rmse_ref)


def test_single_cluster_gives_nan_not_error():
    X = np.array([[0.0], [2.0], [4.0]])
    out = M.internal_metrics(X, [1, 1, 1])
    for key in ("silhouette", "davies_bouldin", "calinski_harabasz", "inter_cluster_distance"):
        assert math.isnan(out[key]), key
    # centroid 2, squared distances 4, 0, 4 -> msd 8/3
    assert out["rmse"] == pytest.approx(math.sqrt(8 / 3))
    assert out["variance"] == pytest.approx(8 / 3)
    assert math.isnan(M.silhouette(X, [1, 1, 1]))
    assert math.isnan(M.davies_bouldin(X, [1, 1, 1]))
    assert math.isnan(M.calinski_harabasz(X, [1, 1, 1]))
    assert math.isnan(M.inter_cluster_distance(X, [1, 1, 1]))


def test_silhouette_sampling_large_n(monkeypatch):
    X, lab = _blobs(12_000)
    seen = []
    real = M.skm.silhouette_score

    def spy(X_, labels_, **kw):
        seen.append(X_.shape[0])
        return real(X_, labels_, **kw)

    monkeypatch.setattr(M.skm, "silhouette_score", spy)
    sampled = M.silhouette(X, lab, random_state=0)
    exact = M.silhouette(X, lab, sample_size=len(X))
    # n > 10000 and no sample_size: scored on 10000 points; sample_size=n: on all.
    assert seen == [10_000, 12_000]
    assert sampled != exact
    # On well-separated blobs the estimate is close to the exact value.
    assert sampled == pytest.approx(exact, abs=0.01)
    assert exact > 0.85


# ------------------------------------------------------------------ numerical rank


def test_numerical_rank_diag():
    # s^2 = 9, 1, 0.01; total 10.01: 9/10.01 = 0.899 <= 0.95, 10/10.01 = 0.999 > 0.95
    W = np.diag([3.0, 1.0, 0.1])
    assert M.numerical_rank(W) == 2
    assert M.numerical_rank(W, energy=0.85) == 1
    assert M.numerical_rank(W, energy=0.9995) == 3
    # Rows are points: padding with zero rows or rotating does not change the spectrum.
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(10, 10)))
    assert M.numerical_rank(q[:, :3] @ W) == 2


def test_numerical_rank_rank_one_zero_and_random():
    rng = np.random.default_rng(5)
    rank1 = np.outer(rng.normal(size=50), rng.normal(size=8))
    assert M.numerical_rank(rank1) == 1
    assert M.numerical_rank(np.zeros((5, 3))) == 0
    # Gaussian 200 x 20: singular values all near sqrt(200) +- sqrt(20), so 95% of
    # the energy needs nearly all 20 directions.
    r = M.numerical_rank(rng.normal(size=(200, 20)))
    assert 17 <= r <= 20


# ------------------------------------------------------------------ input errors


def test_length_mismatch_message():
    with pytest.raises(DataError, match=r"^y_true has 10 samples but y_pred has 9; expected"):
        M.cluster_accuracy(np.zeros(10, int), np.zeros(9, int))


@pytest.mark.parametrize(
    "f",
    [
        M.contingency,
        M.match_clusters,
        M.map_labels,
        M.cluster_accuracy,
        M.overall_accuracy,
        M.nmi,
        M.ari,
        M.cohen_kappa,
        M.per_class_accuracy,
        M.purity,
        M.external_metrics,
    ],
)
def test_external_bad_input(f):
    with pytest.raises(DataError, match="expected equal lengths"):
        f([0, 1, 1], [0, 1])
    with pytest.raises(DataError, match="y_true is empty"):
        f([], [])
    with pytest.raises(DataError, match=r"y_pred has shape \(2, 2\); expected a 1-D"):
        f([0, 1, 0, 1], [[0, 1], [0, 1]])
    with pytest.raises(DataError, match="y_true contains NaN"):
        f([0.0, np.nan], [0, 1])


def test_mask_errors():
    yt, yp = [0, 0, 1, 1], [1, 1, 0, 0]
    with pytest.raises(DataError, match="mask has shape \\(3,\\) but y_true has 4 samples"):
        M.external_metrics(yt, yp, mask=np.array([True, True, False]))
    with pytest.raises(DataError, match="expected a boolean array"):
        M.external_metrics(yt, yp, mask=np.array([0, 1, 2, 3]))
    with pytest.raises(DataError, match="mask selects no samples"):
        M.external_metrics(yt, yp, mask=np.zeros(4, bool))


@pytest.mark.parametrize(
    "f",
    [
        M.silhouette,
        M.davies_bouldin,
        M.calinski_harabasz,
        M.intra_cluster_rmse,
        M.average_variance,
        M.inter_cluster_distance,
        M.internal_metrics,
    ],
)
def test_internal_bad_input(f):
    X = np.arange(8.0).reshape(4, 2)
    lab = np.array([0, 0, 1, 1])
    with pytest.raises(DataError, match=r"X has shape \(4,\); expected a 2-D array"):
        f(np.arange(4.0), lab)
    bad = X.copy()
    bad[1, 0] = np.nan
    with pytest.raises(DataError, match="X contains 1 NaN or infinite values"):
        f(bad, lab)
    with pytest.raises(DataError, match=r"labels has shape \(2, 2\); expected a 1-D"):
        f(X, lab.reshape(2, 2))
    with pytest.raises(DataError, match="X has 4 samples but labels has 3; expected equal"):
        f(X, lab[:3])
    with pytest.raises(DataError, match=r"X has shape \(0, 2\)"):
        f(np.empty((0, 2)), np.empty(0, int))


def test_parameter_errors():
    X, lab = _blobs(20)
    with pytest.raises(ConfigError, match="sample_size"):
        M.silhouette(X, lab, sample_size=1)
    with pytest.raises(ConfigError, match="energy"):
        M.numerical_rank(np.eye(3), energy=1.0)
    with pytest.raises(DataError, match=r"W has shape \(3,\)"):
        M.numerical_rank(np.ones(3))
    with pytest.raises(DataError, match="W contains 1 NaN"):
        M.numerical_rank(np.array([[1.0, np.nan]]))


def test_regime_persistence_by_hand():
    from deepclust.metrics import regime_persistence

    out = regime_persistence([0, 0, 0, 1, 1, 0, 2, 2, 2, 2])
    assert out["n_runs"] == 4
    assert out["mean_run_length"] == pytest.approx(10 / 4)
    assert out["per_cluster"] == {0: 2.0, 1: 2.0, 2: 4.0}
    assert regime_persistence([3])["mean_run_length"] == 1.0
    with pytest.raises(DataError, match="empty"):
        regime_persistence([])
