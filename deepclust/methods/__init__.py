"""Clustering methods, one module per method; :data:`METHODS` maps CLI names to classes."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..exceptions import ConfigError


@dataclass(frozen=True)
class MethodEntry:
    name: str
    target: str  # "module:Class"
    description: str

    def resolve(self) -> type:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


_M = "deepclust.methods."
_ENTRIES = [
    MethodEntry("kmeans", _M + "classic:KMeans", "k-means (k-means++ seeding, restarts)"),
    MethodEntry("gmm", _M + "classic:GaussianMixture", "Gaussian mixture fitted by EM"),
    MethodEntry("spectral", _M + "classic:SpectralClustering", "spectral clustering (kNN graph)"),
    MethodEntry("fcm", _M + "classic:FuzzyCMeans", "fuzzy c-means"),
    MethodEntry("ensc", _M + "ensc:EnSC", "EnSC: elastic-net subspace clustering (ORGEN)"),
    MethodEntry("ssc-omp", _M + "ssc_omp:SSCOMP", "SSC-OMP: sparse subspace clustering by OMP"),
    MethodEntry("spectralnet", _M + "spectralnet:SpectralNet", "SpectralNet: deep spectral map"),
    MethodEntry("finch", _M + "finch:FINCH", "FINCH: parameter-free first-neighbour clustering"),
    MethodEntry("dgg", _M + "dgg:DGG", "DGG: Gaussian-mixture VAE with stochastic graph embedding"),
    MethodEntry("vade", _M + "vade:VaDE", "VaDE: variational deep embedding"),
    MethodEntry("dec", _M + "dec:DEC", "DEC: deep embedded clustering"),
    MethodEntry("idec", _M + "dec:IDEC", "IDEC: DEC with local structure preservation"),
    MethodEntry("ae-gmm", _M + "ae_gmm:AEGMM", "AE+GMM: Gaussian mixture on autoencoder features"),
    MethodEntry("dscnet", _M + "dscnet:DSCNet", "DSC-Net-L2: deep subspace clustering network"),
    MethodEntry("clustergan", _M + "clustergan:ClusterGAN", "ClusterGAN: GAN latent clustering"),
    MethodEntry("dasc", _M + "dasc:DASC", "DASC: DSC-Net with an adversarial subspace critic"),
    MethodEntry("dekm", _M + "dekm:DEKM", "DEKM: deep embedded k-means (greedy rotation)"),
    MethodEntry("edesc", _M + "edesc:EDESC", "EDESC: deep embedded subspace clustering (bases)"),
    MethodEntry("gatcluster", _M + "gatcluster:GATCluster", "GATCluster: Gaussian attention"),
    MethodEntry("iic", _M + "iic:IIC", "IIC: invariant information clustering (images)"),
    MethodEntry("dac", _M + "dac:DAC", "DAC: deep adaptive image clustering"),
    MethodEntry("mlc", _M + "mlc:MLC", "MLC: manifold linearizing and clustering (MCR^2)"),
    MethodEntry("nmce", _M + "nmce:NMCE", "NMCE: MCR^2 with a point-to-cluster membership"),
    MethodEntry("scdsc", _M + "scdsc:SCDSC", "SCDSC: context-preserving subspace clustering (HSI)"),
    MethodEntry("dsc", _M + "dsc:DSC", "DSC: deep spatiotemporal clustering (climate)"),
    MethodEntry("dtc", _M + "dtc:DTC", "DTC: deep temporal clustering (climate windows)"),
    MethodEntry(
        "adatsc",
        _M + "adatsc:ADATSC",
        "A-DATSC: adversarial temporal subspace clustering (climate)",
    ),
]

METHODS: dict[str, MethodEntry] = {e.name: e for e in _ENTRIES}


def register(entry: MethodEntry) -> None:
    """Add a method to the registry (used by method modules and plug-ins)."""
    METHODS[entry.name] = entry


def get_method(name: str) -> type:
    """The estimator class registered under ``name``."""
    key = name.strip().lower()
    if key not in METHODS:
        known = ", ".join(sorted(METHODS))
        raise ConfigError(f"unknown method {name!r}; expected one of: {known}")
    return METHODS[key].resolve()
