# ruff: noqa
"""SCDSC per-epoch terms on a synthetic scene (diagnostic; labels only score the end).

    SCENE="dict(shape=(32,32), n_classes=5, random_state=0)" SEED=0 \
        python benchmarks/scratch/scdsc_terms.py "dict(epochs=100)"
"""

import os, sys, time
import numpy as np, torch
from deepclust.data.synthetic import make_hsi_scene
from deepclust.methods.scdsc import SCDSC
from deepclust.metrics import external_metrics

SCENE = os.environ.get("SCENE", "dict(shape=(32,32), n_classes=5, random_state=0)")
if SCENE == "salinas":
    from deepclust.data.hsi import load_salinas_a

    scene = dict(n_classes=6)
else:
    scene = eval(SCENE)
params = eval(sys.argv[1]) if len(sys.argv) > 1 else {}
region = os.environ.get("REGION", "labelled")
ds = (
    load_salinas_a("../shared/data/hsi/SalinasA_corrected.mat")
    if SCENE == "salinas"
    else make_hsi_scene(**scene)
)
cube = ds.cube
mask = ds.labelled.reshape(ds.grid_shape) if region == "labelled" else np.ones(ds.grid_shape, bool)
k = scene.get("n_classes", 5)
fit_pix = np.flatnonzero(mask.ravel())
_lab_idx = np.flatnonzero(ds.labelled[fit_pix])
est = SCDSC(k, random_state=int(os.environ.get("SEED", 0)), **params)
TRACE = []
import deepclust.methods.scdsc as _m

_offer = _m._Best.offer


def offer(self, score, epoch):  # diagnostic only: OA of the current model each epoch
    _offer(self, score, epoch)
    if epoch % int(os.environ.get("EVERY", 10)) == 0:
        s = est._assign(est._source_dbg, est._pix_dbg, train_mode=True)
        TRACE.append(
            (
                epoch,
                score,
                external_metrics(ds.y[ds.labelled], s.argmax(1).cpu().numpy()[_lab_idx])["acc"],
            )
        )


_m._Best.offer = offer
_train = SCDSC._train


def train(self, source, pix):
    self._source_dbg, self._pix_dbg = source, pix
    return _train(self, source, pix)


SCDSC._train = train
tic = time.perf_counter()
est.fit(cube, mask=mask)
sec = time.perf_counter() - tic
h = est.history_
keys = [c for c in h[0] if c not in ("epoch",)]
every = max(1, len(h) // 12)
for row in h[::every] + [h[-1]]:
    print(
        " ".join(f"{c}={row[c]:.4g}" if isinstance(row[c], float) else f"{c}={row[c]}" for c in row)
    )
print("trace (epoch, confident, OA):", " ".join(f"{e}:{c:.2f}/{a:.3f}" for e, c, a in TRACE))
lab = est.label_map_.ravel()[ds.labelled]
m = external_metrics(ds.y[ds.labelled], lab)
print(
    f"OA={m['acc']:.3f} NMI={m['nmi']:.3f} best_epoch={est.best_epoch_} sec={sec:.1f} timings={ {k: round(v, 1) for k, v in est.timings_.items()} }"
)
