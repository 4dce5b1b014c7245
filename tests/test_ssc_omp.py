"""SSC-OMP: codes against scikit-learn's OMP, subspace-preserving affinity, clustering."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import orthogonal_mp

from deepclust.graphs.knn import knn
from deepclust.methods.ssc_omp import SSCOMP, omp_codes
from deepclust.metrics import cluster_accuracy
from deepclust.validation import ParameterError

# subspace-preserving codes give one graph component per subspace, by design
pytestmark = pytest.mark.filterwarnings("ignore:Graph is not fully connected")


def _union_of_subspaces(n_per=60, dim=3, ambient=20, k=3, seed=0):
    rng = np.random.default_rng(seed)
    bases = [np.linalg.qr(rng.standard_normal((ambient, dim)))[0] for _ in range(k)]
    X = np.vstack([rng.standard_normal((n_per, dim)) @ b.T for b in bases])
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.repeat(np.arange(k), n_per)


def test_codes_match_sklearn_omp_on_every_sample():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 12))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    C = omp_codes(X, 4, tol=0.0, block=7).toarray()
    for j in range(30):
        others = np.delete(np.arange(30), j)
        ref = orthogonal_mp(X[others].T, X[j], n_nonzero_coefs=4)
        np.testing.assert_allclose(C[j, others], ref, atol=1e-8)
        assert C[j, j] == 0


def test_early_stop_keeps_exact_codes():
    X, _ = _union_of_subspaces()
    C = omp_codes(X, 10, tol=1e-8)
    # a point of a 3-dimensional subspace is coded exactly by 3 others: OMP stops there
    assert C.getnnz(axis=1).max() == 3
    np.testing.assert_allclose(C @ X, X, atol=1e-6)


def test_affinity_is_subspace_preserving_and_clusters_the_union():
    X, y = _union_of_subspaces()
    est = SSCOMP(3, n_nonzero=5, random_state=0).fit(X)
    W = est.affinity_.tocoo()
    assert (y[W.row] == y[W.col]).all()  # independent subspaces: no false connections
    assert cluster_accuracy(y, est.labels_) == 1.0


def test_candidate_restriction_and_its_neighbours():
    X, y = _union_of_subspaces(seed=2)
    nb = knn(X, 15, metric="abs_cosine")[0]
    assert nb.shape == (180, 15) and not (nb == np.arange(180)[:, None]).any()
    est = SSCOMP(3, n_nonzero=5, n_candidates=15, random_state=0).fit(X)
    assert cluster_accuracy(y, est.labels_) > 0.95
    with pytest.raises(ParameterError):
        SSCOMP(3, n_nonzero=0).fit(X)
