"""Graphs over samples: nearest neighbours, affinity matrices, FINCH."""

from .affinity import gaussian_affinity, neighbour_graph
from .knn import knn, knn_exact, knn_hnsw

__all__ = ["knn", "knn_exact", "knn_hnsw", "gaussian_affinity", "neighbour_graph"]
