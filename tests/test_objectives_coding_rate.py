"""MLC eqs. (1), (4), (5) and the Sinkhorn layer against explicit float64 references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepclust.objectives.coding_rate import (
    coding_rate,
    compression_rate,
    compression_rate_labels,
    logdet_identity_plus,
    mlc_loss,
    tcr_loss,
    weighted_grams,
)
from deepclust.objectives.sinkhorn import membership, sinkhorn_log


def _sphere(n: int, d: int, seed: int = 0) -> torch.Tensor:
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return z / z.norm(dim=1, keepdim=True)


def _logdet(a: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(a)
    assert sign > 0
    return float(value)


def _doubly_stochastic(n: int, seed: int = 0) -> torch.Tensor:
    c = _sphere(n, 4, seed)
    return sinkhorn_log(c @ c.T, eta=0.3, iterations=200)


@pytest.mark.parametrize("n, d", [(40, 6), (5, 12)])  # both sides of the Sylvester switch
def test_coding_rate_matches_explicit_logdet(n, d):
    z = _sphere(n, d)
    zn = z.numpy()
    want = _logdet(np.eye(d) + d / (n * 0.1) * zn.T @ zn)
    assert float(coding_rate(z, 0.1)) == pytest.approx(want, rel=1e-10)


def test_coding_rate_of_orthonormal_rows_is_hand_computed():
    # n = d orthonormal rows: Z^T Z = I, so R = d log(1 + d / (n eps^2)) = d log(1 + 1/eps^2)
    z = torch.eye(8, dtype=torch.float64)
    assert float(coding_rate(z, 0.2)) == pytest.approx(8 * math.log(1 + 1 / 0.2))


def test_rates_never_nan_on_rank_deficient_unit_features_in_float32():
    z = _sphere(3, 16).float().repeat(200, 1)  # 600 points on 3 directions
    pi = torch.full((600, 600), 1 / 600)
    for value in (coding_rate(z, 0.1), compression_rate(z, pi, 0.1)):
        assert torch.isfinite(value)
    assert float(coding_rate(z, 0.1)) == pytest.approx(
        float(coding_rate(z.double(), 0.1)), rel=1e-4
    )
    assert torch.isfinite(coding_rate(z, 0.1, float64=True))


@pytest.mark.parametrize("n, d", [(12, 5), (6, 9)])
def test_compression_rate_matches_a_loop_over_the_columns(n, d):
    z, pi = _sphere(n, d, 1), _doubly_stochastic(n, 2)
    zn, pn = z.numpy(), pi.numpy()
    want = np.mean([_logdet(np.eye(d) + d / 0.1 * zn.T @ np.diag(pn[:, j]) @ zn) for j in range(n)])
    assert float(compression_rate(z, pi, 0.1)) == pytest.approx(want, rel=1e-9)


def test_compression_rate_of_the_identity_membership_is_hand_computed():
    # Pi = I: every point is its own cluster; log det(I + c z z^T) = log(1 + c) for |z| = 1
    z = _sphere(10, 4)
    assert float(compression_rate(z, torch.eye(10, dtype=torch.float64), 0.5)) == pytest.approx(
        math.log(1 + 4 / 0.5)
    )


def test_supervised_compression_rate_matches_eq1_and_skips_empty_clusters():
    z = _sphere(30, 5, 3)
    y = np.repeat([0, 1, 3], 10)  # cluster 2 empty
    onehot = torch.as_tensor(np.eye(4)[y])
    zn = z.numpy()
    want = 0.0
    for j in (0, 1, 3):
        members, size = zn[y == j], (y == j).sum()
        want += size / 30 * _logdet(np.eye(5) + 5 / (size * 0.1) * members.T @ members)
    assert float(compression_rate_labels(z, onehot, 0.1)) == pytest.approx(want, rel=1e-10)


def test_rate_reduction_prefers_orthogonal_subspaces_over_one_subspace():
    # MCR^2's defining property: R - R_c is larger for orthogonal subspaces
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 2, generator=g, dtype=torch.float64)
    ortho = torch.zeros(100, 4, dtype=torch.float64)
    ortho[:50, :2], ortho[50:, 2:] = a, a
    same = torch.zeros(100, 4, dtype=torch.float64)
    same[:50, :2], same[50:, :2] = a, a.flip(1)
    onehot = torch.as_tensor(np.eye(2)[np.repeat([0, 1], 50)])
    rr = [
        float(coding_rate(f / f.norm(dim=1, keepdim=True), 0.1)
              - compression_rate_labels(f / f.norm(dim=1, keepdim=True), onehot, 0.1))
        for f in (ortho, same)
    ]  # fmt: skip
    assert rr[0] > rr[1] + 1.0


def test_mlc_loss_is_minus_objective_4():
    z, pi = _sphere(16, 4, 5), _doubly_stochastic(16, 6)
    out = mlc_loss(z, pi, eps2=0.1, gamma=0.05)
    assert float(out["regulariser"]) == pytest.approx(0.025 * float((pi**2).sum()))
    assert float(out["loss"]) == pytest.approx(
        float(-coding_rate(z, 0.1) + compression_rate(z, pi, 0.1) + out["regulariser"])
    )
    zz = z.clone().requires_grad_(True)
    mlc_loss(zz, pi)["loss"].backward()
    assert torch.isfinite(zz.grad).all()


def test_tcr_loss_terms():
    z = _sphere(20, 6, 7)
    same = tcr_loss(z, z, eps2=0.2, lam=2.0)
    assert float(same["agreement"]) == pytest.approx(1.0)
    assert float(same["loss"]) == pytest.approx(float(-coding_rate(z, 0.2)) - 2.0)
    flipped = tcr_loss(z, -z)  # |z^T z'| counts an antipodal view as agreeing
    assert float(flipped["agreement"]) == pytest.approx(1.0)


def test_logdet_identity_plus_batches_with_one_scale_per_matrix():
    g = _sphere(6, 3).numpy()
    grams = torch.as_tensor(np.stack([g.T @ g, 2 * g.T @ g]))
    got = logdet_identity_plus(grams, torch.tensor([1.0, 0.5], dtype=torch.float64))
    assert got[0] == pytest.approx(got[1])


# ------------------------------------------------------------------------- Sinkhorn
def _dense_sinkhorn(k: np.ndarray, eta: float, iterations: int) -> np.ndarray:
    """Plain scaling form: alternately normalise rows and columns of exp(K / eta)."""
    p = np.exp(k / eta)
    for _ in range(iterations):
        p = p / p.sum(1, keepdims=True)
        p = p / p.sum(0, keepdims=True)
    return p


def test_logdet_gradients_match_finite_differences():
    # the hand-written backward: d/dG = s (I + s G)^{-1}, d/ds = tr((I + s G)^{-1} G)
    z = _sphere(6, 3)
    gram = (z.T @ z).expand(2, 3, 3).clone().requires_grad_(True)
    scale = torch.tensor([0.7, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(logdet_identity_plus, (gram, scale))
    assert torch.autograd.gradcheck(lambda g: logdet_identity_plus(g, 1.5), (gram,))
    one = torch.tensor(0.9, dtype=torch.float64, requires_grad=True)  # 0-d, batched gram
    assert torch.autograd.gradcheck(logdet_identity_plus, (gram, one))


def test_weighted_grams_equal_the_explicit_sums():
    z, w = _sphere(7, 4), torch.rand(7, 3, dtype=torch.float64)
    want = torch.stack([z.T @ torch.diag(w[:, j]) @ z for j in range(3)])
    torch.testing.assert_close(weighted_grams(z, w), want, rtol=1e-12, atol=1e-12)
    z.requires_grad_(True)
    w.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: weighted_grams(a, b).sum(0), (z, w))


def test_sinkhorn_matches_the_dense_scaling_reference():
    c = _sphere(25, 5, 8)
    k = (c @ c.T).numpy()
    got = sinkhorn_log(torch.as_tensor(k), eta=0.5, iterations=7).numpy()
    np.testing.assert_allclose(got, _dense_sinkhorn(k, 0.5, 7), rtol=1e-10, atol=1e-14)


def test_sinkhorn_marginals_and_the_stated_tolerances():
    c = _sphere(256, 16, 9).float()
    for iterations, row_tol in ((5, 1e-2), (20, 1e-5)):
        pi = membership(c, eta=0.175, iterations=iterations)
        assert (pi >= 0).all()
        np.testing.assert_allclose(pi.sum(0).numpy(), 1.0, atol=1e-5)  # columns: exact
        np.testing.assert_allclose(pi.sum(1).numpy(), 1.0, atol=row_tol)


def test_sinkhorn_survives_similarities_exp_cannot_hold_in_float32():
    c = _sphere(64, 8, 10).float()
    pi = sinkhorn_log(c @ c.T, eta=0.01)  # K / eta up to 100: exp overflows float32 at 88
    assert torch.isfinite(pi).all()
    with pytest.raises(ValueError, match="square"):
        sinkhorn_log(torch.ones(3, 4))


def test_membership_absolute_kernel_treats_antipodes_as_neighbours():
    c = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    plain = membership(c, eta=0.1, iterations=50)
    absolute = membership(c, eta=0.1, iterations=50, absolute=True)
    assert absolute[0, 1] > 0.4 and plain[0, 1] < 1e-3
