"""LARS: layer-wise adaptive rate scaling (You, Gitman and Ginsburg 2017).

The optimiser of MLC's self-supervised initialisation (MLC App. D.2, as in SimCLR and
NMCE): SGD with momentum whose step for each weight tensor is scaled by the trust ratio
``trust * ||w|| / (||g|| + weight_decay ||w||)``. Biases and batch-norm parameters
(1-D tensors) are neither decayed nor adapted, the usual exclusion.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class LARS(torch.optim.Optimizer):
    """SGD + momentum with layer-wise trust ratios.

    Parameters
    ----------
    params : iterable of tensors or parameter groups
    lr : float
    momentum : float
    weight_decay : float
        Applied to tensors with more than one dimension only.
    trust : float
        The LARS coefficient (``eta`` of the paper; 1e-3 in SimCLR's implementation).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        trust: float = 1e-3,
    ) -> None:
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0 or trust <= 0:
            raise ValueError(
                f"LARS needs lr > 0, 0 <= momentum < 1, weight_decay >= 0, trust > 0; got "
                f"{lr}, {momentum}, {weight_decay}, {trust}"
            )
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "trust": trust}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch's signature
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if p.ndim > 1:  # weights: decay, then scale by the trust ratio
                    g = g.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = p.norm(), g.norm()
                    ratio = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["trust"] * w_norm / g_norm,
                        torch.ones_like(w_norm),
                    )
                    g = g * ratio
                buf = self.state[p].get("momentum")
                if buf is None:
                    buf = self.state[p]["momentum"] = g.clone()
                else:
                    buf.mul_(group["momentum"]).add_(g)
                p.add_(buf, alpha=-group["lr"])
        return loss
