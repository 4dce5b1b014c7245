"""ConvLSTM (Shi et al., 2015) over sequences of 2-D fields, as A-DATSC's encoder uses it.

Tensors are ``(batch, time, channels, height, width)``. The input-to-gate convolution
does not depend on the recurrence, so a layer applies it to all ``T`` frames in one call
and only the hidden-to-gate convolution runs step by step.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step: gates from ``W_x * x_t + W_h * h_{t-1} + b``.

    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c_t = f c_{t-1} + i g``,
    ``h_t = o tanh(c_t)``; ``*`` is a same-padded 2-D convolution.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size={kernel_size} must be odd (same padding)")
        pad = kernel_size // 2
        self.hidden_channels = hidden_channels
        self.input_conv = nn.Conv2d(in_channels, 4 * hidden_channels, kernel_size, padding=pad)
        self.hidden_conv = nn.Conv2d(
            hidden_channels, 4 * hidden_channels, kernel_size, padding=pad, bias=False
        )
        with torch.no_grad():  # forget gate starts open (a common LSTM initialisation)
            self.input_conv.bias[hidden_channels : 2 * hidden_channels].fill_(1.0)

    def step(
        self, x_gates: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step from the precomputed ``W_x * x_t + b`` (``x_gates``)."""
        h, c = state
        gates = x_gates + self.hidden_conv(h)
        i, f, o, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step on a frame ``x`` of shape ``(B, C, H, W)``; returns ``(h, c)``."""
        if state is None:
            state = self.initial_state(x)
        return self.step(self.input_conv(x), state)

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        zeros = x.new_zeros(b, self.hidden_channels, h, w)
        return zeros, zeros.clone()


class ConvLSTM2d(nn.Module):
    """A ConvLSTM layer over a sequence; returns every hidden state ``(B, T, F, H, W)``.

    ``bidirectional=True`` runs a second cell backwards in time and concatenates the two
    hidden sequences along channels (``2 * hidden_channels`` out).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.forward_cell = ConvLSTMCell(in_channels, hidden_channels, kernel_size)
        self.backward_cell = (
            ConvLSTMCell(in_channels, hidden_channels, kernel_size) if bidirectional else None
        )
        self.out_channels = hidden_channels * (2 if bidirectional else 1)

    @staticmethod
    def _run(cell: ConvLSTMCell, x: torch.Tensor, reverse: bool) -> torch.Tensor:
        b, t, c, h, w = x.shape
        # W_x * x_t for all frames at once: the costly convolution leaves the time loop
        x_gates = cell.input_conv(x.reshape(b * t, c, h, w)).reshape(b, t, -1, h, w)
        # unbind, not x_gates[:, step]: the backward of T selects would write T full-size
        # zero tensors; unbind's backward is one stack
        frames = x_gates.unbind(1)
        state = cell.initial_state(x[:, 0])
        order = range(t - 1, -1, -1) if reverse else range(t)
        out: list[torch.Tensor] = [x.new_empty(0)] * t
        for step in order:
            state = cell.step(frames[step], state)
            out[step] = state[0]
        return torch.stack(out, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(
                f"ConvLSTM2d expects (batch, time, channels, H, W), got {tuple(x.shape)}"
            )
        out = self._run(self.forward_cell, x, reverse=False)
        if self.backward_cell is not None:
            out = torch.cat([out, self._run(self.backward_cell, x, reverse=True)], dim=2)
        return out


__all__ = ["ConvLSTM2d", "ConvLSTMCell"]
