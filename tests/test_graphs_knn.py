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


def test_hnsw_cosine_takes_unit_rows_as_given_and_others_normalised():
    """Rows already on the unit sphere are indexed without a normalised copy; scaled rows
    give the same neighbours; the input is never modified."""
    from deepclust.graphs.knn import _unit_rows, knn_hnsw

    rng = np.random.default_rng(1)
    U = rng.standard_normal((300, 6)).astype(np.float32)
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    scaled = U * rng.uniform(0.5, 3.0, (300, 1)).astype(np.float32)
    before = scaled.copy()
    assert _unit_rows(U) and not _unit_rows(scaled)
    idx_u, dist_u = knn_hnsw(U, 3, metric="cosine")
    idx_s, dist_s = knn_hnsw(scaled, 3, metric="cosine")
    # the same graph up to float rounding of the renormalised rows
    assert (idx_u == idx_s).all(axis=1).mean() > 0.98
    same = idx_u[:, 0] == idx_s[:, 0]
    np.testing.assert_allclose(dist_u[same, 0], dist_s[same, 0], atol=1e-5)
    np.testing.assert_array_equal(scaled, before)
    exact, _ = knn(U, 3, metric="cosine", method="exact")
    assert (idx_u[:, 0] == exact[:, 0]).mean() > 0.95


def test_hnsw_keeps_fewer_links_on_large_inputs_and_still_finds_first_neighbours(monkeypatch):
    """Above ``HNSW_SLIM_ABOVE`` points the index keeps 16 links per node (memory); the
    first neighbours of 32-dimensional unit features still agree with the exact ones."""
    import importlib

    import faiss

    knn_module = importlib.import_module("deepclust.graphs.knn")

    built = []
    real = faiss.IndexHNSWFlat

    def recording(d, m):
        built.append(m)
        return real(d, m)

    monkeypatch.setattr(faiss, "IndexHNSWFlat", recording)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3000, 32)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    exact, _ = knn(X, 1, metric="cosine", method="exact")
    knn_module.knn_hnsw(X, 1, metric="cosine")
    monkeypatch.setattr(knn_module, "HNSW_SLIM_ABOVE", 1000)
    slim, _ = knn_module.knn_hnsw(X, 1, metric="cosine")
    assert built == [32, 16]
    assert (slim[:, 0] == exact[:, 0]).mean() > 0.98
