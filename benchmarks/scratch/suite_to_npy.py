# ruff: noqa
# Scratch (session 3): write a suite dataset to /tmp/_X.npy, /tmp/_y.npy for vade_epoch_curve.py npy.
# usage: suite_diag.py DATASET "params" [dgg]
import sys, runpy
from deepclust.bench import suite as S
from deepclust.data import registry
from deepclust import run as R

S.register_loaders()
name = sys.argv[1]
e = [d for d in S.suite() if d.name == name][0]
ds = registry.load(e.spec, **e.data_options)
import numpy as np

X = ds.X
if e.preprocess.get("standardize"):
    X = (X - X.mean(0)) / X.std(0)
np.save("/tmp/_X.npy", X.astype(np.float32))
np.save("/tmp/_y.npy", np.asarray(ds.y))
print(name, X.shape, e.n_clusters or len(np.unique(ds.y)))
