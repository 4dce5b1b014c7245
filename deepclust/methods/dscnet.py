"""DSC-Net-L2: deep subspace clustering networks (Ji, Zhang, Li, Salzmann, Reid; NIPS 2017).

A baseline of MLC (Table 1) and A-DATSC: a self-expressive layer ``C`` (n x n, zero
diagonal) between a pretrained encoder and decoder, trained full-batch on

    L = 1/2 ||X - X_hat||_F^2 + lambda1 ||C||_F^2 + lambda2 / 2 ||Z - C Z||_F^2

(the L2 variant of the paper's eq. 4; the decoder reconstructs from ``C Z``), then
spectral clustering on an affinity built from ``C`` by the paper's post-processing:
keep each column's largest entries up to ``rho`` of its mass, symmetrise, take the
top ``d k + 1`` singular directions ``U S^{1/2}``, normalise the rows and use
``|U U^T|^alpha`` (``alpha = 4`` to sharpen it). Memory is O(n^2): meant for the few
thousand samples of the subspace benchmarks (COIL-20, ORL), as in the paper; above
``max_samples`` it refuses with a one-line error instead of exhausting memory.

Images (rows with ``image_shape``, which ``deepclust run`` fills in) get the paper's
shallow convolutional autoencoder (:class:`~deepclust.nn.conv_autoencoder.ConvAutoencoder`:
stride-2 convolutions with ReLU, codes = the last map flattened), pretrained here on the
reconstruction error; feature vectors get the library's MLP autoencoder.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from scipy.sparse.linalg import svds
from torch import nn

from ..base import DeepClusterer
from ..exceptions import DataError
from ..nn.autoencoders import MLPAutoencoder
from ..nn.conv_autoencoder import ConvAutoencoder
from ..precision import backward
from ..pretraining import UsesAutoencoder, auto_epochs, train_reconstruction
from ..training import adam
from ..validation import (
    AUTO,
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    positive_int,
    positive_real,
)
from .classic import spectral_labels

#: Batch size of the convolutional autoencoder's pretraining.
CONV_BATCH = 128


class SelfExpression(nn.Module):
    """``Z -> C Z`` with ``C`` n x n and its diagonal held at zero (no self-coding)."""

    def __init__(self, n: int, init: float = 1e-4) -> None:
        super().__init__()
        self.C = nn.Parameter(torch.full((n, n), float(init)))
        self.register_buffer("off_diagonal", 1.0 - torch.eye(n))

    def coefficients(self) -> torch.Tensor:
        return self.C * self.off_diagonal

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.coefficients() @ z


def dscnet_loss(
    x: torch.Tensor, x_hat: torch.Tensor, z: torch.Tensor, cz: torch.Tensor, C: torch.Tensor,
    lambda1: float, lambda2: float,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """The three terms of DSC-Net-L2's loss and their weighted sum (sums, as the paper)."""
    recon = 0.5 * (x - x_hat).pow(2).sum()
    reg = C.pow(2).sum()
    expr = 0.5 * (z - cz).pow(2).sum()
    return {"loss": recon + lambda1 * reg + lambda2 * expr, "recon": recon, "reg": reg,
            "self_expression": expr}  # fmt: skip


def threshold_columns(C: np.ndarray, rho: float) -> np.ndarray:
    """Keep, per column, the largest ``|c_ij|`` until they hold ``rho`` of its l1 mass."""
    if rho >= 1:
        return C
    A = np.abs(C)
    order = np.argsort(-A, axis=0)
    sorted_abs = np.take_along_axis(A, order, axis=0)
    mass = np.cumsum(sorted_abs, axis=0)
    total = mass[-1:, :]
    keep_sorted = (mass - sorted_abs) < rho * np.where(total > 0, total, 1.0)
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=0)
    return C * keep


def subspace_affinity_from_codes(
    C: np.ndarray, k: int, d: int, alpha: float, code_dim: int | None = None
) -> np.ndarray:
    """DSC-Net's post-processing of the coefficients into a spectral-clustering affinity.

    It keeps ``d k + 1`` singular directions of the symmetrised ``C``; with ``code_dim``
    (the codes' dimension ``p``) at most ``p + 1``: ``C`` fitted to ``n`` codes of
    dimension ``p`` has rank about ``p``, and the directions beyond it are noise (on
    3-D codes of two manifolds they took ACC from 0.96 to 0.63, RESULTS.md session 7).
    """
    C = 0.5 * (C + C.T)
    r = int(min(d * k + 1, C.shape[0] - 1))
    if code_dim is not None:
        r = min(r, int(code_dim) + 1)
    U, S, _ = svds(C, k=r)
    U = U[:, ::-1] * np.sqrt(S[::-1])
    U = U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-12)
    Z = U @ U.T
    L = np.abs(np.where(Z > 0, Z, 0.0) ** alpha)
    L = L / max(L.max(), 1e-12)
    return 0.5 * (L + L.T)


class DSCNet(UsesAutoencoder, DeepClusterer):
    """Deep subspace clustering network, L2 regulariser (DSC-Net-L2).

    Parameters
    ----------
    n_clusters : int
    lambda1, lambda2 : float
        Weights of ``||C||_F^2`` and the self-expression term (the paper's COIL-20
        setting: 1 and 150 with its conv autoencoder).
    subspace_dim : int
        ``d`` of the post-processing (``d k + 1`` singular directions; 12 for COIL-20).
    alpha, rho : float or "auto"
        Sharpening exponent and column threshold of the post-processing.
    epochs : int or "auto"
        Full-batch Adam steps on the loss.
    lr : float
        Their learning rate (the paper: 1e-3).

    ``"auto"`` takes the settings published with each network: with the convolutional
    autoencoder the authors' COIL-20 ones (40 epochs, ``alpha = 8``, ``rho = 0.04``),
    with the MLP autoencoder 200 epochs, ``alpha = 4`` and no threshold (``rho = 1``),
    this library's earlier defaults; both were kept after a comparison on the
    development suite (RESULTS.md, session 7).
    max_samples : int
        Largest ``n`` accepted (``C`` is n x n).
    image_shape : tuple or None
        ``(C, H, W)`` of images given as rows (``deepclust run`` fills it in).
    autoencoder : {"auto", "conv", "mlp"}
        ``"auto"``: the convolutional autoencoder for images, the MLP one for vectors.
    conv_channels, conv_kernels : tuple of int
        The convolutional layout after the input channels (the paper's COIL-20 network:
        ``(15,)`` and ``(3,)``; its ORL network: ``(3, 3, 5)`` and ``(3, 3, 3)``).
    conv_pretrain_epochs : int or "auto"
        Reconstruction epochs of the convolutional autoencoder (Adam, ``ae_lr``, batches
        of 128); ``"auto"``: about 2,000 steps, 20-500 epochs. A ``pretrained`` (MLP)
        autoencoder takes precedence over ``autoencoder="auto"``.
    hidden_dims, latent_dim, pretrained, ae_layerwise_epochs, ae_finetune_epochs, ae_lr
        The MLP autoencoder (see :class:`~deepclust.pretraining.Autoencoder`).
    input_scaling : {"auto", "max", "standardize", "none"}
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume

    Attributes
    ----------
    labels_, coefficients_ (``C``), affinity_, embedding_ (the codes ``Z``), history_
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "lambda1": [positive_real()],
        "lambda2": [positive_real()],
        "subspace_dim": [positive_int()],
        "alpha": [AUTO, positive_real()],
        "rho": [AUTO, positive_real()],
        "epochs": [AUTO, non_negative_int()],
        "lr": [positive_real()],
        "max_samples": [positive_int()],
        "image_shape": [tuple, list, None],
        "autoencoder": [StrOptions({"auto", "conv", "mlp"})],
        "conv_channels": [tuple, list],
        "conv_kernels": [tuple, list],
        "conv_pretrain_epochs": [AUTO, positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        lambda1: float = 1.0,
        lambda2: float = 150.0,
        subspace_dim: int = 12,
        alpha: Any = "auto",
        rho: Any = "auto",
        epochs: Any = "auto",
        lr: float = 1e-3,
        max_samples: int = 10_000,
        image_shape: tuple[int, ...] | None = None,
        autoencoder: str = "auto",
        conv_channels: tuple[int, ...] = (15,),
        conv_kernels: tuple[int, ...] = (3,),
        conv_pretrain_epochs: Any = "auto",
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        pretrained: Any = None,
        input_scaling: str = "auto",
        ae_layerwise_epochs: Any = "auto",
        ae_finetune_epochs: Any = "auto",
        ae_lr: float = 1e-3,
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
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.subspace_dim = subspace_dim
        self.alpha = alpha
        self.rho = rho
        self.epochs = epochs
        self.lr = lr
        self.max_samples = max_samples
        self.image_shape = image_shape
        self.autoencoder = autoencoder
        self.conv_channels = conv_channels
        self.conv_kernels = conv_kernels
        self.conv_pretrain_epochs = conv_pretrain_epochs
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.pretrained = pretrained
        self.input_scaling = input_scaling
        self.ae_layerwise_epochs = ae_layerwise_epochs
        self.ae_finetune_epochs = ae_finetune_epochs
        self.ae_lr = ae_lr
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        if self.autoencoder_kind_ == "conv":
            channels = [self.image_shape_[0], *(int(c) for c in self.conv_channels)]
            self.autoencoder_ = ConvAutoencoder(self.image_shape_, channels, self.conv_kernels)
        else:
            self.autoencoder_ = MLPAutoencoder(self.dims_, self.output_)
        self.autoencoder_.to(self.device_)
        self.self_expression_ = SelfExpression(self.n_samples_).to(self.device_)

    def _resolve_autoencoder(self, n_features: int) -> None:
        """``autoencoder_kind_`` and ``image_shape_`` (``(C, H, W)``) from the options."""
        shape = None if self.image_shape is None else tuple(int(s) for s in self.image_shape)
        if shape is not None and len(shape) == 2:
            shape = (1, *shape)
        if shape is not None and (len(shape) != 3 or int(np.prod(shape)) != n_features):
            raise DataError(
                f"image_shape={self.image_shape} does not match {n_features} features per "
                "sample; expected (C, H, W) or (H, W) holding exactly that many values"
            )
        kind = self.autoencoder
        if kind == "auto":
            # a given pretrained (MLP) autoencoder is used as given, images or not
            kind = "conv" if shape is not None and self.pretrained is None else "mlp"
        if kind == "conv" and shape is None:
            raise DataError("autoencoder='conv' needs images: pass image_shape=(C, H, W)")
        self.autoencoder_kind_, self.image_shape_ = kind, shape

    def _resolve_schedule(self) -> None:
        """``epochs_``, ``alpha_``, ``rho_``: the given values, or those published with
        the network (``"auto"``; see the class docstring)."""
        conv = self.autoencoder_kind_ == "conv"
        self.epochs_ = (40 if conv else 200) if self.epochs == "auto" else int(self.epochs)
        self.alpha_ = (8.0 if conv else 4.0) if self.alpha == "auto" else float(self.alpha)
        self.rho_ = (0.04 if conv else 1.0) if self.rho == "auto" else float(self.rho)

    def _fit(self, X: np.ndarray) -> None:
        if len(X) > self.max_samples:
            raise DataError(
                f"DSC-Net keeps an n x n coefficient matrix: {len(X)} samples exceed "
                f"max_samples={self.max_samples}; subsample, or use a linear-cost method"
            )
        self._resolve_autoencoder(X.shape[1])
        self._resolve_schedule()
        self.n_samples_ = len(X)
        data = self._as_tensor(X)
        if self.autoencoder_kind_ == "conv":
            self._build_modules()
            self._pretrain_conv(data)
        else:
            ae = self._pretrained_autoencoder(X)
            self.dims_, self.output_ = ae.network_.dims, ae.output_
            self._build_modules()
            self.autoencoder_.load_state_dict(ae.network_.state_dict())
        self._train(data)
        self._finish(data)

    def _pretrain_conv(self, data: torch.Tensor) -> None:
        """The convolutional autoencoder on the summed squared reconstruction error."""
        n_epochs = self.conv_pretrain_epochs
        if n_epochs == "auto":
            n_epochs = auto_epochs(len(data), CONV_BATCH, 2000, 20, 500)
        train_reconstruction(
            self, self.autoencoder_, data, "conv_pretrain", int(n_epochs), CONV_BATCH,
            self.ae_lr, lambda x_hat, x: (x_hat - x).pow(2).sum(1).mean(),
        )  # fmt: skip

    def _train(self, data: torch.Tensor) -> None:
        ae, se = self.autoencoder_, self.self_expression_
        opt = adam([*ae.parameters(), *se.parameters()], lr=self.lr)
        loop = self._loop("dscnet", self.epochs_, {"autoencoder": ae, "se": se, "opt": opt})

        def epoch(_: int) -> dict[str, float]:
            ae.train()
            z = ae.encoder(data)
            cz = se(z)
            terms = dscnet_loss(data, ae.decoder(cz), z, cz, se.coefficients(),
                                self.lambda1, self.lambda2)  # fmt: skip
            opt.zero_grad(set_to_none=True)
            backward(terms["loss"])
            opt.step()
            return {k: float(v.detach()) for k, v in terms.items()}

        loop.run(epoch)

    @torch.no_grad()
    def _finish(self, data: torch.Tensor) -> None:
        self.autoencoder_.eval()
        self.embedding_ = self.autoencoder_.encoder(data).cpu().numpy()
        C = self.self_expression_.coefficients().cpu().numpy().astype(np.float64)
        self.coefficients_ = C
        A = subspace_affinity_from_codes(threshold_columns(C, self.rho_), self.n_clusters,
                                         int(self.subspace_dim), self.alpha_,
                                         self.embedding_.shape[1])  # fmt: skip
        self.affinity_ = A
        self.labels_ = spectral_labels(A, self.n_clusters, 10, self.random_state)[1]

    def transform(self, X: Any) -> np.ndarray:
        """The encoder's codes of new samples (``C`` exists only for the fitted ones)."""
        X = self._validate_new_input(X)
        with torch.no_grad():
            return self.autoencoder_.encoder(self._as_tensor(X)).cpu().numpy()
