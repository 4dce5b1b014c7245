"""DEC (Xie et al., ICML 2016) and IDEC (Guo et al., IJCAI 2017).

DEC: pretrain a stacked autoencoder, keep its encoder, initialise cluster centres by
k-means on the embedding, then minimise ``KL(P || Q)`` between the Student-t soft
assignments ``Q`` (eq. 1) and the sharpened targets ``P`` (eq. 3), recomputed from all
data every ``update_interval`` steps. Training stops when fewer than ``tol`` of the
samples change cluster between two target updates (a label-free criterion).

IDEC keeps the decoder and adds the reconstruction loss, ``L = L_r + gamma * L_c``, so
that clustering does not distort the embedding's local structure.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans
from torch import nn

from ..base import DeepClusterer
from ..diagnostics import assignment_report
from ..exceptions import ConfigError
from ..nn.autoencoders import MLPAutoencoder, auto_batch_size
from ..objectives.assignment import kl_divergence, student_t_assignment, target_distribution
from ..objectives.reconstruction import reconstruction_loss
from ..precision import backward
from ..pretraining import ClustersTheEmbedding, UsesAutoencoder, auto_epochs
from ..training import TensorState, adam
from ..utils import derive_seed
from ..validation import (
    AUTO,
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    non_negative_real,
    positive_int,
    positive_real,
    unit_interval,
)


class ClusteringLayer(nn.Module):
    """Learnable cluster centres with Student-t soft assignment (DEC eq. 1)."""

    def __init__(self, n_clusters: int, latent_dim: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.centers = nn.Parameter(torch.zeros(n_clusters, latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return student_t_assignment(z, self.centers, self.alpha)


class DEC(UsesAutoencoder, ClustersTheEmbedding, DeepClusterer):
    """Deep embedded clustering.

    Parameters
    ----------
    n_clusters : int
    alpha : float
        Degrees of freedom of the Student-t kernel (1 in DEC).
    hidden_dims, latent_dim, pretrained, ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        Autoencoder (see :class:`~deepclust.pretraining.Autoencoder`).
    input_scaling : {"auto", "max", "standardize", "none"}
        How the input is brought to unit scale before training (and again in
        ``predict``/``transform``); see :mod:`deepclust.scaling`. ``"auto"``: [0, 1] data
        as given, other non-negative data divided by their maximum, signed data beyond
        +-10 standardised per feature.
    epochs : int or "auto"
        Upper bound on clustering epochs; training usually stops earlier on ``tol``.
    optimizer : {"sgd", "adam"}
        DEC uses SGD with momentum, IDEC Adam.
    lr, momentum
    batch_size : int or "auto"
        ``"auto"``: 256 (the papers') from 2,048 samples, 8 steps per epoch below.
    update_interval : int or "auto"
        Steps between target updates (DEC/IDEC: 140 on MNIST with batch 256);
        ``"auto"``: about once per epoch for small data, 140 steps otherwise.
    tol : float
        Stop when less than this fraction of labels changes between target updates.
    n_init : int
        k-means restarts for the centre initialisation.
    collapse_retries : int
        A result whose assignment collapsed (empty clusters, or one cluster over 90 % of
        the samples; label-free) is trained again from the same pretrained autoencoder
        with centres from another k-means seed, up to this many times; the least
        degenerate result is kept. ``run_collapsed_`` records every attempt.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, embedding_, cluster_centers_, history_
    """

    #: KL to the fixed target rows and reconstruction are per-sample means; the target
    #: is recomputed on the whole data set on every rank
    _data_parallel_batches = True

    _recon_weight_default = 0.0

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "alpha": [positive_real()],
        "epochs": [AUTO, non_negative_int()],
        "optimizer": [StrOptions({"sgd", "adam"})],
        "lr": [positive_real()],
        "momentum": [unit_interval(closed="left")],
        "batch_size": [AUTO, positive_int()],
        "update_interval": [AUTO, positive_int()],
        "tol": [non_negative_real()],
        "n_init": [positive_int()],
        "collapse_retries": [non_negative_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        alpha: float = 1.0,
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        epochs: Any = "auto",
        optimizer: str = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        batch_size: int | str = "auto",
        update_interval: Any = "auto",
        tol: float = 1e-3,
        n_init: int = 20,
        collapse_retries: int = 2,
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
        self.alpha = alpha
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.epochs = epochs
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.batch_size = batch_size
        self.update_interval = update_interval
        self.tol = tol
        self.n_init = n_init
        self.collapse_retries = collapse_retries
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------------ set-up
    @property
    def _recon_weight(self) -> float:
        return self._recon_weight_default

    def _build_modules(self) -> None:
        self.autoencoder_ = MLPAutoencoder(self.dims_, self.output_).to(self.device_)
        self.clustering_ = ClusteringLayer(self.n_clusters, self.dims_[-1], self.alpha).to(
            self.device_
        )

    def _make_optimizer(self, params: list) -> torch.optim.Optimizer:
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        if self.optimizer == "adam":
            return adam(params, lr=self.lr)
        raise ConfigError(f"optimizer={self.optimizer!r}; expected 'sgd' or 'adam'")

    def _steps_between_updates(self, n: int) -> int:
        if self.update_interval == "auto":
            return min(140, max(1, int(np.ceil(n / self.batch_size_))))
        if not isinstance(self.update_interval, (int, np.integer)) or self.update_interval < 1:
            raise ConfigError(
                f"update_interval={self.update_interval!r} must be a positive integer or 'auto'"
            )
        return int(self.update_interval)

    # --------------------------------------------------------------------- fit
    def _fit(self, X: np.ndarray) -> None:
        bs = self.batch_size
        self.batch_size_ = auto_batch_size(len(X)) if bs == "auto" else int(bs)
        ae = self._pretrained_autoencoder(X)
        self.dims_, self.output_, self.loss_ = ae.network_.dims, ae.output_, ae.loss_
        self._build_modules()
        pretrained = {k: v.clone() for k, v in ae.network_.state_dict().items()}
        data = self._as_tensor(X)
        n_epochs = self.epochs
        if n_epochs == "auto":
            n_epochs = auto_epochs(len(data), self.batch_size_, 20000, 10, 200)
        self.run_collapsed_: list[bool] = []
        best: tuple[tuple[int, float], dict[str, Any]] | None = None
        for attempt in range(int(self.collapse_retries) + 1):
            self._fit_clustering(data, pretrained, int(n_epochs), attempt)
            report = assignment_report(self.labels_, self.n_clusters)
            self.run_collapsed_.append(report["collapsed"])
            # least degenerate first: fewer empty clusters, then a smaller largest cluster
            rank = (-report["n_clusters_found"], report["largest_cluster_share"])
            if best is None or rank < best[0]:
                best = (rank, self._attempt_state())
            if not report["collapsed"]:
                break
        self._restore_attempt(best[1])

    def _fit_clustering(
        self, data: torch.Tensor, pretrained: dict[str, torch.Tensor], n_epochs: int, attempt: int
    ) -> None:
        """Centres from k-means on the pretrained embedding, then DEC's training (§3.1-3.2)."""
        self.autoencoder_.load_state_dict(pretrained)
        z = self._embed(data)
        km = _SkKMeans(
            self.n_clusters,
            n_init=self.n_init,
            random_state=derive_seed(self.random_state, 2 + 7919 * attempt),
        ).fit(z.cpu().numpy())
        with torch.no_grad():
            self.clustering_.centers.copy_(torch.as_tensor(km.cluster_centers_))
        self._train(
            data, n_epochs, stage=self._stage if attempt == 0 else f"{self._stage}_retry{attempt}"
        )
        self._finish(data)

    def _attempt_state(self) -> dict[str, Any]:
        return {
            "autoencoder": {k: v.clone() for k, v in self.autoencoder_.state_dict().items()},
            "clustering": {k: v.clone() for k, v in self.clustering_.state_dict().items()},
            "labels_": self.labels_,
            "embedding_": self.embedding_,
            "cluster_centers_": self.cluster_centers_,
        }

    def _restore_attempt(self, state: dict[str, Any]) -> None:
        self.autoencoder_.load_state_dict(state["autoencoder"])
        self.clustering_.load_state_dict(state["clustering"])
        self.labels_, self.embedding_ = state["labels_"], state["embedding_"]
        self.cluster_centers_ = state["cluster_centers_"]
        self.autoencoder_.eval()

    def _soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        return self.clustering_(z)

    def _train(self, data: torch.Tensor, n_epochs: int, stage: str | None = None) -> None:
        n = len(data)
        recon_w = self._recon_weight
        params = list(self.autoencoder_.encoder.parameters()) + list(self.clustering_.parameters())
        if recon_w > 0:
            params += list(self.autoencoder_.decoder.parameters())
        opt = self._make_optimizer(params)
        every = self._steps_between_updates(n)
        tables = TensorState(
            target=torch.zeros(n, self.n_clusters, device=self.device_),
            last_labels=torch.full((n,), -1, dtype=torch.long, device=self.device_),
            step=torch.zeros((), dtype=torch.long),
            delta=torch.ones(()),
        )
        state = {
            "autoencoder": self.autoencoder_,
            "clustering": self.clustering_,
            "opt": opt,
            "tables": tables,
        }
        loop = self._loop(stage or self._stage, n_epochs, state)

        @torch.no_grad()
        def update_target() -> float:
            q = self.clustering_(self._embed(data))
            labels = q.argmax(1)
            last = tables["last_labels"]
            delta = float((labels != last).float().mean()) if bool((last >= 0).all()) else 1.0
            tables["target"].copy_(target_distribution(q))
            last.copy_(labels)
            return delta

        def epoch(_: int) -> dict[str, float]:
            tot_c = tot_r = 0.0
            step = int(tables["step"])  # a host counter, read once per epoch
            for idx in loop.batches(n, self.batch_size_, device=self.device_):
                if step % every == 0:
                    delta = update_target()
                    tables["delta"].fill_(delta)
                    if step > 0 and delta < self.tol:
                        loop.stop()  # DEC's convergence test: few labels change
                        break
                x = data[idx]
                z = self.autoencoder_.encoder(x)
                loss_c = kl_divergence(tables["target"][idx], self.clustering_(z), "batchmean")
                loss = loss_c
                if recon_w > 0:
                    x_hat = self.autoencoder_.decoder(z)
                    loss_r = reconstruction_loss(x_hat, x, self.loss_)
                    loss = loss_r + recon_w * loss_c
                    tot_r += loss_r.detach() * len(idx)
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                step += 1
                tables["step"].fill_(step)  # checkpointed with the epoch
                tot_c += loss_c.detach() * len(idx)
            out = {"kl": loop.mean(tot_c), "label_change": float(tables["delta"])}
            if recon_w > 0:
                out["recon"] = loop.mean(tot_r)
            return out

        loop.run(epoch)

    @property
    def _stage(self) -> str:
        return type(self).__name__.lower()

    def _finish(self, data: torch.Tensor) -> None:
        super()._finish(data)
        self.cluster_centers_ = self.clustering_.centers.detach().cpu().numpy()


class IDEC(DEC):
    """Improved DEC: ``L = L_r + gamma L_c`` keeps the decoder (local structure).

    Parameters are those of :class:`DEC` plus ``gamma`` (weight of the clustering loss,
    0.1 in IDEC), with IDEC's defaults: Adam, lr 1e-3.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"gamma": [positive_real()]}

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        gamma: float = 0.1,
        alpha: float = 1.0,
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        epochs: Any = "auto",
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        batch_size: int | str = "auto",
        update_interval: Any = "auto",
        tol: float = 1e-3,
        n_init: int = 20,
        collapse_retries: int = 2,
        device: str = "auto",
        precision: str = "fp32",
        compile_networks: bool = False,
        random_state: int | None = None,
        verbose: bool = False,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 10,
        resume: bool = False,
    ) -> None:
        super().__init__(
            n_clusters,
            alpha=alpha,
            hidden_dims=hidden_dims,
            latent_dim=latent_dim,
            pretrained=pretrained,
            input_scaling=input_scaling,
            ae_layerwise_epochs=ae_layerwise_epochs,
            ae_finetune_epochs=ae_finetune_epochs,
            ae_lr=ae_lr,
            epochs=epochs,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            update_interval=update_interval,
            tol=tol,
            n_init=n_init,
            collapse_retries=collapse_retries,
            device=device,
            precision=precision,
            compile_networks=compile_networks,
            random_state=random_state,
            verbose=verbose,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every,
            resume=resume,
        )
        self.gamma = gamma

    @property
    def _recon_weight(self) -> float:
        if not self.gamma > 0:
            raise ConfigError(f"gamma={self.gamma} must be > 0 (weight of the clustering loss)")
        return float(self.gamma)
