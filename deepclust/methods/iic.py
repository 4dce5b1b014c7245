"""IIC: invariant information clustering (Ji, Henriques, Vedaldi; ICCV 2019).

A baseline of GATCluster. Every image and its transformed copy go through one network
with two sets of softmax heads: ``n_heads`` main heads with ``k`` outputs and
``n_heads`` over-clustering heads with ``overcluster * k`` outputs; each head maximises
the mutual information between the two assignments (eq. 3,
:func:`~deepclust.objectives.pairwise_clustering.iic_loss`). Epochs alternate between the
over-clustering heads and the main heads (the over-clustering heads shape the shared
features). Labels: the main head with the lowest loss in the last epoch (a label-free
choice; IIC's own rule), ``argmax``. The image feature module is GATCluster's, so that
the comparison is between the objectives; as in IIC's own network the heads read the
whole flattened feature map (not a pooled vector): a head on a pooled 32-dimensional
vector starts with nearly uniform outputs whose logits Adam at IIC's learning rate
grows by about 1e-3 per step, and the mutual information stayed near 0.1 nats after
140 steps on the digits (session 9 diagnosis).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ..nn.gatcluster import ImageFeatures
from ..objectives.pairwise_clustering import iic_loss
from ..precision import backward
from ..training import GlobalRNGState, adam, index_device
from ..validation import AUTO, N_CLUSTERS, positive_int, positive_real
from ._augmented_images import AugmentedImageClusterer


class IICNetwork(nn.Module):
    """Shared features, then linear softmax heads (main and over-clustering) on the
    flattened feature map."""

    def __init__(self, in_channels: int, size: tuple[int, int], k: int, over_k: int,
                 n_heads: int, feature_dim: int, widths: tuple[int, ...]) -> None:  # fmt: skip
        super().__init__()
        self.features = ImageFeatures(in_channels, size, feature_dim, widths)
        with torch.no_grad():
            flat = self.features.eval()(torch.zeros(1, in_channels, *size)).numel()
        self.features.train()
        self.main = nn.ModuleList(nn.Linear(flat, k) for _ in range(n_heads))
        self.over = nn.ModuleList(nn.Linear(flat, over_k) for _ in range(n_heads))

    def forward(self, x: torch.Tensor, which: str) -> list[torch.Tensor]:
        f = self.features(x).flatten(1)
        heads = self.main if which == "main" else self.over
        return [torch.softmax(h(f), dim=1) for h in heads]


class IIC(AugmentedImageClusterer):
    """Invariant information clustering with over-clustering heads.

    Parameters
    ----------
    n_clusters : int
    image_shape, grey, flip
        As :class:`~deepclust.methods.gatcluster.GATCluster`.
    n_heads : int
        Sub-heads per set (the paper: 5).
    overcluster : int
        Over-clustering factor of the second set (the paper's MNIST/STL: 5 to 7x k).
    feature_dim : int or "auto"
        Channels of the feature map the heads read; ``"auto"``: the last block's width
        (IIC's heads read the trunk's last convolutional features).
    widths
        The image feature module's block widths (GATCluster's).
    epochs, batch_size, lr
        Adam training; epochs alternate over-clustering / main heads.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume

    Attributes
    ----------
    labels_, proba_, embedding_, best_head_ (the main head used), history_
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "image_shape": [tuple, list, None],
        "grey": [AUTO, "boolean"],
        "flip": [AUTO, "boolean"],
        "n_heads": [positive_int()],
        "overcluster": [positive_int()],
        "feature_dim": [AUTO, positive_int()],
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
        n_heads: int = 5,
        overcluster: int = 5,
        feature_dim: Any = "auto",
        widths: tuple[int, ...] = (64, 128, 256),
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-4,
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
        self.n_heads = n_heads
        self.overcluster = overcluster
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

    def _resolve(self, n: int) -> None:
        self._resolve_images()
        self.best_head_ = 0

    def _build_modules(self) -> None:
        k = self.n_clusters
        self.network_ = IICNetwork(
            self.in_channels_, tuple(self.input_shape_[1:]), k, int(self.overcluster) * k,
            int(self.n_heads), self._feature_channels(), tuple(self.widths),
        ).to(self.device_)  # fmt: skip
        self._build_augment()

    def _feature_channels(self) -> int:
        return int(self.widths[-1]) if self.feature_dim == "auto" else int(self.feature_dim)

    def _label_features_of(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_(x, "main")[int(self.best_head_)]

    def _train(self, data: torch.Tensor) -> None:
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        loop = self._loop("iic", int(self.epochs), {"network": net, "opt": opt,
                                                    "rng": GlobalRNGState()})  # fmt: skip
        bs = int(min(self.batch_size, len(data)))

        def epoch(e: int) -> dict[str, float]:
            # alternate, ending on the main heads (the last epoch picks the head)
            which = "main" if (int(self.epochs) - 1 - e) % 2 == 0 else "over"
            per_head = torch.zeros(int(self.n_heads), device=self.device_)
            steps = 0
            drop = len(data) >= 2 * bs
            for idx in loop.batches(len(data), bs, drop_last=drop, device=index_device(data)):
                x = data[idx]
                p, p_t = net(self._prepared(x), which), net(self._transformed(x), which)
                losses = torch.stack([iic_loss(a, b) for a, b in zip(p, p_t, strict=True)])
                opt.zero_grad(set_to_none=True)
                backward(losses.sum())
                opt.step()
                per_head += losses.detach().float()  # on the device: read once per epoch
                steps += 1
            per_head = (per_head / max(1, steps)).cpu()
            if which == "main":
                self.best_head_ = int(per_head.argmin())
            out = {f"{which}_head{h}": float(v) for h, v in enumerate(per_head)}
            return {**out, "loss": float(per_head.mean()), "main_heads": float(which == "main")}

        loop.run(epoch)


__all__ = ["IIC", "IICNetwork"]
