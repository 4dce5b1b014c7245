"""DSC: deep spatiotemporal clustering of climate cubes (Faruque, Nji, Wang et al., 2023).

A-DATSC's predecessor and baseline. It clusters the time steps of a cube
``(time, lat, lon, variables)``:

* Input: missing values filled after scaling (the mean of the real values, so the
  zero padding of the authors' code never enters the fill), every column of the
  ``[time, lat*lon*var]`` view min-max scaled; windows of ``window`` consecutive steps
  as in A-DATSC (:mod:`deepclust.methods._climate`).
* Network (:class:`~deepclust.nn.dsc.DSCNetwork`): per-frame ``tanh`` convolutions and
  pooling, an LSTM over the window, a dense sigmoid code ``z_t``, a mirrored decoder.
* Clustering: DEC's Student-t head on ``z_t``, centres from k-means, the loss
  ``L_rec + gamma KL(p || q)`` with the sharpened target ``p`` refreshed every
  ``update_interval`` epochs (the authors weigh the two 1:1).
* Labels: ``argmax q`` averaged over the windows holding each step.

Where the authors' code differs, and why we do not follow it (defaults; each is a
parameter): every day is its own length-1 sequence there, so the LSTM sees no time
(``window=1`` reproduces it; default 8, as A-DATSC); it starts k-means on the untrained
encoder (``pretrain_epochs=0`` reproduces it; default 30 reconstruction epochs, as
A-DATSC and DEC); it trains with SGD at lr 1e-7, which leaves the weights where they
started (default Adam 1e-3, as A-DATSC). The codes are centred and scaled to unit RMS
before the Student-t kernel, as in A-DATSC, because the kernel is not scale-free.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans
from sklearn.utils.validation import check_is_fitted

from ..base import DeepClusterer
from ..nn.dsc import DSCNetwork
from ..objectives.assignment import kl_divergence, target_distribution
from ..precision import backward
from ..training import TensorState, adam
from ..utils import derive_seed
from ..validation import (
    AUTO,
    non_negative_real,
    positive_int,
)
from ._climate import (
    CUBE_CONSTRAINTS,
    ClimateCubeMixin,
    auto_filters,
    average_over_windows,
    masked_mse,
)


class DSC(ClimateCubeMixin, DeepClusterer):
    """Deep spatiotemporal clustering (conv + LSTM autoencoder, DEC head); one label per step.

    Parameters
    ----------
    n_clusters : int
        Regimes (the authors: 7).
    window, stride : int, "auto"
        Steps per sequence and the step between sequence starts (``"auto"``: half a
        window). ``window=1``: every step alone, as the authors' code.
    scaling : {"minmax", "standardize", "none"}
        Per-column scaling over time (the authors: min-max).
    filters : "auto" or sequence of int
        Convolution widths per level (the authors: 64, 128, 256, 512; the first level
        has two convolutions); ``"auto"``: as A-DATSC's (8-16-32 up to 64 x 64 grids).
    lstm_hidden, latent_dim : int
        LSTM width (the authors: 512) and size of the sigmoid code (256).
    dropout : float
        Between the two LSTM layers (0.1).
    alpha : float
        Student-t degrees of freedom.
    pretrain_epochs, epochs : int
        Reconstruction pretraining and joint training epochs.
    lr, batch_size : float, int
        Adam learning rate and sequences per batch (the authors: batch 8).
    gamma : float
        Weight of ``KL(p || q)`` against the reconstruction (the authors: 1).
    update_interval : int
        Epochs between refreshes of the target ``p``.
    n_init : int
        k-means restarts for the centres (the authors: 30).
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_ : ndarray (n_time,)
    proba_ : ndarray (n_time, K)
        ``q`` averaged over the sequences holding each step.
    embedding_ : ndarray (n_time, latent_dim)
        ``z_t`` averaged likewise.
    history_ : list of dict
        Per-epoch reconstruction and KL.
    """

    input_kind = "climate"
    who = "DSC"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **CUBE_CONSTRAINTS,
        "filters": [AUTO, list, tuple],
        "lstm_hidden": [positive_int()],
        "latent_dim": [positive_int()],
        "dropout": [non_negative_real()],
        "gamma": [non_negative_real()],
        "n_init": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 7,
        *,
        window: int = 8,
        stride: Any = "auto",
        scaling: str = "minmax",
        filters: Any = "auto",
        lstm_hidden: int = 64,
        latent_dim: int = 16,
        dropout: float = 0.1,
        alpha: float = 1.0,
        pretrain_epochs: int = 30,
        epochs: int = 40,
        lr: float = 1e-3,
        batch_size: int = 8,
        gamma: float = 1.0,
        update_interval: int = 1,
        n_init: int = 20,
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
        self.window = window
        self.stride = stride
        self.scaling = scaling
        self.filters = filters
        self.lstm_hidden = lstm_hidden
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.gamma = gamma
        self.update_interval = update_interval
        self.n_init = n_init
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def fit(self, X: Any, y: Any = None, mask: Any = None) -> DSC:
        """Cluster the time steps of the cube ``X`` (time, lat, lon, variables).

        ``mask`` (lat, lon), optional: cells that enter the reconstruction loss; NaN
        entries of ``X`` never enter it either.
        """
        self._fit_cube(X, mask)
        return self

    def _fit(self, cube: np.ndarray, weights: np.ndarray | None = None) -> None:
        self._set_windows(cube)
        self.filters_ = (
            auto_filters(self.grid_shape_) if self.filters == "auto" else tuple(self.filters)
        )
        self._build_modules()
        data, weight = self._cube_tensors(cube, weights)
        steps = self._steps()
        self._pretrain(data, weight, steps)
        self._init_clusters(data, steps)
        self._train(data, weight, steps)
        self._finish(data, steps)

    def _build_modules(self) -> None:
        self.network_ = DSCNetwork(
            self.in_channels_,
            self.grid_shape_,
            self.n_clusters,
            filters=self.filters_,
            lstm_hidden=self.lstm_hidden,
            latent_dim=self.latent_dim,
            dropout=self.dropout,
            alpha=self.alpha,
        ).to(self.device_)

    # ---------------------------------------------------------------- stages
    def _pretrain(self, data: torch.Tensor, weight: torch.Tensor, steps: torch.Tensor) -> None:
        """Reconstruction only, so that k-means starts from a trained encoder."""
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        loop = self._loop("pretrain", int(self.pretrain_epochs), {"network": net, "opt": opt})

        def epoch(_: int) -> dict[str, float]:
            total = 0.0
            for idx in loop.batches(len(steps), int(self.batch_size), device=steps.device):
                s = steps[idx]
                x = data[s]
                loss = masked_mse(net.decode(net.embed(x)), x, weight[s])
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(idx)
            return {"rec": total / len(steps)}

        loop.run(epoch)

    @torch.no_grad()
    def _codes(self, data: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """``z`` of every window ``(W, T, D)`` in eval mode."""
        self.network_.eval()
        z = self._over_windows(lambda x, _: self.network_.embed(x), data, steps)
        self.network_.train()
        return z

    def _init_clusters(self, data: torch.Tensor, steps: torch.Tensor) -> None:
        """Centres from k-means on the (scaled) per-step codes."""
        z = average_over_windows(self._codes(data, steps), steps, self.n_time_)
        self.network_.set_latent_scale(z)
        km = _SkKMeans(
            self.n_clusters, n_init=self.n_init, random_state=derive_seed(self.random_state, 2)
        ).fit(self.network_.scaled(z).cpu().numpy())
        with torch.no_grad():
            self.network_.centers.copy_(torch.as_tensor(km.cluster_centers_, dtype=torch.float32))

    def _step_proba(self, data: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """``q`` per time step, averaged over the windows (eval mode)."""
        with torch.no_grad():
            q = self.network_.assign(self._codes(data, steps))
        return average_over_windows(q, steps, self.n_time_)

    def _train(self, data: torch.Tensor, weight: torch.Tensor, steps: torch.Tensor) -> None:
        """``L_rec + gamma KL(p || q)`` with ``p`` refreshed every ``update_interval``."""
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        k = self.n_clusters
        tables = TensorState(target=torch.full((self.n_time_, k), 1.0 / k, device=self.device_))
        loop = self._loop("dsc", int(self.epochs), {"network": net, "opt": opt, "tables": tables})

        def epoch(e: int) -> dict[str, float]:
            if e % int(self.update_interval) == 0:
                tables["target"].copy_(target_distribution(self._step_proba(data, steps)))
            sums = {"loss": 0.0, "rec": 0.0, "kl": 0.0}
            for idx in loop.batches(len(steps), int(self.batch_size), device=steps.device):
                s = steps[idx]
                out = net(data[s])
                rec = masked_mse(out["x_hat"], data[s], weight[s])
                q = out["q"].reshape(-1, k)
                kl = kl_divergence(tables["target"][s].reshape(-1, k), q, "batchmean")
                loss = rec + self.gamma * kl
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                for key, value in (("loss", loss), ("rec", rec), ("kl", kl)):
                    sums[key] += value.detach() * len(idx)
            return {key: value / len(steps) for key, value in sums.items()}

        loop.run(epoch)

    def _finish(self, data: torch.Tensor, steps: torch.Tensor) -> None:
        z = self._codes(data, steps)
        with torch.no_grad():
            q = self.network_.assign(z)
        self.proba_ = average_over_windows(q, steps, self.n_time_).cpu().numpy()
        self.embedding_ = average_over_windows(z, steps, self.n_time_).cpu().numpy()
        self.labels_ = self.proba_.argmax(1).astype(np.int64)
        self.network_.eval()

    # ------------------------------------------------------------- inference
    @torch.no_grad()
    def _new_codes(self, X: Any) -> tuple[torch.Tensor, torch.Tensor, int]:
        check_is_fitted(self, "network_")
        data, steps, n = self._new_cube(X)
        self.network_.eval()
        return self._over_windows(lambda x, _: self.network_.embed(x), data, steps), steps, n

    def predict_proba(self, X: Any) -> np.ndarray:
        """``q`` of every time step of a cube on the fitted grid (windows averaged)."""
        z, steps, n = self._new_codes(X)
        with torch.no_grad():
            q = self.network_.assign(z)
        return average_over_windows(q, steps, n).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """``argmax q`` per time step of a cube on the fitted grid."""
        return self.predict_proba(X).argmax(1).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """``z_t`` of every time step of a cube on the fitted grid (windows averaged)."""
        z, steps, n = self._new_codes(X)
        return average_over_windows(z, steps, n).cpu().numpy()


__all__ = ["DSC"]
