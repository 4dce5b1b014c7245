"""DGG: deep clustering by Gaussian-mixture VAEs with graph embedding (Yang et al., ICCV 2019).

The paper, top-down, and where each part lives here:

* Generative model, eqs. (1)-(3): per-sample mixture weights ``pi_i``, learnable
  component means/variances (:class:`~deepclust.nn.vae.GaussianMixturePrior`), a
  Bernoulli or Gaussian decoder ``g``.
* Inference model, eqs. (4)-(7): encoder ``f1 -> (mu~, log sigma~^2)``, classifier
  ``f2 -> q(c|z)``.
* Stochastic graph embedding, eqs. (11)-(19): the JS divergence between neighbours'
  posteriors is bounded so that the objective becomes ``sum_ij W_ij L(x_i, x_j)``:
  each sample is reconstructed from its own latent and from its neighbours' latents.
  :func:`~deepclust.objectives.gmm_vae.dgg_objective` evaluates (19) with (21) and (26)
  after swapping the double sum, so every sample is decoded once per step (the same
  cost as VaDE) however many neighbours it has.
* Update of ``pi_i``, eq. (31): closed form, after every step, for the samples whose
  neighbourhoods changed (:func:`~deepclust.objectives.gmm_vae.dgg_pi_from_sums` on running
  neighbour sums, kept exact by a full recount every epoch).
* Affinity, eq. (32): Gaussian kernel on ``N_s`` nearest neighbours, rows summing to 1,
  in raw space, in the pretrained embedding, or in a Siamese network's embedding
  trained contrastively (positives = nearest neighbours, negatives = random pairs).
* Initialisation, §4: stacked denoising autoencoder -> VAE -> k-means on the latent
  means -> mixture means and (unbiased) variances, classifier pretrained on the k-means
  labels.
* Labels: ``argmax_c q(c | mu~(x))``; ``predict`` works on new samples.

Under ``torchrun`` every rank builds the same graph, k-means start and tables from the
same seed (no communication); each rank takes its share of every global batch, the
gradients are averaged, and the batch's new ``gamma_j`` are gathered from all ranks so
that every rank applies the global batch's update of the ``gamma``/``pi`` tables
(eq. 31) and the tables stay identical everywhere.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy import sparse

from ..distributed import gather_detached, is_distributed
from ..exceptions import ConfigError
from ..graphs.affinity import gaussian_affinity, subsample_neighbours
from ..graphs.knn import knn
from ..nn.siamese import fit_siamese
from ..nn.vae import GaussianMixturePrior, classifier_head
from ..objectives.gmm_vae import dgg_objective, dgg_pi_from_sums
from ..precision import backward
from ..training import TensorState, adam
from ..utils import derive_seed
from ..validation import (
    AUTO,
    StrOptions,
    non_negative_int,
    non_negative_real,
    positive_int,
    positive_real,
    unit_interval,
)
from ._gmvae import GaussianMixtureVAE


class DGG(GaussianMixtureVAE):
    """Gaussian-mixture VAE with stochastic graph embedding.

    Parameters
    ----------
    n_clusters : int
    n_neighbors : int
        ``N_s``, neighbours per sample in the affinity graph (0 = no graph, the
        ``N_s = 0`` column of the paper's Table 2).
    n_candidates : int or None
        Draw the ``N_s`` neighbours at random among this many nearest ones (paper §4.2:
        20 of 100); None takes the ``N_s`` nearest (paper §4.1).
    affinity : {"auto", "raw", "embedding", "siamese"}
        Space in which neighbours and eq. (32) distances are computed. ``"auto"``: raw
        data for low-dimensional inputs (<= 10 features), Siamese embedding otherwise.
    kernel_weights : {"auto", "gaussian", "uniform"}
        Eq. (32) Gaussian kernel, or equal weights ``1/N_s`` (what the authors' released
        code uses); ``"auto"`` follows ``recipe``.
    kernel_scale : "median" or float
        ``s_i`` of eq. (32); "median": the median distance to the row's neighbours.
    likelihood : {"auto", "bernoulli", "gaussian"}
        Eq. (3); ``"auto"`` is Bernoulli for data in [0, 1], Gaussian otherwise.
    lam : "auto" or float
        ``lambda`` of the Gaussian decoder (paper: 10 for STL-10/Reuters, 0.01 HHAR);
        ``"auto"``: a tenth of the mean feature variance.
    hidden_dims, latent_dim : "auto" or sizes
        Encoder widths (decoder mirrored). ``"auto"``: D-500-500-2000-10 for
        high-dimensional data, D-20-20-D for low-dimensional data (paper §4.1-4.2).
    pretrained : Autoencoder, path or None
        A fitted :class:`~deepclust.pretraining.Autoencoder` to start from (skips the
        layer-wise pretraining).
    input_scaling : {"auto", "max", "standardize", "none"}
        How the input is brought to unit scale before training (and again in
        ``predict``/``transform``); see :mod:`deepclust.scaling`. ``"auto"``: [0, 1] data
        as given, other non-negative data divided by their maximum, signed data beyond
        +-10 standardised per feature.
    ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        Autoencoder pretraining when ``pretrained`` is None.
    vae_epochs, classifier_epochs : int or "auto"
        VAE stage and classifier pretraining of the initialisation (§4). ``"auto"`` VAE
        epochs: about 1,000 steps with the paper's recipe, 0 (no VAE stage: the authors'
        code goes from the autoencoder straight to k-means) with the authors';
        ``"auto"`` classifier epochs: 30 (the authors') when pretraining on the means,
        else about 1,000 steps.
    recipe : {"auto", "paper", "authors"}
        The initialisation and training details that the paper leaves open, as a set:
        ``"paper"`` (§4.1's synthetic-data setting: Gaussian eq. (32) weights, classifier
        pretrained on samples, mixture variances of the samples, small log-variance head,
        no weight decay, gamma of eq. (31) from the training samples, a VAE stage) or
        ``"authors"`` (their released MNIST script: uniform weights, classifier on the
        means with SGD, variances of the means, fresh log-variance head, weight decay
        1e-4, gamma from the means, no VAE stage). ``"auto"``: ``"paper"`` for up to 10
        features, ``"authors"`` above. Each switch below set to anything but ``"auto"``
        overrides the recipe; ``recipe_`` and the switches with a trailing ``_`` record
        what was used.
    classifier_pretraining : {"auto", "samples", "means"}
        ``"samples"``: ``f2`` is fitted to the k-means labels from samples
        ``z ~ q(z|x)`` with Adam 1e-3; ``"means"``: from the latent means with SGD lr
        0.02, momentum 0.9, weight decay 1e-4 (the authors' code).
    mixture_variance : {"auto", "total", "means"}
        Initial component variances: ``Var(mu~) + E[sigma~^2]`` within each k-means
        cluster, or ``Var(mu~)`` only (the authors').
    logvar_init : {"auto", "small", "fresh"}
        The encoder's new log-variance head: zero weights and bias -4, or the default
        random initialisation (the authors').
    weight_decay : "auto" or float
        Adam (L2) weight decay of the joint training (the authors: 1e-4).
    gamma_source : {"auto", "samples", "means"}
        The ``gamma_j`` that eq. (31) uses for ``pi_i``: the classifier on the training
        samples ``z`` of the latest step (``"samples"``), or on the latent means
        (``"means"``, the authors'; the whole table is recomputed from the current
        networks after every epoch, the batch's entries after every step).
    siamese_epochs, siamese_positives, siamese_margin
        Siamese network for ``affinity="siamese"``: positives are each sample's
        ``siamese_positives`` nearest raw neighbours, negatives random samples; the
        contrastive hinge is ``d^2`` for positives and ``max(0, margin - d^2)`` for
        negatives.
    epochs : int or "auto"
        Joint training epochs (paper: 300 on MNIST).
    lr, lr_decay, lr_decay_every, batch_size
        Adam learning rate multiplied by ``lr_decay`` every ``lr_decay_every`` epochs.
        ``lr="auto"``: 0.02 (paper §4.1) for small networks, 2e-3 (the authors' released
        MNIST setting) for the D-500-500-2000-10 network.
    n_init : int or "auto"
        Independent fits from different seeds (pretraining included unless
        ``pretrained`` is given); the one with the lowest final loss (its own objective,
        no labels) is kept, as ``GaussianMixture(n_init=...)`` does. ``"auto"``: 3 for
        up to 10,000 samples, else 1. A run whose assignment collapsed (empty clusters, or
        one over 90 % of the samples; label-free) ranks below every run that did not.
        ``run_losses_``, ``run_collapsed_`` and ``best_run_`` report them.
    stop_on_collapse : bool
        End training when the training-set assignment degenerates and put back the model
        of the last sound epoch, as in :class:`~deepclust.methods.vade.VaDE`.
    tol, patience : float, int
        Label-free convergence stop of the joint stage: it ends once fewer than ``tol``
        of the samples changed cluster (``argmax q(c | mu~)``) from one epoch to the
        next in ``patience`` epochs in a row. ``tol=0`` (default) trains all ``epochs``
        (the paper's 300 on MNIST). ``stopped_epoch_`` records where it stopped.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_ : ndarray (n_samples,)
    embedding_ : ndarray (n_samples, latent_dim)
        Posterior means ``mu~``.
    pi_ : ndarray (n_samples, n_clusters)
        Per-sample mixture weights after the last update (eq. 31).
    neighbors_, neighbor_weights_ : ndarray (n_samples, N_s)
        The affinity graph (eq. 32).
    mixture_weights_ : ndarray (n_clusters,)
        Mean of ``pi_`` (used by :meth:`sample`).
    component_means_, component_variances_ : ndarray (n_clusters, latent_dim)
    history_ : list of dict
        Per-epoch losses of every stage (pretraining, vae, siamese, classifier, dgg).
    stopped_epoch_ : int or None
        Epoch at which the ``tol`` rule ended the joint stage (None: it did not).
    """

    _main_stage = "dgg"

    #: every stage's batch loss is a mean of per-sample terms; the tables that the joint
    #: stage updates batch by batch get the whole global batch (see ``_train``)
    _data_parallel_batches = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_neighbors": [non_negative_int()],
        "n_candidates": [positive_int(), None],
        "affinity": [StrOptions({"auto", "raw", "embedding", "siamese"})],
        "kernel_weights": [StrOptions({"auto", "gaussian", "uniform"})],
        "kernel_scale": [StrOptions({"median"}), positive_real()],
        "vae_epochs": [AUTO, non_negative_int()],
        "classifier_epochs": [AUTO, non_negative_int()],
        "siamese_epochs": [AUTO, non_negative_int()],
        "siamese_positives": [positive_int()],
        "siamese_margin": [positive_real()],
        "recipe": [StrOptions({"auto", "paper", "authors"})],
        "classifier_pretraining": [StrOptions({"auto", "samples", "means"})],
        "mixture_variance": [StrOptions({"auto", "total", "means"})],
        "logvar_init": [StrOptions({"auto", "small", "fresh"})],
        "weight_decay": [AUTO, non_negative_real()],
        "gamma_source": [StrOptions({"auto", "samples", "means"})],
        "tol": [unit_interval()],
        "patience": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_neighbors: int = 20,
        n_candidates: int | None = None,
        affinity: str = "auto",
        kernel_weights: str = "auto",
        kernel_scale: Any = "median",
        likelihood: str = "auto",
        lam: Any = "auto",
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
        vae_epochs: Any = "auto",
        classifier_epochs: Any = "auto",
        siamese_epochs: Any = "auto",
        siamese_positives: int = 2,
        siamese_margin: float = 3.0,
        recipe: str = "auto",
        classifier_pretraining: str = "auto",
        mixture_variance: str = "auto",
        logvar_init: str = "auto",
        weight_decay: Any = "auto",
        gamma_source: str = "auto",
        epochs: Any = "auto",
        lr: Any = "auto",
        lr_decay: float = 0.9,
        lr_decay_every: int = 10,
        batch_size: int = 100,
        n_init: Any = "auto",
        stop_on_collapse: bool = True,
        tol: float = 0.0,
        patience: int = 10,
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
        self.n_neighbors = n_neighbors
        self.n_candidates = n_candidates
        self.affinity = affinity
        self.kernel_weights = kernel_weights
        self.kernel_scale = kernel_scale
        self.likelihood = likelihood
        self.lam = lam
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.vae_epochs = vae_epochs
        self.classifier_epochs = classifier_epochs
        self.siamese_epochs = siamese_epochs
        self.siamese_positives = siamese_positives
        self.siamese_margin = siamese_margin
        self.recipe = recipe
        self.classifier_pretraining = classifier_pretraining
        self.mixture_variance = mixture_variance
        self.logvar_init = logvar_init
        self.weight_decay = weight_decay
        self.gamma_source = gamma_source
        self.epochs = epochs
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.batch_size = batch_size
        self.n_init = n_init
        self.stop_on_collapse = stop_on_collapse
        self.tol = tol
        self.patience = patience
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------------ modules
    def _build_modules(self) -> None:
        self._build_base_modules()
        self.classifier_ = classifier_head(self.dims_[-1], self.n_clusters).to(self.device_)

    def _check_params(self, n: int) -> None:
        if not isinstance(self.n_neighbors, (int, np.integer)) or self.n_neighbors < 0:
            raise ConfigError(f"n_neighbors={self.n_neighbors!r} must be an integer >= 0")
        if self.n_neighbors >= n:
            raise ConfigError(f"n_neighbors={self.n_neighbors} must be < n_samples={n}")
        cand = self.n_candidates
        if cand is not None and (cand < self.n_neighbors or cand >= n):
            raise ConfigError(
                f"n_candidates={cand} must be between n_neighbors={self.n_neighbors} and "
                f"n_samples - 1 = {n - 1}"
            )

    # ----------------------------------------------------------------- recipe
    #: the initialisation and training details of each recipe (``recipe`` docstring)
    RECIPES: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {
            "classifier_pretraining": "samples",
            "mixture_variance": "total",
            "logvar_init": "small",
            "weight_decay": 0.0,
            "gamma_source": "samples",
            "kernel_weights": "gaussian",
        },
        "authors": {
            "classifier_pretraining": "means",
            "mixture_variance": "means",
            "logvar_init": "fresh",
            "weight_decay": 1e-4,
            "gamma_source": "means",
            "kernel_weights": "uniform",
        },
    }

    def _resolve_recipe(self, X: np.ndarray) -> None:
        """``recipe_`` and every ``"auto"`` switch (``classifier_pretraining_``, ...)."""
        recipe = self.recipe
        if recipe == "auto":
            recipe = "paper" if X.shape[1] <= 10 else "authors"
        self.recipe_ = recipe
        for name, value in self.RECIPES[recipe].items():
            given = getattr(self, name)
            setattr(self, f"{name}_", value if given == "auto" else given)
        self.weight_decay_ = float(self.weight_decay_)

    # -------------------------------------------------------------------- fit
    def _fit_once(self, X: np.ndarray) -> None:
        n = X.shape[0]
        self._check_params(n)
        self._resolve_recipe(X)
        self.likelihood_ = self._resolve_likelihood(X)
        data = self._as_tensor(X)

        # §4 initialisation: stacked denoising AE -> VAE.
        ae = self._pretrain(X)
        self._build_vae(ae)
        self.prior_ = GaussianMixturePrior(self.n_clusters, self.dims_[-1]).to(self.device_)
        self.classifier_ = classifier_head(self.dims_[-1], self.n_clusters).to(self.device_)
        if self.vae_epochs == "auto" and self.recipe_ == "authors":
            vae_epochs = 0  # the authors' code goes from the autoencoder straight to k-means
        else:
            vae_epochs = self._epochs(self.vae_epochs, n, 1000, 5, 50, "vae_epochs")
        self.lr_ = self._resolve_lr()
        self._fit_vae(data, vae_epochs, lr=self.lr_)

        # Algorithm 1, line 1: the graph and its affinity matrix (eq. 32).
        self.neighbors_, self.neighbor_weights_ = self._build_graph(X, data, ae)

        # §4: k-means on latent means -> mixture; classifier pretrained on the labels.
        mu, logvar = self._encode(data)
        pseudo = self._kmeans_init(mu, logvar, self.mixture_variance_)
        self._pretrain_classifier(mu, logvar, pseudo)

        # Joint training of eq. (19) with the pi updates of eq. (31).
        graph = self._graph_tensors(data)
        n_epochs = self._epochs(self.epochs, n, 6000, 20, 300, "epochs")
        self._train(data, graph, n_epochs)
        self._finish(data, graph)

    # ------------------------------------------------------------------ graph
    def _affinity_space(self, X: np.ndarray, data: torch.Tensor, ae: Any) -> np.ndarray:
        kind = self.affinity
        if kind == "auto":
            kind = "raw" if X.shape[1] <= 10 else "siamese"
        self.affinity_ = kind
        if kind == "raw":
            return X
        if kind == "embedding":
            return ae.transform(X)
        return self._fit_siamese(X, data, ae)

    def _build_graph(
        self, X: np.ndarray, data: torch.Tensor, ae: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour lists and eq. (32) weights (rows summing to 1)."""
        n, s = X.shape[0], int(self.n_neighbors)
        if s == 0:
            self.affinity_ = "none"
            return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
        feats = self._affinity_space(X, data, ae)
        cand = self.n_candidates or s
        idx, dist = knn(feats, cand)
        rng = np.random.default_rng(derive_seed(self.random_state, 4))
        idx, dist = subsample_neighbours(idx, dist, s, rng)
        if self.kernel_weights_ == "uniform":
            w = np.full(idx.shape, 1.0 / s, np.float32)
        else:
            w = gaussian_affinity(dist, self.kernel_scale)
        return idx, w

    def _fit_siamese(self, X: np.ndarray, data: torch.Tensor, ae: Any) -> np.ndarray:
        """Siamese embedding for the affinity (paper §3.3 and appendix; SpectralNet style).

        The network is a copy of the pretrained encoder; pairs are (sample, one of its
        ``siamese_positives`` nearest raw neighbours) labelled similar and (sample,
        random sample) labelled dissimilar.
        """
        import copy

        net = copy.deepcopy(ae.network_.encoder).to(self.device_)
        n_epochs = self._epochs(self.siamese_epochs, len(X), 3000, 5, 50, "siamese_epochs")
        return fit_siamese(
            self, net, X, data, n_positives=self.siamese_positives,
            margin=float(self.siamese_margin), n_epochs=n_epochs,
            batch_size=max(self.batch_size, 128),
        )  # fmt: skip

    def _graph_tensors(self, data: torch.Tensor) -> dict[str, Any]:
        """Aggregates of ``W = (I + W_graph) / 2`` that make eq. (19) cost one decoding.

        ``x_bar = W^T X``, ``w_bar = W^T 1``, ``sq_bar = W^T |x|^2`` and the transpose in
        CSR form (anchors ``i`` listing each ``j``) for ``sum_i W_ij log pi_i``.
        """
        n, s = self.neighbors_.shape
        dev = self.device_
        rows = np.repeat(np.arange(n), s)
        if s > 0:
            vals = np.concatenate([np.full(n, 0.5), 0.5 * self.neighbor_weights_.ravel()])
            r = np.concatenate([np.arange(n), rows])
            c = np.concatenate([np.arange(n), self.neighbors_.ravel()])
        else:
            vals, r, c = np.ones(n), np.arange(n), np.arange(n)
        W = sparse.csr_matrix((vals, (r, c)), shape=(n, n))
        WT = W.T.tocsr()
        WT.sum_duplicates()
        X = data.cpu().numpy().astype(np.float64)
        x_bar = torch.as_tensor(WT @ X, dtype=torch.float32, device=dev)
        w_bar = torch.as_tensor(np.asarray(WT.sum(1)).ravel(), dtype=torch.float32, device=dev)
        sq_bar = torch.as_tensor(WT @ (X * X).sum(1), dtype=torch.float32, device=dev)
        return {
            "x_bar": x_bar,
            "w_bar": w_bar,
            "sq_bar": sq_bar,
            "wt_indptr": torch.as_tensor(WT.indptr, dtype=torch.long, device=dev),
            "wt_indptr_host": WT.indptr.astype(np.int64),
            "wt_indices": torch.as_tensor(WT.indices, dtype=torch.long, device=dev),
            "wt_values": torch.as_tensor(WT.data, dtype=torch.float32, device=dev),
            "nbr": torch.as_tensor(self.neighbors_, dtype=torch.long, device=dev),
            "nbr_w": torch.as_tensor(self.neighbor_weights_, dtype=torch.float32, device=dev),
            "nbr_w_sum": torch.as_tensor(
                self.neighbor_weights_.sum(1), dtype=torch.float32, device=dev
            ),
        }

    @staticmethod
    def _gather_transpose(
        graph: dict[str, Any], cols: torch.Tensor, cols_host: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Entries of ``W^T`` rows ``cols``: (batch row, anchor index i, weight W_ij).

        The number of entries (the size of every output) is counted on the host from
        ``cols_host``, the same indices on the CPU, so the step does not wait for the
        device; without it ``cols`` is copied to the host.
        """
        indptr = graph["wt_indptr"]
        starts = indptr[cols]
        counts = indptr[cols + 1] - starts
        host = graph["wt_indptr_host"]
        on_host = (cols.cpu() if cols_host is None else cols_host).numpy()
        total = int((host[on_host + 1] - host[on_host]).sum())

        def repeat(values: torch.Tensor) -> torch.Tensor:
            return torch.repeat_interleave(values, counts, output_size=total)

        row = repeat(torch.arange(len(cols), device=cols.device))
        first = repeat(torch.cumsum(counts, 0) - counts)
        pos = repeat(starts) + torch.arange(total, device=cols.device) - first
        return row, graph["wt_indices"][pos], graph["wt_values"][pos]

    # -------------------------------------------------------------- training
    def _pretrain_classifier(
        self, mu: torch.Tensor, logvar: torch.Tensor, pseudo: np.ndarray
    ) -> None:
        """Fit ``f2`` to the k-means pseudo-labels (§4), on samples of ``q(z|x)`` or on means."""
        target = torch.as_tensor(pseudo, dtype=torch.long, device=self.device_)
        on_means = self.classifier_pretraining_ == "means"
        params = self.classifier_.parameters()
        if on_means:  # the authors' recipe
            opt = torch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=1e-4)
        else:
            opt = adam(params, lr=1e-3)
        if on_means and self.classifier_epochs == "auto":
            n_epochs = 30
        else:
            n_epochs = self._epochs(
                self.classifier_epochs, len(mu), 1000, 5, 50, "classifier_epochs"
            )
        loop = self._loop("classifier", n_epochs, {"classifier": self.classifier_, "opt": opt})

        def epoch(_: int) -> dict[str, float]:
            total = 0.0
            for idx in loop.batches(len(mu), self.batch_size, device=mu.device):
                z = mu[idx] if on_means else self._sample(mu[idx], logvar[idx])
                loss = F.cross_entropy(self.classifier_(z), target[idx])
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(idx)
            return {"loss": loop.mean(total)}

        loop.run(epoch)

    def _refresh_pi(self, graph: dict[str, Any], tables: TensorState, rows: torch.Tensor) -> None:
        """Eq. (31) for samples ``rows`` from the running neighbour sums of ``gamma``."""
        gamma, pi = tables["gamma"], tables["pi"]
        if graph["nbr"].shape[1] == 0:
            pi[rows] = gamma[rows]
            return
        pi[rows] = dgg_pi_from_sums(gamma[rows], tables["nbr_sum"][rows], graph["nbr_w_sum"][rows])

    @staticmethod
    def _sync_neighbour_sums(graph: dict[str, Any], tables: TensorState) -> None:
        """``nbr_sum_i = sum_j w_ij gamma_j`` recomputed exactly (clears rounding drift)."""
        gamma, nbr, w = tables["gamma"], graph["nbr"], graph["nbr_w"]
        step = max(1, 2**22 // max(1, nbr.shape[1] * gamma.shape[1]))
        for start in range(0, len(gamma), step):
            sl = slice(start, start + step)
            tables["nbr_sum"][sl] = (w[sl].unsqueeze(-1) * gamma[nbr[sl]]).sum(1)

    def _update_gamma(
        self,
        graph: dict[str, Any],
        tables: TensorState,
        idx: torch.Tensor,
        gamma: torch.Tensor,
        entries: tuple[torch.Tensor, ...],
    ) -> None:
        """Algorithm 1, line 8: new ``gamma_j`` of a batch, then eq. (31) where it matters.

        ``entries`` are the batch's ``W^T`` entries ``(row, anchor i, W_ij)`` with
        ``W = (I + W_graph) / 2``; the anchors are exactly the ``i`` whose ``pi_i`` depend
        on a ``gamma_j`` of the batch, so their sums are moved by ``w_ij * delta_j`` and
        only they (and the batch) are refreshed.
        """
        row, anchor, w = entries
        delta = gamma - tables["gamma"][idx]
        tables["gamma"][idx] = gamma
        if graph["nbr"].shape[1] > 0:
            # 2 W_ij = w_ij off the diagonal; the diagonal's 2 * 0.5 * delta_j is undone.
            tables["nbr_sum"].index_add_(0, anchor, (2 * w).unsqueeze(1) * delta[row])
            tables["nbr_sum"].index_add_(0, idx, -delta)
        # Repeated rows get the same value, so no torch.unique is needed.
        self._refresh_pi(graph, tables, torch.cat([idx, anchor]))

    def objective(
        self,
        x_idx: torch.Tensor,
        data: torch.Tensor,
        graph: dict[str, Any],
        pi: torch.Tensor,
        x_idx_host: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """Per-sample ``sum_i W_ij L(x_i, x_j)`` for the batch ``j = x_idx``.

        ``pi`` is the (n_samples, K) table of per-sample mixture weights. Returns the
        objective, the batch's ``gamma_j`` for the table of eq. (31) (detached: of the
        training sample ``z_j``, or of the mean with ``gamma_source="means"``) and its
        ``W^T`` entries ``(row in batch, anchor i, W_ij)``: the anchors list a ``j`` as
        neighbour.
        """
        x = data[x_idx]
        mu, logvar = self.encoder_(x)
        z = self._sample(mu, logvar)
        x_hat = self.decoder_(z)
        gamma = torch.softmax(self.classifier_(z), dim=1)
        if self.gamma_source_ == "means":
            with torch.no_grad():
                table_gamma = torch.softmax(self.classifier_(mu.detach()).float(), dim=1)
        else:
            table_gamma = gamma.detach().float()  # the tables are float32
        row, anchor, w = self._gather_transpose(graph, x_idx, x_idx_host)
        log_pi_bar = torch.zeros(len(x_idx), pi.shape[1], device=x.device)
        log_pi_bar.index_add_(0, row, w.unsqueeze(1) * torch.log(pi[anchor].clamp_min(1e-10)))
        obj = dgg_objective(
            graph["x_bar"][x_idx],
            graph["w_bar"][x_idx],
            x_hat,
            mu,
            logvar,
            gamma,
            log_pi_bar,
            self.prior_.mu,
            self.prior_.logvar,
            likelihood=self.likelihood_,
            lam=self.lam_,
            x_sq_bar=graph["sq_bar"][x_idx],
        )
        return obj, table_gamma, (row, anchor, w)

    def _train(self, data: torch.Tensor, graph: dict[str, Any], n_epochs: int) -> None:
        n = len(data)
        self.stopped_epoch_ = None
        with torch.no_grad():
            mu, _ = self._encode(data)
            gamma0 = torch.softmax(self.classifier_(mu), dim=1)
        tables = TensorState(
            gamma=gamma0.clone(),
            pi=torch.empty_like(gamma0),
            nbr_sum=torch.zeros_like(gamma0),
            labels=gamma0.argmax(1),
            calm=torch.zeros((), dtype=torch.long),
        )
        self._sync_neighbour_sums(graph, tables)
        self._refresh_pi(graph, tables, torch.arange(n, device=self.device_))
        modules = [self.encoder_, self.decoder_, self.classifier_, self.prior_]
        params = [p for m in modules for p in m.parameters() if p is not self.prior_.pi_logits]
        opt = adam(params, lr=self.lr_, weight_decay=self.weight_decay_)
        sched = torch.optim.lr_scheduler.StepLR(opt, self.lr_decay_every, self.lr_decay)
        state = {
            "encoder": self.encoder_,
            "decoder": self.decoder_,
            "classifier": self.classifier_,
            "prior": self.prior_,
            "opt": opt,
            "sched": sched,
            "tables": tables,
        }
        loop = self._loop("dgg", n_epochs, state)
        self._tables = tables
        model = ("encoder", "decoder", "classifier", "prior", "tables")
        guard = self._collapse_guard({k: state[k] for k in model}, gamma0.argmax(1))

        def epoch(i: int) -> dict[str, float]:
            total = 0.0
            for idx in loop.batches(n, self.batch_size, device=self.device_):
                host_idx = loop.host_batch
                obj, gamma, entries = self.objective(idx, data, graph, tables["pi"], host_idx)
                loss = -obj.mean()
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(idx)
                with torch.no_grad():
                    if is_distributed():  # the global batch's update, on every rank
                        host_idx = loop.global_batch  # the shards' indices, gathered
                        idx, gamma = loop.placed_global_batch, gather_detached(gamma)
                        entries = self._gather_transpose(graph, idx, host_idx)
                    self._update_gamma(graph, tables, idx, gamma, entries)
            with torch.no_grad():
                if self.gamma_source_ == "means":
                    # every gamma_j from the current networks, not from past steps
                    tables["gamma"].copy_(self._responsibilities(data))
                    self.classifier_.train()
                    self._sync_neighbour_sums(graph, tables)
                    self._refresh_pi(graph, tables, torch.arange(n, device=self.device_))
                else:
                    self._sync_neighbour_sums(graph, tables)
                if guard is not None or self.tol > 0:
                    current = tables["gamma"] if self.gamma_source_ == "means" else None
                    if current is None:
                        current = self._responsibilities(data)
                        self.classifier_.train()
                    labels = current.argmax(1)
                    if guard is not None:
                        self._guard_epoch(guard, loop, labels, i + 1)
                    self._convergence_epoch(tables, loop, labels, i + 1)
            sched.step()
            return {"loss": loop.mean(total)}

        loop.run(epoch)

    def _convergence_epoch(
        self, tables: TensorState, loop: Any, labels: torch.Tensor, epoch: int
    ) -> None:
        """The ``tol``/``patience`` stop: count calm epochs, stop the loop after enough."""
        if self.tol <= 0:
            return
        changed = (labels != tables["labels"]).float().mean().item()
        tables["labels"].copy_(labels)
        tables["calm"].fill_(int(tables["calm"]) + 1 if changed < self.tol else 0)
        if int(tables["calm"]) >= int(self.patience):
            self.stopped_epoch_ = epoch
            loop.stop()

    @torch.no_grad()
    def _responsibilities(self, data: torch.Tensor) -> torch.Tensor:
        mu, _ = self._encode(data)
        self.classifier_.eval()
        return torch.softmax(self.classifier_(mu).float(), dim=1)

    def _finish(self, data: torch.Tensor, graph: dict[str, Any]) -> None:
        mu, _ = self._encode(data)
        self.embedding_ = mu.cpu().numpy()
        self.labels_ = self._responsibilities(data).argmax(1).cpu().numpy().astype(np.int64)
        self.pi_ = self._tables["pi"].cpu().numpy()
        self.mixture_weights_ = self.pi_.mean(0)
        del self._tables
        for m in (self.encoder_, self.decoder_, self.prior_, self.classifier_):
            m.eval()

    # ------------------------------------------------------------- inference
    def predict_proba(self, X: Any) -> np.ndarray:
        """``q(c | mu~(x))`` from the classifier ``f2`` for new samples."""
        X = self._validate_new_input(X)
        return self._responsibilities(self._as_tensor(X)).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)
