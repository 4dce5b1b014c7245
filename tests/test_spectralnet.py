"""SpectralNet: batch affinity, orthonormalisation and eq. (4) by hand; a fit on half circles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.data.synthetic import make_half_circles
from deepclust.methods.spectralnet import (
    SpectralMap,
    SpectralNet,
    batch_affinity,
    inverse_cholesky_factor,
    orthonormalise_batch,
    spectral_loss,
)
from deepclust.metrics import cluster_accuracy


def test_batch_affinity_keeps_the_neighbours_symmetrised():
    codes = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    w = batch_affinity(codes, 1)
    assert torch.allclose(w, w.T) and torch.all(w.diagonal() == 0)
    # nearest neighbours: 0<->1, 1->0, 2->1, 3->2; one weight exp(-1/2) per row, halved
    e = float(np.exp(-0.5))
    assert w[0, 1].item() == pytest.approx(e) and w[1, 2].item() == pytest.approx(e / 2)
    assert w[0, 3].item() == 0.0


def test_orthonormalisation_makes_the_outputs_orthonormal():
    torch.manual_seed(0)
    net = SpectralMap([5, 16, 3])
    x = torch.randn(64, 5)
    net.orthonormalise(x)
    y = net(x)
    torch.testing.assert_close(y.T @ y / 64, torch.eye(3), rtol=1e-4, atol=1e-4)


def test_orthonormalisation_survives_a_rank_deficient_batch():
    # an output unit that the batch never activates (a dead ReLU, a constant column):
    # Y^T Y is singular, which made the plain Cholesky fail on image data
    g = torch.Generator().manual_seed(1)
    y = torch.randn(32, 4, generator=g)
    y[:, 2] = 0.0
    y[:, 3] = y[:, 0]
    inv = inverse_cholesky_factor(y)
    assert torch.isfinite(inv).all()
    z = y @ inv.T
    # the independent directions come out orthonormal; the dependent ones stay bounded
    gram = z.T @ z
    torch.testing.assert_close(gram[0, 0], torch.tensor(1.0), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(gram[1, 1], torch.tensor(1.0), rtol=1e-4, atol=1e-4)
    assert torch.isfinite(gram).all()
    # full-rank input: exactly the Cholesky inverse
    full = torch.randn(32, 4, generator=g)
    chol = torch.linalg.cholesky((full.T @ full).double())
    expected = torch.linalg.inv(chol).float()
    torch.testing.assert_close(inverse_cholesky_factor(full), expected, rtol=1e-4, atol=1e-5)


def test_spectral_loss_by_hand():
    y = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    w = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    # pairs: (0,1) d^2 = 1 twice, (1,2) d^2 = 2 with weight 2, twice: (2 + 8) / 9
    assert spectral_loss(y, w).item() == pytest.approx(10 / 9)


def test_spectralnet_separates_half_circles_and_round_trips(tmp_path):
    ds = make_half_circles(600, random_state=0)
    est = SpectralNet(2, hidden_dims=(64, 64), affinity="raw", epochs=60, batch_size=256,
                      n_neighbors=5, random_state=0, device="cpu").fit(ds.X)  # fmt: skip
    assert cluster_accuracy(ds.y, est.labels_) > 0.95  # k-means: 0.76
    np.testing.assert_array_equal(est.predict(ds.X), est.labels_)
    loaded = SpectralNet.load(est.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(loaded.transform(ds.X[:10]), est.transform(ds.X[:10]), rtol=1e-5)


def test_siamese_affinity_runs_the_contrastive_stage():
    ds = make_half_circles(300, random_state=0)
    est = SpectralNet(2, hidden_dims=(32,), affinity="siamese", siamese_epochs=3, epochs=3,
                      batch_size=128, random_state=0, device="cpu").fit(ds.X)  # fmt: skip
    assert {h["stage"] for h in est.history_} == {"siamese", "spectralnet"}
    assert est.siamese_embedding_.shape == (len(ds.X), 10)


def test_batch_orthonormalisation_is_orthonormal_and_scale_free():
    g = torch.Generator().manual_seed(2)
    y = torch.randn(50, 3, generator=g, requires_grad=True)
    z = orthonormalise_batch(y)
    torch.testing.assert_close(z.T @ z / 50, torch.eye(3), rtol=1e-5, atol=1e-5)
    # eq. (4) on the orthonormalised batch does not change when Y~ is scaled, so the
    # network cannot lower it by shrinking its outputs
    w = batch_affinity(torch.randn(50, 2, generator=g), 5)
    base = spectral_loss(z, w)
    torch.testing.assert_close(spectral_loss(orthonormalise_batch(3.7 * y), w), base)
    base.backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


def test_normalized_loss_divides_by_the_root_degree():
    y = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    w = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    d = w.sum(1)
    expected = spectral_loss(y / d.sqrt()[:, None], w)
    torch.testing.assert_close(spectral_loss(y, w, normalized=True), expected)


def test_batch_orthonormalisation_minimises_towards_the_exact_eigenvectors():
    # on three well separated blobs the trained embedding clusters as well as the exact
    # normalised-Laplacian eigenvectors; the printed alternation is kept as an option
    g = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    y = np.repeat(np.arange(3), 100)
    X = (centres[y] + g.normal(size=(300, 2))).astype(np.float32)
    est = SpectralNet(3, hidden_dims=(64, 64), epochs=40, batch_size=300,
                      random_state=0, device="cpu").fit(X)  # fmt: skip
    assert cluster_accuracy(y, est.labels_) > 0.98
    emb = est.embedding_
    np.testing.assert_allclose(emb.T @ emb / 300, np.eye(3), atol=0.05)


def test_jittered_cholesky_reads_nothing_back_to_the_host():
    from torch.profiler import ProfilerActivity, profile

    from deepclust.methods.spectralnet import _jittered_cholesky

    y = torch.randn(32, 4, dtype=torch.float64)
    y[:, 3] = y[:, 2]  # rank-deficient: the smallest jitters fail, a larger one is picked
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        chol = _jittered_cholesky(y.T @ y)
    reads = sum(e.count for e in prof.key_averages() if e.key == "aten::_local_scalar_dense")
    assert reads == 0  # no .item(), no 0-d tensor indexing: nothing for a GPU to wait on
    assert torch.isfinite(chol).all()
