"""DEKM: deep embedded k-means (Guo, Lin & Ye, 2021), a baseline of the SCDSC paper.

Schedule, as in DEKM:

1. pretrain the autoencoder (:mod:`deepclust.pretraining`; the shared recipe, where the
   authors train a convolutional one for 200 epochs);
2. every ``update_interval`` steps: k-means on the whole embedding, the within-cluster
   scatter's eigenvectors ``V`` and the greedy targets of
   :mod:`deepclust.objectives.dekm` (rotated codes with the largest-scatter coordinate
   moved onto the sample's centre);
3. between updates, train the encoder alone (the decoder is dropped) on
   ``||V^T f(x) - target||^2``;
4. stop when fewer than ``tol`` of the labels change between two updates (the authors'
   0.5 %) or the step budget ends; the labels are the last k-means assignment.

Departure, said: after the first k-means (``kmeans_n_init`` restarts), each update starts
from the previous centres (one warm-started run), so that cluster identities and the
label-change test are stable; the authors restart k-means from random seeds each time
and match the labels afterwards.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans

from ..base import DeepClusterer
from ..nn.autoencoders import MLPAutoencoder, auto_batch_size
from ..objectives.dekm import dekm_loss, greedy_targets, scatter_rotation, within_cluster_scatter
from ..precision import backward
from ..pretraining import ClustersTheEmbedding, UsesAutoencoder, auto_epochs
from ..training import TensorState, adam
from ..utils import derive_seed
from ..validation import (
    AUTO,
    N_CLUSTERS,
    non_negative_int,
    positive_int,
    positive_real,
    unit_interval,
)


class DEKM(UsesAutoencoder, ClustersTheEmbedding, DeepClusterer):
    """Deep embedded k-means.

    Parameters
    ----------
    n_clusters : int
    hidden_dims, latent_dim, pretrained, ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        Autoencoder (see :class:`~deepclust.pretraining.Autoencoder`; DEKM: 10-D codes).
    input_scaling : {"auto", "max", "standardize", "none"}
        See :mod:`deepclust.scaling`.
    update_interval : int
        Gradient steps between two k-means updates (DEKM: 40).
    epochs : int or "auto"
        Upper bound on the clustering epochs; ``"auto"``: DEKM's 14,000 steps, 10-200
        epochs.
    tol : float
        Stop when fewer than this share of labels changed between updates (DEKM: 0.005).
    lr : float
        Adam learning rate (DEKM: Keras' default 1e-3).
    batch_size : int or "auto"
        ``"auto"``: 256 from 2,048 samples, 8 steps per epoch below (DEKM: 256).
    kmeans_n_init : int
        Restarts of the first k-means (DEKM: 100); later updates are warm-started.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, embedding_, cluster_centers_, rotation_ (the last ``V``), scatter_eigenvalues_,
    history_ (per epoch: ``loss``, ``label_change``, ``kmeans_loss``), stopped_step_
    """

    #: per-sample squared distances to targets fixed between k-means updates
    _data_parallel_batches = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "update_interval": [positive_int()],
        "epochs": [AUTO, non_negative_int()],
        "tol": [unit_interval()],
        "lr": [positive_real()],
        "batch_size": [AUTO, positive_int()],
        "kmeans_n_init": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        update_interval: int = 40,
        epochs: Any = "auto",
        tol: float = 0.005,
        lr: float = 1e-3,
        batch_size: Any = "auto",
        kmeans_n_init: int = 20,
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
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.update_interval = update_interval
        self.epochs = epochs
        self.tol = tol
        self.lr = lr
        self.batch_size = batch_size
        self.kmeans_n_init = kmeans_n_init
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        self.autoencoder_ = MLPAutoencoder(self.dims_, self.output_).to(self.device_)

    # --------------------------------------------------------------------- fit
    def _fit(self, X: np.ndarray) -> None:
        bs = self.batch_size
        self.batch_size_ = auto_batch_size(len(X)) if bs == "auto" else int(bs)
        ae = self._pretrained_autoencoder(X)
        self.dims_, self.output_, self.loss_ = ae.network_.dims, ae.output_, ae.loss_
        self._build_modules()
        self.autoencoder_.load_state_dict(ae.network_.state_dict())
        data = self._as_tensor(X)
        n_epochs = self.epochs
        if n_epochs == "auto":
            n_epochs = auto_epochs(len(data), self.batch_size_, 14000, 10, 200)
        self._train(data, int(n_epochs))
        self._finish(data)

    def _kmeans(self, z: torch.Tensor, centres: torch.Tensor | None) -> _SkKMeans:
        """k-means on the embedding: restarts the first time, warm-started afterwards."""
        Z = z.cpu().numpy().astype(np.float64)
        if centres is None:
            seed = derive_seed(self.random_state, 2)
            return _SkKMeans(self.n_clusters, n_init=self.kmeans_n_init, random_state=seed).fit(Z)
        init = centres.cpu().numpy().astype(np.float64)
        return _SkKMeans(self.n_clusters, init=init, n_init=1).fit(Z)

    @torch.no_grad()
    def _update(self, data: torch.Tensor, tables: TensorState) -> float:
        """k-means, ``V`` and the greedy targets (step 2); returns the share of labels
        that changed since the last update (1.0 at the first)."""
        z = self._embed(data)
        first = int(tables["step"]) == 0
        km = self._kmeans(z, None if first else tables["centres"])
        labels = torch.as_tensor(km.labels_, dtype=torch.long, device=self.device_)
        centres = torch.as_tensor(km.cluster_centers_, dtype=z.dtype, device=self.device_)
        vals, rotation = scatter_rotation(within_cluster_scatter(z, labels, centres))
        change = 1.0 if first else float((labels != tables["labels"]).float().mean())
        tables["labels"].copy_(labels)
        tables["centres"].copy_(centres)
        tables["rotation"].copy_(rotation)
        tables["eigenvalues"].copy_(vals)
        tables["target"].copy_(greedy_targets(z, labels, centres, rotation))
        return change

    def _train(self, data: torch.Tensor, n_epochs: int) -> None:
        n, m = len(data), self.dims_[-1]
        opt = adam(self.autoencoder_.encoder.parameters(), lr=self.lr)
        tables = TensorState(
            labels=torch.zeros(n, dtype=torch.long, device=self.device_),
            centres=torch.zeros(self.n_clusters, m, device=self.device_),
            rotation=torch.eye(m, device=self.device_),
            eigenvalues=torch.zeros(m, device=self.device_),
            target=torch.zeros(n, m, device=self.device_),
            step=torch.zeros((), dtype=torch.long),
            change=torch.ones(()),
            stopped=torch.full((), -1, dtype=torch.long),
        )
        state = {"autoencoder": self.autoencoder_, "opt": opt, "tables": tables}
        loop = self._loop("dekm", n_epochs, state)
        every = int(self.update_interval)

        def epoch(_: int) -> dict[str, float]:
            total = 0.0
            step = int(tables["step"])  # a host counter, read once per epoch
            for idx in loop.batches(n, self.batch_size_, device=self.device_):
                if step % every == 0:
                    change = self._update(data, tables)
                    tables["change"].fill_(change)
                    if step > 0 and change < self.tol:
                        tables["stopped"].fill_(step)
                        loop.stop()
                        break
                loss = dekm_loss(
                    self.autoencoder_.encoder(data[idx]), tables["rotation"], tables["target"][idx]
                )
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                step += 1
                tables["step"].fill_(step)  # checkpointed with the epoch
                total += loss.detach() * len(idx)
            return {
                "loss": loop.mean(total),
                "label_change": float(tables["change"]),
                "kmeans_loss": float(tables["eigenvalues"].sum()) / n,
            }

        loop.run(epoch)
        stopped = int(tables["stopped"])
        self.stopped_step_ = stopped if stopped >= 0 else None
        self._final_kmeans(data, tables)

    @torch.no_grad()
    def _final_kmeans(self, data: torch.Tensor, tables: TensorState) -> None:
        """Step 4: the labels are a k-means of the final embedding (warm-started)."""
        if self.stopped_step_ is None:  # the last update predates the last steps
            self._update(data, tables)
        self.cluster_centers_ = tables["centres"].cpu().numpy()
        self.rotation_ = tables["rotation"].cpu().numpy()
        self.scatter_eigenvalues_ = tables["eigenvalues"].cpu().numpy()

    def _soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """Hard nearest-centre assignment as one-hot rows (k-means has no soft one)."""
        centres = torch.as_tensor(self.cluster_centers_, dtype=z.dtype, device=z.device)
        nearest = torch.cdist(z, centres).argmin(1)
        return torch.nn.functional.one_hot(nearest, self.n_clusters).to(z.dtype)
