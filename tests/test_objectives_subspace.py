"""SCDSC eqs. (3), (4), (7)-(9), (11)-(12) and DEC's assignment against plain references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepclust.objectives.assignment import kl_divergence, student_t_assignment, target_distribution
from deepclust.objectives.subspace import (
    basis_dissimilarity,
    box_smooth,
    choose_window,
    label_agreement,
    local_loss,
    minicluster_means,
    nonlocal_loss,
    refined_assignment,
    subspace_affinity,
)

# exact references in double precision (conftest restores float32 afterwards)
pytestmark = pytest.mark.usefixtures("float64_default")


def test_subspace_affinity_eq3_loops():
    g = torch.Generator().manual_seed(0)
    n, d, k, r, eta = 4, 6, 3, 2, 5.0
    z = torch.randn(n, d, generator=g)
    D = torch.randn(d, k * r, generator=g)
    for squared in (True, False):
        got = subspace_affinity(z, D, k, eta, squared=squared)
        want = torch.zeros(n, k)
        for i in range(n):
            row = []
            for j in range(k):
                proj = z[i] @ D[:, j * r : (j + 1) * r]  # h_i D_j
                a = float(proj @ proj) if squared else math.sqrt(float(proj @ proj))
                row.append(a + eta * r)
            want[i] = torch.tensor(row) / sum(row)
        torch.testing.assert_close(got, want)
        torch.testing.assert_close(got.sum(1), torch.ones(n))


def test_subspace_affinity_prefers_the_containing_subspace():
    # Two orthonormal 2-D subspaces of R^4; a point inside the first gets more mass there.
    D = torch.eye(4)
    z = torch.tensor([[3.0, 4.0, 0.0, 0.0]])
    s = subspace_affinity(z, D, 2, eta=5.0)
    # a = (25, 0), eta r = 10: s = (35, 10) / 45
    torch.testing.assert_close(s, torch.tensor([[35 / 45, 10 / 45]]))


def test_basis_dissimilarity_eq4():
    g = torch.Generator().manual_seed(1)
    k, r, d = 3, 2, 5
    D = torch.randn(d, k * r, generator=g)
    gram = D.T @ D
    want = 0.0
    for a in range(k * r):
        for b in range(k * r):
            same_block = a // r == b // r
            if not same_block:
                want += float(gram[a, b]) ** 2  # ||D^T D ⊙ O||^2
            if a == b:
                want += (float(gram[a, a]) - 1.0) ** 2  # ||D^T D ⊙ I - I||^2
    torch.testing.assert_close(basis_dissimilarity(D, k), torch.tensor(want))
    # orthonormal blocks that are mutually orthogonal: zero
    Q, _ = torch.linalg.qr(torch.randn(8, 6, generator=g))
    torch.testing.assert_close(basis_dissimilarity(Q, 3), torch.tensor(0.0), atol=1e-10, rtol=0)


def test_minicluster_means_eq7_and_refined_eq8():
    s = torch.tensor([[0.8, 0.2], [0.6, 0.4], [0.1, 0.9], [0.3, 0.7], [0.5, 0.5]])
    groups = torch.tensor([0, 0, 1, 1, 2])
    m = minicluster_means(s, groups, 3)
    torch.testing.assert_close(m, torch.tensor([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]]))
    # eq. (8) by hand: column sums f = (1.4, 1.6)
    f = m.sum(0)
    w = m**2 / f
    torch.testing.assert_close(refined_assignment(m), w / w.sum(1, keepdim=True))
    assert refined_assignment(m)[0, 0] > m[0, 0]  # sharpening of a confident group


def test_nonlocal_loss_eq9_and_its_gradient_eq10():
    s = torch.tensor([[0.8, 0.2], [0.6, 0.4], [0.1, 0.9], [0.3, 0.7]], requires_grad=True)
    groups = torch.tensor([0, 0, 1, 1])
    loss = nonlocal_loss(s, groups, 2, reduction="sum")
    m = minicluster_means(s.detach(), groups, 2)
    mt = refined_assignment(m)
    want = float((mt * torch.log(mt / m)).sum())
    assert loss.item() == pytest.approx(want, rel=1e-12)
    loss.backward()
    # eq. (10): members of one mini-cluster receive the same gradient, 1/|C_p| of d eta/d m_p
    torch.testing.assert_close(s.grad[0], s.grad[1])
    torch.testing.assert_close(s.grad[2], s.grad[3])
    torch.testing.assert_close(s.grad[0], -0.5 * (mt[0] / m[0]))


def test_box_smooth_eq11_against_loops():
    g = torch.Generator().manual_seed(2)
    k, h, w, win = 2, 5, 6, 3
    maps = torch.rand(k, h, w, generator=g)
    mask = torch.rand(h, w, generator=g) > 0.3
    got = box_smooth(maps, mask, win)
    r = win // 2
    for c in range(k):
        for x in range(h):
            for y in range(w):
                num = den = 0.0
                for u in range(max(0, x - r), min(h, x + r + 1)):
                    for v in range(max(0, y - r), min(w, y + r + 1)):
                        if mask[u, v]:
                            num += float(maps[c, u, v])
                            den += 1.0
                want = num / den if den else 0.0
                assert float(got[c, x, y]) == pytest.approx(want, abs=1e-12)


def test_local_loss_eq12():
    g = torch.Generator().manual_seed(3)
    h, w, k = 4, 5, 3
    pixels = torch.tensor([0, 1, 2, 6, 7, 8, 12, 13, 19])
    s = torch.softmax(torch.randn(len(pixels), k, generator=g), 1)
    maps = torch.zeros(k, h * w)
    maps[:, pixels] = s.T
    mask = torch.zeros(h * w)
    mask[pixels] = 1
    F = box_smooth(maps.reshape(k, h, w), mask.reshape(h, w), 3).reshape(k, -1)[:, pixels].T
    want = float((F * torch.log(F / s)).sum())
    got = local_loss(s, pixels, (h, w), 3, reduction="sum")
    assert float(got) == pytest.approx(want, rel=1e-10)
    # a spatially constant assignment is its own smoothing: zero loss
    const = torch.tensor([[0.2, 0.3, 0.5]]).repeat(len(pixels), 1)
    assert float(local_loss(const, pixels, (h, w), 3)) == pytest.approx(0.0, abs=1e-12)


def test_student_t_target_and_kl():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    q = student_t_assignment(z, mu, alpha=1.0)
    # point 0: distances^2 (0, 1): kernel (1, 1/2) -> (2/3, 1/3)
    torch.testing.assert_close(q[0], torch.tensor([2 / 3, 1 / 3]))
    p = target_distribution(q)
    f = q.sum(0)
    wgt = q**2 / f
    torch.testing.assert_close(p, wgt / wgt.sum(1, keepdim=True))
    want = float((p * torch.log(p / q)).sum())
    assert float(kl_divergence(p, q)) == pytest.approx(want)
    assert float(kl_divergence(p, q, "mean")) == pytest.approx(want / 4)
    assert float(kl_divergence(p, q, "batchmean")) == pytest.approx(want / 2)
    with pytest.raises(ValueError):
        kl_divergence(p, q, "nope")


def test_minicluster_means_scale_linearly():
    # O(n): one index_add over n rows; no n x n intermediate (a large n stays cheap)
    n, k = 200_000, 6
    s = torch.softmax(torch.randn(n, k), 1)
    groups = torch.randint(0, 1000, (n,))
    m = minicluster_means(s, groups, 1000)
    counts = np.bincount(groups.numpy(), minlength=1000)
    np.testing.assert_allclose(m.sum(1).numpy()[counts > 0], 1.0, rtol=1e-9)


def test_basis_dissimilarity_unsquared_form_is_the_sum_of_the_two_norms():
    D = torch.tensor([[1.0, 1.0], [0.0, 1.0]])  # two clusters, r = 1
    # gram = [[1, 1], [1, 2]]: off-block entries 1, 1 -> ||.||^2 = 2; diag - I = (0, 1) -> 1
    assert float(basis_dissimilarity(D, 2)) == pytest.approx(3.0)
    assert float(basis_dissimilarity(D, 2, squared=False)) == pytest.approx(2**0.5 + 1.0)


def _two_halves(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.zeros(n, n, dtype=torch.long)
    labels[:, n // 2 :] = 1
    return labels, torch.ones(n, n, dtype=torch.bool)


def test_label_agreement_matches_hand_count_on_a_straight_boundary():
    labels, mask = _two_halves()
    # the 2 columns at the boundary (1/20 of the pixels) lose 1/3 of a 3x3 window;
    # for 5x5 two columns lose 2/5 and two lose 1/5; for 7x7: 3/7, 2/7, 1/7 on each side
    assert label_agreement(labels, mask, 3, 2) == pytest.approx(1 - (1 / 3) / 20, abs=1e-6)
    assert label_agreement(labels, mask, 5, 2) == pytest.approx(1 - 1.2 / 40, abs=1e-6)
    assert label_agreement(labels, mask, 7, 2) == pytest.approx(1 - (12 / 7) / 40, abs=1e-6)
    assert label_agreement(torch.zeros(9, 9, dtype=torch.long), mask[:9, :9], 7, 2) == 1.0


def test_label_agreement_ignores_pixels_off_the_mask():
    labels, mask = _two_halves()
    mask[:, 19:21] = False  # an unlabelled belt at the boundary, as in real ground truths
    assert label_agreement(labels, mask, 3, 2) == 1.0
    labels[~mask] = 7  # values off the mask are never read
    assert label_agreement(labels, mask, 3, 2) == 1.0


def test_choose_window_grows_with_the_regions():
    labels, mask = _two_halves(40)
    # 7x7 loses 0.026 more than 3x3, 9x9 0.039: the window stops at 7 (tolerance 0.03)
    assert choose_window(labels, mask, 2) == 7
    wide, wide_mask = _two_halves(200)
    assert choose_window(wide, wide_mask, 2) == 11
    stripes = (torch.arange(40) // 4 % 2).repeat(40, 1)  # fields 4 pixels wide
    assert choose_window(stripes, mask, 2) == 3


# Scale invariances the defaults rely on: the weights of eq. (17) mean the same on a
# scene of any size and a latent space of any width.
def test_clustering_terms_do_not_grow_with_the_number_of_pixels():
    g = torch.Generator().manual_seed(0)
    s = torch.softmax(torch.randn(6, 10, 3, generator=g), -1)  # a 6 x 10 scene, K=3
    pixels = torch.arange(60)
    one = local_loss(s.reshape(60, 3), pixels, (6, 10), 3)
    # the same scene twice, side by side, with an unmasked gap wider than the window
    twice = torch.cat([s, torch.full((6, 4, 3), 1 / 3), s], dim=1).reshape(-1, 3)
    keep = torch.cat([torch.arange(10), torch.arange(14, 24)])
    pix2 = (torch.arange(6)[:, None] * 24 + keep[None]).reshape(-1)
    assert local_loss(twice[pix2], pix2, (6, 24), 3) == pytest.approx(float(one), rel=1e-9)
    groups = torch.randint(0, 7, (60,), generator=g)
    flat = s.reshape(60, 3)
    nl = nonlocal_loss(flat, groups, 7)
    nl2 = nonlocal_loss(torch.cat([flat, flat]), torch.cat([groups, groups]), 7)
    assert nl2 == pytest.approx(float(nl), rel=1e-9)


def test_affinity_and_dissimilarity_do_not_depend_on_the_latent_width():
    g = torch.Generator().manual_seed(1)
    z, D = torch.randn(20, 8, generator=g), torch.randn(8, 3 * 2, generator=g)
    pad = 100  # the same codes and bases in a wider latent space
    z_wide = torch.cat([z, torch.zeros(20, pad)], 1)
    D_wide = torch.cat([D, torch.zeros(pad, 6)], 0)
    torch.testing.assert_close(subspace_affinity(z_wide, D_wide, 3), subspace_affinity(z, D, 3))
    assert basis_dissimilarity(D_wide, 3) == pytest.approx(float(basis_dissimilarity(D, 3)))


def test_basis_dissimilarity_mean_reduction_does_not_grow_with_k_and_d():
    # the same per-entry overlap (every off-block inner product 0.1, unit norms 1.1)
    # gives the same mean-reduced phi for any number of clusters and basis size
    def bases(k: int, d: int) -> torch.Tensor:
        n = k * d
        gram = torch.full((n, n), 0.1)
        gram.fill_diagonal_(1.1**2)
        return torch.linalg.cholesky(gram).T  # D with D^T D = gram

    small = basis_dissimilarity(bases(2, 3), 2, reduction="mean")
    large = basis_dissimilarity(bases(8, 5), 8, reduction="mean")
    torch.testing.assert_close(small, large, rtol=1e-4, atol=1e-5)
    # by hand: off term 0.1^2 per entry, diagonal (1.21 - 1)^2 per entry
    torch.testing.assert_close(small, torch.tensor(0.01 + 0.21**2), rtol=1e-4, atol=1e-6)
    summed = basis_dissimilarity(bases(8, 5), 8)
    assert summed > 100 * large  # the sum grows with k and d
    with pytest.raises(ValueError, match="reduction"):
        basis_dissimilarity(bases(2, 3), 2, reduction="max")
