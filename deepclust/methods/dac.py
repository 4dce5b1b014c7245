"""DAC: deep adaptive image clustering (Chang, Wang, Meng, Xiang, Pan; ICCV 2017).

A baseline of GATCluster. Label features are softmax outputs normalised to the unit
sphere (eq. 2's constraint); the cosine similarity of two images' features says how
likely they share a cluster. Each step selects, within the batch, the pairs that are
confidently similar (above ``u(lambda)``) or dissimilar (below ``l(lambda)``) and fits
them with a binary cross entropy (eqs. 4-8,
:func:`~deepclust.objectives.pairwise_clustering.dac_loss`); ``lambda`` grows by
``lambda_step`` every epoch, so more pairs are used, and training stops when
``u(lambda) <= l(lambda)`` (or after ``epochs``). As in the authors' code, the pairs are
chosen on the network's label features of the un-transformed images (no gradient) and
the cross entropy is fitted on a transformed copy of the batch (GATCluster's ``T``;
the authors' own augmentation is milder: rotation 10, shift 0.1, zoom 0.95-1.05).
Choosing the pairs on the transformed copy itself made the clusters follow the random
transformation: on the digits the "similar" pairs shared a digit at chance rate (0.10-0.14)
and ACC stayed at 0.2 (session 9 diagnosis). Labels: ``argmax``. The image feature
module is GATCluster's.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.gatcluster import ImageFeatures
from ..objectives.pairwise_clustering import dac_loss, dac_thresholds
from ..precision import backward
from ..training import GlobalRNGState, adam, index_device
from ..validation import AUTO, N_CLUSTERS, positive_int, positive_real
from ._augmented_images import AugmentedImageClusterer


class DACNetwork(nn.Module):
    """Image features, a two-layer head to ``k`` softmax outputs, L2-normalised."""

    def __init__(self, in_channels: int, size: tuple[int, int], k: int, feature_dim: int,
                 widths: tuple[int, ...]) -> None:  # fmt: skip
        super().__init__()
        self.features = ImageFeatures(in_channels, size, feature_dim, widths)
        # batch norm on the logits (DAC's layers are all BN + ReLU): a fresh network's
        # softmax outputs are otherwise nearly uniform, every pair's cosine is above
        # u(0) = 0.95, every pair is "similar" and the first steps collapse all images
        # into one cluster (measured on a 3-shape toy set)
        self.head = nn.Sequential(nn.Linear(feature_dim, k), nn.BatchNorm1d(k), nn.ReLU(),
                                  nn.Linear(k, k), nn.BatchNorm1d(k))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(self.head(self.features(x).mean(dim=(2, 3))), dim=1)
        return F.normalize(p, dim=1)


class DAC(AugmentedImageClusterer):
    """Deep adaptive clustering by pairwise classification with adaptive thresholds.

    Parameters
    ----------
    n_clusters : int
    image_shape, grey, flip
        As :class:`~deepclust.methods.gatcluster.GATCluster`.
    upper, lower, lambda_step : float
        ``u(lambda) = upper - lambda``, ``l(lambda) = lower + 0.1 lambda`` (0.95, 0.455)
        and the growth of ``lambda`` per epoch (1.1 x 0.009).
    feature_dim, widths
        The image feature module (GATCluster's).
    epochs, batch_size, lr
        At most ``epochs`` epochs (training also stops when the thresholds cross).
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume

    Attributes
    ----------
    labels_, proba_ (unit label features), embedding_, history_ (loss, share of pairs
    selected, thresholds)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "image_shape": [tuple, list, None],
        "grey": [AUTO, "boolean"],
        "flip": [AUTO, "boolean"],
        "upper": [positive_real()],
        "lower": [positive_real()],
        "lambda_step": [positive_real()],
        "feature_dim": [positive_int()],
        "widths": [tuple, list],
        "epochs": [positive_int()],
        "batch_size": [positive_int()],
        "lr": [positive_real()],
    }

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        image_shape: tuple[int, ...] | None = None,
        grey: Any = "auto",
        flip: Any = "auto",
        upper: float = 0.95,
        lower: float = 0.455,
        lambda_step: float = 1.1 * 0.009,
        feature_dim: int = 32,
        widths: tuple[int, ...] = (64, 128, 256),
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 1e-3,
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
        self.image_shape = image_shape
        self.grey = grey
        self.flip = flip
        self.upper = upper
        self.lower = lower
        self.lambda_step = lambda_step
        self.feature_dim = feature_dim
        self.widths = widths
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        self.network_ = DACNetwork(
            self.in_channels_, tuple(self.input_shape_[1:]), self.n_clusters,
            int(self.feature_dim), tuple(self.widths),
        ).to(self.device_)  # fmt: skip
        self._build_augment()

    def _label_features_of(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_(x)

    def _n_epochs(self) -> int:
        """Epochs until ``u(lambda) <= l(lambda)``, at most ``epochs``."""
        for e in range(int(self.epochs)):
            u, low = dac_thresholds(e * self.lambda_step, self.upper, self.lower)
            if u <= low:
                return max(1, e)
        return int(self.epochs)

    def _train(self, data: torch.Tensor) -> None:
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        loop = self._loop("dac", self._n_epochs(), {"network": net, "opt": opt,
                                                   "rng": GlobalRNGState()})  # fmt: skip
        bs = int(min(self.batch_size, len(data)))

        def epoch(e: int) -> dict[str, float]:
            u, low = dac_thresholds(e * self.lambda_step, self.upper, self.lower)
            total = share = 0.0
            steps = 0
            drop = len(data) >= 2 * bs
            for idx in loop.batches(len(data), bs, drop_last=drop, device=index_device(data)):
                x = data[idx]
                with torch.no_grad():
                    clean = net(self._prepared(x))
                loss, chosen = dac_loss(net(self._transformed(x)), u, low, select=clean)
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                # summed on the device, read once per epoch
                total, share = total + loss.detach().float(), share + chosen
                steps += 1
            n = max(1, steps)
            return {"loss": total / n, "selected": share / n, "upper": u, "lower": low}

        loop.run(epoch)


__all__ = ["DAC", "DACNetwork"]
