"""First-neighbour recall of faiss HNSW on 20,000 unit 32-d vectors (Gaussian and
50 clusters): the nearest of each node's own level-0 links, and a search with several
``efSearch`` values, against the exact neighbours (session 9, RESULTS.md).

    OMP_NUM_THREADS=1 python benchmarks/scratch/hnsw_first_neighbour.py
"""

import time

import faiss
import numpy as np

from deepclust.graphs.knn import knn

faiss.omp_set_num_threads(1)


def link_first_neighbours(index: faiss.IndexHNSWFlat, X: np.ndarray) -> np.ndarray:
    """The nearest of each node's level-0 links."""
    h = index.hnsw
    nb = faiss.rev_swig_ptr(h.neighbors.data(), h.neighbors.size())
    off = faiss.rev_swig_ptr(h.offsets.data(), h.offsets.size()).astype(np.int64)
    cand = nb[off[:-1, None] + np.arange(h.nb_neighbors(0))[None]]
    valid = cand >= 0
    c = np.where(valid, cand, 0)
    d = ((X[:, None, :] - X[c]) ** 2).sum(-1)
    d[~valid] = np.inf
    return c[np.arange(len(X)), d.argmin(1)]


rng = np.random.default_rng(0)
sets = {
    "gauss32": rng.standard_normal((20000, 32)),
    "clusters": rng.standard_normal((50, 32))[rng.integers(0, 50, 20000)]
    + 0.3 * rng.standard_normal((20000, 32)),
}
for name, X in sets.items():
    X = X.astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    exact = knn(X, 1, metric="cosine", method="exact")[0][:, 0]
    for m in (16, 32):
        index = faiss.IndexHNSWFlat(32, m)
        index.hnsw.efConstruction = 40
        index.add(X)
        links = link_first_neighbours(index, X)
        print(name, "m", m, f"links recall {(links == exact).mean():.4f}")
        for ef in (16, 32, 64, 128):
            index.hnsw.efSearch = ef
            tic = time.perf_counter()
            _, I = index.search(X, 2)
            s = np.where(I[:, 0] == np.arange(len(X)), I[:, 1], I[:, 0])
            seconds, recall = time.perf_counter() - tic, (s == exact).mean()
            print(name, "m", m, "ef", ef, f"search {seconds:.2f} s recall {recall:.4f}")
