"""Forward + backward seconds of MLC's ``R_c`` (eq. 4) by formulation, and of the
log-determinant's backward, on random unit features (n = 1,024, d = 128, one thread):
the ``einsum`` and the autograd-through-Cholesky log-determinant that the code used
before session 12, one matrix product, and the library's current ``compression_rate``
(upper-triangle product and ``cholesky_inverse`` backward). Session 12, RESULTS.md.

``python benchmarks/scratch/s12_rc_variants.py [n] [threads]``
"""

import sys
import time

import torch
import torch.nn.functional as F

from deepclust.objectives.coding_rate import compression_rate, logdet_identity_plus
from deepclust.objectives.sinkhorn import membership

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
n, d, eps2 = (int(sys.argv[1]) if len(sys.argv) > 1 else 1024), 128, 0.1


def autograd_logdet(gram: torch.Tensor, scale: float) -> torch.Tensor:
    """The pre-session-12 code: autograd through ``torch.linalg.cholesky``."""
    a = torch.eye(gram.shape[-1]) + scale * gram
    chol = torch.linalg.cholesky(0.5 * (a + a.transpose(-1, -2)))
    return 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)


def einsum_rc(z: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    grams = torch.einsum("ij,id,ie->jde", pi, z, z)
    return autograd_logdet(grams, d / eps2).sum() / len(z)


def gemm_rc(z: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    grams = (pi.T @ (z[:, :, None] * z[:, None, :]).reshape(len(z), -1)).view(len(z), d, d)
    return autograd_logdet(grams, d / eps2).sum() / len(z)


for name, f in [("einsum (before)", einsum_rc), ("one GEMM", gemm_rc),
                ("library now", lambda z, pi: compression_rate(z, pi, eps2))]:  # fmt: skip
    torch.manual_seed(0)
    z = F.normalize(torch.randn(n, d), dim=1).requires_grad_(True)
    pi = membership(F.normalize(torch.randn(n, d), dim=1), 0.175, 5)
    times = []
    for _ in range(2):
        z.grad = None
        t = time.perf_counter()
        value = f(z, pi)
        value.backward()
        times.append(time.perf_counter() - t)
    print(f"{name}: R_c {value.item():.5f}, {min(times):.2f} s, |grad| {z.grad.norm():.5f}")

grams = (torch.rand(n, d, d) / d).requires_grad_(True)
grams_sym = grams.detach() @ grams.detach().transpose(1, 2)
for name, f in [("autograd Cholesky", autograd_logdet), ("cholesky_inverse", logdet_identity_plus)]:
    g = grams_sym.clone().requires_grad_(True)
    value = f(g, d / eps2).sum()
    t = time.perf_counter()
    value.backward()
    print(f"log-determinant backward, {name}: {time.perf_counter() - t:.2f} s")
