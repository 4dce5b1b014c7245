"""Per-epoch diagnostics of A-DATSC on a synthetic cube (issue 12; not a benchmark).

    CUBE="dict(n_time=730, n_regimes=7, noise=1.0)" K=7 SEED=0 \
        python benchmarks/adatsc_epoch_curve.py "{}"

After every joint epoch: ACC and the number of clusters against the true regimes (the
labels only score), the mean max q, the norm and spread of the codes, the mean distance
between centres and the epoch's losses. The argument is a dict of ADATSC parameters;
``CUBE`` holds :func:`make_climate_cube` options (``random_state=0`` always).
"""

from __future__ import annotations

import ast
import os
import sys
import time

import numpy as np
import torch

from deepclust.data.synthetic import make_climate_cube
from deepclust.methods.adatsc import ADATSC, average_over_windows
from deepclust.metrics import cluster_accuracy


class _Traced(ADATSC):
    """ADATSC that prints the state of the assignment after every joint epoch."""

    truth: np.ndarray

    def _train(self, data, weight, steps):  # type: ignore[override]
        self._trace = (data, steps)
        super()._train(data, weight, steps)

    def _loop(self, stage, n_epochs, state):  # type: ignore[override]
        loop = super()._loop(stage, n_epochs, state)
        if stage != "adatsc":
            return loop
        run = loop.run

        def traced_run(epoch_fn):
            def epoch(e: int) -> dict[str, float]:
                out = epoch_fn(e)
                self._report(e, out)
                return out

            return run(epoch)

        loop.run = traced_run
        return loop

    @torch.no_grad()
    def _report(self, e: int, losses: dict[str, float]) -> None:
        data, steps = self._trace
        tau = self._schedule(e)["tau"]
        parts = self._embed_windows(data, steps, tau)
        q = average_over_windows(parts["q"], steps, self.n_time_)
        z = average_over_windows(parts["z"], steps, self.n_time_)
        labels = q.argmax(1).cpu().numpy()
        centres = self.network_.centers.detach()
        stats = {
            "acc": cluster_accuracy(self.truth, labels),
            "clusters": len(np.unique(labels)),
            "max_q": float(q.max(1).values.mean()),
            "z_norm": float(z.norm(dim=1).mean()),
            "z_spread": float(z.std(0).mean()),
            "centre_dist": float(torch.cdist(centres, centres).mean()),
        }
        stats.update({k: v for k, v in losses.items() if k != "tau"})
        print(f"epoch {e}", " ".join(f"{k} {v:.4f}" for k, v in stats.items()), flush=True)


def _literal(text: str) -> dict:
    """A dict literal or ``dict(key=literal, ...)``."""
    tree = ast.parse(text, mode="eval").body
    if isinstance(tree, ast.Call):
        return {kw.arg: ast.literal_eval(kw.value) for kw in tree.keywords}
    return ast.literal_eval(text)


def main() -> None:
    params = _literal(sys.argv[1]) if len(sys.argv) > 1 else {}
    cube_options = _literal(os.environ.get("CUBE", "{}"))
    torch.set_num_threads(1)
    ds = make_climate_cube(**cube_options, random_state=0)
    est = _Traced(
        int(os.environ.get("K", 4)), random_state=int(os.environ.get("SEED", 0)), **params
    )
    est.truth = np.asarray(ds.y)
    tic = time.time()
    est.fit(ds.cube)
    print("final acc", cluster_accuracy(ds.y, est.labels_), "seconds", round(time.time() - tic))


if __name__ == "__main__":
    main()
