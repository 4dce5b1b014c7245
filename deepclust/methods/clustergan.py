"""ClusterGAN: latent space clustering in generative adversarial networks
(Mukherjee, Asnani, Lin, Kannan; AAAI 2019).

A baseline of A-DATSC (on the ``[time, lat*lon*var]`` view of a cube) and a general
vector clusterer:

* Latent prior (§3.1): ``z = (z_n, z_c)``, ``z_n ~ N(0, sigma^2 I)`` (``sigma = 0.1``)
  and ``z_c`` a one-hot of one of K clusters drawn uniformly; the generator ``G`` maps
  ``z`` to data space, so each one-hot picks a mode.
* Encoder ``E`` (§3.2): data -> ``(z_n, logits of z_c)``; it inverts ``G`` on the
  generated samples.
* Objective (eq. 2, WGAN-GP form of §4): the critic ``D`` maximises
  ``E D(x) - E D(G(z))`` minus the gradient penalty ``lambda_gp (||grad D||_2 - 1)^2``
  on interpolates; ``G`` and ``E`` minimise ``-E D(G(z)) + beta_n ||z_n - E_n(G(z))||^2
  + beta_c CE(z_c, E_c(G(z)))``; ``n_critic`` critic steps per generator step.
* Labels (§3.3): the real data are mapped to the latent space by ``E``; by default
  (``assign="kmeans"``) k-means clusters the whole latent code ``[E_n(x),
  softmax(E_c(x))]``, which is how the authors' code scores ClusterGAN (k-means on the
  inferred latent, the noise part included whenever ``beta_n > 0``);
  ``assign="argmax"`` takes ``argmax E_c(x)`` directly. The argmax leaves clusters empty
  whenever the generator has not given every one-hot its own mode (seen on small data:
  ORL, two seeds of three), which k-means cannot.

Networks are fully connected (the paper's synthetic and single-cell architecture:
two hidden layers of leaky ReLU; batch norm in ``G``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans as _SkKMeans
from torch import nn

from ..base import DeepClusterer
from ..nn.mlp import batched_apply
from ..precision import backward
from ..training import adam
from ..utils import derive_seed
from ..validation import (
    N_CLUSTERS,
    StrOptions,
    non_negative_real,
    positive_int,
    positive_real,
)


def _leaky_mlp(dims: list[int], batch_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


_ROUND = 100  # generator steps per logged round (the training loop's "epoch")


class ClusterGANEncoder(nn.Module):
    """``E``: data -> ``(z_n, logits of z_c)``."""

    def __init__(self, n_features: int, hidden: int, noise_dim: int, n_clusters: int) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.net = _leaky_mlp([n_features, hidden, hidden, noise_dim + n_clusters])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)
        return out[:, : self.noise_dim], out[:, self.noise_dim :]


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """WGAN-GP's ``E (||grad_x D(x_hat)||_2 - 1)^2`` on ``x_hat = eps real + (1 - eps) fake``."""
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm(dim=1) - 1.0).pow(2).mean()


class ClusterGAN(DeepClusterer):
    """ClusterGAN with a WGAN-GP critic and fully connected networks.

    Parameters
    ----------
    n_clusters : int
    noise_dim : int
        Size of ``z_n`` (the paper: 30 for MNIST-sized data).
    sigma : float
        Standard deviation of ``z_n`` (the paper: 0.1, small so that the one-hot part
        decides the mode).
    hidden : int
        Width of the two hidden layers of ``G``, ``D`` and ``E``.
    beta_n, beta_c : float
        Weights of the ``z_n`` reconstruction and the ``z_c`` cross entropy (10, 10).
    lambda_gp : float
        Gradient-penalty weight (10).
    n_critic : int
        Critic steps per generator/encoder step (5).
    iterations, batch_size, lr : int, int, float
        Generator/encoder steps (each after ``n_critic`` critic steps on random real
        batches; logged in rounds of 100), batch (64) and Adam rate (1e-4, betas 0.5
        and 0.9).
    assign : {"kmeans", "argmax"}
        Final labels: k-means (``kmeans_n_init`` starts) on ``[E_n(x), softmax(E_c(x))]``
        (the authors' evaluation), or ``argmax E_c(x)``.
    kmeans_n_init : int
        k-means restarts for ``assign="kmeans"``.
    input_scaling : {"auto", "max", "standardize", "none"}
        See :mod:`deepclust.scaling`.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_ : ndarray (n_samples,)
    proba_ : ndarray (n_samples, K)
        ``softmax(E_c(x))`` (its argmax is ``labels_`` only with ``assign="argmax"``).
    embedding_ : ndarray (n_samples, noise_dim + K)
        ``[E_n(x), softmax(E_c(x))]``, the code k-means clusters.
    cluster_centers_ : ndarray (K, noise_dim + K)
        k-means centres in ``embedding_`` space (``assign="kmeans"``; ``predict`` uses
        them).
    history_ : list of dict
        Critic loss, generator loss, both inversion terms per epoch.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "noise_dim": [positive_int()],
        "sigma": [positive_real()],
        "hidden": [positive_int()],
        "beta_n": [non_negative_real()],
        "beta_c": [non_negative_real()],
        "lambda_gp": [non_negative_real()],
        "n_critic": [positive_int()],
        "iterations": [positive_int()],
        "batch_size": [positive_int()],
        "lr": [positive_real()],
        "assign": [StrOptions({"kmeans", "argmax"})],
        "kmeans_n_init": [positive_int()],
        "input_scaling": [StrOptions({"auto", "max", "standardize", "none"})],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        noise_dim: int = 30,
        sigma: float = 0.1,
        hidden: int = 256,
        beta_n: float = 10.0,
        beta_c: float = 10.0,
        lambda_gp: float = 10.0,
        n_critic: int = 5,
        iterations: int = 3000,
        batch_size: int = 64,
        lr: float = 1e-4,
        assign: str = "kmeans",
        kmeans_n_init: int = 20,
        input_scaling: str = "auto",
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
        self.noise_dim = noise_dim
        self.sigma = sigma
        self.hidden = hidden
        self.beta_n = beta_n
        self.beta_c = beta_c
        self.lambda_gp = lambda_gp
        self.n_critic = n_critic
        self.iterations = iterations
        self.batch_size = batch_size
        self.lr = lr
        self.assign = assign
        self.kmeans_n_init = kmeans_n_init
        self.input_scaling = input_scaling
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        d, h, k, nd = self.n_features_, int(self.hidden), self.n_clusters, int(self.noise_dim)
        self.generator_ = _leaky_mlp([nd + k, h, h, d], batch_norm=True).to(self.device_)
        self.critic_ = _leaky_mlp([d, h, h, 1]).to(self.device_)
        self.critic_.eager_only = True  # its gradient penalty differentiates twice
        self.encoder_ = ClusterGANEncoder(d, h, nd, k).to(self.device_)

    def _fit(self, X: np.ndarray) -> None:
        self.n_features_ = int(X.shape[1])
        self._build_modules()
        data = self._as_tensor(X)
        self._train(data)
        self._finish(data)

    def _sample_prior(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, cluster)``: ``z = [z_n, one_hot(cluster)]`` from the prior of §3.1, drawn
        on ``gen``'s device (the model's: no step copies random numbers from the host)."""
        z_n = torch.randn(n, int(self.noise_dim), generator=gen, device=gen.device)
        z_n = z_n * float(self.sigma)
        c = torch.randint(self.n_clusters, (n,), generator=gen, device=gen.device)
        z = torch.cat([z_n, F.one_hot(c, self.n_clusters).float()], dim=1)
        return z, c

    def _critic_step(self, real: torch.Tensor, gen: torch.Generator,
                     opt: torch.optim.Optimizer) -> torch.Tensor:  # fmt: skip
        z, _ = self._sample_prior(len(real), gen)
        with torch.no_grad():
            fake = self.generator_(z)
        eps = torch.rand(len(real), 1, generator=gen, device=gen.device)
        d = self.critic_
        loss = d(fake).mean() - d(real).mean()
        loss = loss + float(self.lambda_gp) * gradient_penalty(d, real, fake, eps)
        opt.zero_grad(set_to_none=True)
        backward(loss)
        opt.step()
        return loss.detach().float()  # summed in float32 also under autocast

    def _generator_step(self, n: int, gen: torch.Generator,
                        opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:  # fmt: skip
        z, c = self._sample_prior(n, gen)
        fake = self.generator_(z)
        z_n_hat, logits = self.encoder_(fake)
        adv = -self.critic_(fake).mean()
        inv_n = (z[:, : int(self.noise_dim)] - z_n_hat).pow(2).sum(1).mean()
        inv_c = F.cross_entropy(logits, c)
        loss = adv + float(self.beta_n) * inv_n + float(self.beta_c) * inv_c
        opt.zero_grad(set_to_none=True)
        backward(loss)
        opt.step()
        # detached, on the device: the loop reads the sums once per round, not per step
        terms = {"generator": adv, "inv_n": inv_n, "inv_c": inv_c}
        return {key: value.detach().float() for key, value in terms.items()}

    def _train(self, data: torch.Tensor) -> None:
        betas = (0.5, 0.9)
        opt_d = adam(self.critic_.parameters(), lr=self.lr, betas=betas)
        opt_g = adam([*self.generator_.parameters(), *self.encoder_.parameters()],
                     lr=self.lr, betas=betas)  # fmt: skip
        state = {"generator": self.generator_, "critic": self.critic_,
                 "encoder": self.encoder_, "opt_d": opt_d, "opt_g": opt_g}  # fmt: skip
        rounds = -(-int(self.iterations) // _ROUND)
        loop = self._loop("clustergan", rounds, state)
        bs = int(min(self.batch_size, len(data)))
        gen = loop.device_generator

        def epoch(r: int) -> dict[str, Any]:
            """``_ROUND`` generator steps, each after ``n_critic`` critic steps."""
            sums: dict[str, Any] = {"critic": 0.0, "generator": 0.0, "inv_n": 0.0, "inv_c": 0.0}
            n_steps = min(_ROUND, int(self.iterations) - r * _ROUND)
            for _ in range(n_steps):
                for _ in range(int(self.n_critic)):
                    real = data[loop.randint(len(data), bs)]
                    sums["critic"] += self._critic_step(real, gen, opt_d)
                for key, value in self._generator_step(bs, gen, opt_g).items():
                    sums[key] += value
            out = {"critic": sums["critic"] / (n_steps * int(self.n_critic))}
            out.update({k: sums[k] / n_steps for k in ("generator", "inv_n", "inv_c")})
            return out

        loop.run(epoch)

    @torch.no_grad()
    def _encode(self, data: torch.Tensor) -> torch.Tensor:
        """``[E_n(x), softmax(E_c(x))]``: the latent code the labels come from."""
        self.encoder_.eval()

        def code(x: torch.Tensor) -> torch.Tensor:
            z_n, logits = self.encoder_(x)
            return torch.cat([z_n, torch.softmax(logits, dim=1)], dim=1)

        out = batched_apply(code, data)
        self.encoder_.train()
        return out

    def _finish(self, data: torch.Tensor) -> None:
        code = self._encode(data).cpu().numpy()
        self.embedding_ = code
        self.proba_ = code[:, int(self.noise_dim) :]
        if self.assign == "kmeans":
            km = _SkKMeans(self.n_clusters, n_init=int(self.kmeans_n_init),
                           random_state=derive_seed(self.random_state, 7)).fit(code)  # fmt: skip
            self.cluster_centers_ = km.cluster_centers_
            self.labels_ = km.labels_.astype(np.int64)
        else:
            self.labels_ = self.proba_.argmax(1).astype(np.int64)
        for m in (self.generator_, self.critic_, self.encoder_):
            m.eval()

    # ------------------------------------------------------------- inference
    def predict_proba(self, X: Any) -> np.ndarray:
        """``softmax(E_c(x))`` of new samples."""
        return self.transform(X)[:, int(self.noise_dim) :]

    def predict(self, X: Any) -> np.ndarray:
        """The nearest k-means centre of the latent code (``assign="kmeans"``), or the
        argmax of ``softmax(E_c(x))``."""
        code = self.transform(X)
        if self.assign == "argmax":
            return code[:, int(self.noise_dim) :].argmax(1).astype(np.int64)
        d2 = ((code[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1)
        return d2.argmin(1).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """``[E_n(x), softmax(E_c(x))]`` of new samples."""
        X = self._validate_new_input(X)
        return self._encode(self._as_tensor(X)).cpu().numpy()

    @torch.no_grad()
    def sample(self, n: int, cluster: int | None = None) -> np.ndarray:
        """Draw ``n`` samples from ``G`` (all from one cluster's mode if given), in the
        scaled input space."""
        seed = 0 if self.random_state is None else self.random_state
        gen = torch.Generator(self.device_).manual_seed(seed)
        z, _ = self._sample_prior(n, gen)
        if cluster is not None:
            z[:, int(self.noise_dim) :] = F.one_hot(
                torch.full((n,), int(cluster), device=z.device), self.n_clusters
            ).float()
        self.generator_.eval()
        return self.generator_(z).cpu().numpy()


__all__ = ["ClusterGAN", "gradient_penalty"]
