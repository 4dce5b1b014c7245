"""DSC-Net diagnostic: the post-processing with and without the rank cap on a fitted ``C``.

``python benchmarks/scratch/dscnet_rank_cap.py two-manifolds 0 1 2`` fits DSC-Net
(defaults) on a suite dataset (the bench's data path) for each seed, then spectral
clustering on DSC-Net's affinity from the same ``C`` with ``d k + 1`` directions (no cap)
and with at most ``p + 1`` (``p`` the codes' dimension). Session 7, RESULTS.md.
"""

import sys

import torch

from deepclust.bench.suite import select
from deepclust.data import registry
from deepclust.methods.classic import spectral_labels
from deepclust.methods.dscnet import DSCNet, subspace_affinity_from_codes, threshold_columns
from deepclust.metrics import external_metrics
from deepclust.run import fit_region, vectors_for

torch.set_num_threads(1)
name, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [0]
entry = select([name])[0][0]
ds = registry.load(entry.spec, **entry.data_options)
region = fit_region(ds, entry.preprocess)
X, y, k = vectors_for(ds, entry.preprocess)[region], ds.y[region], entry.n_clusters
for seed in seeds:
    est = DSCNet(k, random_state=seed, device="cpu").fit(X)
    C = threshold_columns(est.coefficients_, est.rho_)
    p = est.embedding_.shape[1]
    row = [name, "seed", seed, "code dim", p]
    for label, code_dim in (("no cap", None), ("cap", p)):
        A = subspace_affinity_from_codes(C, k, int(est.subspace_dim), est.alpha_, code_dim)
        acc = external_metrics(y, spectral_labels(A, k, 10, seed)[1])["acc"]
        row += [label, round(acc, 3)]
    print(*row, flush=True)
