"""A-DATSC's network modules and loss terms against straightforward references."""

from __future__ import annotations

import math

import pytest
import torch

from deepclust.nn.convlstm import ConvLSTM2d, ConvLSTMCell
from deepclust.nn.temporal_subspace import (
    SelfExpressiveTemporal,
    SubspaceDiscriminator,
    SubspaceSampler,
)
from deepclust.nn.temporal_unet import ResTempBlock, TemporalUNetDecoder, TemporalUNetEncoder
from deepclust.nn.tgat import BiTGAT, DirectionalAttention, patchify
from deepclust.objectives.temporal_subspace import (
    adversarial_loss,
    cross_subspace_penalty,
    discriminator_loss,
    marginal_balance,
    orthogonality_penalty,
    redundancy_penalty,
    residual_energy,
    self_expression_loss,
    soft_threshold,
    temporal_weights,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ------------------------------------------------------------------ ConvLSTM
def test_convlstm_layer_equals_the_per_step_cell():
    layer = ConvLSTM2d(3, 4, bidirectional=True)
    x = torch.randn(2, 5, 3, 6, 7)
    out = layer(x)
    assert out.shape == (2, 5, 8, 6, 7)
    for cell, order, sl in (
        (layer.forward_cell, range(5), slice(0, 4)),
        (layer.backward_cell, range(4, -1, -1), slice(4, 8)),
    ):
        state = None
        for t in order:
            state = cell(x[:, t], state)
            torch.testing.assert_close(out[:, t, sl], state[0])


def test_convlstm_cell_is_the_lstm_equations_for_1x1_kernels():
    cell = ConvLSTMCell(1, 1, kernel_size=1)
    wx = cell.input_conv.weight.detach().view(4)
    b = cell.input_conv.bias.detach().view(4)
    wh = cell.hidden_conv.weight.detach().view(4)
    x = torch.tensor([[[[0.7]]]])
    h0, c0 = torch.tensor([[[[0.2]]]]), torch.tensor([[[[-0.3]]]])
    h, c = cell(x, (h0, c0))
    pre = wx * 0.7 + wh * 0.2 + b  # gate order i, f, o, g
    sig = lambda v: 1 / (1 + math.exp(-float(v)))  # noqa: E731
    c_want = sig(pre[1]) * -0.3 + sig(pre[0]) * math.tanh(float(pre[3]))
    h_want = sig(pre[2]) * math.tanh(c_want)
    assert float(c.detach()) == pytest.approx(c_want, rel=1e-5)
    assert float(h.detach()) == pytest.approx(h_want, rel=1e-5)


def test_convlstm_gradients_reach_every_parameter():
    layer = ConvLSTM2d(2, 3, bidirectional=True)
    layer(torch.randn(1, 4, 2, 5, 5)).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())
    with pytest.raises(ValueError, match="batch, time"):
        layer(torch.randn(4, 2, 5, 5))


# ------------------------------------------------------------------ U-Net
def test_unet_levels_and_reconstruction_shapes_on_an_odd_grid():
    enc = TemporalUNetEncoder(3, filters=(4, 6, 8, 10))
    dec = TemporalUNetDecoder(3, filters=(4, 6, 8, 10))
    x = torch.randn(2, 4, 3, 9, 7)
    levels = enc(x)
    assert [tuple(v.shape) for v in levels] == [
        (2, 4, 4, 9, 7), (2, 4, 6, 5, 4), (2, 4, 8, 3, 2), (2, 4, 10, 2, 1),
    ]  # fmt: skip
    assert dec(levels).shape == x.shape
    dec(levels).sum().backward()
    assert all(p.grad is not None for p in enc.parameters())


def test_res_temp_block_projects_only_when_channels_change():
    assert ResTempBlock(4, 4).project is None
    block = ResTempBlock(4, 6)
    assert block.project is not None
    assert block(torch.randn(1, 3, 4, 5, 5)).shape == (1, 3, 6, 5, 5)


# ------------------------------------------------------------------ Bi-TGAT
def test_directional_attention_matches_a_loop_and_masks_the_ends():
    att = DirectionalAttention(features=4, heads=2, delta=+1)
    h = torch.randn(1, 3, 5, 4)
    m, alpha = att(h)
    sums = alpha.sum(-1)
    torch.testing.assert_close(sums[:, :2], torch.ones_like(sums[:, :2]))
    assert torch.all(alpha[:, 2] == 0) and torch.all(m[:, 2] == 0)  # no t + 1 for the last
    q, k, v = att.query(h), att.key(h), att.value(h)
    for t in range(2):
        for head in range(2):
            s = slice(2 * head, 2 * head + 2)
            a = torch.softmax(q[0, t, :, s] @ k[0, t + 1, :, s].T / math.sqrt(2), dim=-1)
            torch.testing.assert_close(alpha[0, t, head], a)
            torch.testing.assert_close(m[0, t, :, s], a @ v[0, t + 1, :, s])
    back = DirectionalAttention(4, 2, delta=-1)
    _, alpha_b = back(h)
    assert torch.all(alpha_b[:, 0] == 0)
    torch.testing.assert_close(alpha_b.sum(-1)[:, 1:], torch.ones(1, 2, 2, 5))


def test_bitgat_outputs_and_patchify():
    x = torch.randn(2, 4, 8, 6, 5)
    nodes = patchify(x, (2, 2))
    assert nodes.shape == (2, 4, 9, 8)
    torch.testing.assert_close(nodes[0, 0, 0], x[0, 0, :, :2, :2].mean(dim=(1, 2)))
    out = BiTGAT(8, out_dim=6, heads=2)(nodes)
    assert out["nodes"].shape == (2, 4, 9, 8)
    assert out["z"].shape == (2, 4, 6) and out["z_bar"].shape == (2, 6)
    torch.testing.assert_close(out["z_bar"], out["z"].mean(1))


# ------------------------------------------------------------------ self-expression
def test_self_expressive_layer_zero_diagonal_and_shrinkage():
    se = SelfExpressiveTemporal(window=4, n_windows=3, threshold=0.1)
    with torch.no_grad():
        se.coefficients[1] = torch.tensor(
            [[5.0, 0.05, -0.5, 0.3], [0.2, 1.0, -0.08, 0.0], [0.0] * 4, [1.0, 1.0, 1.0, 1.0]]
        )
    c = se.matrix(torch.tensor([1]))[0]
    want = torch.tensor(
        [[0.0, 0.0, -0.4, 0.2], [0.1, 0.0, 0.0, 0.0], [0.0] * 4, [0.9, 0.9, 0.9, 0.0]]
    )
    torch.testing.assert_close(c, want)
    z = torch.randn(2, 4, 3)
    z_se, cc = se(z, torch.tensor([1, 0]))
    mean = z.mean(1, keepdim=True)
    torch.testing.assert_close(z_se, cc @ (z - mean) + mean)  # centred (default)
    se.centre = False
    torch.testing.assert_close(se(z, torch.tensor([1, 0]))[0], cc @ z)  # eq. (5) as printed
    # a common offset costs nothing once centred
    shifted = self_expression_loss(z + 5.0, cc, 0.5, centre=True)
    torch.testing.assert_close(shifted, self_expression_loss(z, cc, 0.5, centre=True))
    self_expression_loss(z, cc, 0.5).backward()
    assert se.coefficients.grad[0].abs().sum() > 0  # started outside the dead zone
    with pytest.raises(ValueError, match="at least 2"):
        SelfExpressiveTemporal(window=1)


def test_self_expression_loss_and_weights_by_hand():
    z = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    c = torch.tensor([[[0.0, 0.5], [1.0, 0.0]]])
    # residual rows: (1, -1) and (-1, 2) -> 1 + 1 + 1 + 4 = 7; ||C||_1 = 1.5
    assert float(self_expression_loss(z, c, 2.0)) == pytest.approx(7 + 3.0)
    q = torch.tensor([[[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]])
    w = temporal_weights(q, sigma_t=2.0)[0]
    assert float(w[0, 1]) == pytest.approx(0.5 * math.exp(-0.5))
    assert float(w[0, 2]) == 0.0 and float(w[1, 1]) == pytest.approx(0.5)
    torch.testing.assert_close(soft_threshold(torch.tensor([-2.0, 0.5, 3.0]), 1.0),
                               torch.tensor([-1.0, 0.0, 2.0]))  # fmt: skip


# ------------------------------------------------------------------ discriminator
def test_residual_energy_and_penalties_by_hand():
    e1, e2 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    bases = torch.stack([e1[:, None], e2[:, None]])  # K=2, D=3, r=1
    z = torch.tensor([[1.0, 2.0, 3.0]])
    torch.testing.assert_close(residual_energy(z, bases), torch.tensor([[13.0, 10.0]]))
    assert float(orthogonality_penalty(bases)) == 0.0
    assert float(cross_subspace_penalty(bases)) == 0.0
    same = torch.stack([e1[:, None], e1[:, None] * 2])
    assert float(orthogonality_penalty(same)) == pytest.approx(9.0)  # (4 - 1)^2
    assert float(cross_subspace_penalty(same)) == pytest.approx(2 * 4.0)


def test_residual_energy_expansion_matches_the_explicit_projection():
    """The expanded form equals ``||z - U U^T z||^2`` for bases that are not orthonormal
    (the discriminator's bases drift between steps), values and gradients."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(7, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    bases = torch.randn(3, 5, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    projection = torch.einsum("nkr,kdr->nkd", torch.einsum("nd,kdr->nkr", z, bases), bases)
    explicit = (z.unsqueeze(1) - projection).pow(2).sum(-1)
    expanded = residual_energy(z, bases)
    torch.testing.assert_close(expanded, explicit)
    g_explicit = torch.autograd.grad(explicit.sum(), (z, bases))
    g_expanded = torch.autograd.grad(residual_energy(z, bases).sum(), (z, bases))
    for a, b in zip(g_expanded, g_explicit, strict=True):
        torch.testing.assert_close(a, b)


def test_discriminator_hinge_by_hand():
    bases = torch.eye(2)[:, :, None].contiguous()  # U_0 = e1, U_1 = e2
    real = torch.tensor([[1.0, 0.5], [0.2, 3.0]])  # energies on own subspace: 0.25, 0.04
    fake = torch.tensor([[1.0, 1.0], [1.0, 3.0], [0.0, 1.0]])  # own energies 1, 9 | 0
    rk, fk = torch.tensor([0, 1]), torch.tensor([0, 0, 1])
    loss = discriminator_loss(real, rk, fake, fk, bases, margin=1.0, beta_orth=0, beta_cross=0)
    # cluster 0: max(0, 0.25 - 5 + 1) = 0; cluster 1: max(0, 0.04 - 0 + 1) = 1.04
    assert float(loss) == pytest.approx((0.0 + 1.04) / 2)
    assert float(adversarial_loss(fake, fk, bases)) == pytest.approx((1 + 9 + 0) / 3)


def test_discriminator_initialise_from_cluster_svd():
    disc = SubspaceDiscriminator(2, 3, 1)
    z = torch.tensor([[2.0, 0, 0], [-1.0, 0, 0], [0, 0, 5.0], [0, 0, 1.0]])
    disc.initialise(z, torch.tensor([0, 0, 1, 1]))
    energies = disc(z)
    torch.testing.assert_close(energies.diagonal()[:1], torch.zeros(1))
    assert torch.allclose(energies[[0, 1], 0], torch.zeros(2), atol=1e-10)
    assert torch.allclose(energies[[2, 3], 1], torch.zeros(2), atol=1e-10)


def test_sampler_reals_are_top_m_and_fakes_convex_with_fixed_weights():
    sampler = SubspaceSampler(n_real=2, n_fake=3, seed=1)
    z = torch.randn(6, 4, requires_grad=True)
    q = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7], [0.45, 0.55]])
    real, rk, fake, fk = sampler(z, q)
    torch.testing.assert_close(real[:2], z[[0, 2]])  # cluster 0's two most confident
    torch.testing.assert_close(real[2:], z[[3, 4]])
    assert rk.tolist() == [0, 0, 1, 1] and fk.tolist() == [0, 0, 0, 1, 1, 1]
    torch.testing.assert_close(sampler.alpha.sum(1), torch.ones(3))
    torch.testing.assert_close(fake[:3], sampler.alpha @ z[[0, 2]])
    fake.sum().backward()
    assert z.grad[[0, 2, 3, 4]].abs().sum() > 0 and z.grad[[1, 5]].abs().sum() == 0
    again = sampler(z.detach(), q)[2]
    torch.testing.assert_close(again, fake.detach())  # weights fixed across calls


def test_balance_and_redundancy_terms():
    uniform = torch.full((5, 4), 0.25)
    assert float(marginal_balance(uniform)) == pytest.approx(0.0, abs=1e-7)
    one = torch.tensor([[1.0, 0.0]] * 4)
    assert float(marginal_balance(one)) == pytest.approx(math.log(2), rel=1e-4)
    anti = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    assert float(redundancy_penalty(anti)) == pytest.approx(1.0, rel=1e-4)  # corr = -1


def test_bitgat_printed_eq3_residual_and_pooling_options():
    nodes = torch.randn(2, 3, 4, 8)
    printed = BiTGAT(8, 5, heads=2, residual=False, pooling="mean")
    out = printed(nodes)
    m_f, _ = printed.forward_attention(nodes)
    m_b, _ = printed.backward_attention(nodes)
    h = printed.norm(printed.output(torch.cat([m_f, m_b], -1)))
    torch.testing.assert_close(out["nodes"], h)
    torch.testing.assert_close(out["z"], printed.out_norm(printed.project(h.mean(2))))
    res = BiTGAT(8, 5, heads=2, pooling="flatten", n_nodes=4)
    res.load_state_dict({k: v for k, v in printed.state_dict().items() if "project" not in k},
                        strict=False)  # fmt: skip
    out = res(nodes)
    torch.testing.assert_close(
        out["nodes"], res.norm(nodes + res.output(torch.cat([m_f, m_b], -1)))
    )
    assert res.project.in_features == 32 and out["z"].shape == (2, 3, 5)
    with pytest.raises(ValueError, match="n_nodes"):
        BiTGAT(8, 5, pooling="flatten")


def test_negative_mutual_information_by_hand():
    from deepclust.objectives.temporal_subspace import negative_mutual_information

    balanced = torch.eye(3).repeat(2, 1)
    assert float(negative_mutual_information(balanced)) == pytest.approx(-math.log(3), rel=1e-5)
    assert float(negative_mutual_information(torch.full((4, 3), 1 / 3))) == pytest.approx(
        0.0, abs=1e-6
    )
    one = torch.tensor([[1.0, 0.0, 0.0]] * 4)
    assert float(negative_mutual_information(one)) == pytest.approx(0.0, abs=1e-6)


def test_relative_energies_are_scale_free_and_match_hand_values():
    z = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    c = torch.tensor([[[0.0, 0.5], [1.0, 0.0]]])
    # residual 7 over ||Z||^2 = 5, plus lam ||C||_1 = 0 (lam = 0)
    assert float(self_expression_loss(z, c, 0.0, relative=True)) == pytest.approx(7 / 5)
    for scale in (1e-3, 10.0):
        assert float(self_expression_loss(scale * z, c, 0.0, relative=True)) == pytest.approx(
            7 / 5, rel=1e-5
        )
    bases = torch.eye(2)[:, :, None].contiguous()
    fake, fk = torch.tensor([[1.0, 1.0], [1.0, 3.0]]), torch.tensor([0, 0])
    # sin^2 to U_0 = e1: 1/2 and 9/10
    expected = (0.5 + 0.9) / 2
    assert float(adversarial_loss(fake, fk, bases, relative=True)) == pytest.approx(expected)
    assert float(adversarial_loss(1e-3 * fake, fk, bases, relative=True)) == pytest.approx(
        expected, rel=1e-5
    )


def test_latent_scale_centres_codes_and_leaves_assignments_scale_free():
    from deepclust.nn.adatsc import ADATSCNetwork

    net = ADATSCNetwork(2, (8, 8), 3, 4, 3, filters=(4, 8), latent_dim=4, heads=1, patch=(2, 2))
    z = 4.0 + 0.03 * torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    net.set_latent_scale(z)
    s = net.scaled(z)
    torch.testing.assert_close(s.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    assert float(s.pow(2).sum(1).mean()) == pytest.approx(1.0, rel=1e-4)
    with torch.no_grad():
        net.centers.copy_(s[:3])
    q = net.assign(z).detach()
    # the kernel sees the scaled codes: a code on a centre is clearly assigned to it
    assert float(q[0, 0]) > 0.5 and float(q[1, 1]) > 0.5


def test_decoding_from_the_code_alone_ignores_the_skips():
    from deepclust.nn.adatsc import ADATSCNetwork

    torch.manual_seed(0)
    net = ADATSCNetwork(2, (9, 7), 3, 4, 3, filters=(4, 8), latent_dim=4, heads=1, patch=(2, 2))
    x = torch.randn(2, 4, 2, 9, 7)
    out = net(x, torch.tensor([0, 1]), with_code=True)
    assert out["x_code"].shape == x.shape == out["x_hat"].shape
    levels = net.embed(x)["levels"]
    noisy = [level + torch.randn_like(level) for level in levels[:-1]] + [levels[-1]]
    torch.testing.assert_close(net.decode_code(out["z"], noisy), out["x_code"])
    assert "x_code" not in net(x, torch.tensor([0, 1]))
