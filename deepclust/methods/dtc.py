"""DTC: deep temporal clustering (Madiraju, Sadat, Fisher, Karimabadi; 2018).

A baseline of A-DATSC. DTC clusters sequences; here the sequences are the windows of a
climate cube's time steps (the ``[time, lat*lon*var]`` view, each step one vector of
``D`` features), and every step gets the assignment of the windows that hold it,
averaged:

* Temporal autoencoder (:class:`~deepclust.nn.dtc.TemporalAutoencoder`): 1-D
  convolution over time and max pooling, two bidirectional LSTMs to a latent sequence,
  up-sampling and deconvolution back; pretrained on the (masked) reconstruction MSE.
* Temporal clustering layer: centroids are latent sequences; ``q_ij`` is the Student-t
  kernel of a temporal distance between window ``i``'s latent sequence and centroid
  ``j`` (:mod:`~deepclust.objectives.temporal_distance`: Euclidean, complexity-invariant,
  correlation-based or autocorrelation-based).
* Initialisation: hierarchical clustering with complete linkage on the chosen distance
  between the pretrained latent sequences; centroids are the cluster means (the
  paper's).
* Joint training: ``L_rec + gamma KL(p || q)`` with DEC's sharpened target ``p``
  refreshed every ``update_interval`` epochs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.utils.validation import check_is_fitted

from ..base import DeepClusterer
from ..exceptions import ConfigError
from ..nn.dtc import TemporalAutoencoder, TemporalClusteringLayer
from ..objectives.assignment import kl_divergence, target_distribution
from ..objectives.temporal_distance import TEMPORAL_DISTANCES, temporal_distance
from ..precision import backward
from ..training import TensorState, adam
from ..validation import (
    StrOptions,
    non_negative_real,
    positive_int,
)
from ._climate import CUBE_CONSTRAINTS, ClimateCubeMixin, average_over_windows, masked_mse


class DTC(ClimateCubeMixin, DeepClusterer):
    """Deep temporal clustering of the windows of a climate cube; one label per step.

    Parameters
    ----------
    n_clusters : int
    window, stride : int, "auto"
        Steps per sequence (a multiple of ``pool``) and the step between starts
        (``"auto"``: half a window).
    scaling : {"minmax", "standardize", "none"}
        Per-column scaling over time.
    filters, kernel_size, pool, lstm_units, latent_channels : int
        The temporal autoencoder (the paper: 50 filters, kernel 10, pooling chosen per
        data set, BiLSTMs of 50 and 1 units).
    metric : {"eucl", "cid", "cor", "acf"}
        Temporal distance of the clustering layer (the paper compares all four).
    alpha : float
        Student-t degrees of freedom.
    pretrain_epochs, epochs, lr, batch_size : int, int, float, int
        Autoencoder pretraining, joint epochs, Adam rate, windows per batch.
    gamma : float
        Weight of ``KL(p || q)``.
    update_interval : int
        Epochs between refreshes of the target ``p``.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_ : ndarray (n_time,)
    proba_ : ndarray (n_time, K)
        ``q`` averaged over the windows holding each step.
    embedding_ : ndarray (n_time, latent_channels)
        The latent sequences' values at each step (pooled steps repeated), averaged
        over windows.
    centroids_ : ndarray (K, window / pool, latent_channels)
    history_ : list of dict
    """

    input_kind = "climate"
    who = "DTC"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **CUBE_CONSTRAINTS,
        "filters": [positive_int()],
        "kernel_size": [positive_int()],
        "pool": [positive_int()],
        "lstm_units": [positive_int()],
        "latent_channels": [positive_int()],
        "metric": [StrOptions(set(TEMPORAL_DISTANCES))],
        "gamma": [non_negative_real()],
    }

    def __init__(
        self,
        n_clusters: int = 7,
        *,
        window: int = 8,
        stride: Any = "auto",
        scaling: str = "minmax",
        filters: int = 50,
        kernel_size: int = 10,
        pool: int = 2,
        lstm_units: int = 50,
        latent_channels: int = 4,
        metric: str = "eucl",
        alpha: float = 1.0,
        pretrain_epochs: int = 30,
        epochs: int = 40,
        lr: float = 1e-3,
        batch_size: int = 8,
        gamma: float = 1.0,
        update_interval: int = 1,
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
        self.kernel_size = kernel_size
        self.pool = pool
        self.lstm_units = lstm_units
        self.latent_channels = latent_channels
        self.metric = metric
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.gamma = gamma
        self.update_interval = update_interval
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def fit(self, X: Any, y: Any = None, mask: Any = None) -> DTC:
        """Cluster the time steps of the cube ``X`` (time, lat, lon, variables).

        ``mask`` (lat, lon), optional: cells that enter the reconstruction loss; NaN
        entries never do.
        """
        if int(self.window) % int(self.pool) != 0:
            raise ConfigError(
                f"window={self.window} must be a multiple of pool={self.pool} (DTC pools "
                "the latent sequence by pool)"
            )
        self._fit_cube(X, mask)
        return self

    # -------------------------------------------------------------------- fit
    def _fit(self, cube: np.ndarray, weights: np.ndarray | None = None) -> None:
        self._set_windows(cube)
        self.n_features_ = int(np.prod(cube.shape[1:]))
        self._build_modules()
        data, weight = self._cube_tensors(cube, weights)
        flat, w_flat = self._flat_views(data, weight)
        steps = self._steps()
        self._pretrain(flat, w_flat, steps)
        self._init_centroids(flat, steps)
        self._train(flat, w_flat, steps)
        self._finish(flat, steps)

    def _build_modules(self) -> None:
        self.network_ = TemporalAutoencoder(
            self.n_features_, int(self.window), filters=self.filters,
            kernel_size=self.kernel_size, pool=self.pool, lstm_units=self.lstm_units,
            latent_channels=self.latent_channels,
        ).to(self.device_)  # fmt: skip
        self.cluster_layer_ = TemporalClusteringLayer(
            self.n_clusters, self.network_.latent_length, int(self.latent_channels),
            self.metric, float(self.alpha),
        ).to(self.device_)  # fmt: skip

    def _assign(self, z: torch.Tensor) -> torch.Tensor:
        return self.cluster_layer_(z)

    # ---------------------------------------------------------------- stages
    def _pretrain(self, flat: torch.Tensor, w: torch.Tensor, steps: torch.Tensor) -> None:
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        loop = self._loop("pretrain", int(self.pretrain_epochs), {"network": net, "opt": opt})

        def epoch(_: int) -> dict[str, float]:
            total = 0.0
            for idx in loop.batches(len(steps), int(self.batch_size), device=steps.device):
                s = steps[idx]
                loss = masked_mse(net(flat[s])[1], flat[s], w[s])
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(idx)
            return {"rec": total / len(steps)}

        loop.run(epoch)

    @torch.no_grad()
    def _latent(self, flat: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        self.network_.eval()
        z = self._over_windows(lambda x, _: self.network_.encode(x), flat, steps)
        self.network_.train()
        return z

    @torch.no_grad()
    def _init_centroids(self, flat: torch.Tensor, steps: torch.Tensor) -> None:
        """Complete-linkage hierarchical clustering on the temporal distance (the paper)."""
        z = self._latent(flat, steps)
        d = temporal_distance(z, z, self.metric).double().cpu().numpy()
        d = 0.5 * (d + d.T)
        np.fill_diagonal(d, 0.0)
        tree = linkage(squareform(d, checks=False), method="complete")
        groups = fcluster(tree, self.n_clusters, criterion="maxclust") - 1
        centroids = torch.stack([
            z[torch.as_tensor(groups == k, device=z.device)].mean(0)
            if (groups == k).any() else z[k % len(z)]
            for k in range(self.n_clusters)
        ])  # fmt: skip
        self.cluster_layer_.centroids.copy_(centroids)

    def _train(self, flat: torch.Tensor, w: torch.Tensor, steps: torch.Tensor) -> None:
        net = self.network_
        layer = self.cluster_layer_
        opt = adam([*net.parameters(), *layer.parameters()], lr=self.lr)
        tables = TensorState(
            target=torch.full((len(steps), self.n_clusters), 1.0 / self.n_clusters,
                              device=self.device_)
        )  # fmt: skip
        state = {"network": net, "cluster_layer": layer, "opt": opt, "tables": tables}
        loop = self._loop("dtc", int(self.epochs), state)

        def epoch(e: int) -> dict[str, float]:
            if e % int(self.update_interval) == 0:
                with torch.no_grad():
                    tables["target"].copy_(
                        target_distribution(self._assign(self._latent(flat, steps)))
                    )
            sums = {"loss": 0.0, "rec": 0.0, "kl": 0.0}
            for windows in loop.batches(len(steps), int(self.batch_size), device=steps.device):
                x = flat[steps[windows]]
                z, x_hat = net(x)
                rec = masked_mse(x_hat, x, w[steps[windows]])
                kl = kl_divergence(tables["target"][windows], self._assign(z), "batchmean")
                loss = rec + self.gamma * kl
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                for key, value in (("loss", loss), ("rec", rec), ("kl", kl)):
                    sums[key] += value.detach() * len(windows)
            return {key: value / len(steps) for key, value in sums.items()}

        loop.run(epoch)

    @torch.no_grad()
    def _finish(self, flat: torch.Tensor, steps: torch.Tensor) -> None:
        z = self._latent(flat, steps)
        q = self._assign(z)  # per window
        per_step = q[:, None, :].expand(-1, steps.shape[1], -1)
        self.proba_ = average_over_windows(per_step, steps, self.n_time_).cpu().numpy()
        z_steps = z.repeat_interleave(int(self.pool), dim=1)
        self.embedding_ = average_over_windows(z_steps, steps, self.n_time_).cpu().numpy()
        self.labels_ = self.proba_.argmax(1).astype(np.int64)
        self.centroids_ = self.cluster_layer_.centroids.detach().cpu().numpy()
        self.network_.eval()

    # ------------------------------------------------------------- inference
    def predict_proba(self, X: Any) -> np.ndarray:
        """``q`` of every time step of a cube on the fitted grid (windows averaged)."""
        check_is_fitted(self, "network_")
        data, steps, n = self._new_cube(X)
        flat, _ = self._flat_views(data, data)
        with torch.no_grad():
            q = self._assign(self._latent(flat, steps))
        per_step = q[:, None, :].expand(-1, steps.shape[1], -1)
        return average_over_windows(per_step, steps, n).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """``argmax q`` per time step of a cube on the fitted grid."""
        return self.predict_proba(X).argmax(1).astype(np.int64)


__all__ = ["DTC"]
