"""Evidence lower bounds of Gaussian-mixture VAEs (VaDE; DGG eqs. 19-31).

All functions are pure: tensors in, per-sample tensors (shape ``(B,)``) out; callers
take ``-mean`` as the loss. Notation follows the DGG paper: ``mu``, ``logvar`` are the
posterior parameters ``mu~``, ``log sigma~^2`` of ``q(z|x)`` (eq. 4); ``gamma`` is
``q(c|z)`` (eq. 5); ``gmm_mu``, ``gmm_logvar`` are the component means and log
variances (eq. 2); ``log_pi`` the log mixture weights (eq. 1), either global ``(K,)``
(VaDE) or per sample ``(B, K)`` (DGG's ``pi_i``).

About eq. (21) as printed: the second line lacks the factor 1/2 that the expectation
``E_q[log p(z|c)]`` of a Gaussian carries (VaDE's eq. 10 has it); we keep the 1/2,
which is what deriving (21) from (20) gives.
"""

from __future__ import annotations

import math

import torch

from ..precision import in_float32

LOG_2PI = math.log(2.0 * math.pi)
_EPS = 1e-7


@in_float32
def bernoulli_log_likelihood(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """``sum_d x_d log mu_d + (1 - x_d) log(1 - mu_d)`` (eq. 21, first line)."""
    p = x_hat.clamp(_EPS, 1.0 - _EPS)
    return (x * torch.log(p) + (1.0 - x) * torch.log1p(-p)).sum(-1)


@in_float32
def gaussian_log_likelihood(x: torch.Tensor, x_hat: torch.Tensor, lam: float) -> torch.Tensor:
    """``log N(x | mu_x, lam I)`` (eq. 3, real-valued case)."""
    d = x.shape[-1]
    return -0.5 * (d * (LOG_2PI + math.log(lam)) + ((x - x_hat) ** 2).sum(-1) / lam)


@in_float32
def log_likelihood(
    x: torch.Tensor, x_hat: torch.Tensor, likelihood: str, lam: float = 1.0
) -> torch.Tensor:
    """Decoder log-likelihood ``log p(x|z)``, Bernoulli or Gaussian (eq. 3)."""
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, x_hat)
    return gaussian_log_likelihood(x, x_hat, lam)


@in_float32
def gmm_latent_term(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    gamma: torch.Tensor,
    gmm_mu: torch.Tensor,
    gmm_logvar: torch.Tensor,
) -> torch.Tensor:
    """``E_q[log p(z|c)]`` up to the log 2 pi constant (eq. 21, second line, with its 1/2).

    ``-1/2 sum_k gamma_k sum_m (log s_k^2 + s~^2 / s_k^2 + (mu~ - mu_k)^2 / s_k^2)``.
    """
    var = torch.exp(logvar).unsqueeze(1)  # (B, 1, M)
    inv = torch.exp(-gmm_logvar).unsqueeze(0)  # (1, K, M)
    diff2 = (mu.unsqueeze(1) - gmm_mu.unsqueeze(0)) ** 2  # (B, K, M)
    per_k = (gmm_logvar.unsqueeze(0) + (var + diff2) * inv).sum(-1)  # (B, K)
    return -0.5 * (gamma * per_k).sum(-1)


@in_float32
def posterior_entropy_term(logvar: torch.Tensor) -> torch.Tensor:
    """``-E_q[log q(z|x)]`` up to the log 2 pi constant: ``1/2 sum_m (1 + log s~^2)``."""
    return 0.5 * (1.0 + logvar).sum(-1)


@in_float32
def categorical_term(gamma: torch.Tensor, log_pi: torch.Tensor) -> torch.Tensor:
    """``sum_k gamma_k log(pi_k / gamma_k)`` (eq. 21, third line)."""
    return (gamma * (log_pi - torch.log(gamma.clamp_min(_EPS)))).sum(-1)


@in_float32
def gmm_vae_elbo(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    gamma: torch.Tensor,
    log_pi: torch.Tensor,
    gmm_mu: torch.Tensor,
    gmm_logvar: torch.Tensor,
    *,
    likelihood: str = "bernoulli",
    lam: float = 1.0,
) -> torch.Tensor:
    """Per-sample ELBO ``L(theta, phi; x_i)`` of a Gaussian-mixture VAE (DGG eq. 21, VaDE eq. 10).

    ``x_hat = g(z)`` is the decoding of one reparameterised sample ``z = mu + sigma * eps``
    (eq. 22-24).
    """
    return (
        log_likelihood(x, x_hat, likelihood, lam)
        + gmm_latent_term(mu, logvar, gamma, gmm_mu, gmm_logvar)
        + categorical_term(gamma, log_pi)
        + posterior_entropy_term(logvar)
    )


@in_float32
def dgg_objective(
    x_bar: torch.Tensor,
    w_bar: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    gamma: torch.Tensor,
    log_pi_bar: torch.Tensor,
    gmm_mu: torch.Tensor,
    gmm_logvar: torch.Tensor,
    *,
    likelihood: str = "bernoulli",
    lam: float = 1.0,
    x_sq_bar: torch.Tensor | None = None,
) -> torch.Tensor:
    """``sum_i W_ij L(theta, phi; x_i, x_j)`` for each sample ``j`` of a batch (DGG eq. 19, 26).

    DGG's objective (19) is ``sum_i sum_j W_ij L(x_i, x_j)`` with ``W = (I + W_graph) / 2``
    (the self term ``L(x_i, x_i) = L(x_i)`` of eq. 21 carries half of each row's weight).
    In ``L(x_i, x_j)`` (eq. 26) only the reconstruction ``log p(x_i | z_j)`` and the prior
    ``sum_k gamma_jk log pi_ik`` involve the anchor ``i``; both are linear in aggregates
    over the anchors that list ``j`` as a neighbour, so the double sum is evaluated with
    one decoding per sample:

    ``sum_i W_ij log Ber(x_i | mu_j) = x_bar_j . log mu_j + (w_bar_j - x_bar_j) . log(1 - mu_j)``

    ``sum_i W_ij log N(x_i | mu_j, lam I) = -1/2 [w_bar_j D log(2 pi lam)
    + (sq_bar_j - 2 mu_j . x_bar_j + w_bar_j |mu_j|^2) / lam]``

    ``sum_i W_ij sum_k gamma_jk log pi_ik = gamma_j . log_pi_bar_j``

    and every term that depends only on ``q(z, c | x_j)`` is weighted by ``w_bar_j``.

    Parameters
    ----------
    x_bar : (B, D)
        ``x_bar_j = sum_i W_ij x_i``.
    w_bar : (B,)
        ``w_bar_j = sum_i W_ij`` (column sums).
    x_hat : (B, D)
        Decoding ``g(z_j)`` of one sample ``z_j ~ q(z | x_j)``.
    mu, logvar : (B, M)
        Posterior of ``x_j``.
    gamma : (B, K)
        ``q(c | z_j)``.
    log_pi_bar : (B, K)
        ``sum_i W_ij log pi_i`` (held constant: pi has its closed-form update, eq. 31).
    x_sq_bar : (B,), Gaussian decoder only
        ``sum_i W_ij |x_i|^2``.
    """
    p = x_hat.clamp(_EPS, 1.0 - _EPS)
    if likelihood == "bernoulli":
        recon = (x_bar * torch.log(p) + (w_bar.unsqueeze(1) - x_bar) * torch.log1p(-p)).sum(-1)
    else:
        if x_sq_bar is None:
            raise ValueError("the Gaussian decoder needs x_sq_bar = sum_i W_ij |x_i|^2")
        d = x_hat.shape[-1]
        sq = x_sq_bar - 2.0 * (x_hat * x_bar).sum(-1) + w_bar * (x_hat * x_hat).sum(-1)
        recon = -0.5 * (w_bar * d * (LOG_2PI + math.log(lam)) + sq / lam)
    own = (
        gmm_latent_term(mu, logvar, gamma, gmm_mu, gmm_logvar)
        + posterior_entropy_term(logvar)
        - (gamma * torch.log(gamma.clamp_min(_EPS))).sum(-1)
    )
    prior = (gamma * log_pi_bar).sum(-1)
    return recon + w_bar * own + prior


@in_float32
def dgg_pi_update(
    gamma_self: torch.Tensor, gamma_neighbours: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Closed-form update of the per-sample mixture weights ``pi_i`` (DGG eqs. 30-31).

    Maximising ``sum_j w_ij sum_k (gamma_ik + gamma_jk) log pi_ik`` on the simplex gives
    ``pi_ik = sum_j w_ij (gamma_ik + gamma_jk) / sum_k sum_j w_ij (gamma_ik + gamma_jk)``.

    Parameters
    ----------
    gamma_self : (B, K)
        ``gamma_i``.
    gamma_neighbours : (B, S, K)
        ``gamma_j`` of the S neighbours of each ``i``.
    weights : (B, S)
        ``w_ij`` (rows of the graph's affinity; zero-padded rows are allowed).
    """
    w = weights.unsqueeze(-1)
    return dgg_pi_from_sums(gamma_self, (w * gamma_neighbours).sum(1), weights.sum(1))


@in_float32
def dgg_pi_from_sums(
    gamma_self: torch.Tensor, neighbour_sum: torch.Tensor, weight_sum: torch.Tensor
) -> torch.Tensor:
    """Eq. (31) from running sums: ``pi_i ∝ gamma_i sum_j w_ij + sum_j w_ij gamma_j``.

    The same value as :func:`dgg_pi_update`, from ``neighbour_sum = sum_j w_ij gamma_j``
    (B, K) and ``weight_sum = sum_j w_ij`` (B,); a trainer that keeps the sums up to
    date when a few ``gamma_j`` change refreshes every affected ``pi_i`` in O(batch x S)
    instead of re-gathering all their neighbours.
    """
    num = gamma_self * weight_sum.unsqueeze(-1) + neighbour_sum
    return num / num.sum(-1, keepdim=True).clamp_min(_EPS)


@in_float32
def gmm_posterior(
    z: torch.Tensor, log_pi: torch.Tensor, gmm_mu: torch.Tensor, gmm_logvar: torch.Tensor
) -> torch.Tensor:
    """``p(c | z) ∝ pi_c N(z | mu_c, diag s_c^2)`` (VaDE's gamma)."""
    diff2 = (z.unsqueeze(1) - gmm_mu.unsqueeze(0)) ** 2
    log_n = -0.5 * (LOG_2PI + gmm_logvar.unsqueeze(0) + diff2 * torch.exp(-gmm_logvar)).sum(-1)
    return torch.softmax(log_pi + log_n, dim=-1)


@in_float32
def standard_vae_elbo(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    likelihood: str = "bernoulli",
    lam: float = 1.0,
) -> torch.Tensor:
    """ELBO with a standard normal prior (the VAE stage of DGG's initialisation, §4)."""
    kl = 0.5 * (mu**2 + torch.exp(logvar) - 1.0 - logvar).sum(-1)
    return log_likelihood(x, x_hat, likelihood, lam) - kl
