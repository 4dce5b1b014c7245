"""deepclust: deep clustering of real scientific data.

One scikit-learn style API for climate cubes, hyperspectral scenes, images and feature
tables::

    from deepclust import DGG, load
    ds = load("mnist:path/to/mnist")
    labels = DGG(n_clusters=10, random_state=0).fit_predict(ds.X)

Names are imported on first use (PEP 562), so ``import deepclust`` and the command line
stay fast: torch and scikit-learn load only when an estimator is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

from .threads import prefer_passive_waiting

__version__ = "0.1.0"

# before torch, MKL or scikit-learn's OpenMP are loaded (see deepclust.threads)
prefer_passive_waiting()

_LAZY = {
    "AEGMM": "deepclust.methods.ae_gmm",
    "DEC": "deepclust.methods.dec",
    "DGG": "deepclust.methods.dgg",
    "EDESC": "deepclust.methods.edesc",
    "DEKM": "deepclust.methods.dekm",
    "DSCNet": "deepclust.methods.dscnet",
    "DASC": "deepclust.methods.dasc",
    "ClusterGAN": "deepclust.methods.clustergan",
    "MLC": "deepclust.methods.mlc",
    "GATCluster": "deepclust.methods.gatcluster",
    "IIC": "deepclust.methods.iic",
    "DAC": "deepclust.methods.dac",
    "NMCE": "deepclust.methods.nmce",
    "SSCOMP": "deepclust.methods.ssc_omp",
    "EnSC": "deepclust.methods.ensc",
    "IDEC": "deepclust.methods.dec",
    "FINCH": "deepclust.methods.finch",
    "FuzzyCMeans": "deepclust.methods.classic",
    "GaussianMixture": "deepclust.methods.classic",
    "KMeans": "deepclust.methods.classic",
    "SCDSC": "deepclust.methods.scdsc",
    "ADATSC": "deepclust.methods.adatsc",
    "DSC": "deepclust.methods.dsc",
    "DTC": "deepclust.methods.dtc",
    "SpectralClustering": "deepclust.methods.classic",
    "SpectralNet": "deepclust.methods.spectralnet",
    "VaDE": "deepclust.methods.vade",
    "Autoencoder": "deepclust.pretraining",
    "Dataset": "deepclust.data.container",
    "load": "deepclust.data.registry",
    "RunSettings": "deepclust.run",
    "set_num_threads": "deepclust.threads",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deepclust' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [*_LAZY, "__version__"]
