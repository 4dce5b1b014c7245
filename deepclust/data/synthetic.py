"""Synthetic data sets with known labels, for demos, tests and sanity checks.

Every generator takes ``random_state`` (same seed -> identical data) and returns a
:class:`~deepclust.data.container.Dataset` with ``y`` (labels ``0..K-1``, except the
hyperspectral scene, whose ground truth follows the ``load_hsi`` convention ``1..K`` with
0 = unlabelled). Arrays are float32.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ConfigError
from .container import Dataset

__all__ = [
    "make_climate_cube",
    "make_half_circles",
    "make_hsi_scene",
    "make_sphere_manifolds",
    "make_subspaces",
]


def _pos_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _nonneg(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v < 0:
        raise ConfigError(f"{name} must be a finite number >= 0; got {value!r}")
    return v


def make_half_circles(
    n_per_class: int = 2000,
    *,
    distance: float = 0.0,
    noise: float = 0.05,
    shuffle: bool = True,
    random_state: int | None = None,
) -> Dataset:
    """Two classes of 2-D points, each on a half circle (DGG paper, §4.1).

    Class 0 is the upper unit half circle ``(cos t, sin t)``, class 1 the lower unit half
    circle ``(1 - cos t, 0.5 - sin t - distance)``, ``t`` evenly spaced in ``[0, pi]``,
    plus isotropic Gaussian noise.

    Parameters
    ----------
    n_per_class : int, default 2000
        Points per class (the paper uses 2000).
    distance : float, default 0.0
        Vertical offset (downwards) of class 1 from its position in scikit-learn's
        ``make_moons``. ``0`` reproduces the interleaved moons (the tip of each arc
        reaches 0.5 into the other); at ``0.5`` the arcs' end points sit on the same
        horizontal line ``y = 0``; for ``distance > 0.5`` the noise-free classes are
        separated by a horizontal gap of ``distance - 0.5`` (class 0 has ``y >= 0``,
        class 1 ``y <= 0.5 - distance``). Negative values interleave them further.
    noise : float, default 0.05
        Standard deviation of the Gaussian noise added to each coordinate.
    shuffle : bool, default True
        Shuffle the samples (otherwise class 0 comes first, in arc order).
    random_state : int, optional

    Returns
    -------
    Dataset
        ``kind="vectors"``, ``X`` of shape ``(2 * n_per_class, 2)``, ``y`` in {0, 1}.
    """
    n = _pos_int("n_per_class", n_per_class)
    noise = _nonneg("noise", noise)
    distance = float(distance)
    rng = np.random.default_rng(random_state)
    t = np.linspace(0.0, np.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t) - distance])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((2 * n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), n)
    if shuffle:
        perm = rng.permutation(2 * n)
        X, y = X[perm], y[perm]
    return Dataset(
        X=X.astype(np.float32),
        y=y,
        name="half_circles",
        kind="vectors",
        extra={"distance": distance, "noise": noise},
    )


def make_sphere_manifolds(
    n_per_manifold: int = 100,
    *,
    amplitude: float = 0.2,
    omega: float = 5,
    noise: float = 0.05,
    project: bool = False,
    shuffle: bool = True,
    random_state: int | None = None,
) -> Dataset:
    """Two manifolds near the sphere S^2: a wavy great circle and a polar blob (MLC, App. D.1).

    Manifold 0 (eq. 7): ``x_i = [cos(A sin(w phi_i)) cos(phi_i), cos(A sin(w phi_i))
    sin(phi_i), sin(A sin(w phi_i))] + eps_i`` with ``phi_i = 2 pi i / n``, ``i = 1..n``.
    Manifold 1: ``n`` samples of ``N([0, 0, 1], noise * I_3)``.

    Parameters
    ----------
    n_per_manifold : int, default 100
        Points per manifold (``n`` above; the paper uses 100).
    amplitude : float, default 0.2
        ``A``, the latitude amplitude of the wave.
    omega : float, default 5
        ``w``, the number of waves around the circle.
    noise : float, default 0.05
        Variance of the isotropic Gaussian noise ``eps_i`` and of the blob. The paper
        writes ``N(0, 0.05 I_3)``; a covariance of ``0.05 I`` means a standard deviation
        of ``sqrt(0.05) ~ 0.22`` per coordinate.
    project : bool, default False
        Normalise every point to unit norm (onto the sphere, as the paper's figure).
    shuffle : bool, default True
        Shuffle the samples (otherwise manifold 0 comes first, in ``phi`` order).
    random_state : int, optional

    Returns
    -------
    Dataset
        ``kind="vectors"``, ``X`` of shape ``(2 * n_per_manifold, 3)``, ``y`` in {0, 1}.
    """
    n = _pos_int("n_per_manifold", n_per_manifold)
    std = np.sqrt(_nonneg("noise", noise))
    rng = np.random.default_rng(random_state)
    phi = 2.0 * np.pi * np.arange(1, n + 1) / n
    lat = float(amplitude) * np.sin(float(omega) * phi)
    curve = np.column_stack([np.cos(lat) * np.cos(phi), np.cos(lat) * np.sin(phi), np.sin(lat)])
    curve += std * rng.standard_normal((n, 3))
    blob = np.array([0.0, 0.0, 1.0]) + std * rng.standard_normal((n, 3))
    X = np.concatenate([curve, blob])
    if project:
        norm = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.maximum(norm, np.finfo(float).tiny)
    y = np.repeat(np.arange(2, dtype=np.int64), n)
    if shuffle:
        perm = rng.permutation(2 * n)
        X, y = X[perm], y[perm]
    return Dataset(
        X=X.astype(np.float32),
        y=y,
        name="sphere_manifolds",
        kind="vectors",
        extra={"amplitude": float(amplitude), "omega": float(omega), "noise": float(noise)},
    )


def make_subspaces(
    n_subspaces: int = 5,
    *,
    ambient_dim: int = 30,
    subspace_dim: int = 3,
    n_per_subspace: int = 100,
    noise: float = 0.0,
    shuffle: bool = True,
    random_state: int | None = None,
) -> Dataset:
    """Points on a union of random linear subspaces.

    Each subspace has an orthonormal basis ``U_k`` (QR of a Gaussian matrix); its points
    are ``U_k c`` with ``c ~ N(0, I_d)``, plus isotropic Gaussian noise.

    Parameters
    ----------
    n_subspaces : int, default 5
    ambient_dim : int, default 30
    subspace_dim : int, default 3
        Must not exceed ``ambient_dim``.
    n_per_subspace : int, default 100
    noise : float, default 0.0
        Standard deviation of the noise added to every coordinate.
    shuffle : bool, default True
    random_state : int, optional

    Returns
    -------
    Dataset
        ``kind="vectors"``, ``X`` of shape ``(n_subspaces * n_per_subspace, ambient_dim)``,
        ``y`` the subspace index, ``extra["bases"]`` the ``(K, ambient_dim, subspace_dim)``
        orthonormal bases.
    """
    k = _pos_int("n_subspaces", n_subspaces)
    D = _pos_int("ambient_dim", ambient_dim)
    d = _pos_int("subspace_dim", subspace_dim)
    n = _pos_int("n_per_subspace", n_per_subspace)
    noise = _nonneg("noise", noise)
    if d > D:
        raise ConfigError(f"subspace_dim={d} exceeds ambient_dim={D}; expected subspace_dim <= D")
    rng = np.random.default_rng(random_state)
    bases = np.linalg.qr(rng.standard_normal((k, D, d)))[0]  # batched QR: (k, D, d)
    coef = rng.standard_normal((k, n, d))
    X = np.einsum("kDd,knd->knD", bases, coef).reshape(k * n, D)
    if noise:
        X += noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(k, dtype=np.int64), n)
    if shuffle:
        perm = rng.permutation(k * n)
        X, y = X[perm], y[perm]
    return Dataset(
        X=X.astype(np.float32),
        y=y,
        name="subspaces",
        kind="vectors",
        extra={"bases": bases, "noise": noise},
    )


def _smooth_spectra(rng: np.random.Generator, k: int, n_bands: int) -> np.ndarray:
    """K distinct smooth spectra in about [0.1, 1]: each class has its own main bump."""
    w = np.linspace(0.0, 1.0, n_bands)
    centres = (np.arange(k) + 0.5) / k  # distinct main peaks keep the classes apart
    spectra = 0.15 + 0.25 * rng.random((k, 1)) * w  # sloped baseline
    spectra = spectra + 0.6 * np.exp(-0.5 * ((w - centres[:, None]) / (0.5 / k + 0.03)) ** 2)
    for _ in range(2):  # secondary bumps for texture
        c = rng.random((k, 1))
        width = 0.05 + 0.15 * rng.random((k, 1))
        spectra += 0.25 * rng.random((k, 1)) * np.exp(-0.5 * ((w - c) / width) ** 2)
    return spectra


def _mixed_abundances(full: np.ndarray, k: int, mixing: int) -> np.ndarray:
    """Class shares of every pixel's ``(2 mixing + 1)^2`` window, ``(rows, cols, k)``."""
    from scipy.ndimage import uniform_filter

    onehot = np.zeros(full.shape + (k,), dtype=np.float32)
    np.put_along_axis(onehot, (full - 1)[..., None], 1.0, axis=-1)
    return uniform_filter(onehot, size=(2 * mixing + 1, 2 * mixing + 1, 1), mode="nearest")


def _cube_buffer(out: np.ndarray | None, shape: tuple[int, int, int]) -> np.ndarray:
    """``out`` checked against the scene's shape, or a new float32 array."""
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if tuple(out.shape) != shape or out.dtype != np.float32:
        raise ConfigError(
            f"out has shape {tuple(out.shape)} and dtype {out.dtype}; expected {shape} float32"
        )
    return out


def make_hsi_scene(
    shape: tuple[int, int] = (64, 64),
    *,
    n_bands: int = 50,
    n_classes: int = 5,
    noise: float = 0.02,
    variability: float = 0.05,
    n_regions: int | None = None,
    border: bool = True,
    similarity: float = 0.0,
    mixing: int = 0,
    random_state: int | None = None,
    out: np.ndarray | None = None,
) -> Dataset:
    """A synthetic hyperspectral scene with spatially coherent classes.

    The scene is cut into ``n_regions`` Voronoi cells of random seed pixels; every cell
    gets a class (each class at least one cell) and each class a smooth spectrum (a
    baseline, one main Gaussian bump at a class-specific wavelength and two random
    bumps). A pixel's spectrum is its class spectrum times a brightness factor
    ``1 + variability * N(0, 1)`` (illumination-like spectral variability) plus white
    noise of standard deviation ``noise``.

    Parameters
    ----------
    shape : (rows, cols), default (64, 64)
    n_bands : int, default 50
    n_classes : int, default 5
    noise : float, default 0.02
        Standard deviation of the per-band white noise (spectra lie in about [0.1, 1]).
    variability : float, default 0.05
        Standard deviation of the per-pixel brightness factor.
    n_regions : int, optional
        Voronoi cells; default ``2 * n_classes`` (capped at the number of pixels), so a
        class may appear in several places like real land cover.
    border : bool, default True
        Leave pixels on region boundaries unlabelled (0) in the ground truth, as real
        ground truths do; ``extra["full_gt"]`` has every pixel's class.
    similarity : float in [0, 1), default 0
        Pulls every class spectrum towards the mean spectrum:
        ``(1 - similarity) * spectrum + similarity * mean`` (0.8 leaves a fifth of the
        contrast between classes).
    mixing : int, default 0
        Half-width of a box filter over the class abundance maps: a pixel within
        ``mixing`` pixels of a boundary is a linear mixture of the classes in its
        ``(2 mixing + 1)^2`` window (mixed pixels, as at real field edges); its ground
        truth stays the class of its region.
    random_state : int, optional
    out : ndarray of shape (rows, cols, n_bands), float32, optional
        Where to write the cube, e.g. a memory-mapped ``.npy``
        (``numpy.lib.format.open_memmap``) for a scene larger than memory; the same
        values as without it.

    Returns
    -------
    Dataset
        Laid out exactly as :func:`deepclust.data.hsi.load_hsi` returns a scene:
        ``kind="hsi"``, ``cube`` float32 ``(rows, cols, n_bands)``, ``X`` its
        ``(rows*cols, n_bands)`` view, ``y`` int64 in ``0..n_classes`` (0 = unlabelled),
        ``unlabelled=0``, ``mask = gt > 0``, ``grid_shape``; ``extra`` has ``spectra``
        ``(n_classes, n_bands)`` and ``full_gt``.

    Notes
    -----
    Generated block by block in float32: a 1000 x 1000 x 50 scene takes a few seconds and
    little more memory than the 200 MB cube.
    """
    rows, cols, b, k, m = _check_scene_arguments(shape, n_bands, n_classes, n_regions)
    noise = _nonneg("noise", noise)
    variability = _nonneg("variability", variability)
    similarity = _nonneg("similarity", similarity)
    if similarity >= 1:
        raise ConfigError(f"similarity must be in [0, 1); got {similarity}")
    if _nonneg("mixing", mixing) != int(mixing):
        raise ConfigError(f"mixing must be a whole number of pixels >= 0; got {mixing!r}")
    mixing = int(mixing)
    rng = np.random.default_rng(random_state)
    full = _voronoi_class_map(rng, rows, cols, k, m)
    spectra = _smooth_spectra(rng, k, b)
    spectra = ((1.0 - similarity) * spectra + similarity * spectra.mean(0)).astype(np.float32)
    cube = _cube_buffer(out, (rows, cols, b))
    abundance = _mixed_abundances(full, k, mixing) if mixing else None
    step = _scene_block_rows(cols)
    for r0 in range(0, rows, step):
        blk = full[r0 : r0 + step]
        out = cube[r0 : r0 + step]
        if abundance is None:
            np.take(spectra, blk - 1, axis=0, out=out)
        else:
            np.matmul(abundance[r0 : r0 + step], spectra, out=out)
        if variability:
            out *= 1.0 + variability * rng.standard_normal(blk.shape + (1,), dtype=np.float32)
        if noise:
            out += noise * rng.standard_normal(out.shape, dtype=np.float32)
    gt = full.copy()
    if border:
        gt[_class_boundaries(full)] = 0
    return Dataset(
        X=cube.reshape(-1, b),
        y=gt.reshape(-1),
        name="synthetic_hsi",
        kind="hsi",
        grid_shape=(rows, cols),
        mask=gt > 0,
        variables=[f"band_{i}" for i in range(b)],
        cube=cube,
        unlabelled=0,
        extra={
            "spectra": spectra,
            "full_gt": full,
            "noise": noise,
            "similarity": similarity,
            "mixing": mixing,
            "source": "synthetic",
        },
    )


def _check_scene_arguments(
    shape: tuple[int, int], n_bands: int, n_classes: int, n_regions: int | None
) -> tuple[int, int, int, int, int]:
    """``rows, cols, bands, classes, regions`` of :func:`make_hsi_scene`, validated."""
    if len(tuple(shape)) != 2:
        raise ConfigError(f"shape must be (rows, cols); got {shape!r}")
    rows, cols = (_pos_int("shape", s) for s in shape)
    b = _pos_int("n_bands", n_bands)
    k = _pos_int("n_classes", n_classes)
    n_pix = rows * cols
    m = 2 * k if n_regions is None else _pos_int("n_regions", n_regions)
    if k > n_pix or m < k:
        raise ConfigError(
            f"n_classes={k}, n_regions={m} for {n_pix} pixels; "
            "expected n_classes <= n_regions and n_classes <= rows * cols"
        )
    return rows, cols, b, k, min(m, n_pix)


def _scene_block_rows(cols: int) -> int:
    """Rows per generation block: about 2^18 pixels, so memory does not grow with the scene."""
    return max(1, (1 << 18) // cols)


def _voronoi_class_map(
    rng: np.random.Generator, rows: int, cols: int, k: int, m: int
) -> np.ndarray:
    """Classes ``1..k`` of ``m`` Voronoi cells around random seed pixels (every class used)."""
    from scipy.spatial import cKDTree

    seeds = rng.choice(rows * cols, size=m, replace=False)
    seed_rc = np.column_stack(np.divmod(seeds, cols)).astype(np.float64)
    region_class = np.concatenate([np.arange(k), rng.integers(0, k, m - k)])
    region_class = rng.permutation(region_class)
    tree = cKDTree(seed_rc)
    full = np.empty((rows, cols), dtype=np.int64)
    cc = np.arange(cols, dtype=np.float64)
    step = _scene_block_rows(cols)
    for r0 in range(0, rows, step):
        rr = np.arange(r0, min(rows, r0 + step), dtype=np.float64)
        pts = np.column_stack([np.repeat(rr, cols), np.tile(cc, rr.size)])
        full[r0 : r0 + rr.size] = region_class[tree.query(pts)[1]].reshape(rr.size, cols) + 1
    return full


def _class_boundaries(full: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another class."""
    edge = np.zeros(full.shape, dtype=bool)
    diff_v = full[1:] != full[:-1]
    diff_h = full[:, 1:] != full[:, :-1]
    edge[1:] |= diff_v
    edge[:-1] |= diff_v
    edge[:, 1:] |= diff_h
    edge[:, :-1] |= diff_h
    return edge


def _smooth_patterns(rng: np.random.Generator, count: int, n_lat: int, n_lon: int) -> np.ndarray:
    """``count`` smooth unit-variance fields on the grid (sums of low-frequency waves)."""
    yy = np.linspace(0.0, 1.0, n_lat)[:, None]
    xx = np.linspace(0.0, 1.0, n_lon)[None, :]
    fields = np.zeros((count, n_lat, n_lon))
    for _ in range(4):
        fy, fx = rng.uniform(0.0, 2.0, (2, count, 1, 1))
        ph = rng.uniform(0.0, 2 * np.pi, (count, 1, 1))
        fields += rng.standard_normal((count, 1, 1)) * np.cos(2 * np.pi * (fy * yy + fx * xx) + ph)
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    sd = fields.std(axis=(1, 2), keepdims=True)
    return fields / np.where(sd > 0, sd, 1.0)


def make_climate_cube(
    n_time: int = 365,
    *,
    n_lat: int = 16,
    n_lon: int = 16,
    n_vars: int = 3,
    n_regimes: int = 4,
    persistence: float = 0.9,
    noise: float = 0.1,
    start: str = "2000-01-01",
    random_state: int | None = None,
) -> Dataset:
    """A daily climate cube whose time steps switch between K weather regimes.

    The regime sequence is a Markov chain: the first regime is uniform, then each day
    keeps the previous regime with probability ``persistence`` and otherwise jumps to one
    of the other regimes uniformly. Every regime has its own smooth, unit-variance
    spatial pattern per variable; a day is its regime's pattern plus white noise.

    Parameters
    ----------
    n_time : int, default 365
    n_lat, n_lon : int, default 16
    n_vars : int, default 3
    n_regimes : int, default 4
    persistence : float in [0, 1], default 0.9
        Probability of staying in the same regime from one day to the next.
    noise : float, default 0.1
        Standard deviation of the white noise (the patterns have unit variance).
    start : str, default "2000-01-01"
        First day of the daily time axis.
    random_state : int, optional

    Returns
    -------
    Dataset
        Laid out as :func:`deepclust.data.climate.load_climate` returns a cube (values are
        not Min-Max scaled): ``kind="climate"``, ``cube`` float32
        ``(n_time, n_lat, n_lon, n_vars)``, ``X`` its ``(n_time, n_lat*n_lon*n_vars)``
        view, ``y`` the regime of each day, ``time`` datetime64[ns] days,
        ``grid_shape``, ``mask`` all True, ``variables`` ``var0..``; ``extra`` has
        ``lat``, ``lon`` and the ``patterns`` ``(n_regimes, n_lat, n_lon, n_vars)``.
        With a short series a regime may not occur.
    """
    t_n = _pos_int("n_time", n_time)
    la = _pos_int("n_lat", n_lat)
    lo = _pos_int("n_lon", n_lon)
    v = _pos_int("n_vars", n_vars)
    k = _pos_int("n_regimes", n_regimes)
    noise = _nonneg("noise", noise)
    p = float(persistence)
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"persistence must be in [0, 1]; got {persistence!r}")
    try:
        t0 = np.datetime64(start, "D")
    except ValueError as exc:
        raise ConfigError(f"start={start!r} is not a date; expected e.g. '2000-01-01'") from exc
    rng = np.random.default_rng(random_state)

    # Regime chain, vectorised: jumps happen where u >= p; a jump adds 1..K-1 (mod K).
    regimes = np.empty(t_n, dtype=np.int64)
    regimes[0] = rng.integers(k)
    if t_n > 1:
        jump = rng.random(t_n - 1) >= p if k > 1 else np.zeros(t_n - 1, dtype=bool)
        shift = np.where(jump, rng.integers(1, max(k, 2), t_n - 1), 0)
        regimes[1:] = (regimes[0] + np.cumsum(shift)) % k

    patterns = _smooth_patterns(rng, k * v, la, lo).reshape(k, v, la, lo)
    patterns = np.ascontiguousarray(patterns.transpose(0, 2, 3, 1), dtype=np.float32)
    cube = patterns[regimes]  # (T, lat, lon, var), a fresh array
    if noise:
        cube += noise * rng.standard_normal(cube.shape, dtype=np.float32)
    time = (t0 + np.arange(t_n)).astype("datetime64[ns]")
    return Dataset(
        X=cube.reshape(t_n, -1),
        y=regimes,
        name="synthetic_climate",
        kind="climate",
        grid_shape=(la, lo),
        mask=np.ones((la, lo), dtype=bool),
        time=time,
        variables=[f"var{i}" for i in range(v)],
        cube=cube,
        extra={
            "lat": np.linspace(-60.0, 60.0, la),
            "lon": np.linspace(0.0, 360.0, lo, endpoint=False),
            "patterns": patterns,
            "persistence": p,
            "noise": noise,
            "source": "synthetic",
        },
    )
