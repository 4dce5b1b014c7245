"""Exact kNN against brute force for each metric, including |cos| (lines through 0)."""

from __future__ import annotations

import numpy as np
import pytest

from deepclust.exceptions import ConfigError
from deepclust.graphs.knn import knn


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "abs_cosine"])
def test_exact_neighbours_match_brute_force(metric):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    if metric == "euclidean":
        D = np.linalg.norm(X[:, None] - X[None], axis=2)
    elif metric == "cosine":
        D = 1 - U @ U.T
    else:
        D = 1 - np.abs(U @ U.T)
    np.fill_diagonal(D, np.inf)
    idx, dist = knn(X, 4, metric=metric, method="exact")
    np.testing.assert_array_equal(idx, np.argsort(D, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :4], atol=1e-5)


def test_abs_cosine_treats_a_vector_and_its_negative_as_one_direction():
    X = np.array([[1.0, 0.0], [-1.0, 0.01], [0.0, 1.0], [0.7, 0.7]])
    assert knn(X, 1, metric="abs_cosine")[0][0, 0] == 1
    assert knn(X, 1, metric="cosine")[0][0, 0] == 3
    # HNSW has no |cos|: "auto" searches it exactly even above the exact limit
    for method in ("auto", "hnsw"):
        idx, _ = knn(X, 1, metric="abs_cosine", method=method, exact_limit=2)
        assert idx[0, 0] == 1
    with pytest.raises(ConfigError, match="abs_cosine"):
        knn(X, 1, metric="manhattan")
