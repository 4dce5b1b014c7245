"""DSC-Net-L2: self-expressive layer, post-processing, clustering a union of subspaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.exceptions import DataError
from deepclust.methods.dscnet import (
    DSCNet,
    SelfExpression,
    dscnet_loss,
    subspace_affinity_from_codes,
    threshold_columns,
)
from deepclust.metrics import cluster_accuracy


def test_self_expression_never_codes_a_sample_by_itself():
    se = SelfExpression(5, init=1.0)
    z = torch.eye(5)
    np.testing.assert_allclose(se(z).detach().diagonal().numpy(), 0.0)
    assert float(se(z).detach().sum()) == pytest.approx(20.0)


def test_loss_terms_are_the_papers_sums():
    x, x_hat = torch.ones(3, 2), torch.zeros(3, 2)
    z, cz, C = torch.ones(3, 1), torch.zeros(3, 1), torch.full((3, 3), 2.0)
    t = dscnet_loss(x, x_hat, z, cz, C, lambda1=0.5, lambda2=4.0)
    assert float(t["recon"]) == 3.0 and float(t["reg"]) == 36.0
    assert float(t["self_expression"]) == 1.5
    assert float(t["loss"]) == pytest.approx(3.0 + 0.5 * 36 + 4.0 * 1.5)


def test_threshold_keeps_the_largest_entries_up_to_rho_of_each_column():
    C = np.array([[0.0, 1.0], [5.0, 0.0], [3.0, -2.0], [2.0, 7.0]])
    kept = threshold_columns(C, 0.7)
    # column 0: 5 (0.5 of 10), then 3 reaches 0.8 >= 0.7: keep 5 and 3
    np.testing.assert_array_equal(kept[:, 0], [0.0, 5.0, 3.0, 0.0])
    np.testing.assert_array_equal(kept[:, 1], [0.0, 0.0, 0.0, 7.0])  # 7 of 10 already
    np.testing.assert_array_equal(threshold_columns(C, 1.0), C)


def test_post_processing_of_block_diagonal_codes_separates_the_blocks():
    rng = np.random.default_rng(0)
    C = np.zeros((20, 20))
    C[:10, :10], C[10:, 10:] = rng.random((10, 10)), rng.random((10, 10))
    A = subspace_affinity_from_codes(C, k=2, d=2, alpha=4.0)
    assert np.allclose(A, A.T) and A.max() == pytest.approx(1.0)
    assert A[:10, 10:].max() < 1e-6 < A[:10, :10].min()


def test_dscnet_clusters_a_union_of_subspaces_and_refuses_large_n():
    rng = np.random.default_rng(1)
    bases = [np.linalg.qr(rng.standard_normal((30, 2)))[0] for _ in range(3)]
    X = np.vstack([rng.standard_normal((40, 2)) @ b.T for b in bases])
    y = np.repeat(np.arange(3), 40)
    # a linear autoencoder keeps the subspaces linear; a small ReLU one folds them
    # together and the codes shrink until any C codes them (the collapse MLC cites)
    est = DSCNet(3, lambda2=10.0, subspace_dim=2, epochs=300, hidden_dims=[], latent_dim=10,
                 ae_layerwise_epochs=5, ae_finetune_epochs=50, random_state=0,
                 device="cpu").fit(X)  # fmt: skip
    assert est.coefficients_.shape == (120, 120) and np.all(est.coefficients_.diagonal() == 0)
    assert cluster_accuracy(y, est.labels_) > 0.9
    assert est.transform(X[:4]).shape == (4, est.embedding_.shape[1])
    with pytest.raises(DataError, match="max_samples"):
        DSCNet(3, max_samples=50, device="cpu").fit(X)


@pytest.mark.parametrize(
    ("shape", "channels", "kernels", "code"),
    [
        ((1, 32, 32), [1, 15], [3], (15, 16, 16)),  # the paper's COIL-20 network
        ((1, 28, 28), [1, 3, 3, 5], [3, 3, 3], (5, 4, 4)),  # 28 -> 14 -> 7 -> 4
        ((3, 9, 6), [3, 4], [5], (4, 5, 3)),  # odd sizes, colour
    ],
)
def test_conv_autoencoder_restores_every_image_size(shape, channels, kernels, code):
    from deepclust.nn.conv_autoencoder import ConvAutoencoder

    ae = ConvAutoencoder(shape, channels, kernels)
    x = torch.rand(4, int(np.prod(shape)))
    z, x_hat = ae(x)
    assert ae.code_shape == code and z.shape == (4, int(np.prod(code)))
    assert x_hat.shape == x.shape


def test_conv_autoencoder_refuses_bad_layouts():
    from deepclust.nn.conv_autoencoder import ConvAutoencoder

    with pytest.raises(ValueError, match="one kernel per layer"):
        ConvAutoencoder((1, 8, 8), [1, 4, 4], [3])
    with pytest.raises(ValueError, match="odd"):
        ConvAutoencoder((1, 8, 8), [1, 4], [4])
    with pytest.raises(ValueError, match="channels"):
        ConvAutoencoder((3, 8, 8), [1, 4], [3])


def _pattern_images(n_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three classes of 12 x 12 images: a bright bar at a class-specific place, in
    random brightness, plus noise."""
    imgs, labels = [], []
    for c, (r0, c0) in enumerate([(1, 1), (6, 2), (2, 7)]):
        base = np.zeros((12, 12))
        base[r0 : r0 + 4, c0 : c0 + 3] = 1.0
        gain = rng.uniform(0.5, 1.0, size=(n_per_class, 1, 1))
        imgs.append(gain * base + 0.05 * rng.random((n_per_class, 12, 12)))
        labels.append(np.full(n_per_class, c))
    return np.concatenate(imgs).reshape(-1, 144).astype(np.float32), np.concatenate(labels)


def test_dscnet_uses_the_conv_autoencoder_for_images_and_round_trips(tmp_path):
    X, y = _pattern_images(30, np.random.default_rng(0))
    est = DSCNet(3, image_shape=(1, 12, 12), conv_channels=(4,), conv_pretrain_epochs=30,
                 epochs=40, subspace_dim=2, random_state=0, device="cpu").fit(X)  # fmt: skip
    assert est.autoencoder_kind_ == "conv" and est.embedding_.shape == (90, 4 * 6 * 6)
    assert {h["stage"] for h in est.history_} == {"conv_pretrain", "dscnet"}
    assert cluster_accuracy(y, est.labels_) > 0.9
    loaded = DSCNet.load(est.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.transform(X[:5]), est.transform(X[:5]), rtol=1e-5)
    with pytest.raises(DataError, match="image_shape"):
        DSCNet(3, image_shape=(1, 10, 10), device="cpu").fit(X)
    with pytest.raises(DataError, match="needs images"):
        DSCNet(3, autoencoder="conv", device="cpu").fit(X)


def test_post_processing_keeps_no_more_directions_than_the_codes_have():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((30, 2))  # 2-D codes: C = G (G + I)^-1 has rank 2
    G = Z @ Z.T
    C = G @ np.linalg.inv(G + np.eye(30))
    capped = subspace_affinity_from_codes(C, k=2, d=12, alpha=4.0, code_dim=2)
    # d k + 1 = 25 directions capped at p + 1 = 3, the same as asking for d = 1
    np.testing.assert_allclose(capped, subspace_affinity_from_codes(C, 2, 1, 4.0), atol=1e-8)
    wide = subspace_affinity_from_codes(C, k=2, d=12, alpha=4.0, code_dim=200)
    np.testing.assert_allclose(wide, subspace_affinity_from_codes(C, 2, 12, 4.0), atol=1e-8)


def test_a_given_pretrained_autoencoder_wins_over_the_conv_default():
    from deepclust.pretraining import Autoencoder

    X, _ = _pattern_images(10, np.random.default_rng(1))
    ae = Autoencoder(hidden_dims=(16,), latent_dim=4, layerwise_epochs=0, finetune_epochs=2,
                     random_state=0, device="cpu").fit(X)  # fmt: skip
    est = DSCNet(3, image_shape=(1, 12, 12), pretrained=ae, epochs=2, subspace_dim=1,
                 random_state=0, device="cpu").fit(X)  # fmt: skip
    assert est.autoencoder_kind_ == "mlp" and est.embedding_.shape == (30, 4)
    assert (est.epochs_, est.alpha_, est.rho_) == (2, 4.0, 1.0)  # the MLP's published settings
