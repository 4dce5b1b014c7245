"""The development suite: every dataset the bench knows, in one list.

Each :class:`BenchDataset` names a loader spec (as ``deepclust run --data`` takes it),
its loader options and preprocessing, the number of clusters and a tier:

``quick``
    Small sets (at most about 4,000 samples) that k-means and two or three deep methods
    cover with three seeds in about half an hour on two cores.
``full``
    Everything, including MNIST (70,000 images), the whole half-circle grid and
    Salinas-A under both protocols.

Entries built on the real files of ``../shared/data`` (found beside the repository, or
at ``$DEEPCLUST_SHARED_DATA``) record those files in ``requires``; when one is absent,
:func:`select` leaves the entry out with a note instead of failing.

Two loaders that the data registry lacks are registered here (importing this module
adds them to :data:`deepclust.data.registry.DATASETS`):

``bench:subset``
    A seeded, stratified subset of another spec (MNIST-10k, USPS-2k).
``bench:half-circles``
    :func:`~deepclust.data.synthetic.make_half_circles` with a ``spacing`` option:
    ``"even"`` (the generator's evenly spaced angles) or ``"random"`` (uniform angles).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..data import registry
from ..data.container import Dataset
from ..exceptions import ConfigError, DataNotFoundError

Tier = Literal["quick", "full"]
#: Environment variable naming the real-data folder.
SHARED_ENV = "DEEPCLUST_SHARED_DATA"
#: Registry kinds (loader modules) whose data are not plain vectors or images.
_KIND_OF_MODULE = {
    "deepclust.data.hsi": "hsi",
    "deepclust.data.climate": "climate",
    "deepclust.data.images": "images",
    "deepclust.data.imagenet_subsets": "images",
    "deepclust.data.tiny_imagenet": "images",
}
_KIND_OF_NAME = {"synthetic:hsi": "hsi", "synthetic:climate": "climate"}


@dataclass(frozen=True, eq=False)
class BenchDataset:
    """One dataset of the bench.

    Parameters
    ----------
    name : str
        Short name, used in cell file names (letters, digits, ``.``, ``_``, ``-``).
    spec : str
        Data spec for :func:`deepclust.data.registry.load`.
    n_clusters : int or None
        Number of clusters; ``None``: the number of ground-truth classes.
    tier : {"quick", "full"}
    data_options : dict
        Loader options.
    preprocess : dict
        ``RunSettings.preprocess`` (``standardize``, ``pca``, ``region``).
    kind : {"vectors", "images", "hsi", "climate"}
        Decides which methods ``methods="all"`` runs on it.
    requires : tuple of Path
        Files that must exist (real data); empty for bundled and synthetic sets.
    description : str
    """

    name: str
    spec: str
    n_clusters: int | None
    tier: Tier = "full"
    data_options: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)
    kind: str = "vectors"
    requires: tuple[Path, ...] = ()
    description: str = ""

    def missing(self) -> list[Path]:
        """Required files that do not exist."""
        return [p for p in self.requires if not p.exists()]


# ------------------------------------------------------------------ extra loaders
def load_subset(
    *,
    source: str,
    n_samples: int,
    random_state: int = 0,
    stratify: bool = True,
    source_options: dict[str, Any] | None = None,
) -> Dataset:
    """A fixed, seeded subset of another dataset (for vectors and images).

    Parameters
    ----------
    source : str
        Data spec of the full set, e.g. ``"mnist:../shared/data/mnist"``.
    n_samples : int
        Size of the subset.
    random_state : int, default 0
        Seed of the draw; the same seed always gives the same samples.
    stratify : bool, default True
        Keep the class proportions (``sklearn.model_selection.train_test_split`` with
        ``stratify=y``); otherwise a uniform draw without replacement.
    source_options : dict, optional
        Loader options of ``source``.

    Returns
    -------
    Dataset
        The chosen samples in their original order; ``extra["subset_indices"]`` holds
        their indices in the full set.
    """
    from sklearn.model_selection import train_test_split

    ds = registry.load(source, **(source_options or {}))
    if ds.kind not in ("vectors", "images"):
        raise ConfigError(f"bench:subset takes vectors or images; {source} is {ds.kind} data")
    n = int(n_samples)
    if not 1 <= n < ds.n_samples:
        raise ConfigError(f"n_samples={n_samples!r}; expected 1 <= n_samples < {ds.n_samples}")
    idx = np.arange(ds.n_samples)
    strata = ds.y if stratify and ds.y is not None else None
    chosen, _ = train_test_split(idx, train_size=n, stratify=strata, random_state=random_state)
    chosen = np.sort(chosen)
    return Dataset(
        X=ds.X[chosen],
        y=None if ds.y is None else ds.y[chosen],
        name=f"{ds.name}-{n}",
        kind=ds.kind,
        image_shape=ds.image_shape,
        unlabelled=ds.unlabelled,
        extra={"source": source, "subset_indices": chosen, "subset_seed": random_state},
    )


def make_half_circles_spaced(
    n_per_class: int = 2000,
    *,
    distance: float = 0.0,
    noise: float = 0.05,
    spacing: str = "even",
    random_state: int | None = None,
) -> Dataset:
    """Two half circles with evenly spaced or uniformly random angles.

    ``spacing="even"`` is :func:`~deepclust.data.synthetic.make_half_circles` itself.
    ``spacing="random"`` uses the same two arcs, ``(cos t, sin t)`` and
    ``(1 - cos t, 0.5 - sin t - distance)``, with every ``t`` drawn from ``U(0, pi)``
    (so the density along an arc varies), plus Gaussian noise of standard deviation
    ``noise``; the samples are shuffled.
    """
    from ..data.synthetic import make_half_circles

    if spacing == "even":
        return make_half_circles(
            n_per_class, distance=distance, noise=noise, random_state=random_state
        )
    if spacing != "random":
        raise ConfigError(f"spacing={spacing!r}; expected 'even' or 'random'")
    ds = make_half_circles(n_per_class, distance=distance, noise=0.0, shuffle=False)
    n = ds.n_samples // 2
    rng = np.random.default_rng(random_state)
    t = rng.uniform(0.0, np.pi, (2, n))
    upper = np.column_stack([np.cos(t[0]), np.sin(t[0])])
    lower = np.column_stack([1.0 - np.cos(t[1]), 0.5 - np.sin(t[1]) - float(distance)])
    X = np.concatenate([upper, lower]) + float(noise) * rng.standard_normal((2 * n, 2))
    perm = rng.permutation(2 * n)
    ds.X, ds.y = X[perm].astype(np.float32), ds.y[perm]
    ds.extra.update(noise=float(noise), spacing="random")
    return ds


def register_loaders() -> None:
    """Add ``bench:subset`` and ``bench:half-circles`` to the data registry (idempotent)."""
    here = __name__ + ":"
    for name, func, text in (
        ("bench:subset", "load_subset", "seeded stratified subset of another spec"),
        ("bench:half-circles", "make_half_circles_spaced", "half circles, even/random angles"),
    ):
        if name not in registry.DATASETS:
            registry.DATASETS[name] = registry.DatasetEntry(name, here + func, "none", text)


register_loaders()


# ------------------------------------------------------------------ the suite
def shared_root() -> Path:
    """``$DEEPCLUST_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    env = os.environ.get(SHARED_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _synthetic() -> list[BenchDataset]:
    """Half circles (noise x spacing x scaling), sphere manifolds, subspaces."""
    out = []
    quick = {(0.06, "even", "raw"), (0.12, "random", "std")}
    for noise in (0.03, 0.06, 0.12):
        for spacing in ("even", "random"):
            for scaling in ("raw", "std"):
                out.append(
                    BenchDataset(
                        f"half-circles-n{noise}-{spacing}-{scaling}",
                        "bench:half-circles",
                        2,
                        "quick" if (noise, spacing, scaling) in quick else "full",
                        {"noise": noise, "spacing": spacing, "random_state": 0},
                        {"standardize": True} if scaling == "std" else {},
                        description=f"2 x 2000 points, noise {noise}, {spacing} angles, {scaling}",
                    )
                )
    sphere = "synthetic:two-manifolds"
    subsp = "synthetic:subspaces"
    out += [
        BenchDataset("two-manifolds", sphere, 2, "quick", {"random_state": 0},
                     description="MLC App. D.1, 2 x 100 points in R^3"),
        BenchDataset("two-manifolds-sphere", sphere, 2, "full",
                     {"n_per_manifold": 500, "project": True, "random_state": 0},
                     description="2 x 500 points projected onto S^2"),
        BenchDataset("subspaces-5x3d", subsp, 5, "quick", {"noise": 0.01, "random_state": 0},
                     description="5 subspaces of dim 3 in R^30, 100 points each"),
        BenchDataset("subspaces-10x5d-noisy", subsp, 10, "full",
                     {"n_subspaces": 10, "ambient_dim": 50, "subspace_dim": 5,
                      "n_per_subspace": 200, "noise": 0.1, "random_state": 0},
                     description="10 subspaces of dim 5 in R^50, noise 0.1"),
    ]  # fmt: skip
    return out


# The SCDSC robustness protocol (issue 11): scenes that vary one property at a time
# from a 64 x 64, 6-class scene whose class spectra keep a fifth of their contrast
# (similarity 0.8) under noise 0.08, where pixels alone do not settle every class.
# Defaults are chosen on these, never on a benchmark that is reported.
_SCENE_BASE: dict[str, Any] = {
    "shape": (64, 64),
    "n_classes": 6,
    "similarity": 0.8,
    "noise": 0.08,
    "random_state": 0,
}
_SCENE_PROTOCOL: dict[str, tuple[str, dict[str, Any]]] = {
    "scene-base": ("the base scene", {}),
    "scene-easy": ("distinct spectra, noise 0.02", {"similarity": 0.0, "noise": 0.02}),
    "scene-3c": ("3 classes", {"n_classes": 3}),
    "scene-16c": ("16 classes, 96 x 96", {"shape": (96, 96), "n_classes": 16}),
    "scene-big-regions": ("one region per class", {"n_regions": 6}),
    "scene-small-regions": ("40 regions", {"n_regions": 40}),
    "scene-similar": ("class contrast x 0.15", {"similarity": 0.85}),
    "scene-noisy": ("noise 0.15", {"noise": 0.15}),
    "scene-variable": ("brightness variability 0.2", {"variability": 0.2}),
    "scene-mixed": ("mixed pixels 2 px from every boundary", {"mixing": 2}),
    "scene-large": ("128 x 128", {"shape": (128, 128)}),
}  # fmt: skip


def _scene_protocol() -> list[BenchDataset]:
    out = []
    for name, (what, options) in _SCENE_PROTOCOL.items():
        opts = {**_SCENE_BASE, **options}
        out.append(
            BenchDataset(
                name,
                "synthetic:hsi",
                opts["n_classes"],
                "full",
                opts,
                kind="hsi",
                description=f"scene protocol: {what}",
            )
        )
    return out  # fmt: skip


def _scenes_and_cubes() -> list[BenchDataset]:
    """Synthetic hyperspectral scenes and climate cubes."""
    hsi, clim = "synthetic:hsi", "synthetic:climate"
    return [
        BenchDataset("hsi-5c", hsi, 5, "quick",
                     {"shape": (32, 32), "n_classes": 5, "random_state": 0}, kind="hsi",
                     description="32 x 32 scene, 50 bands, 5 classes, noise 0.02"),
        BenchDataset("hsi-8c-noisy", hsi, 8, "full",
                     {"shape": (64, 64), "n_classes": 8, "noise": 0.08, "random_state": 0},
                     kind="hsi", description="64 x 64 scene, 8 classes, noise 0.08"),
        BenchDataset("hsi-12c", hsi, 12, "full",
                     {"shape": (64, 64), "n_classes": 12, "noise": 0.03, "random_state": 0},
                     kind="hsi", description="64 x 64 scene, 12 classes, noise 0.03"),
        *_scene_protocol(),
        BenchDataset("climate-4r", clim, 4, "quick", {"random_state": 0}, kind="climate",
                     description="365 days, 16 x 16 x 3 fields, 4 regimes, noise 0.1"),
        BenchDataset("climate-7r-noisy", clim, 7, "full",
                     {"n_time": 730, "n_regimes": 7, "noise": 1.0, "random_state": 0},
                     kind="climate", description="730 days, 7 regimes, noise 1.0"),
    ]  # fmt: skip


def _real(root: Path) -> list[BenchDataset]:
    """Entries on the files of the shared data folder."""
    mnist, usps = root / "mnist", root / "images" / "usps.h5"
    coil, orl = root / "images" / "COIL20.mat", root / "images" / "ORL_32x32.mat"
    salinas = root / "hsi" / "SalinasA_corrected.mat"
    mnist_files = tuple(mnist / f"{s}-images-idx3-ubyte.gz" for s in ("train", "t10k"))
    no_dl = {"download": False}
    sub = "bench:subset"
    return [
        BenchDataset("digits", "digits", 10, "quick", kind="images",
                     description="scikit-learn digits, 1797 8x8 images"),
        BenchDataset("usps-2k", sub, 10, "quick",
                     {"source": f"h5:{usps}", "n_samples": 2000, "random_state": 0},
                     kind="images", requires=(usps,),
                     description="stratified 2000 of USPS's 9298 (seed 0)"),
        BenchDataset("coil20", f"coil20:{coil}", 20, "quick", kind="images", requires=(coil,),
                     description="COIL-20, 1440 32x32 images of 20 objects"),
        BenchDataset("orl", f"orl:{orl}", 40, "quick", kind="images", requires=(orl,),
                     description="ORL faces, 400 32x32 images of 40 people"),
        BenchDataset("usps", f"h5:{usps}", 10, "full", kind="images", requires=(usps,),
                     description="USPS, train + test, 9298 16x16 digits"),
        BenchDataset("mnist-10k", sub, 10, "full",
                     {"source": f"mnist:{mnist}", "n_samples": 10000, "random_state": 0,
                      "source_options": no_dl},
                     kind="images", requires=mnist_files,
                     description="stratified 10,000 of MNIST's 70,000 (seed 0)"),
        BenchDataset("mnist-70k", f"mnist:{mnist}", 10, "full", no_dl, kind="images",
                     requires=mnist_files, description="MNIST train + test, 70,000 28x28"),
        BenchDataset("salinas-a-labelled", f"hsi:{salinas}", 6, "full",
                     preprocess={"region": "labelled"}, kind="hsi", requires=(salinas,),
                     description="Salinas-A, fit on the 5348 labelled pixels"),
        BenchDataset("salinas-a-all", f"hsi:{salinas}", 6, "full",
                     preprocess={"region": "all"}, kind="hsi", requires=(salinas,),
                     description="Salinas-A, fit on all 7138 pixels, scored on labelled"),
    ]  # fmt: skip


def suite(shared: str | os.PathLike | None = None) -> list[BenchDataset]:
    """Every entry of the development suite (quick ones first), available or not.

    Parameters
    ----------
    shared : path-like, optional
        The real-data folder; default :func:`shared_root`.
    """
    root = Path(shared).expanduser() if shared is not None else shared_root()
    entries = _real(root) + _synthetic() + _scenes_and_cubes()
    return sorted(entries, key=lambda e: e.tier != "quick")  # stable: quick first


def kind_of_spec(spec: str) -> str:
    """Kind of data a spec loads, from its registry entry (no data are read)."""
    entry, _ = registry.parse_spec(spec)
    if entry.name in _KIND_OF_NAME:
        return _KIND_OF_NAME[entry.name]
    return _KIND_OF_MODULE.get(entry.target.partition(":")[0], "vectors")


def adhoc_entry(spec: str, n_clusters: int | None = None, **data_options: Any) -> BenchDataset:
    """A bench entry for a user's own data spec (``mat:my.mat``).

    ``n_clusters=None`` takes the number of ground-truth classes of the data; data
    without labels then fail their cells with a note asking for a K.
    """
    entry, path = registry.parse_spec(spec)
    stem = Path(path).stem if path else entry.name
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{entry.name}-{stem}").strip("-")
    return BenchDataset(
        name, spec, n_clusters, "full", dict(data_options), kind=kind_of_spec(spec),
        description=f"user data {spec}",
    )  # fmt: skip


def _adhoc_checked(spec: str, n_clusters: int | None) -> BenchDataset:
    """:func:`adhoc_entry`, refusing unknown names and paths that do not exist."""
    try:
        entry = adhoc_entry(spec, n_clusters)
    except ConfigError as exc:
        raise ConfigError(
            f"{spec!r} is neither a suite dataset (see --list), a tier (quick, full) nor a "
            f"data spec: {exc}"
        ) from exc
    path = registry.parse_spec(spec)[1]
    if path and not registry.path_exists(Path(path).expanduser()):
        raise DataNotFoundError(f"{spec}: no such file or directory: {path}")
    return entry


def select(
    names: Iterable[str | BenchDataset] | None = None,
    *,
    shared: str | os.PathLike | None = None,
    n_clusters: int | None = None,
) -> tuple[list[BenchDataset], list[str]]:
    """Resolve names, tiers (``quick``, ``full``) and data specs to available entries.

    Parameters
    ----------
    names : iterable, optional
        Suite names, ``"quick"`` / ``"full"``, ``"scenes"`` (every hyperspectral
        scene), data specs or :class:`BenchDataset`
        objects; default ``["quick"]``.
    shared : path-like, optional
        The real-data folder; default :func:`shared_root`.
    n_clusters : int, optional
        K of ad-hoc specs (default: their number of classes).

    Returns
    -------
    entries : list of BenchDataset
        In the order asked, without duplicates and without entries whose files are absent.
    notes : list of str
        One line per entry left out for missing files.
    """
    known = {e.name: e for e in suite(shared)}
    chosen: dict[str, BenchDataset] = {}
    if names is None or isinstance(names, (str, BenchDataset)):
        names = ["quick"] if names is None else [names]
    for item in names:
        if isinstance(item, BenchDataset):
            picked = [item]
        elif item in ("quick", "full"):
            picked = [e for e in known.values() if item == "full" or e.tier == "quick"]
        elif item == "scenes":  # every hyperspectral scene: the SCDSC protocol
            picked = [e for e in known.values() if e.kind == "hsi"]
        elif item in known:
            picked = [known[item]]
        else:
            picked = [_adhoc_checked(item, n_clusters)]
        for e in picked:
            chosen.setdefault(e.name, e)
    notes, entries = [], []
    for e in chosen.values():
        missing = e.missing()
        if missing:
            notes.append(f"skipping {e.name}: {missing[0]} not found")
        else:
            entries.append(e)
    return entries, notes


__all__ = [
    "SHARED_ENV",
    "BenchDataset",
    "adhoc_entry",
    "kind_of_spec",
    "load_subset",
    "make_half_circles_spaced",
    "register_loaders",
    "select",
    "shared_root",
    "suite",
]
