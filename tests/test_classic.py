"""Classic baselines: sklearn conformance, fuzzy c-means by hand, quality floors, contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import check_estimator

from deepclust.exceptions import ConfigError, DataError
from deepclust.methods.classic import FuzzyCMeans, GaussianMixture, KMeans, SpectralClustering
from deepclust.metrics import cluster_accuracy

ALL = [KMeans, GaussianMixture, SpectralClustering, FuzzyCMeans]
WITH_PREDICT = [KMeans, GaussianMixture, FuzzyCMeans]

pytestmark = [
    # The graph of a well-separated blob set is disconnected; sklearn says so, rightly.
    pytest.mark.filterwarnings("ignore:Graph is not fully connected:UserWarning"),
    pytest.mark.usefixtures("single_thread"),
]


@pytest.fixture(scope="module")
def three_blobs():
    """300 points in three well-separated groups."""
    X, y = make_blobs(
        n_samples=300, centers=[[0, 0], [8, 0], [0, 8]], cluster_std=1.0, random_state=0
    )
    return X, y


# ---------------------------------------------------------------- sklearn conformance
# These sklearn checks force ``n_clusters=1`` on the estimator (they set it before fitting
# a 1-sample / 1-feature / small problem). Our contract rejects n_clusters < 2 with a
# ConfigError ("n_clusters=1 is too small; expected an integer >= 2"), so they fail for
# that reason and that reason only; the test below verifies the exception of each one.
#   check_dont_overwrite_parameters   - sets n_clusters=1, then fits
#   check_methods_subset_invariance   - sets n_clusters=1, then fits
#   check_fit2d_predict1d             - sets n_clusters=1, then fits
#   check_fit2d_1sample               - sets n_clusters=1; expects "1 sample" in the error
#   check_fit2d_1feature              - sets n_clusters=1; expects "1 feature" in the error
N_CLUSTERS_1 = "sklearn forces n_clusters=1, which deepclust rejects (n_clusters >= 2)"
EXPECTED_FAILED_CHECKS = {
    name: N_CLUSTERS_1
    for name in (
        "check_dont_overwrite_parameters",
        "check_methods_subset_invariance",
        "check_fit2d_predict1d",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
    )
}


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_check_estimator(cls):
    results = check_estimator(
        cls(n_clusters=3, random_state=0),
        expected_failed_checks=EXPECTED_FAILED_CHECKS,
        on_skip=None,
        on_fail=None,
    )
    failed = {
        r["check_name"]: f"{type(r['exception']).__name__}: {r['exception']}"
        for r in results
        if r["status"] == "failed"
    }
    assert not failed, failed
    xfailed = {r["check_name"]: r["exception"] for r in results if r["status"] == "xfail"}
    # every listed check ran and failed, and for the documented reason only
    assert set(xfailed) == set(EXPECTED_FAILED_CHECKS)
    for name, exc in xfailed.items():
        chain = [exc, exc.__cause__, exc.__context__]
        assert any(isinstance(e, ConfigError) and "n_clusters=1" in str(e) for e in chain), (
            f"{name} failed for another reason: {exc!r}"
        )
    assert sum(r["status"] == "passed" for r in results) > 30


# ------------------------------------------------------------------ fuzzy c-means
def _hand_memberships(x: np.ndarray, centres: np.ndarray, m: float) -> np.ndarray:
    """u_ik = 1 / sum_j (d_ik / d_ij)^(2/(m-1)) for 1-D points and centres."""
    d = np.abs(x[:, None] - centres[None, :])
    u = np.empty_like(d)
    for i in range(d.shape[0]):
        for k in range(d.shape[1]):
            u[i, k] = 1.0 / sum(
                (d[i, k] / d[i, j]) ** (2.0 / (m - 1.0)) for j in range(len(centres))
            )
    return u


TINY = np.array([0.0, 0.1, 0.2, 5.0, 5.1, 5.2])[:, None]


@pytest.mark.parametrize("m", [2.0, 3.0])
def test_fcm_matches_hand_computation(m):
    fcm = FuzzyCMeans(n_clusters=2, m=m, tol=1e-10, random_state=0).fit(TINY)
    centres = fcm.cluster_centers_[:, 0]
    # two obvious groups: one centre near each group mean, pulled slightly inwards
    assert sorted(centres) == pytest.approx([0.1, 5.1], abs=0.05)
    # the fitted centres are the fixed point c_k = sum_i u_ik^m x_i / sum_i u_ik^m
    um = fcm.membership_**m
    assert centres == pytest.approx((um * TINY).sum(0) / um.sum(0), rel=1e-6)

    new = np.array([-1.0, 1.0, 2.5, 2.6, 4.0, 7.0])
    got = fcm.predict_membership(new[:, None])
    assert got == pytest.approx(_hand_memberships(new, centres, m), abs=1e-10)
    assert got.sum(1) == pytest.approx(np.ones(len(new)))
    # memberships of the training data follow the same formula
    assert fcm.membership_ == pytest.approx(_hand_memberships(TINY[:, 0], centres, m), abs=1e-10)
    assert fcm.membership_.sum(1) == pytest.approx(np.ones(len(TINY)))
    # hard labels split the two groups
    assert len(set(fcm.labels_[:3])) == 1 and len(set(fcm.labels_[3:])) == 1
    assert fcm.labels_[0] != fcm.labels_[3]


def test_fcm_point_on_centre_has_membership_one():
    fcm = FuzzyCMeans(n_clusters=2, random_state=0).fit(TINY)
    u = fcm.predict_membership(fcm.cluster_centers_)
    assert u == pytest.approx(np.eye(2))
    assert np.isfinite(u).all()


def test_fcm_larger_m_is_fuzzier():
    X, _ = make_blobs(n_samples=150, centers=3, cluster_std=1.5, random_state=1)
    peak = {}
    for m in (1.5, 2.0, 4.0):
        u = FuzzyCMeans(n_clusters=3, m=m, random_state=0).fit(X).membership_
        peak[m] = u.max(1).mean()
    assert peak[1.5] > peak[2.0] > peak[4.0]
    assert peak[4.0] > 1 / 3  # still a clustering, not uniform memberships


def test_fcm_restarts_never_worse_and_sometimes_better():
    X, _ = make_blobs(n_samples=200, centers=6, cluster_std=1.5, random_state=3)
    objectives = [
        FuzzyCMeans(n_clusters=6, m=2.0, n_init=n, random_state=0).fit(X).objective_
        for n in (1, 2, 4, 8)
    ]
    # same seed: the restarts of n_init=n are the first n restarts of any larger n_init
    assert all(b <= a + 1e-9 for a, b in zip(objectives, objectives[1:], strict=False))
    # on this data the first restart is a poor local minimum that later ones escape
    assert objectives[-1] < objectives[0] - 1.0


def test_fcm_objective_matches_definition():
    X, _ = make_blobs(n_samples=100, centers=3, random_state=2)
    fcm = FuzzyCMeans(n_clusters=3, m=2.0, tol=1e-10, random_state=0).fit(X)
    d2 = ((X[:, None, :] - fcm.cluster_centers_[None]) ** 2).sum(-1)
    assert fcm.objective_ == pytest.approx(float((fcm.membership_**2 * d2).sum()), rel=1e-6)


def test_fcm_rejects_m_not_above_one():
    with pytest.raises(ConfigError, match="The .m. parameter of FuzzyCMeans"):
        FuzzyCMeans(n_clusters=2, m=1.0).fit(TINY)


# -------------------------------------------------------------------- quality floors
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_blobs_are_recovered(cls, three_blobs):
    X, y = three_blobs
    labels = cls(n_clusters=3, random_state=0).fit(X).labels_
    assert adjusted_rand_score(y, labels) > 0.9


def test_spectral_beats_kmeans_on_moons():
    X, y = make_moons(n_samples=400, noise=0.05, random_state=0)
    spectral = SpectralClustering(n_clusters=2, random_state=0).fit(X).labels_
    kmeans = KMeans(n_clusters=2, random_state=0).fit(X).labels_
    assert cluster_accuracy(y, spectral) > 0.95
    assert cluster_accuracy(y, kmeans) < 0.9


# -------------------------------------------------------------------------- contract
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_clone_fit_returns_self_and_seeded_reproducibility(cls, three_blobs):
    X, _ = three_blobs
    est = cls(n_clusters=3, random_state=7)
    twin = clone(est)
    assert twin is not est
    assert twin.get_params() == est.get_params()
    assert est.fit(X) is est
    assert not hasattr(twin, "labels_")  # clone is unfitted
    assert np.array_equal(twin.fit(X).labels_, est.labels_)
    assert np.array_equal(cls(n_clusters=3, random_state=7).fit_predict(X), est.labels_)
    assert est.labels_.shape == (len(X),)


@pytest.mark.parametrize("cls", WITH_PREDICT, ids=lambda c: c.__name__)
def test_predict_on_training_data_matches_labels(cls, three_blobs):
    X, _ = three_blobs
    est = cls(n_clusters=3, random_state=0).fit(X)
    assert np.array_equal(est.predict(X), est.labels_)


def test_seeded_runs_differ_across_seeds_for_fcm():
    # reproducibility is not a constant output: different seeds give different starts
    X, _ = make_blobs(n_samples=200, centers=6, cluster_std=1.5, random_state=3)
    a = FuzzyCMeans(n_clusters=6, random_state=0).fit(X).objective_
    b = FuzzyCMeans(n_clusters=6, random_state=2).fit(X).objective_
    assert a != b


@pytest.mark.parametrize("cls", WITH_PREDICT, ids=lambda c: c.__name__)
def test_save_load_round_trip(cls, three_blobs, tmp_path):
    X, _ = three_blobs
    est = cls(n_clusters=3, random_state=0).fit(X)
    path = est.save(tmp_path / "m.pt")
    assert path.is_file()
    loaded = type(est).load(tmp_path / "m.pt")
    assert type(loaded) is cls
    assert loaded.get_params() == est.get_params()
    rng = np.random.default_rng(1)
    new = rng.uniform(-3, 11, size=(50, 2))
    assert np.array_equal(loaded.predict(new), est.predict(new))
    assert np.array_equal(loaded.predict(X), est.labels_)
    assert np.array_equal(loaded.labels_, est.labels_)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "content",
    [b"not a model at all\n", None],
    ids=["text-file", "torch-dict-without-format"],
)
def test_load_non_model_file_raises_data_error(content, tmp_path):
    p = tmp_path / "m.pt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, p)
    else:
        p.write_bytes(content)
    with pytest.raises(DataError, match="not a deepclust model"):
        KMeans.load(p)
    with pytest.raises(DataError, match="not found"):
        KMeans.load(tmp_path / "absent.pt")


def test_load_wrong_class_raises_data_error(three_blobs, tmp_path):
    X, _ = three_blobs
    KMeans(n_clusters=3, random_state=0).fit(X).save(tmp_path / "km.pt")
    with pytest.raises(DataError, match="KMeans"):
        GaussianMixture.load(tmp_path / "km.pt")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_n_clusters_out_of_range(cls):
    X = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ConfigError, match=r"n_clusters=1\b"):
        cls(n_clusters=1).fit(X)
    with pytest.raises(ConfigError, match=r"n_clusters=6\b.*n_samples=5"):
        cls(n_clusters=6).fit(X)
    with pytest.raises(ConfigError, match=r"n_clusters=0\b"):
        cls(n_clusters=0).fit(X)


@pytest.mark.parametrize(
    "cls", [KMeans, GaussianMixture, SpectralClustering, FuzzyCMeans], ids=lambda c: c.__name__
)
@pytest.mark.filterwarnings("ignore:k >= N:RuntimeWarning")
def test_n_clusters_equal_to_n_samples_is_accepted(cls):
    # the contract's upper bound is inclusive: 2 <= n_clusters <= n_samples
    X = np.random.default_rng(0).normal(size=(6, 2))
    labels = cls(n_clusters=6, random_state=0).fit(X).labels_
    assert labels.shape == (6,)
    assert labels.min() >= 0 and labels.max() < 6


def test_auto_fuzzifier_follows_schwaemmle_jensen():
    from deepclust.methods.classic import auto_fuzzifier

    # Mfuzz's mestimate example (yeast, 2,951 genes x 17 time points) prints m = 1.15
    assert auto_fuzzifier(2951, 17) == pytest.approx(1.15, abs=0.005)
    assert auto_fuzzifier(1797, 64) < 1.1 < auto_fuzzifier(500, 5)


def test_fcm_auto_does_not_collapse_in_64_dimensions():
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    est = FuzzyCMeans(n_clusters=10, random_state=0).fit(X)
    assert est.m_ < 1.1
    assert len(np.unique(est.labels_)) == 10
    assert FuzzyCMeans(n_clusters=10, m=2.0, random_state=0).fit(X).m_ == 2.0


def test_gmm_auto_covariance_falls_back_to_diag_when_full_is_singular(monkeypatch):
    from sklearn.mixture import GaussianMixture as SkGM

    real_fit = SkGM.fit

    def fit(self, X, y=None):  # what scikit-learn raises on COIL-20's 1,024 pixels
        if self.covariance_type == "full":
            raise ValueError(
                "Fitting the mixture model failed because some components have "
                "ill-defined empirical covariance"
            )
        return real_fit(self, X, y)

    X, _ = make_blobs(n_samples=300, centers=3, n_features=2, random_state=0)
    assert GaussianMixture(n_clusters=3, random_state=0).fit(X).covariance_type_ == "full"
    monkeypatch.setattr(SkGM, "fit", fit)
    est = GaussianMixture(n_clusters=3, random_state=0).fit(X)
    assert est.covariance_type_ == "diag" and len(np.unique(est.labels_)) == 3
    with pytest.raises(DataError, match="covariance is singular.*covariance_type='diag'"):
        GaussianMixture(n_clusters=3, covariance_type="full").fit(X)
