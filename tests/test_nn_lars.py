"""LARS against a hand-computed step."""

from __future__ import annotations

import pytest
import torch

from deepclust.nn.lars import LARS


def test_lars_step_matches_the_trust_ratio_by_hand():
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5
    b = torch.nn.Parameter(torch.tensor([1.0]))
    opt = LARS([w, b], lr=0.5, momentum=0.9, weight_decay=0.1, trust=0.01)
    w.grad = torch.tensor([[0.0, 2.0]])
    b.grad = torch.tensor([2.0])
    opt.step()
    g = torch.tensor([[0.3, 2.4]])  # grad + 0.1 w
    ratio = 0.01 * 5.0 / float(g.norm())
    torch.testing.assert_close(w.data, torch.tensor([[3.0, 4.0]]) - 0.5 * ratio * g)
    torch.testing.assert_close(b.data, torch.tensor([0.0]))  # 1-D: plain SGD, no decay
    # second step: momentum buffer = 0.9 * previous + new
    w.grad, b.grad = torch.zeros_like(w), torch.tensor([1.0])
    opt.step()
    torch.testing.assert_close(b.data, torch.tensor([0.0 - 0.5 * (0.9 * 2.0 + 1.0)]))


def test_lars_reduces_a_quadratic_and_rejects_bad_settings():
    w = torch.nn.Parameter(torch.randn(4, 4, generator=torch.Generator().manual_seed(0)))
    opt = LARS([w], lr=5.0, trust=0.02, weight_decay=0.0)
    start = float((w.detach() ** 2).sum())
    for _ in range(50):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert float((w.detach() ** 2).sum()) < 0.1 * start
    with pytest.raises(ValueError, match="LARS"):
        LARS([w], lr=0.0)
