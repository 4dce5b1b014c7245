"""Pieces shared by the Gaussian-mixture VAEs (VaDE and DGG).

Both pretrain an autoencoder (:mod:`deepclust.pretraining`), turn it into a VAE with a
Gaussian-mixture prior, and cluster with the mixture. This module holds what they share:
resolving the likelihood, pretraining, encoding, initialising the mixture, and the
generative side (sampling from a component, latent traversals as in DGG Fig. 2).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans

from ..base import DeepClusterer
from ..diagnostics import is_collapsed
from ..distributed import shard_randn_like
from ..exceptions import ConfigError
from ..nn.autoencoders import MLPAutoencoder
from ..nn.vae import GaussianEncoder, GaussianMixturePrior, copy_decoder
from ..objectives.gmm_vae import standard_vae_elbo
from ..pretraining import Autoencoder, UsesAutoencoder, auto_epochs, minibatch_epoch
from ..training import StopsOnCollapse, adam
from ..utils import derive_seed, seed_everything
from ..validation import (
    AUTO,
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    positive_int,
    positive_real,
    unit_interval,
)


class GaussianMixtureVAE(UsesAutoencoder, StopsOnCollapse, DeepClusterer):
    """Common machinery; subclasses define ``__init__`` (parameters) and ``_fit``."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "likelihood": [StrOptions({"auto", "bernoulli", "gaussian"})],
        "lam": [AUTO, positive_real()],
        "epochs": [AUTO, non_negative_int()],
        "lr": [AUTO, positive_real()],
        "lr_decay": [unit_interval(closed="right")],
        "lr_decay_every": [positive_int()],
        "batch_size": [positive_int()],
        "n_init": [AUTO, positive_int()],
        "stop_on_collapse": ["boolean"],
    }

    # set by subclasses' __init__
    likelihood: str
    lam: Any
    lr: Any
    batch_size: int
    n_init: Any
    stop_on_collapse: bool
    #: the training stage whose final loss (the negative objective) ranks restarts
    _main_stage: str

    # -------------------------------------------------------------- restarts
    def _fit(self, X: np.ndarray) -> None:
        """Fit ``n_init`` times from different seeds; keep the lowest final loss.

        Like ``GaussianMixture(n_init=...)``, runs are ranked by the model's own
        objective (the mean negative ELBO of the last training epoch), never by labels.
        A mixture VAE ends in a poor local optimum when its k-means initialisation cuts
        across the true clusters, and such runs end with a clearly worse objective.
        """
        n_init = self._resolve_n_init(X.shape[0])
        if n_init == 1:
            self._fit_once(X)
            return
        seed, best, runs, losses = self.random_state, None, [], []
        collapsed: list[bool] = []
        stopped: list[bool] = []
        try:
            for r in range(n_init):
                # every sub-step derives its seed from random_state, so vary that
                self.random_state = seed if r == 0 else derive_seed(seed, 7919 + r)
                seed_everything(self.random_state)
                ckpt = self.checkpoint_dir
                self._run_dir = Path(ckpt) / f"run{r}" if ckpt else None
                self.history_ = []
                self.collapse_stopped_epoch_ = self.collapse_kept_epoch_ = None
                self._fit_once(X)
                for h in self.history_:
                    h["run"] = r
                runs += self.history_
                losses.append(self._kept_loss())
                collapsed.append(is_collapsed(self.labels_, self.n_clusters))
                stopped.append(self.collapse_stopped_epoch_ is not None)
                # a collapsed run (one cluster, or empty ones) loses to any that is not,
                # and one the collapse guard stopped early to any that trained to the end
                rank = (collapsed[-1], stopped[-1], losses[-1])
                if best is None or rank < (collapsed[best], stopped[best], losses[best]):
                    best, state = r, self._learned_state()
        finally:
            self.random_state, self._run_dir = seed, None
        self.__dict__.update(state)
        self.history_, self.run_losses_, self.best_run_ = runs, losses, best
        self.run_collapsed_ = collapsed

    def _kept_loss(self) -> float:
        """Final loss of the kept model: the last epoch's, or, when the collapse guard
        stopped the run, that of the epoch whose state it put back."""
        losses = [h["loss"] for h in self.history_ if h["stage"] == self._main_stage]
        if self.collapse_stopped_epoch_ is None:
            return float(losses[-1])
        return float(losses[max(self.collapse_kept_epoch_, 1) - 1])

    def _resolve_n_init(self, n_samples: int) -> int:
        n_init = self.n_init
        if n_init == "auto":
            # small data: restarts are cheap and guard against a bad initialisation;
            # large data (MNIST-sized): one run, as in the papers
            return 3 if n_samples <= 10_000 else 1
        if not isinstance(n_init, (int, np.integer)) or isinstance(n_init, bool) or n_init < 1:
            raise ConfigError(f"n_init={n_init!r} must be 'auto' or a positive integer")
        return int(n_init)

    def _learned_state(self) -> dict[str, Any]:
        """The attributes one run set (each run builds new modules, so no deep copy)."""
        params = set(self.get_params(deep=False))
        return {k: v for k, v in vars(self).items() if k not in params and k != "_run_dir"}

    # ---------------------------------------------------------------- set-up
    def _resolve_likelihood(self, X: np.ndarray) -> str:
        unit = bool(X.min() >= 0.0 and X.max() <= 1.0)
        lik = self.likelihood
        if lik == "auto":
            lik = "bernoulli" if unit else "gaussian"
        if lik not in ("bernoulli", "gaussian"):
            raise ConfigError(
                f"likelihood={lik!r} is unknown; expected 'auto', 'bernoulli' or 'gaussian'"
            )
        if lik == "bernoulli" and not unit:
            raise ConfigError(
                "likelihood='bernoulli' needs data in [0, 1]; scale the data or use 'gaussian'"
            )
        self.lam_ = 1.0
        if lik == "gaussian":
            if self.lam == "auto":
                # The decoder variance as a tenth of the mean feature variance: the
                # reconstruction must explain ~90% of each feature's variance. A fixed
                # lam = 1 on data of variance < 1 lets the KL terms win (posterior collapse).
                self.lam_ = float(max(0.1 * X.var(axis=0).mean(), 1e-6))
            elif isinstance(self.lam, (int, float)) and self.lam > 0:
                self.lam_ = float(self.lam)
            else:
                raise ConfigError(
                    f"lam={self.lam!r} must be 'auto' or > 0 (variance of the Gaussian decoder)"
                )
        return lik

    def _resolve_lr(self) -> float:
        """``"auto"``: the paper's 0.02 for the small synthetic-data networks (§4.1), the
        authors' released 2e-3 for the D-500-500-2000-10 network."""
        if self.lr == "auto":
            return 2e-2 if max(self.dims_[1:-1]) <= 64 else 2e-3
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError(f"lr={self.lr!r} must be 'auto' or a positive number")
        return float(self.lr)

    def _epochs(self, value: Any, n: int, target_steps: int, lo: int, hi: int, name: str) -> int:
        if value == "auto":
            return auto_epochs(n, self.batch_size, target_steps, lo, hi)
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer or 'auto', got {value!r}")
        return int(value)

    def _pretrain(self, X: np.ndarray) -> Autoencoder:
        """The pretrained autoencoder (DGG §4), with the output the decoder needs."""
        output = "sigmoid" if self.likelihood_ == "bernoulli" else "linear"
        return self._pretrained_autoencoder(X, output)

    def _build_vae(self, ae: Autoencoder) -> None:
        net: MLPAutoencoder = ae.network_
        self.dims_ = net.dims
        init = getattr(self, "logvar_init_", "small")
        self.encoder_ = GaussianEncoder.from_autoencoder(net, init).to(self.device_)
        self.decoder_ = copy_decoder(net).to(self.device_)

    def _build_base_modules(self) -> None:
        """Untrained modules of the right shapes (for :meth:`load`)."""
        ae = MLPAutoencoder(self.dims_, "sigmoid" if self.likelihood_ == "bernoulli" else "linear")
        self.encoder_ = GaussianEncoder(self.dims_).to(self.device_)
        self.decoder_ = ae.decoder.to(self.device_)
        self.prior_ = GaussianMixturePrior(self.n_clusters, self.dims_[-1]).to(self.device_)

    # -------------------------------------------------------------- training
    def _sample(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Reparameterised sample ``z = mu + sigma * eps`` (DGG eq. 23).

        Only called on the batches of the one loop; under ``torchrun`` those are this
        rank's shards, which get their rows of the global batch's noise.
        """
        return mu + torch.exp(0.5 * logvar) * shard_randn_like(mu)

    def _fit_vae(self, data: torch.Tensor, n_epochs: int, lr: float) -> None:
        """Train the pretrained network as a plain VAE (standard normal prior), DGG §4."""
        params = list(self.encoder_.parameters()) + list(self.decoder_.parameters())
        opt = adam(params, lr=lr)
        loop = self._loop(
            "vae", n_epochs, {"encoder": self.encoder_, "decoder": self.decoder_, "opt": opt}
        )

        def batch_loss(idx: torch.Tensor) -> torch.Tensor:
            x = data[idx]
            mu, logvar = self.encoder_(x)
            x_hat = self.decoder_(self._sample(mu, logvar))
            elbo = standard_vae_elbo(
                x, x_hat, mu, logvar, likelihood=self.likelihood_, lam=self.lam_
            )
            return -elbo.mean()

        def epoch(_: int) -> dict[str, float]:
            return {
                "loss": minibatch_epoch(
                    loop, len(data), self.batch_size, opt, batch_loss, device=data.device
                )
            }

        loop.run(epoch)

    @torch.no_grad()
    def _encode(self, data: torch.Tensor, batch: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        self.encoder_.eval()
        mus, logvars = [], []
        for i in range(0, len(data), batch):
            mu, logvar = self.encoder_(data[i : i + batch])
            mus.append(mu.float())  # float32 also inside a mixed-precision epoch
            logvars.append(logvar.float())
        self.encoder_.train()
        return torch.cat(mus), torch.cat(logvars)

    def _kmeans_init(
        self, mu: torch.Tensor, logvar: torch.Tensor, variance: str = "total"
    ) -> np.ndarray:
        """k-means on the latent means -> mixture (DGG §4). Returns the k-means labels.

        Means are the k-means centres. ``variance="total"``: the unbiased within-cluster
        variances of the representations ``z ~ q(z|x)``, i.e. ``Var(mu~) + E[sigma~^2]``
        by the law of total variance; with wide posteriors, the spread of the means alone
        leaves components far narrower than the posteriors they must explain (the
        ``sigma~^2 / sigma_k^2`` term of eq. (21) then swamps the assignment).
        ``"means"``: ``Var(mu~)`` only, what the DGG authors' code does (their posteriors
        start narrow).
        """
        Z = mu.cpu().numpy().astype(np.float64)
        S2 = torch.exp(logvar).cpu().numpy().astype(np.float64)
        if variance == "means":
            S2 = np.zeros_like(S2)
        km = _SkKMeans(self.n_clusters, n_init=20, random_state=derive_seed(self.random_state, 2))
        labels = km.fit_predict(Z)
        counts = np.bincount(labels, minlength=self.n_clusters)
        var = np.tile(Z.var(axis=0) + S2.mean(axis=0), (self.n_clusters, 1))
        for k in range(self.n_clusters):
            if counts[k] > 1:
                members = labels == k
                var[k] = Z[members].var(axis=0, ddof=1) + S2[members].mean(axis=0)
        self.prior_.initialise(
            torch.as_tensor(km.cluster_centers_, dtype=torch.float32),
            torch.as_tensor(np.maximum(var, 1e-6), dtype=torch.float32),
            torch.as_tensor(np.maximum(counts, 1) / counts.sum(), dtype=torch.float32),
        )
        return labels

    # ------------------------------------------------------------- inference
    def transform(self, X: Any) -> np.ndarray:
        """Posterior means ``mu~`` of ``q(z|x)`` (the embedding)."""
        X = self._validate_new_input(X)
        mu, _ = self._encode(self._as_tensor(X))
        return mu.cpu().numpy()

    @property
    def component_means_(self) -> np.ndarray:
        return self.prior_.mu.detach().cpu().numpy()

    @property
    def component_variances_(self) -> np.ndarray:
        """``sigma_k^2`` of each component (DGG Fig. 2, right panels)."""
        return torch.exp(self.prior_.logvar).detach().cpu().numpy()

    @torch.no_grad()
    def decode(self, Z: Any) -> np.ndarray:
        """Decode latent codes to data space (the mean of ``p(x|z)``)."""
        self.decoder_.eval()
        z = torch.as_tensor(np.asarray(Z, dtype=np.float32), device=self.device_)
        out = self.decoder_(z).cpu().numpy()
        self.decoder_.train()
        return out

    def sample(
        self, n_samples: int, component: int | None = None, random_state: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generate samples: ``c ~ pi`` (or the given component), ``z ~ p(z|c)``, ``x = g(z)``.

        Returns ``(X, components)``.
        """
        rng = np.random.default_rng(random_state)
        mu, var = self.component_means_, self.component_variances_
        if component is None:
            w = self.mixture_weights_
            comps = rng.choice(self.n_clusters, size=n_samples, p=w / w.sum())
        else:
            if not 0 <= component < self.n_clusters:
                raise ConfigError(f"component={component} must be in [0, {self.n_clusters})")
            comps = np.full(n_samples, component)
        z = mu[comps] + np.sqrt(var[comps]) * rng.standard_normal((n_samples, mu.shape[1]))
        return self.decode(z), comps

    def latent_traversals(self, n_steps: int = 8, scale: float = 4.0) -> np.ndarray:
        """DGG Fig. 2: decode ``mu_k + scale * a_j * (e_i o sigma_k)``, ``a_j = -1 + 2j/(n-1)``.

        Returns an array (n_clusters, latent_dim, n_steps, n_features).
        """
        mu, sd = self.component_means_, np.sqrt(self.component_variances_)
        k, m = mu.shape
        a = np.linspace(-1.0, 1.0, n_steps)
        eye = np.eye(m)
        z = mu[:, None, None, :] + scale * a[None, None, :, None] * (
            eye[None, :, None, :] * sd[:, None, None, :]
        )
        return self.decode(z.reshape(-1, m)).reshape(k, m, n_steps, -1)

    def write_figures(self, out: Path, ds: Any) -> None:
        """Extra CLI picture: generated samples and component variances (DGG Fig. 2)."""
        shape = getattr(ds, "image_shape", None)
        if shape is None or len(shape) != 2 or math.prod(shape) != self.dims_[0]:
            return
        from ..plots import plot_generated_samples

        plot_generated_samples(
            self.latent_traversals(),
            self.component_variances_,
            image_shape=tuple(shape),
            title=f"{type(self).__name__}: samples decoded from each component",
            path=Path(out) / "generated.png",
        )
