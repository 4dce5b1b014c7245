"""Shared by MLC and NMCE: input handling and the self-supervised TCR initialisation.

Both cluster images (rows with an ``image_shape``, or 4-D arrays) or feature vectors,
start by training a backbone and a feature head on MLC eq. (5) / NMCE's TCR objective
with two augmented views (LARS), and then differ in how they learn the membership.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np
import torch

from ..base import DeepClusterer
from ..distributed import DataParallel, gather_rows
from ..exceptions import ConfigError
from ..nn.augment import views
from ..nn.lars import LARS
from ..objectives.coding_rate import tcr_loss
from ..precision import backward
from ..pretraining import auto_epochs
from ..training import GlobalRNGState, add_terms, index_device
from ..validation import (
    AUTO,
    HasMethods,
    StrOptions,
    non_negative_int,
    non_negative_real,
    positive_int,
    positive_real,
)
from ._image_input import ImageRowsInput

#: Parameters every rate-reduction estimator has (declarative validation).
RATE_REDUCTION_CONSTRAINTS: dict[str, list[Any]] = {
    "image_shape": [tuple, list, None],
    "backbone": [StrOptions({"auto", "mlp", "cnn", "resnet18"})],
    "backbone_hidden": [tuple, list],
    "dim": [positive_int()],
    "head_hidden": [tuple, list],
    "eps2_init": [positive_real()],
    "eps2": [positive_real()],
    "invariance": [non_negative_real()],
    "init_epochs": [AUTO, non_negative_int()],
    "epochs": [AUTO, non_negative_int()],
    "batch_size": [AUTO, positive_int()],
    "init_lr": [positive_real()],
    "lr": [positive_real()],
    "momentum": [non_negative_real()],
    "weight_decay": [non_negative_real()],
    "init_from": [None, str, os.PathLike, HasMethods(["fit"])],
    "amp": ["boolean"],
}


class RateReductionClusterer(ImageRowsInput, DataParallel, DeepClusterer):
    """Input scaling, batching and Algorithm 1 line 1 (TCR) for MLC and NMCE.

    Subclasses set ``network_`` (with ``backbone`` and ``feature_head``) and
    ``augment_`` in ``_build_modules`` and ``batch_size_`` before ``_initialise``.
    """

    # --------------------------------------------------------------- fit
    def _autocast(self) -> Any:
        """bfloat16 autocast of the networks on CUDA when ``amp`` is on (no loss scaling
        needed); the coding rates and Sinkhorn are computed in float32 afterwards."""
        if self.amp and self.device_.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _epochs(self, value: Any, n: int, steps: int, hi: int) -> int:
        if value == "auto":
            return auto_epochs(n, self.batch_size_, steps, lo=5, hi=hi)
        return int(value)

    def _initialise(self, data: torch.Tensor) -> None:
        """Algorithm 1 line 1: TCR (eq. 5) on two views; backbone and feature head.

        With ``init_from`` (a fitted MLC/NMCE or the path of a saved one) the TCR stage
        is skipped and its backbone and feature head are copied instead: the costly
        initialisation is trained once and reused (e.g. by MLC and NMCE alike). Either
        way the initialised weights are kept as ``init_state_`` (saved with the model),
        because the later stages train the feature head (and NMCE's fine-tuning the
        backbone): a model reused by ``init_from`` hands on this line-1 state.
        """
        if self.init_from is not None:
            self._copy_initialisation(self.init_from)
        else:
            self._train_tcr(data)
        self.init_state_ = {
            part: {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
            for part, module in self._initialised_parts().items()
        }

    def _initialised_parts(self) -> dict[str, torch.nn.Module]:
        return {"backbone": self.network_.backbone, "feature_head": self.network_.feature_head}

    def _train_tcr(self, data: torch.Tensor) -> None:
        """Line 1 itself: eq. (5) with LARS on the backbone and the feature head."""
        net = self.network_
        params = [*net.backbone.parameters(), *net.feature_head.parameters()]
        opt = LARS(params, lr=self.init_lr, weight_decay=1e-6)
        n_epochs = self._epochs(self.init_epochs, len(data), 3000, 500)
        loop = self._loop("tcr", n_epochs, {"network": net, "opt": opt, "rng": GlobalRNGState()})
        where = index_device(data)

        def epoch(_: int) -> dict[str, float]:
            net.train()
            sums = {"loss": 0.0, "rate": 0.0, "agreement": 0.0}
            drop = len(data) > self.batch_size_
            for idx in loop.batches(len(data), self.batch_size_, drop_last=drop, device=where):
                x = self._batch(data[self._shard(idx)])
                pair = views(self.augment_, x, 2)
                with self._autocast():
                    z = net.feature_head(net.backbone(pair.flatten(0, 1)))
                z = z.float().unflatten(0, (2, len(x)))
                terms = tcr_loss(gather_rows(z[0]), gather_rows(z[1]), self.eps2_init,
                                 self.invariance)  # fmt: skip
                opt.zero_grad(set_to_none=True)
                backward(terms["loss"])
                opt.step()
                add_terms(sums, terms, len(idx))
            return {k: v / len(data) for k, v in sums.items()}

        loop.run(epoch)

    def _copy_initialisation(self, source: Any) -> None:
        """Backbone and feature head from another fitted rate-reduction model."""
        if isinstance(source, (str, os.PathLike)):
            source = DeepClusterer.load(source)
        if not isinstance(source, RateReductionClusterer) or not hasattr(source, "network_"):
            raise ConfigError(
                f"init_from must be a fitted MLC or NMCE (or the path of a saved one); "
                f"got {type(source).__name__}"
            )
        if tuple(source.input_shape_) != tuple(self.input_shape_):
            raise ConfigError(
                f"init_from was trained on samples of shape {tuple(source.input_shape_)}; "
                f"these are {tuple(self.input_shape_)}"
            )
        # the source's line-1 state; a model saved before it was kept: its current weights
        saved = getattr(source, "init_state_", None) or {
            part: module.state_dict() for part, module in source._initialised_parts().items()
        }
        try:
            for part, module in self._initialised_parts().items():
                module.load_state_dict(saved[part])
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ConfigError(
                f"init_from has another architecture (backbone, dim or head_hidden): {first}"
            ) from None

    def write_figures(self, folder: Any, dataset: Any = None) -> list[Any]:
        """The CLI's extra picture: ``|z_i^T z_j|`` of the features, sorted by cluster
        (MLC Fig. 4 style); block-diagonal means orthogonal cluster subspaces."""
        from ..plots import plot_cosine_similarity

        title = f"{type(self).__name__}: |z_i^T z_j| sorted by cluster"
        path = os.path.join(os.fspath(folder), "cosine_similarity.png")
        return [plot_cosine_similarity(self.embedding_, self.labels_, path, title=title)]

    @torch.no_grad()
    def _network_outputs(
        self, data: torch.Tensor, cluster: Any = None, chunk: int = 2048
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feature-head ``Z`` and the cluster head's output (mapped by ``cluster``) of
        un-augmented samples, in eval mode and in chunks."""
        net = self.network_
        net.eval()
        zs, cs = [], []
        for i in range(0, len(data), chunk):
            h = net.backbone(self._batch(data[i : i + chunk]))
            c = net.cluster_head(h)
            zs.append(net.feature_head(h).cpu())
            cs.append((c if cluster is None else cluster(c)).cpu())
        return torch.cat(zs).numpy(), torch.cat(cs).numpy()
