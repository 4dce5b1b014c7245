# ruff: noqa
"""The auto window SCDSC picks on suite scenes (diagnostic): python benchmarks/scratch/scdsc_windows.py hsi-5c salinas-a-labelled ..."""

import numpy as np
from deepclust.bench.suite import select
from deepclust.data.registry import load
from deepclust.methods.scdsc import SCDSC
from deepclust.run import fit_region
import sys

for name in sys.argv[1:]:
    e = select([name])[0][0]
    ds = load(e.spec, **e.data_options)
    region = fit_region(ds, e.preprocess)
    mask = np.zeros(ds.n_samples, bool)
    mask[region] = True
    est = SCDSC(e.n_clusters, epochs=0, random_state=0).fit(
        ds.cube, mask=mask.reshape(ds.grid_shape)
    )
    print(name, est.window_, flush=True)
