"""Synthetic generators: shapes, label counts, determinism and a floor on structure quality."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from deepclust.data.synthetic import (
    make_climate_cube,
    make_half_circles,
    make_hsi_scene,
    make_sphere_manifolds,
    make_subspaces,
)
from deepclust.exceptions import ConfigError

GENERATORS = [
    lambda rs: make_half_circles(50, random_state=rs),
    lambda rs: make_sphere_manifolds(30, random_state=rs),
    lambda rs: make_subspaces(3, n_per_subspace=20, noise=0.01, random_state=rs),
    lambda rs: make_hsi_scene((20, 24), random_state=rs),
    lambda rs: make_climate_cube(40, random_state=rs),
]


@pytest.mark.parametrize("make", GENERATORS)
def test_determinism(make):
    a, b, c = make(0), make(0), make(1)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.dtype == np.float32 and a.y.dtype == np.int64


def _acc(y, labels):
    """Best-permutation accuracy for two clusters."""
    agree = np.mean(y == labels)
    return max(agree, 1 - agree)


def test_half_circles_geometry_and_separation():
    ds = make_half_circles(2000, distance=0.0, noise=0.0, shuffle=False, random_state=0)
    assert ds.kind == "vectors" and ds.X.shape == (4000, 2)
    np.testing.assert_array_equal(np.bincount(ds.y), [2000, 2000])
    upper, lower = ds.X[:2000], ds.X[2000:]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= -1e-6 and lower[:, 1].max() <= 0.5 + 1e-6
    # distance moves class 1 straight down.
    far = make_half_circles(2000, distance=2.0, noise=0.0, shuffle=False)
    np.testing.assert_allclose(far.X[2000:] - lower, [[0.0, -2.0]] * 2000, atol=1e-6)
    # Interleaved moons defeat k-means; separated arcs do not.
    for distance, lo, hi in ((0.0, 0.5, 0.9), (2.0, 0.99, 1.0)):
        d = make_half_circles(1000, distance=distance, noise=0.05, random_state=0)
        labels = KMeans(2, n_init=5, random_state=0).fit_predict(d.X)
        assert lo <= _acc(d.y, labels) <= hi, distance


def test_sphere_manifolds_equation_and_noise_variance():
    clean = make_sphere_manifolds(100, noise=0.0, shuffle=False)
    phi = 2 * np.pi * np.arange(1, 101) / 100
    lat = 0.2 * np.sin(5 * phi)
    expected = np.column_stack([np.cos(lat) * np.cos(phi), np.cos(lat) * np.sin(phi), np.sin(lat)])
    np.testing.assert_allclose(clean.X[:100], expected, atol=1e-6)
    np.testing.assert_allclose(clean.X[100:], [[0, 0, 1]] * 100, atol=1e-7)
    big = make_sphere_manifolds(20000, noise=0.05, shuffle=False, random_state=0)
    blob = big.X[20000:].astype(np.float64)
    np.testing.assert_allclose(blob.mean(0), [0, 0, 1], atol=0.01)
    np.testing.assert_allclose(blob.var(0), 0.05, rtol=0.05)  # 0.05 is the variance
    proj = make_sphere_manifolds(50, project=True, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(proj.X, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.bincount(proj.y), [50, 50])


def test_subspaces_are_low_rank_and_orthonormal():
    ds = make_subspaces(4, ambient_dim=20, subspace_dim=3, n_per_subspace=50, random_state=0)
    assert ds.X.shape == (200, 20)
    np.testing.assert_array_equal(np.bincount(ds.y), [50] * 4)
    bases = ds.extra["bases"]
    assert bases.shape == (4, 20, 3)
    for k in range(4):
        np.testing.assert_allclose(bases[k].T @ bases[k], np.eye(3), atol=1e-10)
        pts = ds.X[ds.y == k].astype(np.float64)
        assert np.linalg.matrix_rank(pts, tol=1e-4) == 3
        residual = pts - pts @ bases[k] @ bases[k].T
        assert np.abs(residual).max() < 1e-5
    with pytest.raises(ConfigError, match="subspace_dim=5 exceeds ambient_dim=4"):
        make_subspaces(ambient_dim=4, subspace_dim=5)


def test_hsi_scene_written_into_a_memory_map(tmp_path):
    """``out=``: the cube goes into a memmapped .npy (scenes larger than memory), with the
    values of the in-memory scene; a wrong buffer is refused."""
    path = tmp_path / "scene.npy"
    buffer = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(30, 40, 12))
    mapped = make_hsi_scene((30, 40), n_bands=12, n_classes=3, mixing=1, random_state=5,
                            out=buffer)  # fmt: skip
    buffer.flush()
    plain = make_hsi_scene((30, 40), n_bands=12, n_classes=3, mixing=1, random_state=5)
    assert np.shares_memory(mapped.cube, buffer)
    np.testing.assert_array_equal(np.load(path), plain.cube)
    np.testing.assert_array_equal(mapped.y, plain.y)
    with pytest.raises(ConfigError, match="expected \\(30, 40, 12\\) float32"):
        make_hsi_scene((30, 40), n_bands=12, out=np.zeros((30, 40, 12)))


def test_hsi_scene_layout_coherence_and_separability():
    ds = make_hsi_scene((60, 70), n_bands=30, n_classes=5, random_state=0)
    assert ds.kind == "hsi" and ds.grid_shape == (60, 70) and ds.unlabelled == 0
    assert ds.cube.shape == (60, 70, 30) and ds.cube.dtype == np.float32
    assert ds.X.shape == (4200, 30) and np.shares_memory(ds.X, ds.cube)
    gt = ds.y.reshape(60, 70)
    np.testing.assert_array_equal(ds.mask, gt > 0)
    assert set(np.unique(gt)) == {0, 1, 2, 3, 4, 5}
    assert 0 < (gt == 0).mean() < 0.2  # a thin unlabelled border
    full = ds.extra["full_gt"]
    labelled = gt > 0
    np.testing.assert_array_equal(full[labelled], gt[labelled])
    # Spatial coherence: most pixels share all four neighbours' class.
    same = (
        (full[1:-1, 1:-1] == full[:-2, 1:-1])
        & (full[1:-1, 1:-1] == full[2:, 1:-1])
        & (full[1:-1, 1:-1] == full[1:-1, :-2])
        & (full[1:-1, 1:-1] == full[1:-1, 2:])
    )
    assert same.mean() > 0.85
    # Distinct spectra: k-means on the pixels recovers the classes.
    lab = ds.y > 0
    pred = KMeans(5, n_init=5, random_state=0).fit_predict(ds.X[lab])
    assert adjusted_rand_score(ds.y[lab], pred) > 0.9
    no_border = make_hsi_scene((10, 10), n_classes=3, border=False, random_state=0)
    assert no_border.y.min() == 1


def test_hsi_scene_similarity_shrinks_class_contrast_by_its_factor():
    plain = make_hsi_scene((20, 20), n_classes=4, random_state=3)
    close = make_hsi_scene((20, 20), n_classes=4, similarity=0.75, random_state=3)
    a, b = plain.extra["spectra"], close.extra["spectra"]
    np.testing.assert_allclose(b - b.mean(0), 0.25 * (a - a.mean(0)), atol=1e-6)
    np.testing.assert_allclose(b.mean(0), a.mean(0), atol=1e-6)
    with pytest.raises(ConfigError, match="similarity"):
        make_hsi_scene((20, 20), similarity=1.0)


def test_hsi_scene_mixing_blends_only_pixels_near_boundaries():
    kw = dict(n_classes=3, noise=0.0, variability=0.0, random_state=1)
    pure = make_hsi_scene((30, 30), **kw)
    mixed = make_hsi_scene((30, 30), mixing=1, **kw)
    full = pure.extra["full_gt"]
    # Pixels whose whole 3x3 window is one class keep their class spectrum exactly.
    from scipy.ndimage import maximum_filter, minimum_filter

    inner = maximum_filter(full, 3, mode="nearest") == minimum_filter(full, 3, mode="nearest")
    np.testing.assert_allclose(mixed.cube[inner], pure.cube[inner], atol=1e-6)
    # A boundary pixel is the window's class shares times the class spectra.
    r, c = np.argwhere(~inner)[0]
    win = np.pad(full, 1, mode="edge")[r : r + 3, c : c + 3]
    shares = np.bincount(win.ravel() - 1, minlength=3) / 9.0
    np.testing.assert_allclose(mixed.cube[r, c], shares @ pure.extra["spectra"], atol=1e-5)
    np.testing.assert_array_equal(mixed.y, pure.y)
    with pytest.raises(ConfigError, match="mixing"):
        make_hsi_scene((20, 20), mixing=1.5)


def test_hsi_scene_scales_to_a_megapixel():
    start = time.perf_counter()
    ds = make_hsi_scene((1000, 1000), n_bands=50, n_classes=6, random_state=0)
    elapsed = time.perf_counter() - start
    assert ds.cube.shape == (1000, 1000, 50) and ds.cube.nbytes == 200_000_000
    assert elapsed < 15, elapsed
    assert np.unique(ds.extra["full_gt"]).size == 6


def test_climate_cube_regimes_are_recoverable():
    ds = make_climate_cube(
        365, n_lat=12, n_lon=10, n_vars=3, n_regimes=4, noise=0.1, random_state=0
    )
    assert ds.kind == "climate" and ds.cube.shape == (365, 12, 10, 3)
    assert ds.X.shape == (365, 360) and np.shares_memory(ds.X, ds.cube)
    assert ds.grid_shape == (12, 10) and ds.mask.all() and ds.variables == ["var0", "var1", "var2"]
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert ds.time[0] == np.datetime64("2000-01-01") and ds.time[-1] == np.datetime64("2000-12-30")
    counts = np.bincount(ds.y, minlength=4)
    assert counts.size == 4 and counts.min() > 0
    stay = np.mean(ds.y[1:] == ds.y[:-1])
    assert 0.85 < stay < 0.95  # persistence 0.9
    pred = KMeans(4, n_init=5, random_state=0).fit_predict(ds.X)
    assert adjusted_rand_score(ds.y, pred) > 0.9
    # Days of one regime scatter around its pattern with the requested noise.
    k = ds.y[0]
    resid = ds.cube[ds.y == k] - ds.extra["patterns"][k]
    assert abs(resid.std() - 0.1) < 0.01


def test_climate_cube_persistence_extremes():
    assert np.unique(make_climate_cube(50, persistence=1.0, random_state=0).y).size == 1
    y = make_climate_cube(200, persistence=0.0, random_state=0).y
    assert np.all(y[1:] != y[:-1])
    with pytest.raises(ConfigError, match="persistence"):
        make_climate_cube(persistence=1.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_half_circles(0),
        lambda: make_half_circles(10, noise=-1),
        lambda: make_sphere_manifolds(10, noise=float("nan")),
        lambda: make_hsi_scene((10,)),
        lambda: make_hsi_scene((2, 2), n_classes=5),
        lambda: make_climate_cube(10, start="yesterday-ish"),
    ],
)
def test_bad_parameters_are_config_errors(call):
    with pytest.raises(ConfigError) as e:
        call()
    assert "\n" not in str(e.value)
