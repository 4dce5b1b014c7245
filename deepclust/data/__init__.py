"""Data layer: loaders for the formats users have, all returning a :class:`Dataset`."""

from .climate import climate_sequences, load_climate, to_tabular
from .container import Dataset
from .hsi import (
    extract_patches,
    iter_patches,
    load_houston2013,
    load_hsi,
    load_indian_pines,
    load_ksc,
    load_pavia_university,
    load_salinas,
    load_salinas_a,
    load_trento,
    patch_features,
    pca_reduce,
    standardize_bands,
)
from .images import (
    load_cifar10,
    load_cifar100,
    load_coil20,
    load_fashion_mnist,
    load_image_folder,
    load_image_mat,
    load_mnist,
    load_orl,
    load_stl10,
)
from .registry import DATASETS, load, load_digits
from .synthetic import (
    make_climate_cube,
    make_half_circles,
    make_hsi_scene,
    make_sphere_manifolds,
    make_subspaces,
)
from .vectors import load_csv, load_mat, load_npy, load_npz, load_vectors

__all__ = [
    "DATASETS", "Dataset", "climate_sequences", "extract_patches", "iter_patches", "load",
    "load_cifar10", "load_cifar100", "load_climate", "load_coil20", "load_csv", "load_digits",
    "load_fashion_mnist", "load_houston2013", "load_hsi", "load_image_folder", "load_image_mat",
    "load_indian_pines", "load_ksc", "load_mat", "load_mnist", "load_npy", "load_npz",
    "load_orl", "load_pavia_university", "load_salinas", "load_salinas_a", "load_stl10",
    "load_trento", "load_vectors", "make_climate_cube", "make_half_circles", "make_hsi_scene",
    "make_sphere_manifolds", "make_subspaces", "patch_features", "pca_reduce",
    "standardize_bands", "to_tabular",
]
