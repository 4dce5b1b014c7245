"""DGG eqs. (19), (21), (26), (31) against straightforward reference computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from deepclust.objectives.gmm_vae import (
    dgg_objective,
    dgg_pi_from_sums,
    dgg_pi_update,
    gaussian_log_likelihood,
    gmm_posterior,
    gmm_vae_elbo,
    standard_vae_elbo,
)

# exact references in double precision (conftest restores float32 afterwards)
pytestmark = pytest.mark.usefixtures("float64_default")


@pytest.fixture
def tiny():
    g = torch.Generator().manual_seed(0)
    n, d, m, k = 5, 4, 3, 3
    x = torch.rand(n, d, generator=g)
    x_hat = torch.rand(n, d, generator=g) * 0.9 + 0.05
    mu = torch.randn(n, m, generator=g)
    logvar = torch.randn(n, m, generator=g) * 0.3
    gamma = torch.softmax(torch.randn(n, k, generator=g), 1)
    pi = torch.softmax(torch.randn(n, k, generator=g), 1)
    gmm_mu = torch.randn(k, m, generator=g)
    gmm_logvar = torch.randn(k, m, generator=g) * 0.3
    # affinity rows sum to 1, no self loops (eq. 32's normalisation)
    w = torch.rand(n, n, generator=g) * (1 - torch.eye(n))
    w = w / w.sum(1, keepdim=True)
    return dict(
        x=x,
        x_hat=x_hat,
        mu=mu,
        logvar=logvar,
        gamma=gamma,
        pi=pi,
        gmm_mu=gmm_mu,
        gmm_logvar=gmm_logvar,
        w=w,
    )


def reference_elbo(x, x_hat, mu, logvar, gamma, log_pi, gmm_mu, gmm_logvar, lik, lam=1.0):
    """Eq. (21) assembled from torch.distributions: E log p(x|z) - sum_k g_k KL_k + E_c."""
    if lik == "bernoulli":
        # grey levels in [0, 1] as in MNIST: the "continuous Bernoulli" cross-entropy form
        rec = Bernoulli(probs=x_hat, validate_args=False).log_prob(x).sum(-1)
    else:
        rec = Normal(x_hat, math.sqrt(lam)).log_prob(x).sum(-1)
    q = Normal(mu.unsqueeze(1), torch.exp(0.5 * logvar).unsqueeze(1))
    p = Normal(gmm_mu.unsqueeze(0), torch.exp(0.5 * gmm_logvar).unsqueeze(0))
    kl = kl_divergence(q, p).sum(-1)  # (n, K): KL(q(z|x) || p(z|c=k))
    cat = (gamma * (log_pi - torch.log(gamma))).sum(-1)
    return rec - (gamma * kl).sum(-1) + cat


@pytest.mark.parametrize("lik", ["bernoulli", "gaussian"])
def test_elbo_eq21_matches_distributions(tiny, lik):
    t = tiny
    log_pi = torch.log(t["pi"])
    got = gmm_vae_elbo(
        t["x"],
        t["x_hat"],
        t["mu"],
        t["logvar"],
        t["gamma"],
        log_pi,
        t["gmm_mu"],
        t["gmm_logvar"],
        likelihood=lik,
        lam=0.7,
    )
    want = reference_elbo(
        t["x"],
        t["x_hat"],
        t["mu"],
        t["logvar"],
        t["gamma"],
        log_pi,
        t["gmm_mu"],
        t["gmm_logvar"],
        lik,
        lam=0.7,
    )
    torch.testing.assert_close(got, want)


def test_elbo_global_pi_broadcasts(tiny):
    t = tiny
    log_pi = torch.log(t["pi"][0])  # VaDE: one pi for every sample
    got = gmm_vae_elbo(
        t["x"], t["x_hat"], t["mu"], t["logvar"], t["gamma"], log_pi, t["gmm_mu"], t["gmm_logvar"]
    )
    want = reference_elbo(
        t["x"],
        t["x_hat"],
        t["mu"],
        t["logvar"],
        t["gamma"],
        log_pi.expand_as(t["pi"]),
        t["gmm_mu"],
        t["gmm_logvar"],
        "bernoulli",
    )
    torch.testing.assert_close(got, want)


def naive_pair_objective(t, lik, lam=1.0):
    """Eq. (19) literally: 1/2 sum_i sum_j w_ij (L(x_i) + L(x_i, x_j)), L(x_i, x_j) of eq. (26).

    In L(x_i, x_j) the anchor's data x_i is reconstructed from x_j's decoding and the
    prior uses the anchor's pi_i; everything else is x_j's posterior.
    """
    n = t["x"].shape[0]
    log_pi = torch.log(t["pi"])

    def pair(i, j):
        return reference_elbo(
            t["x"][i : i + 1],
            t["x_hat"][j : j + 1],
            t["mu"][j : j + 1],
            t["logvar"][j : j + 1],
            t["gamma"][j : j + 1],
            log_pi[i : i + 1],
            t["gmm_mu"],
            t["gmm_logvar"],
            lik,
            lam,
        )[0]

    total = torch.zeros(())
    for i in range(n):
        for j in range(n):
            if t["w"][i, j] > 0:
                total = total + 0.5 * t["w"][i, j] * (pair(i, i) + pair(i, j))
    return total


def fast_objective(t, x_bar, w_bar, log_pi_bar, **kw):
    """``dgg_objective`` on the tiny tensors ``t`` with the given anchor aggregates."""
    return dgg_objective(
        x_bar, w_bar, t["x_hat"], t["mu"], t["logvar"], t["gamma"], log_pi_bar,
        t["gmm_mu"], t["gmm_logvar"], **kw,
    )  # fmt: skip


def aggregates(t):
    """x_bar = W^T X, w_bar = W^T 1, sq_bar, log_pi_bar with W = (I + W_graph) / 2."""
    n = t["x"].shape[0]
    W = 0.5 * (torch.eye(n) + t["w"])
    x_bar = W.T @ t["x"]
    w_bar = W.sum(0)
    sq_bar = W.T @ (t["x"] ** 2).sum(1)
    log_pi_bar = W.T @ torch.log(t["pi"])
    return x_bar, w_bar, sq_bar, log_pi_bar


@pytest.mark.parametrize("lik", ["bernoulli", "gaussian"])
def test_dgg_objective_equals_naive_double_sum(tiny, lik):
    t = tiny
    x_bar, w_bar, sq_bar, log_pi_bar = aggregates(t)
    per_j = fast_objective(t, x_bar, w_bar, log_pi_bar, likelihood=lik, lam=0.4, x_sq_bar=sq_bar)
    torch.testing.assert_close(per_j.sum(), naive_pair_objective(t, lik, lam=0.4))


def test_dgg_objective_gradients_match_naive(tiny):
    """The swap of sums must give the same gradients, not only the same value."""
    t = {
        k: v.clone().requires_grad_(k in ("x_hat", "mu", "logvar", "gmm_mu"))
        for k, v in tiny.items()
    }
    x_bar, w_bar, sq_bar, log_pi_bar = aggregates(t)
    fast = fast_objective(t, x_bar, w_bar, log_pi_bar).sum()
    g_fast = torch.autograd.grad(fast, [t["x_hat"], t["mu"], t["logvar"], t["gmm_mu"]])
    slow = naive_pair_objective(t, "bernoulli")
    g_slow = torch.autograd.grad(slow, [t["x_hat"], t["mu"], t["logvar"], t["gmm_mu"]])
    for a, b in zip(g_fast, g_slow, strict=True):
        torch.testing.assert_close(a, b)


def test_dgg_with_no_neighbours_is_the_vade_elbo(tiny):
    """N_s = 0: W = I, so (19) reduces to sum_i L(x_i), the VaDE ELBO of eq. (21)."""
    t = tiny
    n = t["x"].shape[0]
    log_pi = torch.log(t["pi"])
    got = fast_objective(t, t["x"], torch.ones(n), log_pi, x_sq_bar=(t["x"] ** 2).sum(1))
    want = gmm_vae_elbo(
        t["x"], t["x_hat"], t["mu"], t["logvar"], t["gamma"], log_pi, t["gmm_mu"], t["gmm_logvar"]
    )
    torch.testing.assert_close(got, want)


def test_pi_update_eq31_is_the_constrained_maximiser(tiny):
    t = tiny
    n, k = t["gamma"].shape
    nbr = torch.tensor([[j for j in range(n) if j != i] for i in range(n)])
    w = torch.gather(t["w"], 1, nbr)
    pi = dgg_pi_update(t["gamma"], t["gamma"][nbr], w)
    # reference: eq. (31) element by element
    for i in range(n):
        num = [
            sum(
                float(w[i, s]) * float(t["gamma"][i, c] + t["gamma"][nbr[i, s], c])
                for s in range(n - 1)
            )
            for c in range(k)
        ]
        np.testing.assert_allclose(pi[i].numpy(), np.array(num) / sum(num), rtol=1e-10)

    # and it maximises the objective of eq. (30) over the simplex
    def f(p):
        coef = (w.unsqueeze(-1) * (t["gamma"].unsqueeze(1) + t["gamma"][nbr])).sum(1)
        return (coef * torch.log(p)).sum(1)

    best = f(pi)
    rng = torch.Generator().manual_seed(1)
    for _ in range(200):
        other = torch.distributions.Dirichlet(torch.ones(k)).sample((n,))
        other = 0.7 * other + 0.3 * torch.softmax(torch.randn(n, k, generator=rng), 1)
        assert torch.all(f(other) <= best + 1e-12)
    torch.testing.assert_close(pi.sum(1), torch.ones(n))


def test_pi_update_without_neighbours_returns_own_gamma(tiny):
    t = tiny
    n, k = t["gamma"].shape
    pi = dgg_pi_update(t["gamma"], torch.zeros(n, 1, k), torch.ones(n, 1))
    torch.testing.assert_close(pi, t["gamma"])


def test_gmm_posterior_is_bayes_rule():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(6, 2, generator=g)
    mu, logvar = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g) * 0.2
    log_pi = torch.log(torch.tensor([0.2, 0.5, 0.3]))
    dens = Normal(mu.unsqueeze(0), torch.exp(0.5 * logvar).unsqueeze(0)).log_prob(
        z.unsqueeze(1)
    ).sum(-1).exp() * torch.exp(log_pi)
    torch.testing.assert_close(gmm_posterior(z, log_pi, mu, logvar), dens / dens.sum(1, True))


def test_gaussian_likelihood_and_standard_vae():
    x = torch.tensor([[0.0, 1.0]])
    x_hat = torch.tensor([[0.5, 0.5]])
    # log N(x | x_hat, 2 I) = -1/2 (2 log(2 pi 2) + 0.5 / 2)
    want = -0.5 * (2 * math.log(2 * math.pi * 2.0) + 0.5 / 2.0)
    torch.testing.assert_close(gaussian_log_likelihood(x, x_hat, 2.0), torch.tensor([want]))
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])
    # KL(N(1,1)||N(0,1)) = 1/2, KL(N(0,4)||N(0,1)) = 1/2 (4 - 1 - log 4)
    kl = 0.5 + 0.5 * (4.0 - 1.0 - math.log(4.0))
    got = standard_vae_elbo(x, x_hat, mu, logvar, likelihood="gaussian", lam=2.0)
    torch.testing.assert_close(got, torch.tensor([want - kl]))


def test_pi_from_sums_equals_the_gathered_update(tiny):
    t = tiny
    n, _ = t["gamma"].shape
    nbr = torch.tensor([[(i + 1) % n, (i + 2) % n] for i in range(n)])
    w = torch.gather(t["w"], 1, nbr)
    want = dgg_pi_update(t["gamma"], t["gamma"][nbr], w)
    sums = (w.unsqueeze(-1) * t["gamma"][nbr]).sum(1)
    torch.testing.assert_close(dgg_pi_from_sums(t["gamma"], sums, w.sum(1)), want)


def test_dgg_trainer_incremental_pi_matches_full_recount():
    """Algorithm 1 line 8 via running sums equals eq. (31) recomputed from scratch."""
    from deepclust.methods.dgg import DGG
    from deepclust.training import TensorState

    g = torch.Generator().manual_seed(5)
    n, s, k = 40, 4, 3
    nbr = np.stack(
        [np.random.default_rng(i).choice(np.delete(np.arange(n), i), s, False) for i in range(n)]
    )
    w = np.random.default_rng(0).random((n, s))
    w /= w.sum(1, keepdims=True)
    est = DGG(k, device="cpu")
    est.neighbors_, est.neighbor_weights_, est.device_ = nbr, w.astype(np.float32), "cpu"
    graph = est._graph_tensors(torch.rand(n, 2, generator=g))
    gamma0 = torch.softmax(torch.randn(n, k, generator=g), 1).to(torch.float32)
    tables = TensorState(
        gamma=gamma0.clone(), pi=torch.empty_like(gamma0), nbr_sum=torch.zeros_like(gamma0)
    )
    est._sync_neighbour_sums(graph, tables)
    est._refresh_pi(graph, tables, torch.arange(n))
    for _ in range(6):
        idx = torch.randperm(n, generator=g)[:7]
        new = torch.softmax(torch.randn(7, k, generator=g), 1).to(torch.float32)
        est._update_gamma(graph, tables, idx, new, est._gather_transpose(graph, idx))
    gamma = tables["gamma"]
    nb = torch.as_tensor(nbr)
    want = dgg_pi_update(gamma, gamma[nb], torch.as_tensor(w, dtype=torch.float32))
    torch.testing.assert_close(tables["pi"], want, rtol=1e-5, atol=1e-6)
