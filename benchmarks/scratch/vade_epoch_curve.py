# ruff: noqa
# Scratch diagnostics of session 3 (2026-12-01), committed as run so that the figures
# RESULTS.md quotes from them can be re-made; not maintained code. See RESULTS.md for
# the command lines.
import sys, time, numpy as np, torch

torch.set_num_threads(1)
from deepclust.data import registry
from deepclust.methods.vade import VaDE
from deepclust.methods.dgg import DGG
from deepclust.metrics import cluster_accuracy

spec = sys.argv[1]
k = int(sys.argv[2])
extra = eval(sys.argv[3]) if len(sys.argv) > 3 else {}
cls = VaDE if len(sys.argv) < 5 else DGG
import numpy as np

if spec == "npy":
    X, y = np.load("/tmp/_X.npy"), np.load("/tmp/_y.npy")
else:
    ds = registry.load(spec)
    X, y = ds.X, ds.y
import os


class Diag(cls):
    def _gmm_init(self, mu):
        super()._gmm_init(mu)
        if os.environ.get("FIXPI"):
            with torch.no_grad():
                self.prior_.pi_logits.zero_() if os.environ["FIXPI"] == "uniform" else None
            self.prior_.pi_logits.requires_grad_(False)

    def _loop(self, stage, n_epochs, state):
        loop = super()._loop(stage, n_epochs, state)
        run = loop.run
        data = self._as_tensor(X)

        def wrapped(epoch):
            def ep(i):
                out = epoch(i)
                if i % 5 == 0 or i < 5:
                    mu, lv = self._encode(data)
                    lab = (
                        self._posterior(data).argmax(1).cpu().numpy()
                        if hasattr(self, "prior_") and stage != "vae"
                        else None
                    )
                    msg = f"{stage} ep {i} loss {out['loss']:.2f} var(mu) {mu.var(0).mean():.4f} E[s2] {lv.exp().mean():.4f}"
                    if lab is not None and stage in ("vade", "dgg"):
                        msg += f" nclu {len(np.unique(lab))} maxshare {np.bincount(lab).max() / len(lab):.2f} acc {cluster_accuracy(y, lab):.3f} compvar {self.prior_.logvar.exp().mean():.3f} pimax {self.prior_.log_pi.exp().max():.3f}"
                    print(msg, flush=True)
                return out

            return run(ep)

        loop.run = wrapped
        return loop


t = time.time()
m = Diag(k, random_state=0, n_init=1, **extra).fit(X)
print(
    "final clusters",
    len(np.unique(m.labels_)),
    "acc",
    cluster_accuracy(y, m.labels_),
    time.time() - t,
)
