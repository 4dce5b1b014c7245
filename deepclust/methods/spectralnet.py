"""SpectralNet: spectral clustering using deep neural networks (Shaham et al., ICLR 2018).

A baseline of SCDSC (and a general vector clusterer):

* Affinity (§4): a Siamese network trained contrastively on (sample, nearest
  neighbour) and (sample, random sample) pairs (:func:`~deepclust.nn.siamese.fit_siamese`);
  within every mini-batch, each point's ``n_neighbors`` nearest points in the Siamese
  embedding get Gaussian weights with the scale set by the median distance to them,
  symmetrised: ``W``. ``affinity="raw"`` skips the Siamese stage.
* Spectral map (§3): an MLP ``F`` whose last layer is the orthonormalisation of §3.1:
  on a batch ``Y~ = F~(X)``, ``L L^T = Y~^T Y~`` (Cholesky) and ``Y = sqrt(m) Y~ L^{-T}``,
  so ``Y^T Y / m = I``.
* Training: the loss ``(1 / m^2) sum_ij W_ij ||y_i - y_j||^2`` (eq. 4) on mini-batches.
  ``orthonorm="batch"`` (default) orthonormalises every training batch by its own
  Cholesky factor with the gradient flowing through it, as the authors' Keras layer does
  in its training phase; the loss is then a Rayleigh quotient that cannot be lowered by
  shrinking the outputs. ``orthonorm="alternate"`` is Algorithm 1 as printed: an
  orthogonalisation step on one batch (no gradient), then a gradient step on another with
  that factor fixed; between the two the network can lower eq. (4) by shrinking ``Y~``,
  and the next factor blows the remaining noise up (on scikit-learn's digits it ended at
  ACC 0.27-0.39, where the exact eigenvectors of the same affinity give 0.81).
* ``laplacian="normalized"`` (default) divides ``y_i`` by ``sqrt(d_i)`` in eq. (4)
  (``d`` the batch degree): the minimiser is then spanned by the eigenvectors of the
  symmetric normalised Laplacian instead of the unnormalised one of eq. (4) as printed
  (``laplacian="unnormalized"``); unnormalised eigenvectors localise on weakly
  connected points. Both defaults were chosen on the development suite (RESULTS.md).
* Labels: k-means on ``Y`` of all samples (§3), with the orthonormalisation fixed from
  a large sample (``orth``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans
from torch import nn

from ..base import DeepClusterer
from ..nn.mlp import batched_apply, mlp
from ..nn.siamese import fit_siamese
from ..precision import backward, in_float32
from ..training import adam
from ..utils import derive_seed
from ..validation import (
    N_CLUSTERS,
    StrOptions,
    non_negative_int,
    positive_int,
    positive_real,
)


def batch_affinity(codes: torch.Tensor, n_neighbors: int) -> torch.Tensor:
    """SpectralNet's ``W`` on a batch: Gaussian weights on each point's nearest neighbours.

    The scale of row ``i`` is the median distance to its ``n_neighbors`` neighbours; the
    matrix is symmetrised (``(W + W^T) / 2``) and its diagonal is zero.
    """
    d = torch.cdist(codes, codes)
    k = int(min(n_neighbors, len(codes) - 1))
    nd, ni = torch.topk(d, k + 1, largest=False)  # the first is the point itself
    nd, ni = nd[:, 1:], ni[:, 1:]
    scale = nd.median(dim=1, keepdim=True).values.clamp_min(1e-12)
    w = torch.zeros_like(d).scatter_(1, ni, torch.exp(-nd.pow(2) / (2 * scale.pow(2))))
    return 0.5 * (w + w.T)


@in_float32
def spectral_loss(y: torch.Tensor, w: torch.Tensor, normalized: bool = False) -> torch.Tensor:
    """Eq. (4): ``(1 / m^2) sum_ij W_ij ||y_i - y_j||^2``.

    With ``normalized=True`` every ``y_i`` is first divided by ``sqrt(d_i)``,
    ``d_i = sum_j W_ij`` (the symmetric normalised Laplacian ``I - D^-1/2 W D^-1/2``).
    """
    if normalized:
        y = y / w.sum(1).clamp_min(1e-12).sqrt()[:, None]
    sq = y.pow(2).sum(1)
    dist = sq[:, None] + sq[None, :] - 2 * y @ y.T
    return (w * dist).sum() / len(y) ** 2


@in_float32
def inverse_cholesky_factor(y: torch.Tensor) -> torch.Tensor:
    """``L^{-1}`` for ``Y^T Y = L L^T`` (in float64), robust to a rank-deficient batch.

    When outputs are (nearly) collinear, e.g. a unit that a batch never activates, the
    Gram matrix is singular; a jitter relative to its mean diagonal is added, growing
    until the factorisation succeeds, so the layer stays finite instead of failing.
    """
    chol = _jittered_cholesky((y.T @ y).double())
    eye = torch.eye(chol.shape[0], dtype=chol.dtype, device=chol.device)
    return torch.linalg.solve_triangular(chol, eye, upper=False).to(y.dtype)


#: Jitters tried, relative to the Gram matrix's mean diagonal, smallest first:
#: ``logspace(-10, 0, 6)`` = 1e-10, 1e-8, ..., 1 (made on the device, not copied there).
_JITTER_LOGSPACE = (-10, 0, 6)


def _jittered_cholesky(gram: torch.Tensor) -> torch.Tensor:
    """Cholesky factor of ``gram + eps I``, ``eps`` the smallest relative jitter of
    :data:`_JITTER_LOGSPACE` that factorises (the largest if none does).

    Every jitter is tried in one batched call without gradients and the first success is
    picked on the device, so a training step never waits for the host (the matrices are
    ``k x k``); the chosen one is then factorised again with gradients, so that no failed
    factor takes part in the backward pass.
    """
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    scale = torch.diagonal(gram).detach().mean().clamp_min(1e-12)
    rel = torch.logspace(*_JITTER_LOGSPACE, dtype=gram.dtype, device=gram.device)
    jitters = rel * scale
    with torch.no_grad():
        _, info = torch.linalg.cholesky_ex(gram.detach() + jitters[:, None, None] * eye)
        ok = info == 0
        pick = torch.where(ok.any(), torch.argmax(ok.to(torch.int8)), len(rel) - 1)
    # gather, not jitters[pick]: indexing by a 0-d tensor reads it on the host
    chol, _ = torch.linalg.cholesky_ex(gram + jitters.gather(0, pick.view(1)) * eye)
    return chol


@in_float32
def orthonormalise_batch(y: torch.Tensor) -> torch.Tensor:
    """``sqrt(m) Y~ L^{-T}`` with ``L L^T = Y~^T Y~`` of this batch, differentiable.

    The gradient flows through the factor (float64), so eq. (4) on the result is a
    Rayleigh quotient: scale-free in ``Y~``.
    """
    chol = _jittered_cholesky((y.T @ y).double())
    z = torch.linalg.solve_triangular(chol, y.double().T, upper=False).T
    return (np.sqrt(len(y)) * z).to(y.dtype)


class SpectralMap(nn.Module):
    """The MLP ``F~`` and its orthonormalisation layer (a fixed matrix between updates)."""

    def __init__(self, dims: list[int], *, batch_orthonorm: bool = False) -> None:
        super().__init__()
        self.net = mlp(dims)
        self.batch_orthonorm = batch_orthonorm
        self.register_buffer("orth", torch.eye(dims[-1]))

    @torch.no_grad()
    def orthonormalise(self, x: torch.Tensor) -> None:
        """§3.1: ``orth = sqrt(m) L^{-T}`` from the Cholesky factor of ``Y~^T Y~``."""
        self.orth.copy_(np.sqrt(len(x)) * inverse_cholesky_factor(self.net(x)).T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.batch_orthonorm:
            return orthonormalise_batch(self.net(x))
        return self.net(x) @ self.orth


class SpectralNet(DeepClusterer):
    """SpectralNet: a network that outputs a spectral embedding; k-means on it.

    Parameters
    ----------
    n_clusters : int
    hidden_dims : tuple of int
        Widths of ``F`` (and of the Siamese network), the paper's 1024-1024-512.
    affinity : {"raw", "siamese"}
        Distances for ``W``: in the input (default, chosen on the development suite) or
        in a Siamese embedding (the paper's best on MNIST; ``spectralnet_paper.yaml``).
    n_neighbors : int
        Neighbours per point within a batch (default 10, chosen on the suite; the
        paper's MNIST setting: 3).
    orthonorm : {"batch", "alternate"}
        ``"batch"``: every training batch orthonormalised by its own factor, with the
        gradient through it (the authors' code); ``"alternate"``: Algorithm 1 as printed.
    laplacian : {"normalized", "unnormalized"}
        Eq. (4) on ``y_i / sqrt(d_i)`` or on ``y_i`` as printed.
    siamese_dim, siamese_epochs, siamese_positives, siamese_margin
        The Siamese network's output size, epochs, positives per sample and margin.
    epochs, batch_size, lr, lr_decay
        Spectral stage: epochs of alternating steps, batch ``m`` and Adam rate (decayed by
        ``lr_decay`` every 10 epochs).
    input_scaling : {"auto", "max", "standardize", "none"}
    n_init : int
        k-means restarts on the embedding.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume

    Attributes
    ----------
    labels_, embedding_ (``Y``), siamese_embedding_ (None with ``affinity="raw"``),
    history_
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        "hidden_dims": [tuple, list],
        "affinity": [StrOptions({"siamese", "raw"})],
        "n_neighbors": [positive_int()],
        "orthonorm": [StrOptions({"batch", "alternate"})],
        "laplacian": [StrOptions({"normalized", "unnormalized"})],
        "siamese_dim": [positive_int()],
        "siamese_epochs": [non_negative_int()],
        "siamese_positives": [positive_int()],
        "siamese_margin": [positive_real()],
        "epochs": [positive_int()],
        "batch_size": [positive_int()],
        "lr": [positive_real()],
        "lr_decay": [positive_real()],
        "input_scaling": [StrOptions({"auto", "max", "standardize", "none"})],
        "n_init": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        hidden_dims: tuple[int, ...] = (1024, 1024, 512),
        affinity: str = "raw",
        n_neighbors: int = 10,
        orthonorm: str = "batch",
        laplacian: str = "normalized",
        siamese_dim: int = 10,
        siamese_epochs: int = 20,
        siamese_positives: int = 2,
        siamese_margin: float = 1.0,
        epochs: int = 50,
        batch_size: int = 1024,
        lr: float = 1e-3,
        lr_decay: float = 0.9,
        input_scaling: str = "auto",
        n_init: int = 10,
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
        self.hidden_dims = hidden_dims
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.orthonorm = orthonorm
        self.laplacian = laplacian
        self.siamese_dim = siamese_dim
        self.siamese_epochs = siamese_epochs
        self.siamese_positives = siamese_positives
        self.siamese_margin = siamese_margin
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.input_scaling = input_scaling
        self.n_init = n_init
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _build_modules(self) -> None:
        hidden = [int(h) for h in self.hidden_dims]
        self.spectral_ = SpectralMap([self.n_features_, *hidden, self.n_clusters],
                                     batch_orthonorm=self.orthonorm == "batch")  # fmt: skip
        self.spectral_.to(self.device_)
        if self.affinity == "siamese":
            self.siamese_ = mlp([self.n_features_, *hidden, int(self.siamese_dim)])
            self.siamese_.to(self.device_)

    def _fit(self, X: np.ndarray) -> None:
        self.n_features_ = int(X.shape[1])
        self._build_modules()
        data = self._as_tensor(X)
        self.siamese_embedding_ = None
        codes = data
        if self.affinity == "siamese":
            self.siamese_embedding_ = fit_siamese(
                self, self.siamese_, X, data, n_positives=self.siamese_positives,
                margin=float(self.siamese_margin), n_epochs=int(self.siamese_epochs),
                batch_size=int(min(self.batch_size, 256)),
            )  # fmt: skip
            codes = torch.as_tensor(self.siamese_embedding_, device=self.device_)
        self._train(data, codes)
        self._finish(data)

    def _train(self, data: torch.Tensor, codes: torch.Tensor) -> None:
        """Gradient steps on eq. (4); with ``"alternate"`` each after an orthogonalisation step."""
        net = self.spectral_
        alternate, normalized = self.orthonorm == "alternate", self.laplacian == "normalized"
        opt = adam(net.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, 10, self.lr_decay)
        loop = self._loop("spectralnet", int(self.epochs),
                          {"spectral": net, "opt": opt, "sched": sched})  # fmt: skip
        m = int(min(self.batch_size, len(data)))

        def epoch(_: int) -> dict[str, float]:
            total, steps = 0.0, 0
            drop = len(data) >= 2 * m
            for idx in loop.batches(len(data), m, drop_last=drop, device=data.device):
                if alternate:
                    net.orthonormalise(data[loop.randint(len(data), m)])
                w = batch_affinity(codes[idx], self.n_neighbors)
                loss = spectral_loss(net(data[idx]), w, normalized=normalized)
                opt.zero_grad(set_to_none=True)
                backward(loss)
                opt.step()
                total, steps = total + loss.detach().float(), steps + 1  # read once per epoch
            sched.step()
            return {"loss": total / max(1, steps)}

        loop.run(epoch)

    @torch.no_grad()
    def _finish(self, data: torch.Tensor) -> None:
        net = self.spectral_
        net.orthonormalise(data[: min(len(data), 10 * int(self.batch_size))])
        net.eval()
        self.embedding_ = batched_apply(net, data).cpu().numpy()
        seed = derive_seed(self.random_state, 3)
        km = _SkKMeans(self.n_clusters, n_init=self.n_init, random_state=seed).fit(self.embedding_)
        self.cluster_centers_ = km.cluster_centers_
        self.labels_ = km.labels_.astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """The spectral embedding ``Y`` of new samples."""
        X = self._validate_new_input(X)
        self.spectral_.eval()  # the fixed factor ``orth``, never a per-batch one
        with torch.no_grad():
            return batched_apply(self.spectral_, self._as_tensor(X)).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The nearest k-means centre in the spectral embedding."""
        Y = self.transform(X)
        d = ((Y[:, None, :] - self.cluster_centers_[None]) ** 2).sum(-1)
        return d.argmin(1).astype(np.int64)


__all__ = ["SpectralNet", "batch_affinity", "spectral_loss"]
