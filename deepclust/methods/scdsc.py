"""SCDSC: scalable context-preserving model-aware deep clustering of hyperspectral images.

Li, Nadisic, Huang, Deligiannis, Pizurica (2025). The method, top-down:

* Input (§3.1, §4.2): bands standardised, PCA to ``n_components`` channels, ``a x a``
  patches centred on each pixel (reflect padding), cut on the fly so memory is O(n).
* Mini-clusters (§3.3, Algorithm 1 step 1): FINCH on larger patches (17 x 17, PCA 300,
  cosine), partition index ``finch_level`` (the second partition, §4.4.1).
* Network (Fig. 3): a convolutional autoencoder pretrained on reconstruction (eq. 13).
* Subspace bases ``D`` (§3.5): k-means on the latent codes, then the top ``r`` right
  singular vectors of each cluster's codes.
* Soft assignment ``S`` (eq. 3), basis dissimilarity ``phi(D)`` (eq. 4), non-local
  loss on mini-clusters (eqs. 7-9), local loss against the masked mean filter of ``S``
  on the image grid (eqs. 11-12); total objective eq. (17).
* Labels ``argmax_j s_ij`` for every pixel of the scene (a full cluster map).

Ablation (Table 5): ``use_minicluster=False`` replaces the mini-cluster loss by the
instance-level target of the basis-representation model [18] (EDESC), which with
``use_local=False`` is the paper's "Baseline".

Model selection never sees labels: ``selection="confidence"`` keeps the epoch with the
largest share of pixels assigned with ``max_j s_ij > confidence`` (the authors' rule).

Under ``torchrun`` every rank runs the band PCA, FINCH, the k-means start of the bases
and the cache of assignments on the same data with the same seed (the same result, no
communication). Mini-batch stages give each rank its share of every global batch; in the
joint stage the ranks gather the global batch's assignments (with their gradients), so
the mini-cluster means of eqs. (7)-(9), the local targets of eqs. (11)-(12) and the
cache are those of the whole global batch on every rank, and the averaged gradient is
the one-process gradient (up to batch normalisation, which sees each rank's shard).
A full-batch fit (``batch_size=None``) trains the whole scene on every rank.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans as _SkKMeans
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..base import DeepClusterer
from ..data.hsi import BandPCA, _count_nonfinite, band_pca
from ..distributed import gather_detached, gather_rows, is_distributed
from ..exceptions import ConfigError, DataError
from ..nn.conv import PatchAutoencoder, PatchSource
from ..objectives.assignment import kl_divergence, target_distribution
from ..objectives.subspace import (
    basis_dissimilarity,
    choose_window,
    local_loss,
    nonlocal_loss,
    refined_assignment,
    subspace_affinity,
)
from ..precision import backward
from ..threads import configure_threads
from ..training import TensorState, adam
from ..utils import derive_seed
from ..validation import (
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    non_negative_real,
    positive_int,
    positive_real,
    unit_interval,
    validate_params,
)


class SubspaceBases(nn.Module):
    """The bases ``D = [D_1, ..., D_K]``, one ``latent_dim x r`` block per cluster."""

    def __init__(self, latent_dim: int, n_clusters: int, r: int) -> None:
        super().__init__()
        self.n_clusters = n_clusters
        self.r = r
        self.D = nn.Parameter(torch.zeros(latent_dim, n_clusters * r))


def init_bases(
    Z: np.ndarray, labels: np.ndarray, n_clusters: int, r: int, rng: np.random.Generator
) -> np.ndarray:
    """Top-``r`` right singular vectors of each cluster's codes (SCDSC §3.5, EDESC).

    A cluster with fewer than ``r`` members is completed with random orthonormal
    directions.
    """
    d = Z.shape[1]
    blocks = []
    for k in range(n_clusters):
        members = Z[labels == k]
        basis = np.zeros((d, 0))
        if len(members):
            _, _, vt = np.linalg.svd(members, full_matrices=False)
            basis = vt[:r].T
        if basis.shape[1] < r:
            # Gram-Schmidt keeps the singular vectors (up to sign) and adds orthogonal ones
            filled = np.hstack([basis, rng.standard_normal((d, r - basis.shape[1]))])
            basis = np.linalg.qr(filled)[0][:, :r]
        blocks.append(basis)
    return np.hstack(blocks).astype(np.float32)


def _check_region_varies(cube: np.ndarray, region: np.ndarray) -> None:
    """Refuse a scene whose pixels inside ``region`` all have one spectrum (nothing to
    cluster); row block by row block, so a memory-mapped scene is not loaded whole."""
    first = None
    step = max(1, (1 << 22) // max(1, cube.shape[1] * cube.shape[2]))
    for r in range(0, cube.shape[0], step):
        block = np.asarray(cube[r : r + step])[region[r : r + step]]
        if len(block) == 0:
            continue
        if first is None:
            first = block[0].copy()
        if not bool((block == first).all()):
            return
    n = int(region.sum())
    if n >= 2:
        raise DataError(f"all {n} samples are identical: nothing to cluster")


class _Best:
    """The best epoch so far under the label-free selection score (checkpointable)."""

    def __init__(self, modules: dict[str, nn.Module]) -> None:
        self.modules = modules
        self.score = -np.inf
        self.epoch = 0
        self.states = {k: copy.deepcopy(m.state_dict()) for k, m in modules.items()}

    def offer(self, score: float, epoch: int) -> None:
        if score >= self.score:  # ties go to the later epoch
            self.score, self.epoch = score, epoch
            self.states = {k: copy.deepcopy(m.state_dict()) for k, m in self.modules.items()}

    def restore(self) -> None:
        for k, m in self.modules.items():
            m.load_state_dict(self.states[k])

    def state_dict(self) -> dict[str, Any]:
        return {"score": float(self.score), "epoch": int(self.epoch), "states": self.states}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.score, self.epoch = state["score"], state["epoch"]
        self.states = state["states"]


class SCDSC(DeepClusterer):
    """Scalable context-preserving deep subspace clustering of a hyperspectral scene.

    ``fit(cube, mask=None)`` takes the scene ``(rows, cols, bands)`` and an optional
    boolean ``mask`` of the pixels to cluster (the task area; SCDSC and its baselines use
    the labelled pixels). ``label_map_`` then holds a cluster for every pixel.

    Parameters
    ----------
    n_clusters : int
    n_components : int
        PCA channels of the network input (8 in the authors' code).
    patch_size : int
        ``a`` of the ``a x a`` network patches (7).
    n_bases : int
        ``r``, basis vectors per subspace (5).
    eta : float
        Smoothing constant of eq. (3) (``theta`` in the paper; 5 in the code).
    beta, beta1, beta2 : float
        Weights of eq. (17): basis dissimilarity (1e-3), non-local (3) and local losses
        (Table 4: 8 Houston, 1 Trento, 7 PaviaU; the default is PaviaU's).
    window : int or "auto"
        Side of the smoothing window of eq. (11) (Table 4: 3, 7, 7). ``"auto"`` reads it
        off the initial cluster map (:func:`~deepclust.objectives.subspace.choose_window`:
        the largest window, 3 to 11, that crosses region boundaries hardly more than a
        3 x 3 one), so small fields get a small window; ``window_`` holds the size used.
    use_minicluster, use_local : bool
        Ablation switches (Table 5): MC, L; both False is the Baseline [18].
    finch_patch_size, finch_components, finch_level
        FINCH input (17 x 17 patches, PCA 300, cosine) and the partition used (1).
    squared_norm : bool
        ``||h D_j||^2`` in eq. (3) as in [18] and the authors' code (False: the norm).
    input_scaling : {"global", "channel"}
        Scaling of the PCA channels fed to the network (the paper does not say):
        ``"global"`` divides all channels by one common standard deviation, keeping
        the PCA variance ratios; ``"channel"`` standardises each channel (the authors'
        code), which lifts the low-variance, mostly-noise components to the weight of
        the leading ones.
    pretrain_epochs, pretrain_lr, pretrain_batch_size
        Autoencoder pretraining (Adam). The authors' code uses batch 4096, which on a
        scene of a few thousand pixels is two steps per epoch; the default batch of 256
        gives the network enough steps to fit the patches.
    epochs, lr : int, float
        Joint training (400 epochs; lr Table 4).
    batch_size : int or None
        None = full batch (the paper); an int trains on mini-batches of pixels with
        cached assignments for the neighbourhood and mini-cluster terms (large scenes).
    selection : {"confidence", "last"}
    confidence : float
        Threshold of the confidence share used by ``selection="confidence"``.
    tol, patience
        Stopping rule (label-free): joint training ends once fewer than ``tol`` of the
        pixels changed cluster from one epoch to the next in ``patience`` epochs in a
        row (``tol=0`` trains all ``epochs``). ``stopped_epoch_`` records where.
    kmeans_n_init, init_samples
        k-means restarts of the basis initialisation, and the most pixels it uses.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_ : ndarray (n_masked,)
        Clusters of the masked pixels in row-major order.
    label_map_ : ndarray (rows, cols)
        Cluster of every pixel of the scene.
    soft_assignments_ : ndarray (n_masked, n_clusters)
    miniclusters_ : ndarray (n_masked,) or None
        FINCH mini-cluster of each masked pixel.
    embedding_ : ndarray or None
        Latent codes of the masked pixels (None above 100,000 pixels).
    timings_ : dict
        Wall seconds of each fit stage (preprocess, finch, pretrain, init, train,
        finish).
    best_epoch_, history_
    window_ : int
        Smoothing window of the local loss (``window``, or the one ``"auto"`` chose).
    stopped_epoch_ : int or None
        Epoch where the stopping rule ended joint training (None: all ``epochs`` ran).
    """

    input_kind = "hsi"

    #: pretraining's loss is a mean over pixels; the joint stage gathers the global
    #: batch's assignments for its mini-cluster and local terms (see the module notes)
    _data_parallel_batches = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "n_components": [positive_int()],
        "patch_size": [positive_int()],
        "n_bases": [positive_int()],
        "eta": [positive_real()],
        "beta": [non_negative_real()],
        "beta1": [non_negative_real()],
        "beta2": [non_negative_real()],
        "window": [StrOptions({"auto"}), positive_int()],
        "use_minicluster": ["boolean"],
        "use_local": ["boolean"],
        "finch_patch_size": [positive_int()],
        "finch_components": [positive_int()],
        "finch_level": [positive_int()],
        "squared_norm": ["boolean"],
        "input_scaling": [StrOptions({"global", "channel"})],
        "pretrain_epochs": [non_negative_int()],
        "pretrain_lr": [positive_real()],
        "pretrain_batch_size": [positive_int()],
        "epochs": [non_negative_int()],
        "lr": [positive_real()],
        "batch_size": [positive_int(), None],
        "selection": [StrOptions({"confidence", "last"})],
        "confidence": [unit_interval(closed="right")],
        "tol": [unit_interval()],
        "patience": [positive_int()],
        "kmeans_n_init": [positive_int()],
        "init_samples": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_components: int = 8,
        patch_size: int = 7,
        n_bases: int = 5,
        eta: float = 5.0,
        beta: float = 1e-3,
        beta1: float = 3.0,
        beta2: float = 7.0,
        window: int | str = "auto",
        use_minicluster: bool = True,
        use_local: bool = True,
        finch_patch_size: int = 17,
        finch_components: int = 300,
        finch_level: int = 1,
        squared_norm: bool = True,
        input_scaling: str = "global",
        pretrain_epochs: int = 50,
        pretrain_lr: float = 1e-3,
        pretrain_batch_size: int = 256,
        epochs: int = 400,
        lr: float = 5e-3,
        batch_size: int | None = None,
        selection: str = "confidence",
        confidence: float = 0.9,
        tol: float = 1e-3,
        patience: int = 10,
        kmeans_n_init: int = 30,
        init_samples: int = 50_000,
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
        self.n_components = n_components
        self.patch_size = patch_size
        self.n_bases = n_bases
        self.eta = eta
        self.beta = beta
        self.beta1 = beta1
        self.beta2 = beta2
        self.window = window
        self.use_minicluster = use_minicluster
        self.use_local = use_local
        self.finch_patch_size = finch_patch_size
        self.finch_components = finch_components
        self.finch_level = finch_level
        self.squared_norm = squared_norm
        self.input_scaling = input_scaling
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.selection = selection
        self.confidence = confidence
        self.tol = tol
        self.patience = patience
        self.kmeans_n_init = kmeans_n_init
        self.init_samples = init_samples
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------- validation
    def _validate_fit_input(self, X: Any) -> np.ndarray:
        cube = np.asarray(X)
        if cube.ndim != 3:
            raise DataError(
                f"SCDSC clusters a hyperspectral scene (rows, cols, bands); got an array of "
                f"shape {cube.shape}"
            )
        if not np.issubdtype(cube.dtype, np.number):
            raise DataError(f"the scene must be numeric, got dtype {cube.dtype}")
        bad = _count_nonfinite(cube)[0]  # in blocks: a memory-mapped scene stays on disk
        if bad:
            raise DataError(f"the scene contains {bad} NaN or infinite values; expected finite")
        self.n_features_in_ = int(cube.shape[2])
        return cube

    def _check_mask(self, mask: Any, shape: tuple[int, int]) -> np.ndarray:
        if mask is None:
            return np.ones(shape, bool)
        m = np.asarray(mask)
        if m.shape != shape:
            raise DataError(
                f"mask has shape {m.shape} but the scene is {shape[0]} x {shape[1]}; "
                "expected the same rows x cols"
            )
        return m.astype(bool)

    def _check_params(self) -> None:
        if self.input_scaling not in ("global", "channel"):
            raise ConfigError(
                f"input_scaling={self.input_scaling!r}; expected 'global' or 'channel'"
            )
        if self.selection not in ("confidence", "last"):
            raise ConfigError(f"selection={self.selection!r}; expected 'confidence' or 'last'")
        for name in ("patch_size", "window", "finch_patch_size"):
            v = getattr(self, name)
            if name == "window" and v == "auto":
                continue
            if not isinstance(v, (int, np.integer)) or v < 1 or v % 2 == 0:
                raise ConfigError(f"{name}={v!r} must be a positive odd integer")
        if self.batch_size is not None and (
            not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1
        ):
            raise ConfigError(f"batch_size={self.batch_size!r} must be None or a positive integer")

    # -------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, mask: Any = None) -> SCDSC:
        """Cluster the pixels of ``X`` (rows, cols, bands) inside ``mask``."""
        validate_params(self)
        configure_threads()
        cube = self._validate_fit_input(X)
        shape = (int(cube.shape[0]), int(cube.shape[1]))
        region = self._check_mask(mask, shape)
        _check_region_varies(cube, region)
        self._check_n_clusters(int(region.sum()))
        self._check_params()
        self._begin_fit(cube, region)
        self._fit(cube, region)
        return self

    def _fit(self, cube: np.ndarray, region: np.ndarray | None = None) -> None:
        if region is None:
            region = np.ones(cube.shape[:2], bool)
        self.grid_shape_ = (int(cube.shape[0]), int(cube.shape[1]))
        self.pixels_ = np.flatnonzero(region.ravel())
        self.timings_: dict[str, float] = {}
        with self._timed("preprocess"):
            image = self._preprocess_fit(cube, self.pixels_)
        self.miniclusters_ = None
        if self.use_minicluster:
            with self._timed("finch"):
                self.miniclusters_ = self._miniclusters(cube, self.pixels_)
        self._build_modules()
        source = PatchSource(image, self.patch_size)
        pix = torch.as_tensor(self.pixels_, device=self.device_)
        with self._timed("pretrain"):
            self._pretrain(source, pix)
        with self._timed("init"):
            self._init_bases(source, pix)
            self.window_ = self._choose_window(source, pix)
        with self._timed("train"):
            self._train(source, pix)
        with self._timed("finish"):
            self._finish(source, pix)

    @contextlib.contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        """Wall seconds of one fit stage into ``timings_`` (scaling reports)."""
        tic = time.perf_counter()
        yield
        self.timings_[stage] = time.perf_counter() - tic

    def _preprocess_fit(self, cube: np.ndarray, pixels: np.ndarray) -> torch.Tensor:
        """Band standardisation and PCA on the whole scene, then channel scaling (§4.2).

        The statistics and the projection stream over row blocks (:func:`band_pca`): peak
        memory is the ``pixels x n_components`` result, not the scene, which may be a
        memory-mapped array larger than memory."""
        pca = band_pca(cube, min(self.n_components, cube.shape[2]), standardize=True)
        self.band_mean_ = pca.mean
        self.band_std_ = np.divide(1.0, pca.scale, out=np.ones_like(pca.scale),
                                   where=pca.scale > 0)  # fmt: skip
        self.pca_components_ = pca.components
        pcs = pca.transform(cube).reshape(-1, len(pca.components))
        chosen = pcs[pixels].astype(np.float64)
        self.channel_mean_ = chosen.mean(0)
        csd = chosen.std(0)
        del chosen
        if self.input_scaling == "global":
            csd = np.full_like(csd, np.sqrt((csd**2).mean()))
        self.channel_std_ = np.where(csd > 0, csd, 1.0)
        return self._image_tensor(pcs, cube.shape[:2])

    def _band_pca(self) -> BandPCA:
        """The fitted band preprocessing as a streamed projection (``predict``)."""
        scale = np.divide(1.0, self.band_std_)
        return BandPCA(mean=self.band_mean_, scale=scale, components=self.pca_components_)

    def _image_tensor(self, pcs: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
        scaled = (pcs - self.channel_mean_) / self.channel_std_
        img = scaled.T.reshape(-1, shape[0], shape[1]).astype(np.float32)
        return torch.as_tensor(img, device=self.device_)

    def _miniclusters(self, cube: np.ndarray, pixels: np.ndarray) -> np.ndarray:
        """FINCH partition ``finch_level`` of 17x17-patch PCA features (§3.3, §4.4.1)."""
        from ..data.hsi import patch_features
        from ..graphs.finch import finch

        n_feat = self.finch_patch_size**2 * min(self.n_components, cube.shape[2])
        comps = int(min(self.finch_components, n_feat, len(pixels) - 1))
        feats = patch_features(
            cube,
            self.finch_patch_size,
            n_components=comps,
            indices=pixels,
            band_components=min(self.n_components, cube.shape[2]),
            random_state=derive_seed(self.random_state, 7),
        )
        feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        # As the authors' code effectively ran it: no early-exit cut (see graphs.finch).
        result = finch(
            feats, metric="cosine", ensure_early_exit=False, max_levels=self.finch_level + 1
        )
        level = min(self.finch_level, result.partitions.shape[1] - 1)
        self.finch_level_ = int(level)
        self.finch_n_clusters_ = list(result.n_clusters)
        return result.partitions[:, level].astype(np.int64)

    def _build_modules(self) -> None:
        c = len(self.pca_components_)
        self.autoencoder_ = PatchAutoencoder(c, self.patch_size).to(self.device_)
        self.bases_ = SubspaceBases(self.autoencoder_.latent_dim, self.n_clusters, self.n_bases).to(
            self.device_
        )

    # --------------------------------------------------------------- stages
    def _batches_of(self, loop: Any, n: int, size: int | None):
        if size is None or size >= n:
            yield torch.arange(n, device=self.device_)  # full batch, in pixel order
        else:
            yield from loop.batches(n, size, device=self.device_)

    def _pretrain(self, source: PatchSource, pix: torch.Tensor) -> None:
        """Autoencoder pretraining on reconstruction (eq. 13; Algorithm 1 step 2)."""
        ae = self.autoencoder_
        opt = adam(ae.parameters(), lr=self.pretrain_lr)
        loop = self._loop("pretrain", self.pretrain_epochs, {"autoencoder": ae, "opt": opt})

        def epoch(_: int) -> dict[str, float]:
            ae.train()
            total = 0.0
            for b in loop.batches(len(pix), self.pretrain_batch_size, device=pix.device):
                x = source.patches(pix[b])
                _, x_hat = ae(x)
                loss = F.mse_loss(x_hat, x)
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total += loss.detach() * len(b)
            return {"loss": loop.mean(total)}

        loop.run(epoch)

    @torch.no_grad()
    def _codes(self, source: PatchSource, pix: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        self.autoencoder_.eval()
        out = torch.cat(
            [
                self.autoencoder_.encode(source.patches(pix[i : i + chunk]))
                for i in range(0, len(pix), chunk)
            ]
        )
        self.autoencoder_.train()
        return out

    def _init_bases(self, source: PatchSource, pix: torch.Tensor) -> None:
        """k-means on latent codes, then per-cluster SVD (Algorithm 1 step 3)."""
        rng = np.random.default_rng(derive_seed(self.random_state, 9))
        sample = pix
        if len(pix) > self.init_samples:
            sample = pix[
                torch.as_tensor(np.sort(rng.choice(len(pix), self.init_samples, replace=False)))
            ]
        Z = self._codes(source, sample).cpu().numpy().astype(np.float64)
        km = _SkKMeans(
            self.n_clusters,
            n_init=self.kmeans_n_init,
            random_state=derive_seed(self.random_state, 10),
        ).fit(Z)
        D = init_bases(Z, km.labels_, self.n_clusters, self.n_bases, rng)
        with torch.no_grad():
            self.bases_.D.copy_(torch.as_tensor(D))

    def _choose_window(self, source: PatchSource, pix: torch.Tensor) -> int:
        """``window``, or for ``"auto"`` the size read off the initial cluster map."""
        if self.window != "auto":
            return int(self.window)
        h, w = self.grid_shape_
        labels = torch.zeros(h * w, dtype=torch.long, device=self.device_)
        labels[pix] = self._assign(source, pix).argmax(1)
        mask = torch.zeros(h * w, dtype=torch.bool, device=self.device_)
        mask[pix] = True
        return choose_window(labels.reshape(h, w), mask.reshape(h, w), self.n_clusters)

    def _affinity(self, z: torch.Tensor) -> torch.Tensor:
        return subspace_affinity(z, self.bases_.D, self.n_clusters, self.eta, self.squared_norm)

    def _cluster_losses(
        self,
        s: torch.Tensor,
        rows: torch.Tensor,
        cache: TensorState | None,
        full: bool,
        groups: torch.Tensor | None,
        n_groups: int,
        pix: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """The clustering terms of eq. (17) for assignments ``s`` of masked pixels ``rows``."""
        out: dict[str, torch.Tensor] = {}
        if self.use_minicluster:
            if full:
                out["nonlocal"] = nonlocal_loss(s, groups, n_groups)
            else:
                out["nonlocal"] = self._nonlocal_minibatch(s, rows, cache, groups)
        else:  # the basis-representation model's own target [18]
            out["instance"] = kl_divergence(target_distribution(s).detach(), s, "mean")
        if self.use_local:
            if full:
                out["local"] = local_loss(s, pix, self.grid_shape_, self.window_)
            else:
                out["local"] = self._local_minibatch(s, rows, cache, pix)
        return out

    def _nonlocal_minibatch(self, s, rows, cache, groups) -> torch.Tensor:
        """Eqs. (7)-(9) with the mini-clusters' other members taken from the cache.

        The per-mini-cluster sums of the cache are kept up to date batch by batch
        (:meth:`_group_sums_of`, :meth:`_cache_rows`), so a step costs ``O(batch + G)``
        for ``G`` mini-clusters, not ``O(n)``: an epoch stays ``O(n)``.
        """
        g = groups[rows]
        sums, counts = self._group_sums, self._group_counts
        m_all = (sums / counts).detach()
        target = refined_assignment(m_all)
        # m_p with this batch's fresh assignments in place of their cached values
        delta = torch.zeros_like(sums).index_add_(0, g, s - cache["s"][rows])
        touched = torch.unique(g)
        m = m_all[touched] + delta[touched] / counts[touched]
        return kl_divergence(target[touched], m, "mean")

    def _group_sums_of(self, cache: TensorState, groups: torch.Tensor, n_groups: int) -> None:
        """Each mini-cluster's sum and size over the cache (one ``O(n)`` pass)."""
        k = cache["s"].shape[1]
        sums = torch.zeros(n_groups, k, device=cache["s"].device)
        self._group_sums = sums.index_add_(0, groups, cache["s"])
        self._group_counts = torch.bincount(groups, minlength=n_groups).clamp_min(1).unsqueeze(1)

    def _cache_rows(
        self, cache: TensorState, rows: torch.Tensor, s: torch.Tensor, groups: torch.Tensor | None
    ) -> None:
        """Write a batch's assignments into the cache and move its mini-cluster sums."""
        if groups is not None:  # the sums exist: the epoch computed them first
            self._group_sums.index_add_(0, groups[rows], s - cache["s"][rows])
        cache["s"][rows] = s

    def _local_minibatch(self, s, rows, cache, pix) -> torch.Tensor:
        """Eqs. (11)-(12) with the window's other pixels taken from the cache."""
        h, w = self.grid_shape_
        r = self.window_ // 2
        flat = pix[rows]
        rr, cc = flat // w, flat % w
        off = torch.arange(-r, r + 1, device=s.device)
        nr = (rr[:, None, None] + off[None, :, None]).expand(-1, len(off), len(off))
        nc = (cc[:, None, None] + off[None, None, :]).expand(-1, len(off), len(off))
        inside = (nr >= 0) & (nr < h) & (nc >= 0) & (nc < w)
        pos = (nr.clamp(0, h - 1) * w + nc.clamp(0, w - 1)).reshape(len(rows), -1)
        slot = self._pixel_slot[pos]  # row of the cache, -1 outside the mask
        valid = inside.reshape(len(rows), -1) & (slot >= 0)
        vals = cache["s"][slot.clamp_min(0)] * valid.unsqueeze(-1)
        f = vals.sum(1) / valid.sum(1, keepdim=True).clamp_min(1)
        return kl_divergence(f.detach(), s, "mean")

    def _train(self, source: PatchSource, pix: torch.Tensor) -> None:
        """Joint optimisation of eq. (17) (Algorithm 1 step 4)."""
        ae, bases = self.autoencoder_, self.bases_
        n = len(pix)
        full = self.batch_size is None or self.batch_size >= n
        groups = n_groups = None
        if self.use_minicluster:
            groups = torch.as_tensor(self.miniclusters_, device=self.device_)
            n_groups = int(groups.max()) + 1
        cache = None
        if not full:
            cache = TensorState(
                s=torch.full((n, self.n_clusters), 1.0 / self.n_clusters, device=self.device_)
            )
            slot = torch.full(
                (self.grid_shape_[0] * self.grid_shape_[1],),
                -1,
                dtype=torch.long,
                device=self.device_,
            )
            slot[pix] = torch.arange(n, device=self.device_)
            self._pixel_slot = slot
            with torch.no_grad():
                cache["s"].copy_(self._assign(source, pix, train_mode=True))
        opt = adam(list(ae.parameters()) + list(bases.parameters()), lr=self.lr)
        best = _Best({"autoencoder": ae, "bases": bases})
        state = {"autoencoder": ae, "bases": bases, "opt": opt, "best": best}
        if cache is not None:
            state["cache"] = cache
        track = TensorState(
            labels=torch.full((n,), -1, dtype=torch.long, device=self.device_),
            calm=torch.zeros((), dtype=torch.long),  # epochs in a row under tol
        )
        state["track"] = track
        loop = self._loop("scdsc", self.epochs, state)
        self._best = best
        self.stopped_epoch_ = None

        def epoch(e: int) -> dict[str, float]:
            ae.train()
            if cache is not None and groups is not None:
                self._group_sums_of(cache, groups, n_groups)  # exact again every epoch
            sums: dict[str, float] = {}
            confident = 0
            # pixels no batch reaches (trimmed to split over ranks) keep their labels
            now = track["labels"].clone()
            for rows in self._batches_of(loop, n, None if full else self.batch_size):
                x = source.patches(pix[rows])
                z, x_hat = ae(x)
                s = self._affinity(z)
                if is_distributed() and not full:  # the global batch's assignments
                    rows, s = gather_detached(rows), gather_rows(s)
                terms = {
                    "recon": F.mse_loss(x_hat, x),
                    "dissimilarity": basis_dissimilarity(bases.D, self.n_clusters),
                }
                terms.update(self._cluster_losses(s, rows, cache, full, groups, n_groups, pix))
                weights = {
                    "recon": 1.0,
                    "dissimilarity": self.beta,
                    "nonlocal": self.beta1,
                    "instance": self.beta1,
                    "local": self.beta2,
                }
                loss = sum(weights[k] * v for k, v in terms.items())
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                confident += (s.detach().max(1).values > self.confidence).sum()
                now[rows] = s.detach().argmax(1)
                if cache is not None:
                    self._cache_rows(cache, rows, s.detach(), groups)
                sums["loss"] = sums.get("loss", 0.0) + loss.detach() * len(rows) / n
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v.detach() * len(rows) / n
            share = float(confident) / n  # one host sync per epoch
            best.offer(share if self.selection == "confidence" else float(e), e + 1)
            changed = self._settle(track, now, loop, e + 1)
            # loss: eq. (17) with its weights; the terms are logged unweighted
            return {**sums, "confident": share, "changed": changed}

        loop.run(epoch)

    def _settle(self, track: TensorState, now: torch.Tensor, loop: Any, epoch: int) -> float:
        """Share of pixels that changed cluster this epoch; stops ``loop`` once it has
        stayed below ``tol`` for ``patience`` epochs (first epoch: compared to nothing)."""
        changed = float((now != track["labels"]).float().mean())
        track["labels"].copy_(now)
        track["calm"].fill_(int(track["calm"]) + 1 if changed < self.tol else 0)
        if int(track["calm"]) >= self.patience:
            self.stopped_epoch_ = epoch
            loop.stop()
        return changed

    @torch.no_grad()
    def _assign(
        self, source: PatchSource, pix: torch.Tensor, train_mode: bool = False, chunk: int = 8192
    ) -> torch.Tensor:
        self.autoencoder_.train(train_mode)
        out = torch.cat(
            [
                self._affinity(self.autoencoder_.encode(source.patches(pix[i : i + chunk])))
                for i in range(0, len(pix), chunk)
            ]
        )
        self.autoencoder_.train()
        return out

    def _finish(self, source: PatchSource, pix: torch.Tensor) -> None:
        self._best.restore()
        self.best_epoch_ = int(self._best.epoch)
        del self._best
        self._pixel_slot = self._group_sums = self._group_counts = None
        h, w = self.grid_shape_
        every = torch.arange(h * w, device=self.device_)
        s_all = self._assign(source, every)
        self.label_map_ = s_all.argmax(1).reshape(h, w).cpu().numpy().astype(np.int64)
        self.soft_assignments_ = s_all[pix].cpu().numpy()
        self.labels_ = self.label_map_.ravel()[self.pixels_]
        self.embedding_ = self._codes(source, pix).cpu().numpy() if len(pix) <= 100_000 else None
        self.autoencoder_.eval()

    # ------------------------------------------------------------- inference
    def predict(self, X: Any) -> np.ndarray:
        """Cluster map of a scene from the same sensor, with the fitted preprocessing."""
        check_is_fitted(self)
        cube = np.asarray(X)
        if cube.ndim != 3 or cube.shape[2] != self.n_features_in_:
            raise DataError(
                f"expected a scene (rows, cols, {self.n_features_in_}); got shape {cube.shape}"
            )
        image = self._image_tensor(
            self._band_pca().transform(cube).reshape(-1, len(self.pca_components_)), cube.shape[:2]
        )
        source = PatchSource(image, self.patch_size)
        every = torch.arange(cube.shape[0] * cube.shape[1], device=self.device_)
        s = self._assign(source, every)
        self.autoencoder_.eval()
        return s.argmax(1).reshape(cube.shape[:2]).cpu().numpy().astype(np.int64)
