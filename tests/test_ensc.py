"""EnSC: the batched elastic net against scikit-learn, ORGEN's optimality, clustering."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import ElasticNet

from deepclust.methods.ensc import EnSC, elastic_net_fista, ensc_codes
from deepclust.metrics import cluster_accuracy

# subspace-preserving codes give one graph component per subspace, by design
pytestmark = pytest.mark.filterwarnings("ignore:Graph is not fully connected")


def _union(n_per=50, dim=3, ambient=25, k=3, seed=0):
    rng = np.random.default_rng(seed)
    bases = [np.linalg.qr(rng.standard_normal((ambient, dim)))[0] for _ in range(k)]
    X = np.vstack([rng.standard_normal((n_per, dim)) @ b.T for b in bases])
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.repeat(np.arange(k), n_per)


def test_fista_matches_sklearn_elastic_net():
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((2, 20, 8)), rng.standard_normal((2, 20))
    lam, gamma = 0.7, 5.0
    got = elastic_net_fista(torch.as_tensor(A), torch.as_tensor(x), lam, gamma, 3000).numpy()
    for b in range(2):
        # sklearn: 1/(2N)|x - Ac|^2 + alpha r |c|_1 + alpha (1-r)/2 |c|^2; divide ours by gamma N
        n = A.shape[1]
        ref = ElasticNet(alpha=1 / (gamma * n), l1_ratio=lam, fit_intercept=False, tol=1e-12,
                         max_iter=100_000).fit(A[b], x[b]).coef_  # fmt: skip
        np.testing.assert_allclose(got[b], ref, atol=1e-6)


def test_active_set_codes_equal_the_full_problem_and_are_subspace_preserving():
    X, y = _union()
    C, unresolved = ensc_codes(X, lam=0.9, gamma=50.0, support=20)
    assert unresolved == 0 and C.diagonal().max() == 0
    # the same code solved on all other samples at once (no active set)
    j = 7
    others = np.delete(np.arange(len(X)), j)
    full = elastic_net_fista(torch.as_tensor(X[others].T[None]), torch.as_tensor(X[j][None]),
                             0.9, 50.0, 3000)[0].numpy()  # fmt: skip
    np.testing.assert_allclose(C[j].toarray()[0, others], full, atol=1e-3)
    W = C.tocoo()
    assert (y[W.row] == y[W.col]).mean() > 0.99


def test_ensc_clusters_a_union_of_subspaces():
    X, y = _union(seed=1)
    est = EnSC(3, support=40, random_state=0).fit(X)
    assert cluster_accuracy(y, est.labels_) == 1.0 and est.unresolved_ == 0
    with pytest.raises(Exception, match="l1_ratio"):
        EnSC(3, l1_ratio=0.0).fit(X)
