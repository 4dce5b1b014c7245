"""The A-DATSC generator network (§5.1): U-Net encoder, Bi-TGAT bottleneck, SE layer, decoder.

Input windows are ``(B, T, V, H, W)`` (``V`` climate variables as channels). The
generator returns the per-timestep embeddings ``z_t`` (what is clustered), the
self-expressive reconstruction ``C Z`` and its coefficients, and the reconstructed
window. The Table 2 ablations are ``variant`` switches:

* ``"full"``: ConvLSTM2d U-Net, Bi-TGAT over patch nodes, SE layer (the paper's model);
* ``"sel"``: only the self-expressive network at the bottleneck (no Bi-TGAT);
* ``"cnn-lstm"``: per-frame convolutions instead of ConvLSTM2d, then an LSTM unit over
  time on every node;
* ``"gat"``: Bi-TGAT at the dense layer (each frame's top level flattened to one node).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .cluster_head import ScaledStudentTHead
from .temporal_subspace import SelfExpressiveTemporal
from .temporal_unet import TemporalUNetDecoder, TemporalUNetEncoder, resize_space
from .tgat import BiTGAT, patchify

VARIANTS = ("full", "sel", "cnn-lstm", "gat")


class ADATSCNetwork(ScaledStudentTHead):
    """Generator ``G`` of A-DATSC (everything but the discriminator)."""

    def __init__(
        self,
        in_channels: int,
        grid: Sequence[int],
        n_clusters: int,
        window: int,
        n_windows: int,
        *,
        filters: Sequence[int] = (64, 128, 256, 512),
        latent_dim: int = 32,
        heads: int = 4,
        patch: Sequence[int] = (1, 1),
        variant: str = "full",
        se_threshold: float = 1e-3,
        sigma_t: float | None = None,
        alpha: float = 1.0,
        residual: bool = True,
        node_pooling: str = "flatten",
        se_centre: bool = True,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant={variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant, self.patch = variant, tuple(patch)
        recurrent = variant != "cnn-lstm"
        self.encoder = TemporalUNetEncoder(in_channels, filters, recurrent=recurrent)
        self.decoder = TemporalUNetDecoder(in_channels, filters, recurrent=recurrent)
        top = int(filters[-1])
        top_grid = self._top_grid(grid, len(filters))
        if variant == "gat":
            cells = top * top_grid[0] * top_grid[1]
            self.dense = nn.Linear(cells, top)
            self.undense = nn.Linear(top, cells)
        if variant == "cnn-lstm":
            self.lstm = nn.LSTM(top, top, batch_first=True)
        n_nodes = 1 if variant == "gat" else self._n_nodes(top_grid, self.patch)
        self.tgat = BiTGAT(
            top, latent_dim, heads, residual=residual, pooling=node_pooling, n_nodes=n_nodes
        )
        if variant == "sel":  # no attention: only the pooling and projection are used
            del self.tgat.forward_attention, self.tgat.backward_attention, self.tgat.output
        self.self_expression = SelfExpressiveTemporal(
            window, n_windows, se_threshold, True, sigma_t, centre=se_centre
        )
        self._init_head(n_clusters, latent_dim, alpha)  # eq. (4)
        # [z_t || z_bar || mean_t(Z_SE)] -> added to every top-level cell of frame t
        self.bottleneck = nn.Linear(3 * latent_dim, top)
        # z_t -> a whole top-level grid, for the reconstruction from z alone
        self.top_grid = top_grid
        self.code_grid = nn.Linear(latent_dim, top * top_grid[0] * top_grid[1])

    @staticmethod
    def _top_grid(grid: Sequence[int], levels: int) -> tuple[int, int]:
        h, w = int(grid[0]), int(grid[1])
        for _ in range(levels - 1):
            h, w = -(-h // 2), -(-w // 2)
        return h, w

    @staticmethod
    def _n_nodes(top_grid: tuple[int, int], patch: Sequence[int]) -> int:
        return -(-top_grid[0] // int(patch[0])) * -(-top_grid[1] // int(patch[1]))

    def _nodes(self, top: torch.Tensor) -> torch.Tensor:
        """Graph nodes ``(B, T, N, F)`` of the top level, per variant."""
        if self.variant == "gat":
            return self.dense(top.flatten(2)).unsqueeze(2)
        nodes = patchify(top, self.patch)
        if self.variant == "cnn-lstm":
            b, t, n, f = nodes.shape
            seq = nodes.transpose(1, 2).reshape(b * n, t, f)
            nodes = self.lstm(seq)[0].reshape(b, n, t, f).transpose(1, 2)
        return nodes

    def _grid(self, nodes: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """Nodes back onto the top-level grid ``(B, T, F, H', W')``."""
        if self.variant == "gat":
            return self.undense(nodes.squeeze(2)).reshape(top.shape)
        b, t, n, f = nodes.shape
        h, w = -(-top.shape[-2] // self.patch[0]), -(-top.shape[-1] // self.patch[1])
        coarse = nodes.transpose(2, 3).reshape(b, t, f, h, w)
        return resize_space(coarse, top.shape[-2:])

    def embed(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder and bottleneck: levels, nodes ``h'`` and ``z_t`` ``(B, T, D)``."""
        levels = self.encoder(x)
        nodes = self._nodes(levels[-1])
        if self.variant == "sel":
            out = {"nodes": nodes, "z": self.tgat.pool(nodes)}
        else:
            out = self.tgat(nodes)
        out["levels"] = levels
        return out

    def code(
        self, x: torch.Tensor, windows: torch.Tensor, tau: float = 1.0
    ) -> dict[str, torch.Tensor]:
        """Everything up to the bottleneck: ``z``, ``q``, ``z_se``, ``C`` (no decoding)."""
        out = self.embed(x)
        z = out["z"]
        q = self.assign(z, tau)
        z_se, c = self.self_expression(z, windows, q.detach())
        out.update(q=q, z_se=z_se, c=c)
        return out

    def decode_code(self, z: torch.Tensor, levels: list[torch.Tensor]) -> torch.Tensor:
        """Frames from ``z`` alone: the top level from ``z_t``, every skip set to zero.

        With the skips and the node grid the decoder can reconstruct a frame without
        looking at ``z``; this path cannot, so training it makes ``z`` carry the frame.
        """
        b, t, _ = z.shape
        top = self.code_grid(z).reshape(b, t, -1, *self.top_grid)
        top = resize_space(top, levels[-1].shape[-2:])
        skips = [torch.zeros_like(level) for level in levels[:-1]] + [levels[-1]]
        return self.decoder(skips, top)

    def forward(
        self, x: torch.Tensor, windows: torch.Tensor, tau: float = 1.0, with_code: bool = False
    ) -> dict[str, torch.Tensor]:
        out = self.code(x, windows, tau)
        z, z_se = out["z"], out["z_se"]
        summary = torch.cat([z.mean(1), z_se.mean(1)], dim=-1)
        code = torch.cat([z, summary.unsqueeze(1).expand(-1, z.shape[1], -1)], dim=-1)
        top = self._grid(out["nodes"], out["levels"][-1])
        top = top + self.bottleneck(code)[..., None, None]
        x_hat = self.decoder(out["levels"], top)
        result = {"z": z, "q": out["q"], "z_se": z_se, "c": out["c"], "x_hat": x_hat}
        if with_code:
            result["x_code"] = self.decode_code(z, out["levels"])
        return result


__all__ = ["VARIANTS", "ADATSCNetwork"]
