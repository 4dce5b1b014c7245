"""MLC: manifold linearizing and clustering (Ding, Tong, Wang, Chen, You, Ma; ICCV 2023).

Algorithm 1, top-down:

* line 1: self-supervised initialisation of the backbone and feature head ``Z`` by the
  TCR objective (eq. 5) on two augmented views (LARS, as the paper);
* line 2: the cluster head ``C`` starts as a copy of the feature head, so the first
  membership is ``Pi = P_{Omega,eta}(Z^T Z)`` (§2.3);
* lines 3-9: mini-batches; ``A`` augmentations; per view ``Z^(a)``, ``C^(a)`` and
  ``Pi^(a) = Sinkhorn(C^(a)^T C^(a))``; ``Z`` = the sphere projection of their mean and
  ``Pi`` their mean (eq. 6); one SGD step for each head on the negative of objective (4)
  ``-R(Z) + R_c(Z, Pi) + gamma/2 ||Pi||_F^2``, the backbone frozen (App. D.2);
* line 10: spectral clustering on the membership.

``Pi`` is ``n_b x n_b`` inside a batch only. For the final labels the whole training
set's membership is formed when it has at most ``full_membership_max`` samples (the
paper's line 10 as written); above, a sparse graph of each sample's
``n_neighbors`` nearest cluster-head features, weighted by the same kernel
``exp(c_i^T c_j / eta)`` and symmetrised, replaces it (memory O(n k)). Input: images
(``image_shape`` or a 4-D array) with a CNN/ResNet-18 backbone, or feature vectors
(frozen-feature mode: an MLP, or no backbone at all with ``backbone_hidden=()``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..distributed import gather_rows
from ..exceptions import ConfigError
from ..graphs.knn import knn
from ..metrics import numerical_rank
from ..nn.augment import augmentation_for, views
from ..nn.backbones import SphereHead, backbone_for
from ..objectives.coding_rate import mlc_loss
from ..objectives.sinkhorn import membership
from ..precision import backward
from ..training import GlobalRNGState, add_terms, index_device
from ..utils import derive_seed
from ..validation import N_CLUSTERS, non_negative_real, positive_int, positive_real
from ._rate_reduction import RATE_REDUCTION_CONSTRAINTS, RateReductionClusterer
from .classic import spectral_labels


class MLCNetwork(nn.Module):
    """Backbone, feature head ``Z`` and cluster head ``C`` (MLC Fig. 2)."""

    def __init__(self, backbone: nn.Module, dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_head = SphereHead(backbone.out_dim, dim, hidden)
        self.cluster_head = SphereHead(backbone.out_dim, dim, hidden)

    def copy_feature_head(self) -> None:
        """Algorithm 1 line 2: ``C`` := ``Z``, so the first ``Pi`` is ``Sinkhorn(Z^T Z)``."""
        self.cluster_head.load_state_dict(self.feature_head.state_dict())


class MLC(RateReductionClusterer):
    """Manifold linearizing and clustering.

    Parameters
    ----------
    n_clusters : int
    image_shape : tuple or None
        ``(channels, height, width)`` of images given as flat rows; None: rows are
        feature vectors (unless ``X`` is a 4-D array).
    backbone : {"auto", "mlp", "cnn", "resnet18"}
        ``"auto"``: MLP for vectors, the small CNN for grey images up to 32 x 32,
        ResNet-18 (CIFAR variant, the paper's) otherwise.
    backbone_hidden : tuple of int
        MLP backbone widths (vectors); ``()`` feeds the features straight to the heads.
    dim, head_hidden
        Feature dimension ``d`` (128) and the heads' hidden widths.
    eps2_init, eps2, gamma, eta, sinkhorn_iterations
        ``eps^2`` of eq. (5) (0.2) and eq. (4) (0.1), ``gamma`` of eq. (4) (0.05), the
        Sinkhorn entropy ``eta`` (0.175) and its iterations (5).
    invariance : float
        ``lambda`` of eq. (5), weight of the mean ``|z_i^T z'_i|`` (NMCE's 30).
    n_views : int
        ``A`` of eq. (6) (2).
    absolute_kernel : bool
        ``|C^T C|`` (the group's CPP code) instead of the paper's ``C^T C``.
    init_from : MLC, NMCE, path or None
        Reuse the backbone and feature head of a fitted (or saved) model instead of
        training line 1 again; the shapes and architecture must match.
    init_epochs, epochs : int or "auto"
        TCR initialisation and MLC epochs; ``"auto"``: about 3,000 and 1,000 steps.
    batch_size : int or "auto"
        1024 (the paper), or the whole set when smaller.
    init_lr, lr, momentum, weight_decay
        LARS learning rate of line 1 (0.3) and SGD of lines 3-9 (1e-2, 0.9, 5e-4).
    freeze_backbone : bool
        Keep the backbone fixed during lines 3-9 (the paper).
    full_membership_max, n_neighbors
        Line 10 on the full ``n x n`` membership up to this many samples; above, a
        sparse graph of ``n_neighbors`` neighbours.
    amp : bool
        bfloat16 mixed precision for the networks on CUDA (ignored on the CPU); the
        coding rates and the Sinkhorn projection stay in float32.
    device, random_state, verbose, checkpoint_dir, checkpoint_every, resume
        See :class:`~deepclust.base.TorchMixin`.

    Attributes
    ----------
    labels_, embedding_ (``Z``, n x d), cluster_features_ (``C``), affinity_ (the
    membership used by line 10: dense or sparse), cluster_ranks_ (numerical rank of
    each found cluster's ``Z``), subspaces_ (per cluster, an orthonormal basis of its
    ``Z``, used by ``predict``), network_, history_
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": N_CLUSTERS,
        **RATE_REDUCTION_CONSTRAINTS,
        "gamma": [non_negative_real()],
        "eta": [positive_real()],
        "sinkhorn_iterations": [positive_int()],
        "n_views": [positive_int()],
        "absolute_kernel": ["boolean"],
        "freeze_backbone": ["boolean"],
        "full_membership_max": [positive_int()],
        "n_neighbors": [positive_int()],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        image_shape: tuple[int, ...] | None = None,
        backbone: str = "auto",
        backbone_hidden: tuple[int, ...] = (512, 512),
        dim: int = 128,
        head_hidden: tuple[int, ...] = (512,),
        eps2_init: float = 0.2,
        eps2: float = 0.1,
        gamma: float = 0.05,
        eta: float = 0.175,
        sinkhorn_iterations: int = 5,
        invariance: float = 30.0,
        n_views: int = 2,
        absolute_kernel: bool = False,
        init_from: Any = None,
        init_epochs: Any = "auto",
        epochs: Any = "auto",
        batch_size: Any = "auto",
        init_lr: float = 0.3,
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        freeze_backbone: bool = True,
        full_membership_max: int = 5000,
        n_neighbors: int = 30,
        amp: bool = True,
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
        self.image_shape = image_shape
        self.backbone = backbone
        self.backbone_hidden = backbone_hidden
        self.dim = dim
        self.head_hidden = head_hidden
        self.eps2_init = eps2_init
        self.eps2 = eps2
        self.gamma = gamma
        self.eta = eta
        self.sinkhorn_iterations = sinkhorn_iterations
        self.invariance = invariance
        self.n_views = n_views
        self.absolute_kernel = absolute_kernel
        self.init_from = init_from
        self.init_epochs = init_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.init_lr = init_lr
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.freeze_backbone = freeze_backbone
        self.full_membership_max = full_membership_max
        self.n_neighbors = n_neighbors
        self.amp = amp
        self.device = device
        self.precision = precision
        self.compile_networks = compile_networks
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume

    def _fit(self, X: np.ndarray) -> None:
        self._fit_scaling(X)
        data = self._as_tensor(self._scaled(X))
        n = len(data)
        self.batch_size_ = min(n, 1024) if self.batch_size == "auto" else int(self.batch_size)
        self._build_modules()
        self._initialise(data)
        self.network_.copy_feature_head()
        self._train(data)
        self._finish(data)

    def _build_modules(self) -> None:
        backbone = backbone_for(self.input_shape_, self.backbone, tuple(self.backbone_hidden))
        self.network_ = MLCNetwork(backbone, int(self.dim), tuple(self.head_hidden))
        self.network_.to(self.device_)
        self.augment_ = augmentation_for(self.input_shape_).to(self.device_)

    def _views_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. (6): ``Z`` (sphere projection of the views' mean) and ``Pi`` (their mean)."""
        net = self.network_
        stacked = views(self.augment_, x, self.n_views).flatten(0, 1)
        with self._autocast():
            with torch.set_grad_enabled(not self.freeze_backbone):
                h = net.backbone(stacked)
            z, c = net.feature_head(h), net.cluster_head(h)
        z = z.float().unflatten(0, (self.n_views, len(x)))
        c = c.float().unflatten(0, (self.n_views, len(x)))
        pis = [membership(gather_rows(c[a]), self.eta, self.sinkhorn_iterations,
                          self.absolute_kernel) for a in range(self.n_views)]  # fmt: skip
        return gather_rows(F.normalize(z.mean(0), dim=1)), torch.stack(pis).mean(0)

    def _train(self, data: torch.Tensor) -> None:
        """Algorithm 1 lines 3-9: one SGD step for each head per batch on objective (4)."""
        net = self.network_
        sgd = {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}
        opt_z = torch.optim.SGD(net.feature_head.parameters(), **sgd)
        opt_c = torch.optim.SGD(net.cluster_head.parameters(), **sgd)
        others = [] if self.freeze_backbone else list(net.backbone.parameters())
        opt_b = torch.optim.SGD(others, **sgd) if others else None
        state = {"network": net, "opt_z": opt_z, "opt_c": opt_c, "rng": GlobalRNGState()}
        if opt_b is not None:
            state["opt_b"] = opt_b
        loop = self._loop("mlc", self._epochs(self.epochs, len(data), 1000, 200), state)
        where = index_device(data)

        def epoch(_: int) -> dict[str, float]:
            net.train()
            if self.freeze_backbone:
                net.backbone.eval()  # frozen: batch-norm statistics stay as initialised
            sums = dict.fromkeys(("loss", "expansion", "compression", "regulariser"), 0.0)
            drop = len(data) > self.batch_size_
            for idx in loop.batches(len(data), self.batch_size_, drop_last=drop, device=where):
                z, pi = self._views_forward(self._batch(data[self._shard(idx)]))
                terms = mlc_loss(z, pi, self.eps2, self.gamma)
                for opt in (opt_z, opt_c, opt_b):
                    if opt is not None:
                        opt.zero_grad(set_to_none=True)
                backward(terms["loss"])
                for opt in (opt_z, opt_c, opt_b):
                    if opt is not None:
                        opt.step()
                add_terms(sums, terms, len(idx))
            return {k: v / len(data) for k, v in sums.items()}

        loop.run(epoch)

    # ------------------------------------------------------------ output
    def _heads(self, data: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """``Z`` and ``C`` of un-augmented samples."""
        return self._network_outputs(data)

    def _membership_graph(self, c: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """Line 10's affinity: the full Sinkhorn membership, or its sparse kNN stand-in."""
        n = len(c)
        ct = torch.as_tensor(c, dtype=torch.float64)
        if n <= self.full_membership_max:
            pi = membership(ct, self.eta, max(self.sinkhorn_iterations, 20), self.absolute_kernel)
            pi = pi.numpy()
            return 0.5 * (pi + pi.T)
        return knn_kernel_graph(c, min(self.n_neighbors, n - 1), self.eta, self.absolute_kernel)

    def _spectral(self, affinity: Any, k: int) -> np.ndarray:
        return spectral_labels(affinity, k, 10, derive_seed(self.random_state, 7))[1]

    def _finish(self, data: torch.Tensor) -> None:
        z, c = self._heads(data)
        self.embedding_, self.cluster_features_ = z, c
        self.affinity_ = self._membership_graph(c)
        self.labels_ = self._spectral(self.affinity_, self.n_clusters).astype(np.int64)
        self.subspaces_, self.cluster_ranks_ = cluster_subspaces(z, self.labels_, self.n_clusters)

    # --------------------------------------------------------- inference
    def labels_for(self, n_clusters: int) -> np.ndarray:
        """Labels of the training set for another number of clusters, from the same
        fitted membership (the paper's remark on hierarchical clustering)."""
        check_is_fitted(self)
        if getattr(self, "affinity_", None) is None:
            raise ConfigError(
                "labels_for needs the fitted membership, which a saved model does not "
                "carry (it is n x n); refit, or call labels_for before saving"
            )
        return self._spectral(self.affinity_, int(n_clusters)).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """The linearised features ``Z`` (unit vectors, n x d)."""
        X = self._validate_new_input(X)
        return self._heads(self._as_tensor(self._scaled(X)))[0]

    def predict(self, X: Any) -> np.ndarray:
        """The cluster whose subspace holds most of each sample's ``z`` (``||U_k^T z||``)."""
        z = self.transform(X)
        energy = np.stack([np.linalg.norm(z @ u, axis=1) for u in self.subspaces_], axis=1)
        return energy.argmax(1).astype(np.int64)


def knn_kernel_graph(
    c: np.ndarray, n_neighbors: int, eta: float, absolute: bool = False
) -> sp.csr_matrix:
    """Sparse symmetric graph: each row's ``n_neighbors`` largest ``c_i^T c_j`` (or
    ``|c_i^T c_j|``) among unit rows, weighted ``exp((s - 1) / eta)``; memory O(n k)."""
    n = len(c)
    idx, dist = knn(c, n_neighbors, metric="abs_cosine" if absolute else "cosine")
    weights = np.exp(-dist.astype(np.float64).ravel() / eta)  # s - 1 = -distance
    g = sp.csr_matrix((weights, (np.repeat(np.arange(n), n_neighbors), idx.ravel())), (n, n))
    return g.maximum(g.T).tocsr()


def cluster_subspaces(
    z: np.ndarray, labels: np.ndarray, k: int, energy: float = 0.95
) -> tuple[list[np.ndarray], list[int]]:
    """Per cluster: an orthonormal basis of its features (the numerical rank at ``energy``
    leading right singular vectors) and that rank; an empty cluster gets a zero basis."""
    bases, ranks = [], []
    for j in range(k):
        members = z[labels == j]
        if len(members) == 0:
            bases.append(np.zeros((z.shape[1], 1), dtype=z.dtype))
            ranks.append(0)
            continue
        r = max(1, numerical_rank(members, energy))
        _, _, vt = np.linalg.svd(members, full_matrices=False)
        bases.append(vt[:r].T)
        ranks.append(int(r))
    return bases, ranks
