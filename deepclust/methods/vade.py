"""VaDE: variational deep embedding (Jiang et al., IJCAI 2017).

A VAE whose prior is a Gaussian mixture with global weights ``pi``; the cluster
posterior is ``gamma = p(c | z)`` of the mixture itself. It is DGG without the graph
(``N_s = 0``, DGG Table 2) and without DGG's classifier network; both maximise the same
per-sample ELBO, :func:`deepclust.objectives.gmm_vae.gmm_vae_elbo` (DGG eq. 21).

Schedule, as in VaDE: pretrain a stacked autoencoder, initialise the mixture with a
diagonal GMM fitted on the embedding, then train everything on the ELBO with Adam and a
step-decayed learning rate. Labels are ``argmax_c p(c | mu~(x))``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.mixture import GaussianMixture as _SkGMM

from ..nn.vae import GaussianMixturePrior
from ..objectives.gmm_vae import gmm_posterior, gmm_vae_elbo
from ..precision import backward
from ..training import adam
from ..utils import derive_seed
from ..validation import StrOptions
from ._gmvae import GaussianMixtureVAE


class VaDE(GaussianMixtureVAE):
    """Variational deep embedding.

    Parameters
    ----------
    n_clusters : int
    likelihood : {"auto", "bernoulli", "gaussian"}
        Decoder ``p(x|z)``; ``"auto"`` is Bernoulli for data in [0, 1].
    lam : "auto" or float
        Variance of the Gaussian decoder; ``"auto"``: a tenth of the mean feature variance.
    hidden_dims, latent_dim : "auto" or sizes
        Network (``"auto"``: D-500-500-2000-10, or D-20-20-D for low-dimensional data).
    pretrained : Autoencoder, path or None
        A fitted :class:`~deepclust.pretraining.Autoencoder` to start from.
    input_scaling : {"auto", "max", "standardize", "none"}
        How the input is brought to unit scale before training (and again in
        ``predict``/``transform``); see :mod:`deepclust.scaling`. ``"auto"``: [0, 1] data
        as given, other non-negative data divided by their maximum, signed data beyond
        +-10 standardised per feature.
    ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        Autoencoder pretraining when ``pretrained`` is None.
    mixture_weights : {"uniform", "learned"}
        ``"learned"``: ``pi`` is a free parameter of the ELBO, as in VaDE (the bundled
        configs). ``"uniform"`` (default): ``pi = 1/K`` fixed. The ELBO can prefer fewer
        components than clusters (on two half circles one component has the better
        bound), so a learned ``pi`` drifts towards one cluster there; chosen on the
        development suite (RESULTS.md, session 6).
    epochs : int or "auto"
        ELBO training epochs (VaDE: 300 on MNIST).
    lr, lr_decay, lr_decay_every, batch_size
        Adam learning rate, multiplied by ``lr_decay`` every ``lr_decay_every`` epochs;
        ``lr="auto"``: VaDE's 2e-3 for every network (DGG's 0.02 for small networks made
        the assignment of two half circles swing by +-0.15 between epochs).
    n_init : int or "auto"
        Independent fits from different seeds (pretraining included unless
        ``pretrained`` is given); the one with the lowest final loss (its own objective,
        no labels) is kept, as ``GaussianMixture(n_init=...)`` does. ``"auto"``: 3 for
        up to 10,000 samples, else 1. A run whose assignment collapsed (empty clusters, or
        one over 90 % of the samples; label-free) ranks below every run that did not.
        ``run_losses_``, ``run_collapsed_`` and ``best_run_`` report them.
    stop_on_collapse : bool
        End training when the assignment of the training set degenerates (an empty
        cluster, or one over 90 % of the samples) and put back the model of the last
        sound epoch (:class:`~deepclust.training.CollapseGuard`; label-free).
        ``collapse_stopped_epoch_`` and ``collapse_kept_epoch_`` say when (None: never).
        Such a run ranks below runs that trained to the end.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, embedding_ (posterior means), history_, mixture_weights_,
    component_means_, component_variances_
    """

    #: the ELBO is a mean of per-sample terms
    _data_parallel_batches = True

    _main_stage = "vade"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "mixture_weights": [StrOptions({"learned", "uniform"})],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        likelihood: str = "auto",
        lam: Any = "auto",
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        mixture_weights: str = "uniform",
        epochs: Any = "auto",
        lr: Any = "auto",
        lr_decay: float = 0.9,
        lr_decay_every: int = 10,
        batch_size: int = 100,
        n_init: Any = "auto",
        stop_on_collapse: bool = True,
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
        self.likelihood = likelihood
        self.lam = lam
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.mixture_weights = mixture_weights
        self.epochs = epochs
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.batch_size = batch_size
        self.n_init = n_init
        self.stop_on_collapse = stop_on_collapse
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        self._build_base_modules()

    def _resolve_lr(self) -> float:
        """``"auto"``: VaDE's 2e-3, whatever the network's size."""
        return 2e-3 if self.lr == "auto" else super()._resolve_lr()

    def _gmm_init(self, mu: torch.Tensor) -> None:
        """Fit a diagonal GMM on the pretrained embedding to initialise the prior (VaDE)."""
        Z = mu.cpu().numpy().astype(np.float64)
        gm = _SkGMM(
            self.n_clusters,
            covariance_type="diag",
            reg_covar=1e-4,
            random_state=derive_seed(self.random_state, 2),
        ).fit(Z)
        self.prior_.initialise(
            torch.as_tensor(gm.means_, dtype=torch.float32),
            torch.as_tensor(gm.covariances_, dtype=torch.float32),
            torch.as_tensor(gm.weights_, dtype=torch.float32),
        )
        if self.mixture_weights == "uniform":
            with torch.no_grad():
                self.prior_.pi_logits.zero_()
        self.prior_.pi_logits.requires_grad_(self.mixture_weights == "learned")

    def _fit_once(self, X: np.ndarray) -> None:
        self.likelihood_ = self._resolve_likelihood(X)
        ae = self._pretrain(X)
        self._build_vae(ae)
        self.prior_ = GaussianMixturePrior(self.n_clusters, self.dims_[-1]).to(self.device_)
        data = self._as_tensor(X)
        mu, _ = self._encode(data)
        self._gmm_init(mu)
        n_epochs = self._epochs(self.epochs, len(data), 6000, 20, 300, "epochs")
        self.lr_ = self._resolve_lr()
        self._train(data, n_epochs)
        self._finish(data)

    def _train(self, data: torch.Tensor, n_epochs: int) -> None:
        modules = [self.encoder_, self.decoder_, self.prior_]
        params = [p for m in modules for p in m.parameters() if p.requires_grad]
        opt = adam(params, lr=self.lr_)
        sched = torch.optim.lr_scheduler.StepLR(opt, self.lr_decay_every, self.lr_decay)
        state = {
            "encoder": self.encoder_,
            "decoder": self.decoder_,
            "prior": self.prior_,
            "opt": opt,
            "sched": sched,
        }
        loop = self._loop("vade", n_epochs, state)
        model = {k: state[k] for k in ("encoder", "decoder", "prior")}
        guard = self._collapse_guard(model, self._posterior(data).argmax(1))

        def epoch(i: int) -> dict[str, float]:
            total = 0.0
            for idx in loop.batches(len(data), self.batch_size, device=data.device):
                x = data[idx]
                loss = -self.elbo(x).mean()
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(idx)
            sched.step()
            if guard is not None:
                self._guard_epoch(guard, loop, self._posterior(data).argmax(1), i + 1)
            return {"loss": loop.mean(total)}

        loop.run(epoch)

    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample ELBO of a batch with one reparameterised sample (VaDE eq. 10)."""
        mu, logvar = self.encoder_(x)
        z = self._sample(mu, logvar)
        x_hat = self.decoder_(z)
        log_pi = self.prior_.log_pi
        gamma = gmm_posterior(z, log_pi, self.prior_.mu, self.prior_.logvar)
        return gmm_vae_elbo(
            x,
            x_hat,
            mu,
            logvar,
            gamma,
            log_pi,
            self.prior_.mu,
            self.prior_.logvar,
            likelihood=self.likelihood_,
            lam=self.lam_,
        )

    @torch.no_grad()
    def _posterior(self, data: torch.Tensor) -> torch.Tensor:
        mu, _ = self._encode(data)
        return gmm_posterior(mu, self.prior_.log_pi, self.prior_.mu, self.prior_.logvar)

    def _finish(self, data: torch.Tensor) -> None:
        mu, _ = self._encode(data)
        self.embedding_ = mu.cpu().numpy()
        self.labels_ = self._posterior(data).argmax(1).cpu().numpy().astype(np.int64)
        self.mixture_weights_ = torch.exp(self.prior_.log_pi).detach().cpu().numpy()
        for m in (self.encoder_, self.decoder_, self.prior_):
            m.eval()

    def predict_proba(self, X: Any) -> np.ndarray:
        """``p(c | mu~(x))`` for new samples."""
        X = self._validate_new_input(X)
        return self._posterior(self._as_tensor(X)).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)
