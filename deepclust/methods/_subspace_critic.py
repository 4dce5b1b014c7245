"""The subspace discriminator's update, shared by DASC and A-DATSC (whose critic is DASC's)."""

from __future__ import annotations

import torch

from ..objectives.temporal_subspace import discriminator_loss
from ..precision import backward


class SubspaceCriticStep:
    """Host has ``discriminator_``, ``sampler_``, ``disc_margin``, ``beta_orth`` and
    ``beta_cross``."""

    def _discriminator_step(
        self, z: torch.Tensor, q: torch.Tensor, opt: torch.optim.Optimizer
    ) -> float | torch.Tensor:
        """One update of the subspace bases on ``L_D`` (the hinge on residual energies of
        reals and fakes, plus the orthogonality and cross-subspace penalties), from
        detached latents ``z`` and responsibilities ``q``. Returns the loss, detached on the
        device (0.0 when the batch has no real sample to compare)."""
        real, real_k, fake, fake_k = self.sampler_(z, q)
        if len(real) == 0:
            return 0.0
        loss = discriminator_loss(
            real, real_k, fake, fake_k, self.discriminator_.bases,
            self.disc_margin, self.beta_orth, self.beta_cross,
        )  # fmt: skip
        opt.zero_grad(set_to_none=True)
        backward(loss)
        opt.step()
        return loss.detach().float()  # on the device: the loop reads it once per epoch


__all__ = ["SubspaceCriticStep"]
