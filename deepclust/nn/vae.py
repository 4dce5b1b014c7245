"""Modules of Gaussian-mixture VAEs (VaDE, DGG)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from .autoencoders import MLPAutoencoder
from .mlp import linear_layers, mlp


class GaussianEncoder(nn.Module):
    """``x -> (mu, log sigma^2)`` of ``q(z|x)`` (DGG eqs. 4, 6): an MLP body and two heads."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        *body, latent = dims
        self.body = nn.Sequential(mlp(body), nn.ReLU()) if len(body) > 1 else nn.Identity()
        self.mu = nn.Linear(body[-1], latent)
        self.logvar = nn.Linear(body[-1], latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)

    @classmethod
    def from_autoencoder(cls, ae: MLPAutoencoder, logvar_init: str = "small") -> GaussianEncoder:
        """Copy a pretrained encoder: body layers and the mean head; a new log-variance head.

        ``logvar_init="small"``: zero weights and bias -4 (posterior std about 0.14), so
        the first VAE epochs do not drown the pretrained code in noise; ``"fresh"``: the
        layer's default random initialisation (what the DGG authors' code does).
        """
        if logvar_init not in ("small", "fresh"):
            raise ValueError(f"logvar_init={logvar_init!r}; expected 'small' or 'fresh'")
        enc = cls(ae.dims)
        src = linear_layers(ae.encoder)
        dst = linear_layers(enc.body)
        for s, d in zip(src[:-1], dst, strict=True):
            d.load_state_dict(s.state_dict())
        enc.mu.load_state_dict(src[-1].state_dict())
        if logvar_init == "small":
            nn.init.zeros_(enc.logvar.weight)
            nn.init.constant_(enc.logvar.bias, -4.0)
        return enc


def copy_decoder(ae: MLPAutoencoder) -> nn.Sequential:
    """A trainable copy of a pretrained decoder."""
    return copy.deepcopy(ae.decoder)


class GaussianMixturePrior(nn.Module):
    """Learnable ``p(c)`` and ``p(z|c) = N(mu_c, diag sigma_c^2)`` (DGG eqs. 1-2).

    ``pi`` is a softmax of free logits (used by VaDE; DGG keeps per-sample weights
    outside this module).
    """

    def __init__(self, n_components: int, latent_dim: int) -> None:
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(n_components, latent_dim))
        self.logvar = nn.Parameter(torch.zeros(n_components, latent_dim))
        self.pi_logits = nn.Parameter(torch.zeros(n_components))

    @property
    def log_pi(self) -> torch.Tensor:
        return torch.log_softmax(self.pi_logits, dim=0)

    @torch.no_grad()
    def initialise(self, mu: torch.Tensor, var: torch.Tensor, pi: torch.Tensor) -> None:
        self.mu.copy_(mu)
        self.logvar.copy_(torch.log(var.clamp_min(1e-6)))
        self.pi_logits.copy_(torch.log(pi.clamp_min(1e-6)))


def classifier_head(latent_dim: int, n_clusters: int) -> nn.Sequential:
    """``f2: z -> logits of q(c|z)`` (DGG eq. 7; §4.2: ``10-L`` if L = 10, else ``10-L-L``)."""
    if n_clusters >= latent_dim:
        return mlp((latent_dim, n_clusters))
    return mlp((latent_dim, n_clusters, n_clusters))
