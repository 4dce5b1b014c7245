"""DASC: deep adversarial subspace clustering (Zhou, Hou, Feng; CVPR 2018).

A baseline of A-DATSC: DSC-Net (:mod:`deepclust.methods.dscnet`) is the generator, and
a subspace discriminator judges whether latent points lie on the subspaces of the
current clustering.

* Generator: encoder, self-expressive layer ``C`` and decoder, trained on DSC-Net-L2's
  loss plus ``lambda_adv L_adv``, the discriminator's energy of the generated ("fake")
  points on their own cluster's subspace.
* Clustering: every ``relabel_every`` epochs, spectral clustering on DSC-Net's affinity
  of the current ``C`` gives the clusters the sampler and discriminator work with.
* Sampling: per cluster, the ``n_real`` members lying closest to its subspace are the
  "real" points; "fake" points are fixed random convex combinations of them, so a fake
  lies on the subspace exactly when the cluster is a subspace.
* Discriminator: one orthonormal basis ``U_k`` (``D x r``) per cluster, the hinge
  ``max(0, E(real) - E(fake) + margin)`` on residual energies
  ``E(z; U_k) = ||z - U_k U_k^T z||^2`` plus orthogonality and cross-subspace penalties
  (:func:`~deepclust.objectives.temporal_subspace.discriminator_loss`, shared with
  A-DATSC's discriminator, which is modelled on DASC's).
* Labels: spectral clustering on the final ``C`` (as DSC-Net).

The generator and the discriminator alternate one full-batch step each; the
adversarial term starts after ``adv_start`` epochs of plain DSC-Net, so that the first
clusters come from a trained ``C``. Images get DSC-Net's convolutional autoencoder (the
generator DASC was published with) and DSC-Net's 40 epochs in all, the second half
adversarial with a relabelling every 10 epochs (longer runs lower DSC-Net's own accuracy
with this network: digits 0.852 -> 0.793, USPS-2k 0.778 -> 0.658 at 100 epochs, seed 0;
RESULTS.md, session 8); feature vectors get the MLP autoencoder, 50 plain and 150
adversarial epochs, relabelled every 20.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..nn.temporal_subspace import SubspaceDiscriminator, SubspaceSampler
from ..objectives.temporal_subspace import adversarial_loss
from ..precision import backward
from ..training import TensorState, adam
from ..utils import derive_seed
from ..validation import AUTO, non_negative_int, non_negative_real, positive_int, positive_real
from ._subspace_critic import SubspaceCriticStep
from .classic import spectral_labels
from .dscnet import DSCNet, dscnet_loss, subspace_affinity_from_codes, threshold_columns


class DASC(SubspaceCriticStep, DSCNet):
    """Deep adversarial subspace clustering: DSC-Net with a subspace discriminator.

    Parameters
    ----------
    n_clusters, lambda1, lambda2, subspace_dim, alpha, rho, lr, max_samples
        As :class:`~deepclust.methods.dscnet.DSCNet` (the generator).
    epochs : int or "auto"
        All epochs, plain and adversarial (``"auto"``: 40 with the convolutional
        autoencoder, 200 with the MLP one).
    lambda_adv : float
        Weight of the generator's adversarial term.
    disc_rank : int or "auto"
        Rank ``r`` of every cluster's subspace (``"auto"``: ``subspace_dim``, capped by
        the latent size).
    disc_lr, disc_margin, beta_orth, beta_cross : float
        Discriminator: Adam rate, hinge margin and penalty weights.
    n_real, n_fake : int
        Real points and fakes per cluster.
    relabel_every : int or "auto"
        Epochs between spectral clusterings of the current ``C`` (``"auto"``: 10 with the
        convolutional autoencoder, 20 with the MLP one).
    adv_start : int or "auto"
        Epochs of DSC-Net before the adversarial game starts (``"auto"``: 20 with the
        convolutional autoencoder, 50 with the MLP one).
    image_shape, autoencoder, conv_channels, conv_kernels, conv_pretrain_epochs
        As :class:`~deepclust.methods.dscnet.DSCNet` (``"auto"``: the convolutional
        autoencoder for images).
    hidden_dims, latent_dim, pretrained, input_scaling, ae_layerwise_epochs,
    ae_finetune_epochs, ae_lr, device, random_state, verbose, checkpoint_dir,
    checkpoint_every, resume
        As :class:`~deepclust.methods.dscnet.DSCNet`.

    Attributes
    ----------
    labels_, coefficients_, affinity_, embedding_, history_
        As DSC-Net; ``history_`` adds ``adv`` and ``disc`` per epoch.
    discriminator_ : SubspaceDiscriminator
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **DSCNet._parameter_constraints,
        "lambda_adv": [non_negative_real()],
        "disc_rank": [AUTO, positive_int()],
        "disc_lr": [positive_real()],
        "disc_margin": [non_negative_real()],
        "beta_orth": [non_negative_real()],
        "beta_cross": [non_negative_real()],
        "n_real": [positive_int()],
        "n_fake": [positive_int()],
        "relabel_every": [AUTO, positive_int()],
        "adv_start": [AUTO, non_negative_int()],
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
        lambda_adv: float = 1.0,
        disc_rank: Any = "auto",
        disc_lr: float = 1e-3,
        disc_margin: float = 1.0,
        beta_orth: float = 1.0,
        beta_cross: float = 1.0,
        n_real: int = 16,
        n_fake: int = 16,
        relabel_every: Any = "auto",
        adv_start: Any = "auto",
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
        super().__init__(
            n_clusters, lambda1=lambda1, lambda2=lambda2, subspace_dim=subspace_dim,
            alpha=alpha, rho=rho, epochs=epochs, lr=lr, max_samples=max_samples,
            image_shape=image_shape, autoencoder=autoencoder, conv_channels=conv_channels,
            conv_kernels=conv_kernels, conv_pretrain_epochs=conv_pretrain_epochs,
            hidden_dims=hidden_dims, latent_dim=latent_dim, pretrained=pretrained,
            input_scaling=input_scaling, ae_layerwise_epochs=ae_layerwise_epochs,
            ae_finetune_epochs=ae_finetune_epochs, ae_lr=ae_lr, device=device, precision=precision,
            compile_networks=compile_networks,
            random_state=random_state, verbose=verbose, checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every, resume=resume,
        )  # fmt: skip
        self.lambda_adv = lambda_adv
        self.disc_rank = disc_rank
        self.disc_lr = disc_lr
        self.disc_margin = disc_margin
        self.beta_orth = beta_orth
        self.beta_cross = beta_cross
        self.n_real = n_real
        self.n_fake = n_fake
        self.relabel_every = relabel_every
        self.adv_start = adv_start

    def _build_modules(self) -> None:
        super()._build_modules()
        latent = int(self.autoencoder_.latent_dim)
        r = min(int(self.subspace_dim), latent) if self.disc_rank == "auto" else self.disc_rank
        self.disc_rank_ = int(min(r, latent))
        self.discriminator_ = SubspaceDiscriminator(self.n_clusters, latent, self.disc_rank_).to(
            self.device_
        )
        self.sampler_ = SubspaceSampler(
            self.n_real, self.n_fake, derive_seed(self.random_state, 5)
        ).to(self.device_)

    def _resolve_schedule(self) -> None:
        """DSC-Net's ``alpha_``/``rho_``; ``epochs_`` and ``adv_start_`` (see the class
        docstring)."""
        super()._resolve_schedule()
        conv = self.autoencoder_kind_ == "conv"
        if self.epochs == "auto":
            self.epochs_ = 40 if conv else 200
        self.adv_start_ = (20 if conv else 50) if self.adv_start == "auto" else int(self.adv_start)
        every = self.relabel_every
        self.relabel_every_ = (10 if conv else 20) if every == "auto" else int(every)

    def _current_labels(self) -> np.ndarray:
        """Spectral clustering on the affinity of the current ``C`` (DSC-Net's)."""
        C = self.self_expression_.coefficients().detach().cpu().numpy().astype(np.float64)
        A = subspace_affinity_from_codes(threshold_columns(C, self.rho_), self.n_clusters,
                                         int(self.subspace_dim), self.alpha_,
                                         int(self.autoencoder_.latent_dim))  # fmt: skip
        seed = derive_seed(self.random_state, 6)
        return spectral_labels(A, self.n_clusters, 10, seed)[1]

    def _responsibility(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Argmax = the cluster; within a cluster, the closer to its subspace, the higher."""
        closeness = torch.softmax(-self.discriminator_(z), dim=1)  # in (0, 1)
        onehot = torch.nn.functional.one_hot(labels, self.n_clusters).to(z.dtype)
        return onehot + 0.5 * closeness * onehot

    def _train(self, data: torch.Tensor) -> None:
        ae, se, disc = self.autoencoder_, self.self_expression_, self.discriminator_
        opt = adam([*ae.parameters(), *se.parameters()], lr=self.lr)
        opt_d = adam(disc.parameters(), lr=self.disc_lr)
        tables = TensorState(labels=torch.zeros(len(data), dtype=torch.long, device=self.device_))
        state = {"autoencoder": ae, "se": se, "discriminator": disc, "opt": opt,
                 "opt_d": opt_d, "tables": tables}  # fmt: skip
        loop = self._loop("dasc", self.epochs_, state)

        def epoch(e: int) -> dict[str, float]:
            ae.train()
            adversarial = e >= self.adv_start_
            if adversarial and (e - self.adv_start_) % self.relabel_every_ == 0:
                labels = torch.as_tensor(self._current_labels(), device=self.device_)
                tables["labels"].copy_(labels)
                with torch.no_grad():
                    disc.initialise(ae.encoder(data), labels)
            z = ae.encoder(data)
            cz = se(z)
            terms = dscnet_loss(data, ae.decoder(cz), z, cz, se.coefficients(),
                                self.lambda1, self.lambda2)  # fmt: skip
            adv, disc_loss = z.new_zeros(()), 0.0
            if adversarial:
                q = self._responsibility(z.detach(), tables["labels"])
                _, _, fake, fake_k = self.sampler_(z, q)
                if len(fake):
                    adv = adversarial_loss(fake, fake_k, disc.bases.detach())
            loss = terms["loss"] + self.lambda_adv * adv
            opt.zero_grad(set_to_none=True)
            backward(loss)
            opt.step()
            if adversarial:
                disc_loss = self._discriminator_step(z.detach(), q, opt_d)
            out = {k: float(v.detach()) for k, v in terms.items()}
            out.update(loss=float(loss.detach()), adv=float(adv.detach()), disc=disc_loss)
            return out

        loop.run(epoch)


__all__ = ["DASC"]
