"""GATCluster: self-supervised Gaussian-attention network for image clustering
(Niu, Zhang, Wang, Cao, Huang; ECCV 2020).

The paper, top-down, and where each part lives:

* Network (§3.2, :class:`~deepclust.nn.gatcluster.GATClusterNetwork`): image feature
  module, label feature module (softmax ``l``), Gaussian attention module (eq. 9) with
  its own label features ``l^a``.
* Self-learning tasks (§3.3, :mod:`deepclust.objectives.gatcluster`): transformation
  invariance (eqs. 4-5), separability maximisation with relation targets from k-means
  on the label features of the large batch (eqs. 6-7), entropy (eq. 8) on both heads,
  attention mapping (eqs. 10-11); total eq. (3).
* Two-step learning (Algorithm 1): for every outer batch of ``M`` images, step one
  computes the pseudo-targets over all ``M`` in eval mode, in sub-batches of
  ``target_batch`` (memory does not grow with ``M``); step two transforms the ``M``
  images once (:func:`~deepclust.nn.augment.gatcluster_augmentation`) and trains on
  random sub-batches of ``batch_size`` for ``passes`` passes.
* Data parallelism (``torchrun``): every rank runs the same fit; step one's label
  features are computed on each rank's share of the outer batch and gathered, so the
  targets are the one-process targets; in step two each rank forwards its share of a
  sub-batch, the label features are gathered with their gradients and the gradients
  averaged (:class:`~deepclust.distributed.DataParallel`).
* Labels (Algorithm 1, lines 22-25): ``argmax_h l_ih`` of the label feature module;
  the attention module is not used at inference.

Model selection: the final model is kept (the authors' code keeps the checkpoint with
the best ground-truth accuracy, which no user has; labels never choose anything here).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..distributed import DataParallel, gather_rows, is_distributed, rank_shard
from ..exceptions import DataError
from ..nn.gatcluster import COVARIANCES, GATClusterNetwork
from ..objectives.gatcluster import (
    balanced_target,
    gatcluster_objective,
    relation_labels,
    relation_targets,
    sharpened_target,
)
from ..precision import backward
from ..training import GlobalRNGState, adam, index_device
from ..utils import derive_seed
from ..validation import (
    AUTO,
    N_CLUSTERS,
    StrOptions,
    non_negative_real,
    positive_int,
    positive_real,
)
from ._augmented_images import AugmentedImageClusterer


class GATCluster(DataParallel, AugmentedImageClusterer):
    """Gaussian-attention image clustering trained by the two-step large-batch algorithm.

    Parameters
    ----------
    n_clusters : int
    image_shape : tuple (C, H, W) or None
        Shape of one image when ``X`` holds images as rows; 4-D ``X`` needs none.
    grey : {"auto", True, False}
        Train on grey images (colour jitter first, then the conversion; the paper's
        default except for ImageNet-Dogs). ``"auto"``: True.
    flip : {"auto", True, False}
        Random horizontal flips in ``T``. ``"auto"``: on, except for grey images of at
        most 32 x 32 pixels (digits and characters, which a flip turns into other
        symbols).
    feature_dim : int
        Channels of the image features.
    widths : tuple of int
        Channels of the three convolution blocks (64, 128, 256).
    attention, relation : bool
        The attention module and the separability task (Table 2's ablations).
    covariance : {"isotropic", "diagonal", "full"}
        ``Sigma`` of eq. (9) (the paper's implementation: isotropic).
    kernel_alpha : float
        ``alpha`` of eq. (9) (0.05).
    map_size : int or None
        Side of the attention map (Table 4); None: the feature grid.
    alpha1, alpha2, alpha3 : float
        Weights of eq. (3) (paper: 5, 5, 3; the authors' code: 5, 3, 5 with the
        relation term at 1, bundled as ``gatcluster_authors``).
    outer_batch : int or "auto"
        ``M``, the most images per outer batch (the paper: 1000 for STL-10, 4000 for
        CIFAR-10); ``"auto"``: 1000. Each epoch splits a fresh permutation of the data
        evenly into ``ceil(n / M)`` outer batches, so no image is left out (Algorithm 1's
        ``floor(N / M)`` batches of ``M`` would skip 797 of 1,797 images every epoch).
    target_batch, batch_size : int
        ``m1`` (step one, only memory) and ``m2`` (step two; the paper's 32).
    passes : int
        Passes of step two over each outer batch's transformed images (the authors'
        code: 8; Algorithm 1 prints one). On a 3-shape toy set, 10 epochs reach ACC 0.91
        with 8 passes and 0.46 with one (the steps, not the passes, are what count).
    epochs : int
        Passes of Algorithm 1 over the data.
    lr : float
        Adam learning rate (1e-3).
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, proba_ (the label features ``l``), embedding_ (= ``proba_``)
    history_ : list of dict
        Mean terms of eq. (3) per epoch.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "image_shape": [tuple, list, None],
        "grey": [AUTO, "boolean"],
        "flip": [AUTO, "boolean"],
        "feature_dim": [positive_int()],
        "widths": [tuple, list],
        "attention": ["boolean"],
        "relation": ["boolean"],
        "covariance": [StrOptions(set(COVARIANCES))],
        "kernel_alpha": [positive_real()],
        "map_size": [positive_int(), None],
        "alpha1": [non_negative_real()],
        "alpha2": [non_negative_real()],
        "alpha3": [non_negative_real()],
        "weight_relation": [non_negative_real()],
        "outer_batch": [AUTO, positive_int()],
        "target_batch": [positive_int()],
        "batch_size": [positive_int()],
        "passes": [positive_int()],
        "epochs": [positive_int()],
        "lr": [positive_real()],
    }

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        image_shape: tuple[int, ...] | None = None,
        grey: Any = "auto",
        flip: Any = "auto",
        feature_dim: int = 32,
        widths: tuple[int, ...] = (64, 128, 256),
        attention: bool = True,
        relation: bool = True,
        covariance: str = "isotropic",
        kernel_alpha: float = 0.05,
        map_size: int | None = None,
        alpha1: float = 5.0,
        alpha2: float = 5.0,
        alpha3: float = 3.0,
        weight_relation: float = 1.0,
        outer_batch: Any = "auto",
        target_batch: int = 256,
        batch_size: int = 32,
        passes: int = 8,
        epochs: int = 10,
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
        self.feature_dim = feature_dim
        self.widths = widths
        self.attention = attention
        self.relation = relation
        self.covariance = covariance
        self.kernel_alpha = kernel_alpha
        self.map_size = map_size
        self.alpha1 = alpha1
        self.alpha2 = alpha2
        self.alpha3 = alpha3
        self.weight_relation = weight_relation
        self.outer_batch = outer_batch
        self.target_batch = target_batch
        self.batch_size = batch_size
        self.passes = passes
        self.epochs = epochs
        self.lr = lr
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ----------------------------------------------------------------- setup
    def _resolve(self, n: int) -> None:
        self._resolve_images()
        self.outer_batch_ = min(n, 1000 if self.outer_batch == "auto" else int(self.outer_batch))

    def _build_modules(self) -> None:
        self.network_ = GATClusterNetwork(
            self.in_channels_, self.input_shape_[1:], self.n_clusters,
            feature_dim=self.feature_dim, widths=tuple(self.widths), attention=self.attention,
            alpha=self.kernel_alpha, covariance=self.covariance, map_size=self.map_size,
        ).to(self.device_)  # fmt: skip
        self._build_augment()

    # ------------------------------------------------------------- step one
    def _label_features_of(self, x: torch.Tensor) -> torch.Tensor:
        return self.network_.label_features(x)

    def _targets(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Algorithm 1 step one: eqs. (5), (6) (cluster ids) and (11) over the outer batch."""
        step = int(self.target_batch)
        if is_distributed():  # each rank its share of the outer batch, then all of them
            l = gather_rows(self._label_features(x[rank_shard(len(x))], step))
        else:
            l = self._label_features(x, step)
        out = {"target": balanced_target(l), "target_a": sharpened_target(l)}
        if self.relation:
            ids = relation_labels(l, self.n_clusters, derive_seed(self.random_state, 7))
            out["ids"] = torch.as_tensor(ids, device=l.device)
        return out

    # ------------------------------------------------------------- step two
    def _sub_batch_objective(
        self, xt: torch.Tensor, v: torch.Tensor, targets: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Eq. (3) on sub-batch ``v`` of the transformed outer batch.

        Under ``torchrun`` each rank forwards its shard of ``v`` and gathers the label
        features of all ranks (with gradients): the entropy and relation terms need the
        whole sub-batch, and the gathered loss is the one-process loss.
        """
        local = self._shard(v)
        out = self.network_(xt[local])
        l, l_a = gather_rows(out["l"]), out.get("l_a")
        l_a = gather_rows(l_a) if l_a is not None else None
        v = v[: len(l)]  # the rows gathered, in rank order (trimmed to split evenly)
        if self.relation:
            r = relation_targets(targets["ids"][v])
        else:
            r = torch.eye(len(v), device=xt.device)
        return gatcluster_objective(
            l, l_a, targets["target"][v], targets["target_a"][v], r,
            self.alpha1, self.alpha2, self.alpha3,
            self.weight_relation if self.relation else 0.0,
        )  # fmt: skip

    def _sub_batch_step(
        self, xt: torch.Tensor, v: torch.Tensor, targets: dict[str, torch.Tensor],
        opt: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        terms = self._sub_batch_objective(xt, v, targets)
        opt.zero_grad(set_to_none=True)
        backward(terms["loss"])
        opt.step()
        return {k: t.detach().float() for k, t in terms.items()}  # on the device: no sync

    def _train(self, data: torch.Tensor) -> None:
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        loop = self._loop("gatcluster", int(self.epochs),
                          {"network": net, "opt": opt, "rng": GlobalRNGState()})  # fmt: skip
        n = len(data)
        n_outer = -(-n // self.outer_batch_)
        world = torch.distributed.get_world_size() if is_distributed() else 1

        def epoch(_: int) -> dict[str, float]:
            sums: dict[str, Any] = {}
            steps = 0
            order = torch.randperm(n, generator=loop.generator).to(index_device(data))
            for chunk in torch.tensor_split(order, n_outer):
                x = data[chunk[: len(chunk) - len(chunk) % world]]  # ranks split it evenly
                targets = self._targets(x)
                xt = self._transformed(x, int(self.target_batch))
                for _ in range(int(self.passes)):
                    drop = len(x) > 1
                    for v in loop.batches(len(x), int(self.batch_size), drop_last=drop,
                                          device=xt.device):  # fmt: skip
                        terms = self._sub_batch_step(xt, v, targets, opt)
                        for key, value in terms.items():
                            sums[key] = sums.get(key, 0.0) + value
                        steps += 1
            return {key: value / max(1, steps) for key, value in sums.items()}

        loop.run(epoch)

    # ---------------------------------------------------------------- output
    @torch.no_grad()
    def attention_maps(self, X: Any) -> np.ndarray:
        """The ``(n, H', W')`` Gaussian attention maps of new images (Fig. 4)."""
        if not self.attention:
            raise DataError("this model was fitted with attention=False: it has no maps")
        X = self._validate_new_input(X)
        data = self._as_tensor(self._scaled(X))
        self.network_.eval()
        step = int(self.target_batch)
        maps = [
            self.network_(self._prepared(data[i : i + step]))["map"]
            for i in range(0, len(data), step)
        ]
        return torch.cat(maps).cpu().numpy()

    def write_figures(self, folder: Any, dataset: Any = None) -> list[Any]:
        """Fig. 4: per cluster, its most confident images with the attention map overlaid."""
        from pathlib import Path

        from ..plots import plot_attention_examples

        if dataset is None or not self.attention:
            return []
        idx = _most_confident(self.proba_, self.labels_, per_cluster=8)
        rows = np.asarray(dataset.X[idx])  # these rows only (a lazy folder stays lazy)
        images = self._scaled(rows).reshape(len(idx), *self.input_shape_)
        maps = self.attention_maps(rows)
        path = Path(folder) / "attention.png"
        plot_attention_examples(images, maps, self.labels_[idx], path)
        return [path]


def _most_confident(proba: np.ndarray, labels: np.ndarray, per_cluster: int) -> np.ndarray:
    """Indices of the ``per_cluster`` most confident members of every cluster, by cluster."""
    conf = proba[np.arange(len(labels)), labels]
    order = np.lexsort((-conf, labels))  # by cluster, then by falling confidence
    ranks = np.arange(len(order)) - np.searchsorted(labels[order], labels[order])
    return order[ranks < per_cluster]


__all__ = ["GATCluster"]
