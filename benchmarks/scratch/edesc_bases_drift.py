# ruff: noqa
# Scratch diagnostics of session 3 (2026-12-01), committed as run so that the figures
# RESULTS.md quotes from them can be re-made; not maintained code. See RESULTS.md for
# the command lines.
import sys, os, numpy as np, torch

torch.set_num_threads(1)
from deepclust.bench import suite as S
from deepclust.data import registry
from deepclust.methods.edesc import EDESC
from deepclust.objectives.assignment import kl_divergence, target_distribution
from deepclust.metrics import cluster_accuracy
import torch.nn.functional as F

S.register_loaders()
name = sys.argv[1]
kw = eval(sys.argv[2])
mode = sys.argv[3]
e = [d for d in S.suite() if d.name == name][0]
ds = registry.load(e.spec, **e.data_options)
X = ds.X.reshape(len(ds.X), -1).astype(np.float32)
k = e.n_clusters or len(np.unique(ds.y))


class D(EDESC):
    def _labels(self, data):
        lab = super()._labels(data)
        if mode == "global":
            with torch.no_grad():
                self._P = target_distribution(self._affinity(self._embed(data)))
        z = self._embed(data)
        self._accs.append(round(cluster_accuracy(ds.y, lab), 3))
        return lab

    def _train(self, data, n):
        self._accs = []
        self._data = data
        if mode == "freezeD":
            self.bases_.D.requires_grad_(False)
        super()._train(data, n)
        Dn = self.bases_.D.detach().norm(dim=0)
        print(
            mode,
            "D col norms mean %.3f max %.3f" % (Dn.mean(), Dn.max()),
            "phi",
            [round(h["phi"], 2) for h in self.history_ if h["stage"] == "edesc"][::10],
            flush=True,
        )

    def _affinity(self, z):
        if mode != "unitD":
            return super()._affinity(z)
        from deepclust.objectives.subspace import subspace_affinity

        D = self.bases_.D
        return subspace_affinity(
            z, D / D.norm(dim=0, keepdim=True).clamp_min(1e-8), self.n_clusters, self.eta
        )

    def _losses(self, x):
        if mode != "global":
            return super()._losses(x)
        z, x_hat = self.autoencoder_(x)
        recon = (
            F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x)
            if self.loss_ == "bce"
            else F.mse_loss(x_hat, x)
        )
        s = self._affinity(z)
        # rows of the global target for this batch: find indices by matching (batch indices unavailable) -> use per-sample lookup
        idx = self._idx
        kl = kl_divergence(self._P[idx], s, "mean")
        from deepclust.objectives.subspace import basis_dissimilarity

        return {
            "recon": recon,
            "kl": kl,
            "phi": basis_dissimilarity(self.bases_.D, self.n_clusters),
        }


if mode == "global":
    # patch the loop's batches to remember indices
    from deepclust import training as T

    orig = T.TrainingLoop.batches

    def batches(self, n, bs, **kw2):
        for idx in orig(self, n, bs, **kw2):
            est._idx = idx
            yield idx

    T.TrainingLoop.batches = batches
est = D(k, random_state=0, stop_on_collapse=False, **kw)
est.fit(X)
print("final", cluster_accuracy(ds.y, est.labels_))
