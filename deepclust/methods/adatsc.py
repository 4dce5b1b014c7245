"""A-DATSC: attention-guided deep adversarial temporal subspace clustering (Nji et al., 2025).

Clusters the time steps of a climate cube ``(time, lat, lon, variables)``. The paper,
top-down, and where each part lives:

* Input (§6.1): missing values filled with the mean, min-max scaling of every column of
  the ``[time, lat*lon*var]`` view to [0, 1] (:func:`scale_cube`); the series is cut
  into windows of ``window`` consecutive steps (:func:`window_starts`).
* Generator ``G`` (§5.1, :class:`~deepclust.nn.adatsc.ADATSCNetwork`): ConvLSTM2d U-Net
  encoder with residual temporal blocks (eq. 1), Bi-TGAT over patch nodes (eqs. 2-3),
  per-timestep Student-t head with temperature (eq. 4), self-expressive temporal layer
  (eq. 5), decoder with skips.
* Discriminator ``D`` (§5.2): one subspace basis per cluster, the hinge on residual
  energies with orthogonality and cross-subspace penalties; the sampling layer draws
  real (top-m) and fake (fixed convex combination) latents.
* Objective (eq. 6): ``L_rec + KL(p||q) + lambda_bal (KL(q_bar||u) + L_MI) +
  lambda_se L_SE + lambda_adv L_adv``; training alternates generator and discriminator
  steps (§5.4) with tau annealed, the balance weight ramped and SE after a warm-up.
* Labels (§5.4 "Inference"): ``argmax_k q_tk`` with ``q`` averaged over every window
  that holds step ``t``; optionally spectral clustering on ``|C| + |C^T|``.

Before the joint stage the generator is pretrained on reconstruction and the centres
start from k-means on the time-step embeddings (DEC's initialisation; the paper's head
is "DEC-style" and gives no other).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans

from ..base import DeepClusterer
from ..nn.adatsc import VARIANTS, ADATSCNetwork
from ..nn.temporal_subspace import SubspaceDiscriminator, SubspaceSampler
from ..objectives.assignment import kl_divergence, target_distribution
from ..objectives.temporal_subspace import (
    adversarial_loss,
    marginal_balance,
    negative_mutual_information,
    redundancy_penalty,
    self_expression_loss,
)
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
)
from ._climate import (
    CUBE_CONSTRAINTS,
    ClimateCubeMixin,
    auto_filters,
    average_over_windows,
    masked_mse,
    scale_cube,
    window_starts,
)
from ._subspace_critic import SubspaceCriticStep


class ADATSC(SubspaceCriticStep, ClimateCubeMixin, DeepClusterer):
    """A-DATSC on a climate cube; one label per time step.

    Parameters
    ----------
    n_clusters : int
        K regimes (the paper: 7, chosen by the elbow method).
    window, stride : int, "auto"
        Steps per window ``T`` and the step between window starts (``"auto"``: half a
        window, so every step is seen in two contexts).
    scaling : {"minmax", "standardize", "none"}
        Per-column scaling over time (the paper: min-max to [0, 1]).
    variant : {"full", "sel", "cnn-lstm", "gat"}
        The model or one of its Table 2 ablations (see :mod:`deepclust.nn.adatsc`).
    filters : "auto" or sequence of int
        U-Net widths per level (the paper: 64, 128, 256, 512); ``"auto"``: 8-16-32 up to
        64 x 64 grids, 16-32-64-128 above.
    latent_dim, heads, patch
        Size of ``z_t``, attention heads of Bi-TGAT and the node patch ``(h_p, w_p)``.
    tgat_residual : bool
        ``h' = LN(h + W_o [m_fwd || m_bwd])`` (default) or eq. (3) as printed, without
        ``h``; printed, frame ``t`` reaches ``z_t`` only through its neighbours' messages.
    node_pooling : {"flatten", "mean"}
        How the ``N`` nodes become ``z_t``: a projection of their concatenation (default;
        keeps where in the grid a pattern is) or their mean.
    alpha : float
        Student-t degrees of freedom (eq. 4).
    pretrain_epochs, epochs : int
        Reconstruction pretraining and joint training (§5.4) epochs.
    lr, disc_lr, batch_size : float, float, int
        Adam rates of ``G`` and ``D``; windows per batch.
    update_interval : int
        Epochs between recomputations of the DEC target ``p``.
    tau_start, tau_end : float
        Temperature of ``q~ ∝ q^(1/tau)``, annealed linearly.
    lambda_bal, lambda_se, lambda_adv : float
        Weights of eq. (6); ``lambda_bal`` is ramped from 0 over the first half.
    mi_term : {"mutual_information", "decorrelation"}
        ``L_MI`` of eq. (6): ``E H(q_t) - H(q_bar)`` (minus the mutual information between
        step and cluster; default) or the squared correlations between cluster columns.
        The paper leaves the form open ("contrastive or covariance de-correlation"); the
        de-correlation form alone favours uniform ``q`` (columns of a partition are
        negatively correlated by construction).
    se_l1, se_threshold, se_warmup, sigma_t
        ``||C||_1`` weight inside eq. (5), the shrinkage threshold, the epochs before SE
        joins the loss and the optional temporal scale of ``w_ts`` (None: no weighting).
    se_centre : bool
        Eq. (5) on window-centred embeddings (default). On raw ``Z`` the common offset,
        which no combination of other steps expresses, is driven to zero, dragging every
        ``z_t`` away from the centres; measured on a synthetic 4-regime cube, that made
        every ``q_t`` uniform (one cluster).
    code_reconstruction : bool
        Also reconstruct every frame from ``z_t`` alone (the decoder with its skips set to
        zero and the top level decoded from ``z_t``), in pretraining and in the joint
        stage, and add that error to ``L_rec``. Default True: otherwise the skips let the
        network reconstruct without ``z``, and the pretrained codes need not carry the
        regimes (7-regime cube: started from k-means on them, ACC 0.22 after 3 epochs; k-means
        on the raw fields 1.0).
        False: the paper's decoder only.
    energy_scale : {"relative", "absolute"}
        The generator's scale-dependent terms, eq. (5)'s ``||Z - CZ||^2`` and ``L_adv``'s
        residual energy, divided by ``||Z||^2`` (``"relative"``, default) or as printed
        (``"absolute"``). The decoder's skip connections reconstruct the input without
        ``z``, so nothing stops the printed terms from shrinking every ``z_t`` onto one
        point (measured on the 4-regime cube: the spread of ``z`` fell from
        0.2 to 0.02 in 7 epochs and ``q`` turned uniform); the ratios are scale-free.
    disc_rank, disc_margin, beta_orth, beta_cross, n_real, n_fake
        Discriminator: subspace rank r (``"auto"``: ``max(1, latent_dim // (2 K))``),
        hinge margin, penalty weights and reals/fakes per cluster.
    refine : {"none", "spectral"}
        Final labels from ``argmax q`` or from spectral clustering on ``|C| + |C^T|``.
    n_init : int
        k-means restarts for the centres.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_ : ndarray (n_time,)
    proba_ : ndarray (n_time, K)
        ``q`` averaged over the windows holding each step.
    embedding_ : ndarray (n_time, latent_dim)
        ``z_t`` averaged likewise.
    affinity_ : ndarray (n_time, n_time)
        ``|C| + |C^T|`` of every window placed at its steps and summed.
    labels_q_ : ndarray (n_time,)
        ``argmax q`` (equal to ``labels_`` unless ``refine="spectral"``).
    history_ : list of dict
        Per-epoch terms of eq. (6) and ``L_D``.
    """

    input_kind = "climate"
    who = "A-DATSC"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **CUBE_CONSTRAINTS,
        "variant": [StrOptions(set(VARIANTS))],
        "filters": [AUTO, list, tuple],
        "latent_dim": [positive_int()],
        "heads": [positive_int()],
        "patch": [list, tuple],
        "tgat_residual": ["boolean"],
        "node_pooling": [StrOptions({"flatten", "mean"})],
        "disc_lr": [positive_real()],
        "tau_start": [positive_real()],
        "tau_end": [positive_real()],
        "lambda_bal": [non_negative_real()],
        "lambda_se": [non_negative_real()],
        "lambda_adv": [non_negative_real()],
        "mi_term": [StrOptions({"mutual_information", "decorrelation"})],
        "se_l1": [non_negative_real()],
        "se_threshold": [non_negative_real()],
        "se_warmup": [non_negative_int()],
        "sigma_t": [positive_real(), None],
        "se_centre": ["boolean"],
        "energy_scale": [StrOptions({"relative", "absolute"})],
        "code_reconstruction": ["boolean"],
        "disc_rank": [AUTO, positive_int()],
        "disc_margin": [non_negative_real()],
        "beta_orth": [non_negative_real()],
        "beta_cross": [non_negative_real()],
        "n_real": [positive_int()],
        "n_fake": [positive_int()],
        "refine": [StrOptions({"none", "spectral"})],
        "n_init": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 7,
        *,
        window: int = 8,
        stride: Any = "auto",
        scaling: str = "minmax",
        variant: str = "full",
        filters: Any = "auto",
        latent_dim: int = 16,
        heads: int = 4,
        patch: Any = (1, 1),
        tgat_residual: bool = True,
        node_pooling: str = "flatten",
        alpha: float = 1.0,
        pretrain_epochs: int = 30,
        epochs: int = 40,
        lr: float = 1e-3,
        disc_lr: float = 1e-3,
        batch_size: int = 8,
        update_interval: int = 1,
        tau_start: float = 2.0,
        tau_end: float = 1.0,
        lambda_bal: float = 0.1,
        lambda_se: float = 0.01,
        lambda_adv: float = 0.1,
        mi_term: str = "mutual_information",
        se_l1: float = 0.01,
        se_threshold: float = 1e-3,
        se_warmup: int = 5,
        sigma_t: float | None = None,
        se_centre: bool = True,
        energy_scale: str = "relative",
        code_reconstruction: bool = True,
        disc_rank: Any = "auto",
        disc_margin: float = 1.0,
        beta_orth: float = 1.0,
        beta_cross: float = 1.0,
        n_real: int = 16,
        n_fake: int = 16,
        refine: str = "none",
        n_init: int = 20,
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
        self.window = window
        self.stride = stride
        self.scaling = scaling
        self.variant = variant
        self.filters = filters
        self.latent_dim = latent_dim
        self.heads = heads
        self.patch = patch
        self.tgat_residual = tgat_residual
        self.node_pooling = node_pooling
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
        self.epochs = epochs
        self.lr = lr
        self.disc_lr = disc_lr
        self.batch_size = batch_size
        self.update_interval = update_interval
        self.tau_start = tau_start
        self.tau_end = tau_end
        self.lambda_bal = lambda_bal
        self.lambda_se = lambda_se
        self.lambda_adv = lambda_adv
        self.mi_term = mi_term
        self.se_l1 = se_l1
        self.se_threshold = se_threshold
        self.se_warmup = se_warmup
        self.sigma_t = sigma_t
        self.se_centre = se_centre
        self.energy_scale = energy_scale
        self.code_reconstruction = code_reconstruction
        self.disc_rank = disc_rank
        self.disc_margin = disc_margin
        self.beta_orth = beta_orth
        self.beta_cross = beta_cross
        self.n_real = n_real
        self.n_fake = n_fake
        self.refine = refine
        self.n_init = n_init
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------------ input
    def fit(self, X: Any, y: Any = None, mask: Any = None) -> ADATSC:
        """Cluster the time steps of the cube ``X`` (time, lat, lon, variables).

        ``mask`` (lat, lon), optional: cells that enter the reconstruction loss (land/sea
        masks); NaN entries of ``X`` never enter it either.
        """
        self._fit_cube(X, mask)
        return self

    # -------------------------------------------------------------------- fit
    def _fit(self, cube: np.ndarray, weights: np.ndarray | None = None) -> None:
        self._set_windows(cube)
        self.filters_ = (
            auto_filters(self.grid_shape_) if self.filters == "auto" else tuple(self.filters)
        )
        r = self.disc_rank
        self.rank_ = max(1, self.latent_dim // (2 * self.n_clusters)) if r == "auto" else int(r)
        self._build_modules()
        data, weight = self._cube_tensors(cube, weights)
        steps = self._steps()
        self._pretrain(data, weight, steps)
        self._init_clusters(data, steps)
        self._train(data, weight, steps)
        self._finish(data, steps)

    def _build_modules(self) -> None:
        self.network_ = ADATSCNetwork(
            self.in_channels_,
            self.grid_shape_,
            self.n_clusters,
            int(self.window),
            len(self.window_starts_),
            filters=self.filters_,
            latent_dim=self.latent_dim,
            heads=self.heads,
            patch=tuple(self.patch),
            variant=self.variant,
            se_threshold=self.se_threshold,
            sigma_t=self.sigma_t,
            alpha=self.alpha,
            residual=self.tgat_residual,
            node_pooling=self.node_pooling,
            se_centre=self.se_centre,
        ).to(self.device_)
        self.discriminator_ = SubspaceDiscriminator(
            self.n_clusters, self.latent_dim, self.rank_
        ).to(self.device_)
        self.sampler_ = SubspaceSampler(
            self.n_real, self.n_fake, derive_seed(self.random_state, 5)
        ).to(self.device_)

    def _reconstruction(
        self, out: dict[str, torch.Tensor], x: torch.Tensor, w: torch.Tensor
    ) -> torch.Tensor:
        """``L_rec``, plus the error of the decoding from ``z`` alone when it is on."""
        rec = masked_mse(out["x_hat"], x, w)
        if "x_code" in out:
            rec = rec + masked_mse(out["x_code"], x, w)
        return rec

    # ---------------------------------------------------------------- stages
    def _pretrain(self, data: torch.Tensor, weight: torch.Tensor, steps: torch.Tensor) -> None:
        """Reconstruction only, so that k-means starts from a meaningful embedding."""
        net = self.network_
        opt = adam(net.parameters(), lr=self.lr)
        loop = self._loop("pretrain", int(self.pretrain_epochs), {"network": net, "opt": opt})

        def epoch(_: int) -> dict[str, float]:
            total = 0.0
            for windows in loop.batches(len(steps), int(self.batch_size), device=steps.device):
                s = steps[windows]
                out = net(data[s], windows, with_code=self.code_reconstruction)
                loss = self._reconstruction(out, data[s], weight[s])
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(windows)
            return {"rec": total / len(steps)}

        loop.run(epoch)

    @torch.no_grad()
    def _embed_windows(
        self, data: torch.Tensor, steps: torch.Tensor, tau: float = 1.0
    ) -> dict[str, torch.Tensor]:
        """``z``, ``q`` and ``C`` of every window, in eval mode (the decoder is not run)."""
        net = self.network_
        net.eval()
        parts: dict[str, list[torch.Tensor]] = {"z": [], "q": [], "c": []}
        bs = max(1, int(self.batch_size))
        for start in range(0, len(steps), bs):
            windows = torch.arange(start, min(start + bs, len(steps)), device=steps.device)
            out = net.code(data[steps[windows]], windows, tau)
            for key in parts:
                parts[key].append(out[key])
        net.train()
        return {k: torch.cat(v) for k, v in parts.items()}

    def _init_clusters(self, data: torch.Tensor, steps: torch.Tensor) -> None:
        """Centres from k-means on the time-step embeddings; subspaces from their SVD."""
        z = average_over_windows(self._embed_windows(data, steps)["z"], steps, self.n_time_)
        self.network_.set_latent_scale(z)
        km = _SkKMeans(
            self.n_clusters, n_init=self.n_init, random_state=derive_seed(self.random_state, 2)
        ).fit(self.network_.scaled(z).cpu().numpy())
        with torch.no_grad():
            self.network_.centers.copy_(torch.as_tensor(km.cluster_centers_, dtype=torch.float32))
        labels = torch.as_tensor(km.labels_, device=z.device)
        self.discriminator_.initialise(z, labels)

    def _schedule(self, epoch: int) -> dict[str, float]:
        """§5.4 schedules: tau annealed, balance weight ramped, SE after its warm-up."""
        n = max(1, int(self.epochs) - 1)
        progress = min(1.0, epoch / n)
        return {
            "tau": self.tau_start + (self.tau_end - self.tau_start) * progress,
            "bal": self.lambda_bal * min(1.0, 2.0 * progress),
            "se": self.lambda_se if epoch >= self.se_warmup else 0.0,
        }

    def _train(self, data: torch.Tensor, weight: torch.Tensor, steps: torch.Tensor) -> None:
        """Alternating generator and discriminator steps on eq. (6) and ``L_D`` (§5.4)."""
        net, disc = self.network_, self.discriminator_
        opt_g = adam(net.parameters(), lr=self.lr)
        opt_d = adam(disc.parameters(), lr=self.disc_lr)
        k = self.n_clusters
        tables = TensorState(target=torch.full((self.n_time_, k), 1.0 / k, device=self.device_))
        state = {"network": net, "discriminator": disc, "opt_g": opt_g, "opt_d": opt_d,
                 "tables": tables}  # fmt: skip
        loop = self._loop("adatsc", int(self.epochs), state)

        def epoch(e: int) -> dict[str, float]:
            sched = self._schedule(e)
            if e % int(self.update_interval) == 0:
                q = self._embed_windows(data, steps, sched["tau"])["q"]
                tables["target"].copy_(
                    target_distribution(average_over_windows(q, steps, self.n_time_))
                )
            sums: dict[str, Any] = {}
            for windows in loop.batches(len(steps), int(self.batch_size), device=steps.device):
                s = steps[windows]
                terms, z, q = self._generator_step(data[s], weight[s], windows,
                                                   tables["target"][s], sched, opt_g)  # fmt: skip
                terms["disc"] = self._discriminator_step(z.detach(), q.detach(), opt_d)
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + value * len(windows)
            return {key: value / len(steps) for key, value in sums.items()}

        loop.run(epoch)

    def _generator_step(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        windows: torch.Tensor,
        target: torch.Tensor,
        sched: dict[str, float],
        opt: torch.optim.Optimizer,
    ) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor]:
        """One update of ``G`` on eq. (6); returns its terms and the batch's ``z``, ``q``."""
        out = self.network_(x, windows, sched["tau"], with_code=self.code_reconstruction)
        z, q = out["z"].reshape(-1, self.latent_dim), out["q"].reshape(-1, self.n_clusters)
        rec = self._reconstruction(out, x, w)
        kl = kl_divergence(target.reshape(-1, self.n_clusters), q, "batchmean")
        mi = (
            negative_mutual_information
            if self.mi_term == "mutual_information"
            else redundancy_penalty
        )
        balance = marginal_balance(q) + mi(q)
        relative = self.energy_scale == "relative"
        se = self_expression_loss(
            out["z"], out["c"], self.se_l1, centre=self.se_centre, relative=relative
        )
        _, _, fake, fake_k = self.sampler_(z, q.detach())
        adv = (
            adversarial_loss(fake, fake_k, self.discriminator_.bases.detach(), relative)
            if len(fake)
            else z.new_zeros(())
        )
        loss = rec + kl + sched["bal"] * balance + sched["se"] * se + self.lambda_adv * adv
        opt.zero_grad(set_to_none=True)
        backward(loss)
        opt.step()
        # detached, on the device: the loop reads the epoch's sums once, not every step
        terms = {"loss": loss, "rec": rec, "kl": kl, "balance": balance, "se": se, "adv": adv}
        terms = {key: value.detach().float() for key, value in terms.items()}
        terms["tau"] = sched["tau"]
        return terms, z, q

    # ------------------------------------------------------------------ output
    def _finish(self, data: torch.Tensor, steps: torch.Tensor) -> None:
        out = self._embed_windows(data, steps, float(self.tau_end))
        proba = average_over_windows(out["q"], steps, self.n_time_)
        self.proba_ = proba.cpu().numpy()
        self.embedding_ = average_over_windows(out["z"], steps, self.n_time_).cpu().numpy()
        self.affinity_ = self._global_affinity(out["c"].abs().cpu().numpy())
        self.labels_q_ = self.proba_.argmax(1).astype(np.int64)
        self.labels_ = self.labels_q_
        if self.refine == "spectral":
            self.labels_ = self._spectral_labels(self.affinity_)
        self.network_.eval()

    def _global_affinity(self, c_abs: np.ndarray) -> np.ndarray:
        """Sum of every window's ``|C| + |C^T|`` placed at its time steps (§5.4)."""
        a = np.zeros((self.n_time_, self.n_time_))
        t = int(self.window)
        for start, block in zip(self.window_starts_, c_abs, strict=True):
            a[start : start + t, start : start + t] += block + block.T
        return a

    def _spectral_labels(self, affinity: np.ndarray) -> np.ndarray:
        from sklearn.cluster import SpectralClustering

        # windows only link steps within T of each other; a small floor keeps the graph connected
        a = affinity + 1e-6 * affinity.max()
        sc = SpectralClustering(
            self.n_clusters, affinity="precomputed", random_state=derive_seed(self.random_state, 3)
        )
        return sc.fit_predict(a).astype(np.int64)

    @torch.no_grad()
    def _new_cube_windows(self, X: Any) -> tuple[torch.Tensor, torch.Tensor, int]:
        """``z`` of every window of a new cube on the fitted grid, its steps, its length."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "network_")
        data, steps, n = self._new_cube(X)
        z = self._over_windows(lambda x, _: self.network_.embed(x)["z"], data, steps)
        return z, steps, n

    def predict_proba(self, X: Any) -> np.ndarray:
        """``q`` of every time step of a cube on the fitted grid (windows averaged)."""
        z, steps, n = self._new_cube_windows(X)
        with torch.no_grad():
            q = self.network_.assign(z, float(self.tau_end))
        return average_over_windows(q, steps, n).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """``argmax q`` per time step of a cube on the fitted grid."""
        return self.predict_proba(X).argmax(1).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """``z_t`` of every time step of a cube on the fitted grid (windows averaged)."""
        z, steps, n = self._new_cube_windows(X)
        return average_over_windows(z, steps, n).cpu().numpy()


__all__ = ["ADATSC", "auto_filters", "average_over_windows", "scale_cube", "window_starts"]
