"""NMCE: neural manifold clustering and embedding (Li, Chen, LeCun, Sommer 2022).

The baseline MLC compares against (MLC §1.2, Table 2): MCR^2 with a *point-to-cluster*
membership ``Pi`` (n x k) instead of MLC's doubly stochastic point-to-point one. Three
stages, as the notes on the authors' code describe:

1. TCR self-supervised initialisation of backbone and feature head (shared with MLC,
   :class:`~deepclust.methods._rate_reduction.RateReductionClusterer`);
2. a cluster head (logits, n x k) and the feature head trained with the backbone
   frozen on ``-R(Z) + R_c(Z, Pi) - lambda mean |z^T z'|``, ``Pi`` a Gumbel-softmax
   sample of the logits (``tau = 1``), ``Z`` the sphere projection of the two views'
   mean and ``Pi`` their mean;
3. the same objective with every parameter trained (fine-tuning, learning rate / 10).

The cluster head starts from random weights (the MLC paper's point: NMCE's ``Pi`` has
nothing to do with the initialised features). Labels: ``argmax`` of the logits.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..distributed import gather_rows
from ..nn.augment import augmentation_for, views
from ..nn.backbones import SphereHead, backbone_for
from ..nn.mlp import mlp
from ..objectives.coding_rate import coding_rate, compression_rate_labels
from ..precision import backward
from ..training import GlobalRNGState, add_terms, index_device
from ..validation import AUTO, N_CLUSTERS, non_negative_int, positive_real
from ._rate_reduction import RATE_REDUCTION_CONSTRAINTS, RateReductionClusterer


class NMCENetwork(nn.Module):
    """Backbone, feature head (unit vectors) and cluster head (``k`` logits)."""

    def __init__(
        self, backbone: nn.Module, dim: int, hidden: tuple[int, ...], n_clusters: int
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_head = SphereHead(backbone.out_dim, dim, hidden)
        self.cluster_head = mlp([backbone.out_dim, *hidden, n_clusters], batch_norm=True)


def nmce_loss(
    z: torch.Tensor,
    z_other: torch.Tensor,
    logits: torch.Tensor,
    eps2: float,
    invariance: float,
    tau: float = 1.0,
) -> dict[str, torch.Tensor]:
    """NMCE's clustering objective for two views ``z``, ``z_other`` (n, d) and the mean
    logits of the views (n, k): ``-R(Z) + R_c(Z, Pi) - invariance * mean |z^T z'|``."""
    pi = F.gumbel_softmax(logits, tau=tau, hard=False)
    z_mean = F.normalize(0.5 * (z + z_other), dim=1)
    expansion = coding_rate(z_mean, eps2)
    compression = compression_rate_labels(z_mean, pi, eps2)
    agreement = (z * z_other).sum(1).abs().mean()
    loss = -expansion + compression - invariance * agreement
    return {"loss": loss, "expansion": expansion, "compression": compression,
            "agreement": agreement}  # fmt: skip


class NMCE(RateReductionClusterer):
    """Neural manifold clustering and embedding (point-to-cluster MCR^2).

    Parameters
    ----------
    n_clusters : int
    image_shape, backbone, backbone_hidden, dim, head_hidden, eps2_init, eps2,
    invariance, init_from, init_epochs, init_lr, batch_size
        As in :class:`~deepclust.methods.mlc.MLC` (the shared TCR stage).
    epochs, finetune_epochs : int or "auto"
        Stage 2 (frozen backbone) and stage 3 (all parameters); ``"auto"``: about
        1,000 and 500 steps.
    lr, momentum, weight_decay
        SGD of stages 2 and 3 (stage 3 at ``lr / 10``).
    tau : float
        Gumbel-softmax temperature (1).
    amp : bool
        bfloat16 mixed precision for the networks on CUDA (ignored on the CPU); the
        coding rates and the Sinkhorn projection stay in float32.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, embedding_ (``Z``), proba_ (softmax of the logits), network_, history_
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        **RATE_REDUCTION_CONSTRAINTS,
        "finetune_epochs": [AUTO, non_negative_int()],
        "tau": [positive_real()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        image_shape: tuple[int, ...] | None = None,
        backbone: str = "auto",
        backbone_hidden: tuple[int, ...] = (512, 512),
        dim: int = 128,
        head_hidden: tuple[int, ...] = (512,),
        eps2_init: float = 0.2,
        eps2: float = 0.1,
        invariance: float = 30.0,
        tau: float = 1.0,
        init_from: Any = None,
        init_epochs: Any = "auto",
        epochs: Any = "auto",
        finetune_epochs: Any = "auto",
        batch_size: Any = "auto",
        init_lr: float = 0.3,
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        amp: bool = True,
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
        self.backbone = backbone
        self.backbone_hidden = backbone_hidden
        self.dim = dim
        self.head_hidden = head_hidden
        self.eps2_init = eps2_init
        self.eps2 = eps2
        self.invariance = invariance
        self.tau = tau
        self.init_from = init_from
        self.init_epochs = init_epochs
        self.epochs = epochs
        self.finetune_epochs = finetune_epochs
        self.batch_size = batch_size
        self.init_lr = init_lr
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.amp = amp
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        backbone = backbone_for(self.input_shape_, self.backbone, tuple(self.backbone_hidden))
        self.network_ = NMCENetwork(backbone, int(self.dim), tuple(self.head_hidden),
                                    int(self.n_clusters)).to(self.device_)  # fmt: skip
        self.augment_ = augmentation_for(self.input_shape_).to(self.device_)

    def _fit(self, X: np.ndarray) -> None:
        self._fit_scaling(X)
        data = self._as_tensor(self._scaled(X))
        n = len(data)
        self.batch_size_ = min(n, 1024) if self.batch_size == "auto" else int(self.batch_size)
        self._build_modules()
        self._initialise(data)
        net = self.network_
        heads = [*net.feature_head.parameters(), *net.cluster_head.parameters()]
        self._cluster_stage(data, "nmce", self._epochs(self.epochs, n, 1000, 200), heads,
                            self.lr, frozen=True)  # fmt: skip
        self._cluster_stage(data, "finetune", self._epochs(self.finetune_epochs, n, 500, 100),
                            list(net.parameters()), self.lr / 10, frozen=False)  # fmt: skip
        self._finish(data)

    def _cluster_stage(
        self, data: torch.Tensor, stage: str, n_epochs: int, params: list, lr: float, frozen: bool
    ) -> None:
        """Stage 2 (``frozen``: backbone fixed, batch-norm statistics kept) or stage 3."""
        net = self.network_
        opt = torch.optim.SGD(params, lr=lr, momentum=self.momentum,
                              weight_decay=self.weight_decay)  # fmt: skip
        loop = self._loop(stage, n_epochs, {"network": net, "opt": opt, "rng": GlobalRNGState()})
        where = index_device(data)
        drop = len(data) > self.batch_size_

        def epoch(_: int) -> dict[str, float]:
            net.train()
            if frozen:
                net.backbone.eval()
            sums = dict.fromkeys(("loss", "expansion", "compression", "agreement"), 0.0)
            for idx in loop.batches(len(data), self.batch_size_, drop_last=drop, device=where):
                x = self._batch(data[self._shard(idx)])
                pair = views(self.augment_, x, 2).flatten(0, 1)
                with self._autocast():
                    with torch.set_grad_enabled(not frozen):
                        h = net.backbone(pair)
                    z, logits = net.feature_head(h), net.cluster_head(h)
                z = z.float().unflatten(0, (2, len(x)))
                logits = logits.float().unflatten(0, (2, len(x))).mean(0)
                z0, z1, logits = gather_rows(z[0]), gather_rows(z[1]), gather_rows(logits)
                terms = nmce_loss(z0, z1, logits, self.eps2, self.invariance, self.tau)
                opt.zero_grad(set_to_none=True)
                backward(terms["loss"])
                opt.step()
                add_terms(sums, terms, len(idx))
            return {k: v / len(data) for k, v in sums.items()}

        loop.run(epoch)

    def _outputs(self, data: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """``Z`` and the cluster probabilities of un-augmented samples."""
        return self._network_outputs(data, cluster=lambda c: torch.softmax(c, dim=1))

    def _finish(self, data: torch.Tensor) -> None:
        self.embedding_, self.proba_ = self._outputs(data)
        self.labels_ = self.proba_.argmax(1).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """The features ``Z`` (unit vectors)."""
        X = self._validate_new_input(X)
        return self._outputs(self._as_tensor(self._scaled(X)))[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._validate_new_input(X)
        return self._outputs(self._as_tensor(self._scaled(X)))[1]

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)
