"""EDESC: efficient deep embedded subspace clustering (Cai et al., CVPR 2022).

The basis-representation model that SCDSC builds on (SCDSC Table 5 "Baseline"), here
for feature vectors and images. Every cluster ``j`` owns a ``latent_dim x d`` basis
``D_j``; a sample's soft assignment is the share of its embedding's energy in each
subspace (EDESC eq. 4, :func:`~deepclust.objectives.subspace.subspace_affinity`).
Schedule, as in EDESC:

1. pretrain the autoencoder (:mod:`deepclust.pretraining`);
2. k-means on the embedding, ``D_j`` = the top-``d`` right singular vectors of cluster
   ``j``'s codes;
3. train encoder, decoder and ``D`` on
   ``L = L_rec + beta KL(S~ || S) + bases_weight phi(D)``, where ``S~`` is the sharpened
   target of the batch's own assignments (held fixed) and ``phi`` the basis
   dissimilarity (orthogonal subspaces, unit basis vectors; SCDSC eq. 4);
4. labels ``argmax_j s_ij``.

Every step is O(batch) and no ``n x n`` matrix is formed (the "efficient" of the title):
the self-expressive subspace methods EDESC replaces need an ``n x n`` coefficient matrix.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans

from ..base import DeepClusterer
from ..nn.autoencoders import MLPAutoencoder, auto_architecture, auto_batch_size
from ..objectives.assignment import kl_divergence, target_distribution
from ..objectives.reconstruction import reconstruction_loss
from ..objectives.subspace import basis_dissimilarity, subspace_affinity
from ..precision import backward
from ..pretraining import ClustersTheEmbedding, UsesAutoencoder, auto_epochs
from ..training import StopsOnCollapse, adam, add_terms
from ..utils import derive_seed
from ..validation import (
    AUTO,
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    non_negative_real,
    positive_int,
    positive_real,
)
from .scdsc import SubspaceBases, init_bases


def nearest_orthonormal(D: np.ndarray) -> np.ndarray:
    """The matrix with orthonormal columns nearest to ``D`` in Frobenius norm:
    ``U V^T`` from ``D = U S V^T`` (needs at least as many rows as columns)."""
    u, _, vt = np.linalg.svd(np.asarray(D, dtype=np.float64), full_matrices=False)
    return u @ vt


#: Largest embedding ``latent_dim="auto"`` asks for (one ``d``-dimensional subspace per
#: cluster would give 200 dimensions for 40 clusters).
MAX_AUTO_LATENT = 64


class EDESC(UsesAutoencoder, ClustersTheEmbedding, StopsOnCollapse, DeepClusterer):
    """Efficient deep embedded subspace clustering.

    Parameters
    ----------
    n_clusters : int
    n_bases : int or "auto"
        Dimension ``d`` of each cluster's subspace. ``"auto"``: 5 (EDESC), at most
        ``latent_dim / n_clusters`` and at least 1.
    eta : float
        Smoothing constant of the soft assignment (EDESC: 5).
    beta : float
        Weight of the clustering term ``KL(S~ || S)`` (EDESC: 0.1).
    bases_weight : float
        Weight of ``phi(D)`` (EDESC: 1e-3).
    bases_init : {"orthonormal", "svd"}
        Start of ``D``: each cluster's top-``d`` singular vectors (``"svd"``, EDESC), or
        the matrix with orthonormal columns nearest to them (``"orthonormal"``, ``U V^T``
        of their SVD), where ``phi(D) = 0``, so that ``phi`` does not pull the bases off
        their clusters from the first step.
    bases_reduction : {"sum", "mean"}
        ``phi``'s Frobenius norms over summed squared entries (EDESC's code) or over
        their mean, which keeps its size independent of ``n_clusters`` and ``d``
        (:func:`~deepclust.objectives.subspace.basis_dissimilarity`).
    hidden_dims, latent_dim, pretrained, ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        Autoencoder (see :class:`~deepclust.pretraining.Autoencoder`). ``latent_dim="auto"``
        gives high-dimensional data room for ``n_clusters * d`` orthogonal directions, up
        to 64 dimensions.
    input_scaling : {"auto", "max", "standardize", "none"}
        See :mod:`deepclust.scaling`.
    epochs : int or "auto"
        Clustering epochs (EDESC: 200); ``"auto"`` aims at 20,000 steps, 10-200 epochs.
    lr : float
        Adam learning rate (EDESC: 1e-3).
    batch_size : int or "auto"
        ``"auto"``: 256 from 2,048 samples, 8 steps per epoch below.
    kmeans_n_init : int
        k-means restarts for the basis initialisation.
    stop_on_collapse : bool
        End training when the assignment degenerates and put back the last sound model
        (:class:`~deepclust.training.CollapseGuard`; label-free).
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, embedding_, bases_ (the ``D`` module), n_bases_, history_ (per epoch:
    ``recon``, ``kl``, ``phi`` and ``loss``), collapse_stopped_epoch_,
    collapse_kept_epoch_
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "n_bases": [AUTO, positive_int()],
        "eta": [non_negative_real()],
        "beta": [non_negative_real()],
        "bases_weight": [non_negative_real()],
        "bases_reduction": [StrOptions({"sum", "mean"})],
        "bases_init": [StrOptions({"orthonormal", "svd"})],
        "epochs": [AUTO, non_negative_int()],
        "lr": [positive_real()],
        "batch_size": [AUTO, positive_int()],
        "kmeans_n_init": [positive_int()],
        "stop_on_collapse": ["boolean"],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_bases: Any = "auto",
        eta: float = 5.0,
        beta: float = 0.1,
        bases_weight: float = 1e-3,
        bases_reduction: str = "sum",
        bases_init: str = "svd",
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        epochs: Any = "auto",
        lr: float = 1e-3,
        batch_size: Any = "auto",
        kmeans_n_init: int = 20,
        stop_on_collapse: bool = True,
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
        self.n_bases = n_bases
        self.eta = eta
        self.beta = beta
        self.bases_weight = bases_weight
        self.bases_reduction = bases_reduction
        self.bases_init = bases_init
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.kmeans_n_init = kmeans_n_init
        self.stop_on_collapse = stop_on_collapse
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------------ set-up
    def _latent_dim_for(self, X: np.ndarray) -> Any:
        """Room for ``n_clusters`` subspaces of EDESC's ``d = 5`` (at most 64 dimensions)."""
        if self.latent_dim != "auto" or X.shape[1] <= 10:
            return super()._latent_dim_for(X)
        _, latent = auto_architecture(X.shape[1], X.shape[0])
        d = 5 if self.n_bases == "auto" else int(self.n_bases)
        return int(max(latent, min(self.n_clusters * d, MAX_AUTO_LATENT, X.shape[1])))

    def _resolve_n_bases(self, latent: int) -> int:
        if self.n_bases != "auto":
            return int(self.n_bases)
        return int(max(1, min(5, latent // self.n_clusters)))

    def _build_modules(self) -> None:
        self.autoencoder_ = MLPAutoencoder(self.dims_, self.output_).to(self.device_)
        self.bases_ = SubspaceBases(self.dims_[-1], self.n_clusters, self.n_bases_).to(self.device_)

    # --------------------------------------------------------------------- fit
    def _fit(self, X: np.ndarray) -> None:
        bs = self.batch_size
        self.batch_size_ = auto_batch_size(len(X)) if bs == "auto" else int(bs)
        ae = self._pretrained_autoencoder(X)
        self.dims_, self.output_, self.loss_ = ae.network_.dims, ae.output_, ae.loss_
        self.n_bases_ = self._resolve_n_bases(self.dims_[-1])
        self._build_modules()
        self.autoencoder_.load_state_dict(ae.network_.state_dict())
        data = self._as_tensor(X)
        self._init_bases(data)
        n_epochs = self.epochs
        if n_epochs == "auto":
            n_epochs = auto_epochs(len(data), self.batch_size_, 20000, 10, 200)
        self._train(data, int(n_epochs))
        self._finish(data)

    def _init_bases(self, data: torch.Tensor) -> None:
        """k-means on the embedding, then each cluster's top-``d`` singular vectors."""
        Z = self._embed(data).cpu().numpy().astype(np.float64)
        km = _SkKMeans(
            self.n_clusters,
            n_init=self.kmeans_n_init,
            random_state=derive_seed(self.random_state, 2),
        ).fit(Z)
        rng = np.random.default_rng(derive_seed(self.random_state, 3))
        D = init_bases(Z, km.labels_, self.n_clusters, self.n_bases_, rng)
        if self.bases_init == "orthonormal":
            D = nearest_orthonormal(D)
        with torch.no_grad():
            self.bases_.D.copy_(torch.as_tensor(D, dtype=torch.float32))

    def _affinity(self, z: torch.Tensor) -> torch.Tensor:
        return subspace_affinity(z, self.bases_.D, self.n_clusters, self.eta)

    _soft_assign = _affinity

    def _losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms of EDESC's objective for one batch."""
        z, x_hat = self.autoencoder_(x)
        recon = reconstruction_loss(x_hat, x, self.loss_)
        s = self._affinity(z)
        kl = kl_divergence(target_distribution(s).detach(), s, "mean")
        phi = basis_dissimilarity(
            self.bases_.D, self.n_clusters, squared=False, reduction=self.bases_reduction
        )
        return {"recon": recon, "kl": kl, "phi": phi}

    def _train(self, data: torch.Tensor, n_epochs: int) -> None:
        n = len(data)
        params = list(self.autoencoder_.parameters()) + list(self.bases_.parameters())
        opt = adam(params, lr=self.lr)
        state = {"autoencoder": self.autoencoder_, "bases": self.bases_, "opt": opt}
        loop = self._loop("edesc", n_epochs, state)
        model = {"autoencoder": self.autoencoder_, "bases": self.bases_}
        guard = self._collapse_guard(model, self._labels(data))

        def epoch(i: int) -> dict[str, float]:
            self.autoencoder_.train()
            sums: dict[str, Any] = dict.fromkeys(("recon", "kl", "phi", "loss"), 0.0)
            for idx in loop.batches(n, self.batch_size_, device=data.device):
                terms = self._losses(data[idx])
                loss = terms["recon"] + self.beta * terms["kl"] + self.bases_weight * terms["phi"]
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                add_terms(sums, {**terms, "loss": loss}, len(idx))
            if guard is not None:
                self._guard_epoch(guard, loop, self._labels(data), i + 1)
            return {key: value / n for key, value in sums.items()}

        loop.run(epoch)

    @torch.no_grad()
    def _labels(self, data: torch.Tensor) -> np.ndarray:
        return self._affinity(self._embed(data)).argmax(1).cpu().numpy()
