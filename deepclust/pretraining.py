"""Autoencoder pretraining shared by the deep methods (DEC, IDEC, VaDE, DGG, AE+GMM, ...).

The procedure of DEC (Xie et al. 2016) and DGG §4: greedy layer-wise training of
denoising autoencoders, stacked into a deep autoencoder, then end-to-end fine-tuning.
:class:`Autoencoder` is an estimator of its own so one pretraining can be saved and
reused by several methods (``pretrained=`` parameter), which is how the MNIST
benchmarks share a pretrained network per seed.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .base import PersistenceMixin, TorchMixin
from .exceptions import ConfigError
from .nn.autoencoders import MLPAutoencoder, auto_architecture, auto_batch_size
from .nn.mlp import batched_apply, xavier_init_
from .objectives.reconstruction import reconstruction_loss
from .precision import backward
from .threads import configure_threads
from .training import adam, index_device
from .utils import derive_seed
from .validation import (
    AUTO,
    AUTOENCODER_CONSTRAINTS,
    LAYER_SIZES,
    StrOptions,
    non_negative_int,
    positive_int,
    positive_real,
    unit_interval,
    validate_params,
)


def auto_epochs(n_samples: int, batch_size: int, target_steps: int, lo: int, hi: int) -> int:
    """Epochs giving about ``target_steps`` gradient steps, clipped to ``[lo, hi]``."""
    steps_per_epoch = max(1, math.ceil(n_samples / batch_size))
    return int(min(hi, max(lo, math.ceil(target_steps / steps_per_epoch))))


#: Feature magnitudes beyond this make a linear decoder's squared error overflow float32
#: gradients within a few steps (seen with raw values around 1e6).
_LARGE_SCALE = 1e3


def train_reconstruction(
    owner: Any,
    net: torch.nn.Module,
    data: torch.Tensor,
    stage: str,
    n_epochs: int,
    batch_size: int,
    lr: float,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Train an autoencoder ``net`` (``net(x) -> (z, x_hat)``) end to end on
    ``loss_fn(x_hat, x)`` with Adam in mini-batches, through ``owner``'s training loop
    (history, checkpoints, resume, data parallelism under torchrun)."""
    opt = adam(net.parameters(), lr=lr)
    loop = owner._loop(stage, n_epochs, {"network": net, "opt": opt})

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        x = data[idx]
        return loss_fn(net(x)[1], x)

    def epoch(_: int) -> dict[str, float]:
        net.train()
        return {
            "loss": minibatch_epoch(
                loop, len(data), batch_size, opt, batch_loss, device=index_device(data)
            )
        }

    loop.run(epoch)


def minibatch_epoch(
    loop: Any, n: int, batch_size: int, opt: torch.optim.Optimizer,
    batch_loss: Callable[[torch.Tensor], torch.Tensor], device: torch.device | None = None,
) -> float | torch.Tensor:  # fmt: skip
    """One epoch of plain mini-batch steps on ``batch_loss(indices)``, the indices on
    ``device``; the sample-weighted mean loss (over ranks under torchrun)."""
    total = 0.0
    for idx in loop.batches(n, batch_size, device=device):
        loss = batch_loss(idx)
        opt.zero_grad(set_to_none=True)
        backward(loss)
        opt.step()
        total += loss.detach() * len(idx)
    return loop.mean(total)


def warn_if_badly_scaled(X: np.ndarray, who: str) -> None:
    """Warn when features are far from the unit scale the networks are initialised for."""
    scale = float(np.abs(X).max()) if X.size else 0.0
    if scale > _LARGE_SCALE:
        warnings.warn(
            f"{who}: features reach |x| = {scale:.3g}; deep models train best on "
            "standardised input (StandardScaler, or --preprocess standardize=true)",
            DataScaleWarning,
            stacklevel=3,
        )


class DataScaleWarning(UserWarning):
    """Input features are on a scale the networks are not initialised for."""


class Autoencoder(TorchMixin, PersistenceMixin, TransformerMixin, BaseEstimator):
    """Stacked denoising autoencoder, pretrained layer by layer and then fine-tuned.

    Parameters
    ----------
    hidden_dims : tuple of int or "auto"
        Encoder hidden widths (the decoder mirrors them). ``"auto"``: see
        :func:`~deepclust.nn.autoencoders.auto_architecture` (D-500-500-2000-10 for
        high-dimensional data, D-20-20-D for 2-D toy data).
    latent_dim : int or "auto"
        Size of the embedding.
    output : {"auto", "linear", "sigmoid"}
        Decoder output; ``"auto"`` picks sigmoid when the data lie in [0, 1].
    loss : {"auto", "mse", "bce"}
        Fine-tuning reconstruction loss; ``"auto"`` is BCE with a sigmoid output.
    layerwise_epochs, finetune_epochs : int or "auto"
        Epochs per greedy layer and for end-to-end fine-tuning; ``"auto"`` aims at a
        fixed number of gradient steps whatever the data size.
    batch_size : int or "auto"
        ``"auto"``: :func:`~deepclust.nn.autoencoders.auto_batch_size` (256 from 2,048
        samples, 8 steps per epoch below).
    lr : float
        Adam learning rate.
    corruption : float
        Dropout rate applied to each layer's input during layer-wise training.
    weight_init : {"torch", "xavier"}
        Initial ``Linear`` weights: PyTorch's default (uniform with bound
        ``1/sqrt(fan_in)``) or Glorot-uniform with zero biases (the Keras default that
        the DEC/IDEC/VaDE reference code trains from).
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    network_ : MLPAutoencoder
    dims_ : tuple of int
        Full layer sizes ``(D, h1, ..., latent)``.
    output_, loss_ : str
    history_ : list of dict
        Per-epoch losses of every stage.
    """

    #: per-sample reconstruction losses: each rank may take a share of a batch
    _data_parallel_batches = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_dims": LAYER_SIZES,
        "latent_dim": [AUTO, positive_int()],
        "output": [StrOptions({"auto", "linear", "sigmoid"})],
        "loss": [StrOptions({"auto", "mse", "bce"})],
        "layerwise_epochs": [AUTO, non_negative_int()],
        "finetune_epochs": [AUTO, non_negative_int()],
        "batch_size": [AUTO, positive_int()],
        "lr": [positive_real()],
        "corruption": [unit_interval(closed="left")],
        "weight_init": [StrOptions({"torch", "xavier"})],
    }

    def __init__(
        self,
        hidden_dims: Any = "auto",
        latent_dim: Any = "auto",
        output: str = "auto",
        loss: str = "auto",
        layerwise_epochs: Any = "auto",
        finetune_epochs: Any = "auto",
        batch_size: int | str = "auto",
        lr: float = 1e-3,
        corruption: float = 0.2,
        weight_init: str = "torch",
        device: str = "auto",
        precision: str = "fp32",
        compile_networks: bool = False,
        random_state: int | None = None,
        verbose: bool = False,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 10,
        resume: bool = False,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.output = output
        self.loss = loss
        self.layerwise_epochs = layerwise_epochs
        self.finetune_epochs = finetune_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.corruption = corruption
        self.weight_init = weight_init
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    # ------------------------------------------------------------------ setup
    def _resolve(self, X: np.ndarray) -> None:
        hidden, latent = auto_architecture(X.shape[1], X.shape[0])
        if self.hidden_dims != "auto":
            hidden = tuple(int(h) for h in self.hidden_dims)
        if self.latent_dim != "auto":
            latent = int(self.latent_dim)
        if latent < 1 or any(h < 1 for h in hidden):
            raise ConfigError(f"layer sizes must be positive, got hidden={hidden}, latent={latent}")
        self.dims_ = (X.shape[1], *hidden, latent)
        bs = self.batch_size
        self.batch_size_ = auto_batch_size(X.shape[0]) if bs == "auto" else int(bs)
        warn_if_badly_scaled(X, type(self).__name__)
        in_unit_range = bool(X.min() >= 0.0 and X.max() <= 1.0)
        output = self.output
        if output == "auto":
            output = "sigmoid" if in_unit_range else "linear"
        if output not in ("linear", "sigmoid"):
            raise ConfigError(f"output must be 'auto', 'linear' or 'sigmoid', got {output!r}")
        loss = self.loss
        if loss == "auto":
            loss = "bce" if output == "sigmoid" else "mse"
        if loss not in ("mse", "bce"):
            raise ConfigError(f"loss must be 'auto', 'mse' or 'bce', got {loss!r}")
        if loss == "bce" and not (output == "sigmoid" and in_unit_range):
            raise ConfigError("loss='bce' needs data in [0, 1] and output='sigmoid'")
        self.output_, self.loss_ = output, loss

    def _build_modules(self) -> None:
        self.network_ = MLPAutoencoder(self.dims_, self.output_)
        if self.weight_init == "xavier":
            xavier_init_(self.network_)
        self.network_.to(self.device_)

    def _epochs(self, value: Any, n: int, target_steps: int, hi: int) -> int:
        if value == "auto":
            return auto_epochs(n, self.batch_size_, target_steps, lo=5, hi=hi)
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(f"epochs must be a non-negative integer or 'auto', got {value!r}")
        return int(value)

    # -------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None) -> Autoencoder:
        """Pretrain layer by layer, then fine-tune end to end."""
        validate_params(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        configure_threads(limit=1 if X.shape[1] <= 10 else None)  # D-20-20-D: one thread
        self._begin_fit(X)
        self._resolve(X)
        self._build_modules()
        data = self._as_tensor(X)
        n = len(data)
        layer_epochs = self._epochs(self.layerwise_epochs, n, 1000, hi=50)
        tune_epochs = self._epochs(self.finetune_epochs, n, 4000, hi=200)
        pairs = self.network_.layer_pairs()
        for depth, (enc, dec) in enumerate(pairs):
            self._fit_layer(data, depth, enc, dec, layer_epochs, last=depth == len(pairs) - 1)
        self._finetune(data, tune_epochs)
        self.network_.eval()
        return self

    def _encode_to_depth(self, data: torch.Tensor, depth: int) -> torch.Tensor:
        """Inputs of layer ``depth``: the data through the first ``depth`` encoder layers."""
        if depth == 0:
            return data
        # Each encoder layer but the last is Linear + ReLU: 2 modules per layer.
        head = self.network_.encoder[: 2 * depth]
        return batched_apply(head, data)

    def _fit_layer(
        self,
        data: torch.Tensor,
        depth: int,
        enc: torch.nn.Linear,
        dec: torch.nn.Linear,
        n_epochs: int,
        *,
        last: bool,
    ) -> None:
        """Train one denoising pair: corrupt the layer input, reconstruct it clean."""
        inputs = self._encode_to_depth(data, depth)
        params = list(enc.parameters()) + list(dec.parameters())
        opt = adam(params, lr=self.lr)
        loop = self._loop(f"ae_layer{depth + 1}", n_epochs, {"enc": enc, "dec": dec, "opt": opt})

        def out_act(t: torch.Tensor) -> torch.Tensor:
            if depth > 0:
                return F.relu(t)  # inner layers reconstruct ReLU activations
            return torch.sigmoid(t.float()) if self.output_ == "sigmoid" else t

        def keep_mask(m: int) -> torch.Tensor:
            # F.dropout's own draw (bit for bit on CPU), made for the global batch so
            # that ranks under torchrun corrupt their shards as one process would
            keep = 1.0 - self.corruption
            mask = torch.empty((m, inputs.shape[1]), dtype=inputs.dtype, device=inputs.device)
            return mask.bernoulli_(keep).div_(keep)

        def batch_loss(idx: torch.Tensor) -> torch.Tensor:
            h = inputs[idx]
            # F.dropout draws nothing at p = 0, nor do we
            noisy = h * loop.draw_for_batch(keep_mask, len(h)) if self.corruption > 0 else h
            hidden = enc(noisy)
            if not last:
                hidden = F.relu(hidden)
            return F.mse_loss(out_act(dec(hidden)), h)

        def epoch(_: int) -> dict[str, float]:
            loss = minibatch_epoch(
                loop, len(inputs), self.batch_size_, opt, batch_loss, device=inputs.device
            )
            return {"loss": loss}

        loop.run(epoch)

    def _finetune(self, data: torch.Tensor, n_epochs: int) -> None:
        train_reconstruction(
            self, self.network_, data, "ae_finetune", n_epochs, self.batch_size_, self.lr,
            lambda x_hat, x: reconstruction_loss(x_hat, x, self.loss_),
        )  # fmt: skip

    # -------------------------------------------------------------- inference
    def transform(self, X: Any) -> np.ndarray:
        """Embed ``X`` with the encoder."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        self.network_.eval()
        z = batched_apply(self.network_.encoder, self._as_tensor(X))
        return z.cpu().numpy()

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode embeddings back to the input space."""
        check_is_fitted(self)
        Z = np.asarray(Z, dtype=np.float32)
        self.network_.eval()
        return batched_apply(self.network_.decoder, self._as_tensor(Z)).cpu().numpy()


def resolve_pretrained(
    pretrained: Autoencoder | str | os.PathLike | None, n_features: int
) -> Autoencoder | None:
    """Accept a fitted :class:`Autoencoder` or the path of a saved one."""
    if pretrained is None:
        return None
    ae = pretrained
    if isinstance(pretrained, (str, os.PathLike)):
        ae = Autoencoder.load(pretrained)
    if not isinstance(ae, Autoencoder):
        raise ConfigError(
            f"pretrained must be a fitted Autoencoder or the path of a saved one, got {ae!r}"
        )
    check_is_fitted(ae)
    if ae.n_features_in_ != n_features:
        raise ConfigError(
            f"the pretrained autoencoder expects {ae.n_features_in_} features but X has "
            f"{n_features}; expected the same data layout"
        )
    return ae


class UsesAutoencoder:
    """Mixin for methods that start from a pretrained :class:`Autoencoder`.

    The estimator has the parameters ``pretrained``, ``hidden_dims``, ``latent_dim``,
    ``ae_layerwise_epochs``, ``ae_finetune_epochs``, ``ae_lr`` plus the
    :class:`~deepclust.base.TorchMixin` ones.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = AUTOENCODER_CONSTRAINTS

    pretrained: Any
    hidden_dims: Any
    latent_dim: Any
    ae_layerwise_epochs: Any
    ae_finetune_epochs: Any
    ae_lr: float

    def _latent_dim_for(self, X: np.ndarray) -> Any:
        """``latent_dim="auto"``: the architecture's, but at least one dimension per cluster
        for high-dimensional data (40 people in a 10-D code crowd each other: IDEC on ORL
        0.555 -> 0.645 with 40 dimensions, seed 0, development suite)."""
        if self.latent_dim != "auto":
            return self.latent_dim
        _, latent = auto_architecture(X.shape[1], X.shape[0])
        k = int(getattr(self, "n_clusters", 0) or 0)
        return max(latent, k) if X.shape[1] > 10 else latent

    def _pretrained_autoencoder(self, X: np.ndarray, output: str = "auto") -> Autoencoder:
        """The given ``pretrained`` network, or one pretrained here on ``X``."""
        given = resolve_pretrained(self.pretrained, X.shape[1])
        if given is not None:
            if output != "auto" and given.output_ != output:
                raise ConfigError(
                    f"the pretrained autoencoder has a {given.output_} output but this "
                    f"model needs {output}"
                )
            return given
        # each n_init restart pretrains its own network, so it gets its own folder
        root = getattr(self, "_run_dir", None) or self.checkpoint_dir
        sub = os.path.join(root, "autoencoder") if root else None
        ae = Autoencoder(
            hidden_dims=self.hidden_dims,
            latent_dim=self._latent_dim_for(X),
            output=output,
            layerwise_epochs=self.ae_layerwise_epochs,
            finetune_epochs=self.ae_finetune_epochs,
            lr=self.ae_lr,
            device=str(self.device_),
            precision=self.precision,
            compile_networks=self.compile_networks,
            random_state=derive_seed(self.random_state, 1),
            verbose=self.verbose,
            checkpoint_dir=sub,
            checkpoint_every=self.checkpoint_every,
            resume=self.resume,
        )
        ae.fit(X)
        self.history_.extend(ae.history_)
        return ae


class ClustersTheEmbedding:
    """Inference for methods that put a soft-assignment head on the encoder's embedding
    (DEC/IDEC: Student-t centres; EDESC: subspace affinities).

    The method sets ``autoencoder_`` and defines :meth:`_soft_assign`.
    """

    autoencoder_: MLPAutoencoder

    def _soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """The method's soft assignment of embeddings ``z`` (each method defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define _soft_assign")

    def _embed(self, data: torch.Tensor, batch: int = 4096) -> torch.Tensor:
        return batched_apply(self.autoencoder_.encoder, data, batch)

    @torch.no_grad()
    def _finish(self, data: torch.Tensor) -> None:
        """``embedding_`` and ``labels_`` (argmax of the head) of the training data."""
        z = self._embed(data)
        self.embedding_ = z.cpu().numpy()
        self.labels_ = self._soft_assign(z).argmax(1).cpu().numpy().astype(np.int64)
        self.autoencoder_.eval()

    def transform(self, X: Any) -> np.ndarray:
        """The encoder's embedding."""
        X = self._validate_new_input(X)  # type: ignore[attr-defined]
        return self._embed(self._as_tensor(X)).cpu().numpy()  # type: ignore[attr-defined]

    @torch.no_grad()
    def predict_proba(self, X: Any) -> np.ndarray:
        """The head's soft assignments of new samples (rows sum to one)."""
        X = self._validate_new_input(X)  # type: ignore[attr-defined]
        z = self._embed(self._as_tensor(X))  # type: ignore[attr-defined]
        return self._soft_assign(z).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)
