"""deepclust: deep clustering of real scientific data.

One scikit-learn style API for climate cubes, hyperspectral scenes, images and feature
tables::

    from deepclust import DGG, load
    ds = load("mnist:path/to/mnist")
    labels = DGG(n_clusters=10, random_state=0).fit_predict(ds.X)
"""

__version__ = "0.1.0"

from .data import Dataset, load  # noqa: E402
from .methods.ae_gmm import AEGMM  # noqa: E402
from .methods.classic import FuzzyCMeans, GaussianMixture, KMeans, SpectralClustering  # noqa: E402
from .methods.dec import DEC, IDEC  # noqa: E402
from .methods.dgg import DGG  # noqa: E402
from .methods.vade import VaDE  # noqa: E402
from .pretraining import Autoencoder  # noqa: E402

__all__ = [
    "AEGMM",
    "DEC",
    "DGG",
    "IDEC",
    "Autoencoder",
    "Dataset",
    "FuzzyCMeans",
    "GaussianMixture",
    "KMeans",
    "SpectralClustering",
    "VaDE",
    "load",
    "__version__",
]
