"""AE+GMM: a Gaussian mixture fitted on a pretrained autoencoder's embedding.

The two-stage baseline of the DGG and VaDE papers: representation learning and
clustering done separately.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.mixture import GaussianMixture as _SkGMM

from ..base import DeepClusterer
from ..exceptions import ConfigError
from ..nn.autoencoders import MLPAutoencoder
from ..nn.mlp import batched_apply
from ..pretraining import UsesAutoencoder
from ..utils import derive_seed
from ..validation import N_CLUSTERS, StrOptions, positive_int


class AEGMM(UsesAutoencoder, DeepClusterer):
    """Autoencoder embedding + Gaussian mixture.

    Parameters
    ----------
    n_clusters : int
    covariance_type : {"full", "diag", "tied", "spherical"}
    n_init : int
        EM restarts.
    hidden_dims, latent_dim, pretrained, ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        Autoencoder (see :class:`~deepclust.pretraining.Autoencoder`).
    input_scaling : {"auto", "max", "standardize", "none"}
        How the input is brought to unit scale before training (and again in
        ``predict``/``transform``); see :mod:`deepclust.scaling`. ``"auto"``: [0, 1] data
        as given, other non-negative data divided by their maximum, signed data beyond
        +-10 standardised per feature.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "n_init": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        covariance_type: str = "full",
        n_init: int = 5,
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        device: str = "auto",
        precision: str = "fp32",
        compile_networks: bool = False,
        random_state: int | None = None,
        verbose: bool = False,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 10,
        resume: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _gmm(self) -> _SkGMM:
        if self.covariance_type not in ("full", "diag", "tied", "spherical"):
            raise ConfigError(
                f"covariance_type={self.covariance_type!r}; expected full, diag, tied or spherical"
            )
        return _SkGMM(
            self.n_clusters,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            random_state=derive_seed(self.random_state, 2),
        )

    def _build_modules(self) -> None:
        self.autoencoder_ = MLPAutoencoder(self.dims_, self.output_).to(self.device_)

    def _fit(self, X: np.ndarray) -> None:
        ae = self._pretrained_autoencoder(X)
        self.dims_, self.output_ = ae.network_.dims, ae.output_
        self._build_modules()
        self.autoencoder_.load_state_dict(ae.network_.state_dict())
        self.autoencoder_.eval()
        Z = self._embed(self._as_tensor(X))
        gm = self._gmm().fit(Z)
        self.means_, self.covariances_ = gm.means_, gm.covariances_
        self.weights_, self.precisions_cholesky_ = gm.weights_, gm.precisions_cholesky_
        self._gm = gm
        self.embedding_ = Z
        self.labels_ = gm.predict(Z).astype(np.int64)

    def _after_load(self) -> None:
        gm = self._gmm()
        gm.means_, gm.covariances_ = self.means_, self.covariances_
        gm.weights_, gm.precisions_cholesky_ = self.weights_, self.precisions_cholesky_
        self._gm = gm

    @torch.no_grad()
    def _embed(self, data: torch.Tensor) -> np.ndarray:
        return batched_apply(self.autoencoder_.encoder, data).cpu().numpy().astype(np.float64)

    def transform(self, X: Any) -> np.ndarray:
        X = self._validate_new_input(X)
        return self._embed(self._as_tensor(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._gm.predict_proba(self.transform(X))

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)
