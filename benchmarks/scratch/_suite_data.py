"""The fitted region of a development-suite dataset as vectors, for the scratch scripts."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepclust.bench.suite import select
from deepclust.data import registry
from deepclust.run import fit_region, vectors_for


def suite_vectors(name: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(entry, X, y)``: the suite entry ``name`` and its samples as the bench fits them."""
    entry = select([name])[0][0]
    ds = registry.load(entry.spec, **entry.data_options)
    region = fit_region(ds, entry.preprocess)
    return entry, vectors_for(ds, entry.preprocess)[region], ds.y[region]
