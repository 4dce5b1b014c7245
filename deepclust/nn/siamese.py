"""Siamese embedding trained contrastively (Hadsell et al. 2006), as DGG and SpectralNet use it.

Pairs are (sample, one of its ``n_positives`` nearest neighbours in the input), labelled
similar, and (sample, a random sample), labelled dissimilar; the loss is
``d^2`` for positives and ``max(0, margin - d^2)`` for negatives (squared distances in
the embedding), so neighbours come close and random pairs at least ``margin`` apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..graphs.knn import knn
from ..precision import backward, in_float32
from ..training import adam
from .mlp import batched_apply


@in_float32
def contrastive_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float
) -> torch.Tensor:
    """Mean of ``d(a, p)^2 + max(0, margin - d(a, n)^2)`` over the batch."""
    d_pos = (anchor - positive).pow(2).sum(1)
    d_neg = (anchor - negative).pow(2).sum(1)
    return (d_pos + F.relu(margin - d_neg)).mean()


def fit_siamese(
    owner: Any,
    net: nn.Module,
    X: np.ndarray,
    data: torch.Tensor,
    *,
    n_positives: int,
    margin: float,
    n_epochs: int,
    batch_size: int,
    lr: float = 1e-3,
) -> np.ndarray:
    """Train ``net`` contrastively through ``owner``'s training loop; return the embedding.

    ``owner`` is a :class:`~deepclust.base.TorchMixin` estimator (its ``_loop`` checkpoints
    the stage ``"siamese"``); ``X`` (numpy) gives the positives, ``data`` is the same data
    as a tensor on the fitting device.
    """
    pos, _ = knn(X, n_positives)
    pos_t = torch.as_tensor(pos, device=data.device)
    opt = adam(net.parameters(), lr=lr)
    loop = owner._loop("siamese", int(n_epochs), {"siamese": net, "opt": opt})

    def epoch(_: int) -> dict[str, float]:
        total = 0.0
        for idx in loop.batches(len(data), batch_size, device=data.device):
            b = len(idx)
            choice = loop.draw_for_batch(lambda m: loop.randint(pos_t.shape[1], m), b)
            p_idx = pos_t[idx, choice]
            n_idx = loop.draw_for_batch(lambda m: loop.randint(len(data), m), b)
            loss = contrastive_loss(net(data[idx]), net(data[p_idx]), net(data[n_idx]), margin)
            opt.zero_grad(set_to_none=True)
            backward(loss)
            opt.step()
            total += loss.detach() * b
        return {"loss": loop.mean(total)}

    loop.run(epoch)
    net.eval()
    return batched_apply(net, data).cpu().numpy()


__all__ = ["contrastive_loss", "fit_siamese"]
