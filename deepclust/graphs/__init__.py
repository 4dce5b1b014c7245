"""Graphs over samples: nearest neighbours, affinity matrices, FINCH."""

from .affinity import gaussian_affinity, neighbour_graph
from .finch import FinchResult, finch, first_neighbours
from .knn import knn, knn_exact, knn_hnsw

__all__ = [
    "FinchResult",
    "finch",
    "first_neighbours",
    "gaussian_affinity",
    "knn",
    "knn_exact",
    "knn_hnsw",
    "neighbour_graph",
]
