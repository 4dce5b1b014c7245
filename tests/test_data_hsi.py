"""Hyperspectral loaders and patch features: exact round trips, every error path, memory."""

from __future__ import annotations

import hashlib
import shutil
import sys
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from deepclust.data import hsi
from deepclust.data.hsi import (
    SCENES,
    band_pca,
    extract_patches,
    iter_patches,
    load_houston2013,
    load_hsi,
    load_ksc,
    load_salinas_a,
    load_trento,
    patch_features,
    pca_reduce,
    standardize_bands,
)
from deepclust.exceptions import ConfigError, DataError, DataNotFoundError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _offline(offline):
    """No network; the download cache lives in the test's folder (conftest ``offline``)."""


def _scene(rows=5, cols=7, bands=4, seed=0):
    rng = np.random.default_rng(seed)
    cube = rng.integers(-500, 3000, size=(rows, cols, bands)).astype(np.int16)
    gt = rng.integers(0, 4, size=(rows, cols)).astype(np.uint8)
    return cube, gt


def _write_v73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """Write a MATLAB v7.3 file as MATLAB does: HDF5 behind a 512-byte header, arrays
    stored column-major (i.e. with their axes reversed)."""
    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, value in variables.items():
            arr = np.asarray(value)
            ds = fh.create_dataset(name, data=arr.T)
            ds.attrs["MATLAB_class"] = np.bytes_(str(arr.dtype) if arr.dtype != bool else "logical")
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + b"\0" * 8 + b"\x00\x02IM")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg, msg
    return msg


def _check_layout(ds, cube, gt):
    rows, cols, bands = cube.shape
    assert ds.kind == "hsi"
    assert ds.cube.dtype == np.float32 and ds.cube.shape == cube.shape
    np.testing.assert_array_equal(ds.cube, cube.astype(np.float32))
    assert ds.X.shape == (rows * cols, bands) and np.shares_memory(ds.X, ds.cube)
    # Row-major pixel order: pixel (r, c) is row r * cols + c.
    np.testing.assert_array_equal(ds.X[2 * cols + 3], cube[2, 3].astype(np.float32))
    assert ds.grid_shape == (rows, cols)
    assert ds.unlabelled == 0
    if gt is None:
        assert ds.y is None and ds.mask is None
    else:
        assert ds.y.dtype == np.int64
        np.testing.assert_array_equal(ds.y, gt.reshape(-1))
        np.testing.assert_array_equal(ds.mask, gt > 0)


# ------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------


def test_v5_mat_with_gt_in_the_same_file(tmp_path):
    cube, gt = _scene()
    path = tmp_path / "scene.mat"
    scipy.io.savemat(path, {"wavelengths": np.arange(4.0)[None], "img": cube, "labels": gt})
    before = _md5(path)
    ds = load_hsi(path)
    _check_layout(ds, cube, gt)
    assert ds.name == "scene" and ds.extra["key"] == "img"
    assert _md5(path) == before


def test_v73_mat_is_read_in_matlab_orientation(tmp_path):
    cube, gt = _scene(rows=6, cols=9, bands=5)
    _write_v73(tmp_path / "Big_corrected.mat", {"big_corrected": cube})
    _write_v73(tmp_path / "Big_gt.mat", {"big_gt": gt})
    before = _md5(tmp_path / "Big_corrected.mat")
    ds = load_hsi(tmp_path / "Big_corrected.mat")
    _check_layout(ds, cube, gt)
    assert ds.name == "Big"
    assert ds.extra["gt_source"].endswith("Big_gt.mat")
    assert _md5(tmp_path / "Big_corrected.mat") == before


def test_v5_and_v73_give_identical_datasets(tmp_path):
    cube, gt = _scene(rows=4, cols=3, bands=6, seed=3)
    scipy.io.savemat(tmp_path / "a.mat", {"x": cube, "g": gt})
    _write_v73(tmp_path / "b.mat", {"x": cube, "g": gt})
    a, b = load_hsi(tmp_path / "a.mat"), load_hsi(tmp_path / "b.mat")
    np.testing.assert_array_equal(a.cube, b.cube)
    np.testing.assert_array_equal(a.y, b.y)


def test_companion_gt_is_found_case_insensitively(tmp_path):
    cube, gt = _scene()
    scipy.io.savemat(tmp_path / "SalinasA_corrected.mat", {"salinasA_corrected": cube})
    scipy.io.savemat(tmp_path / "salinasa_GT.mat", {"salinasA_gt": gt})
    ds = load_hsi(tmp_path / "SalinasA_corrected.mat")
    _check_layout(ds, cube, gt)
    assert ds.name == "SalinasA"


def test_companion_of_plain_name(tmp_path):
    cube, gt = _scene()
    scipy.io.savemat(tmp_path / "PaviaU.mat", {"paviaU": cube})
    scipy.io.savemat(tmp_path / "PaviaU_gt.mat", {"paviaU_gt": gt})
    _check_layout(load_hsi(tmp_path / "PaviaU.mat"), cube, gt)


def test_no_gt_gives_unlabelled_dataset(tmp_path):
    cube, _ = _scene()
    scipy.io.savemat(tmp_path / "alone.mat", {"x": cube})
    _check_layout(load_hsi(tmp_path / "alone.mat"), cube, None)


def test_explicit_gt_as_path_array_and_key(tmp_path):
    cube, gt = _scene()
    scipy.io.savemat(tmp_path / "s.mat", {"x": cube})
    scipy.io.savemat(tmp_path / "labels.mat", {"other": gt + 1, "truth": gt})
    _check_layout(
        load_hsi(tmp_path / "s.mat", gt=tmp_path / "labels.mat", gt_key="truth"), cube, gt
    )
    _check_layout(load_hsi(tmp_path / "s.mat", gt=gt.astype(float)), cube, gt)
    gt_in = gt.copy()
    load_hsi(tmp_path / "s.mat", gt=gt_in)
    np.testing.assert_array_equal(gt_in, gt)  # the caller's array is not modified


def test_explicit_key_among_several_cubes(tmp_path):
    cube, gt = _scene()
    scipy.io.savemat(tmp_path / "two.mat", {"a": cube, "b": cube[::-1].copy(), "gt": gt})
    ds = load_hsi(tmp_path / "two.mat", key="b")
    _check_layout(ds, cube[::-1].copy(), gt)


def test_npy_cube_with_companion_and_explicit_gt(tmp_path):
    cube, gt = _scene()
    np.save(tmp_path / "scene.npy", cube)
    np.save(tmp_path / "scene_gt.npy", gt)
    ds = load_hsi(tmp_path / "scene.npy")
    _check_layout(ds, cube, gt)
    assert ds.cube.flags.writeable and ds.cube.flags.owndata  # not a view of the memmap
    np.save(tmp_path / "labels.npy", gt)
    _check_layout(load_hsi(tmp_path / "scene.npy", gt=tmp_path / "labels.npy"), cube, gt)


def test_envi_round_trip(tmp_path):
    envi = pytest.importorskip("spectral.io.envi")
    cube, gt = _scene()
    envi.save_image(str(tmp_path / "scene.hdr"), cube.astype(np.float32), dtype=np.float32)
    envi.save_image(str(tmp_path / "scene_gt.hdr"), gt[:, :, None], dtype=np.uint8)
    ds = load_hsi(tmp_path / "scene.hdr")
    _check_layout(ds, cube, gt)


def test_envi_without_spectral_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "scene.hdr").write_text("ENVI\n")
    for mod in ("spectral", "spectral.io", "spectral.io.envi"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "scene.hdr")
    assert "spectral" in _err(e)


# ------------------------------------------------------------------------------------------
# Error paths
# ------------------------------------------------------------------------------------------


def test_gt_shape_mismatch_message(tmp_path):
    rng = np.random.default_rng(0)
    scipy.io.savemat(tmp_path / "S_corrected.mat", {"s": rng.random((83, 86, 2))})
    scipy.io.savemat(tmp_path / "S_gt.mat", {"s_gt": np.ones((83, 85), np.uint8)})
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "S_corrected.mat")
    assert _err(e) == (
        "ground truth in S_gt.mat:s_gt has shape (83, 85) but the scene is 83 x 86; "
        "expected the same rows x cols"
    )
    with pytest.raises(DataError, match=r"shape \(86, 83\)"):
        load_hsi(tmp_path / "S_corrected.mat", gt=np.ones((86, 83), int))


def test_cube_not_3d(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((10, 4)))
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "flat.npy")
    assert "shape (10, 4)" in _err(e) and "3-D" in _err(e)


def test_unknown_key_lists_available_keys(tmp_path):
    cube, gt = _scene()
    scipy.io.savemat(tmp_path / "s.mat", {"data": cube, "gt": gt})
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "s.mat", key="cube")
    msg = _err(e)
    assert "'cube'" in msg and "data 5x7x4" in msg and "gt 5x7" in msg
    with pytest.raises(DataError, match="ground-truth key 'labels'"):
        load_hsi(tmp_path / "s.mat", gt=tmp_path / "s.mat", gt_key="labels")
    with pytest.raises(DataError, match="'labels' not in s.mat and no companion"):
        load_hsi(tmp_path / "s.mat", gt_key="labels")


def test_ambiguous_or_missing_cube(tmp_path):
    cube, _ = _scene()
    scipy.io.savemat(tmp_path / "two.mat", {"a": cube, "b": cube})
    with pytest.raises(DataError, match="several 3-D numeric arrays.*pass key="):
        load_hsi(tmp_path / "two.mat")
    scipy.io.savemat(tmp_path / "none.mat", {"a": np.ones((3, 3))})
    with pytest.raises(DataError, match="no 3-D numeric arrays"):
        load_hsi(tmp_path / "none.mat")


def test_nan_in_cube(tmp_path, monkeypatch):
    monkeypatch.setattr(hsi, "_BLOCK_VALUES", 5)  # the NaN is counted across blocks
    cube = np.ones((4, 4, 3), np.float32)
    cube[1, 2, 0] = np.nan
    np.save(tmp_path / "n.npy", cube)
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "n.npy")
    assert "1 NaN/inf" in _err(e)


def test_bad_gt_values(tmp_path):
    cube, _ = _scene()
    np.save(tmp_path / "s.npy", cube)
    with pytest.raises(DataError, match="negative labels"):
        load_hsi(tmp_path / "s.npy", gt=-np.ones((5, 7), int))
    with pytest.raises(DataError, match="non-integer"):
        load_hsi(tmp_path / "s.npy", gt=np.full((5, 7), 0.5))


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_hsi(tmp_path / "nope.mat")
    (tmp_path / "scene.tif").write_bytes(b"II*\0")
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "scene.tif")
    assert "expected .mat, .npy or ENVI .hdr" in _err(e)
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DataError, match="junk.mat is not a valid .mat file"):
        load_hsi(tmp_path / "junk.mat")
    cube, _ = _scene()
    np.save(tmp_path / "s.npy", cube)
    with pytest.raises(DataNotFoundError):
        load_hsi(tmp_path / "s.npy", gt=tmp_path / "missing_gt.npy")


# ------------------------------------------------------------------------------------------
# Named scenes
# ------------------------------------------------------------------------------------------


def test_scenes_table():
    assert set(SCENES) >= {
        "indian_pines", "pavia_university", "salinas", "salinas_a", "ksc", "houston2013",
        "trento",
    }  # fmt: skip
    assert SCENES["salinas_a"]["class_names"] == {
        1: "Brocoli_green_weeds_1",
        10: "Corn_senesced_green_weeds",
        11: "Lettuce_romaine_4wk",
        12: "Lettuce_romaine_5wk",
        13: "Lettuce_romaine_6wk",
        14: "Lettuce_romaine_7wk",
    }
    assert SCENES["salinas_a"]["md5"] == (
        "4852da09661d629f5033ca1d23b908ae",
        "d5c82204f36f9e10c9081e4e68ece1c3",
    )
    for info in SCENES.values():
        assert len(info["class_names"]) == info["n_classes"]


def test_named_loader_from_directory(tmp_path):
    cube, gt = _scene()
    gt[gt == 2] = 10
    scipy.io.savemat(tmp_path / "SalinasA_corrected.mat", {"salinasA_corrected": cube})
    scipy.io.savemat(tmp_path / "SalinasA_gt.mat", {"salinasA_gt": gt})
    ds = load_salinas_a(tmp_path)
    _check_layout(ds, cube, gt)
    assert ds.name == "salinas_a" and ds.extra["class_names"][10] == "Corn_senesced_green_weeds"
    ds2 = load_salinas_a(tmp_path / "SalinasA_corrected.mat")
    np.testing.assert_array_equal(ds2.y, ds.y)


def test_named_loader_missing_file_in_directory(tmp_path):
    cube, _ = _scene()
    scipy.io.savemat(tmp_path / "KSC.mat", {"KSC": cube})
    with pytest.raises(DataNotFoundError) as e:
        load_ksc(tmp_path)
    assert "no KSC_gt.mat in" in _err(e)


def test_named_loader_uses_cache_and_never_downloads_when_told(tmp_path):
    with pytest.raises(DataNotFoundError) as e:
        load_ksc(download=False)
    assert "KSC.mat" in _err(e)
    cache = tmp_path / "cache" / "hsi"
    cache.mkdir(parents=True)
    cube, gt = _scene()
    scipy.io.savemat(cache / "KSC.mat", {"KSC": cube})
    scipy.io.savemat(cache / "KSC_gt.mat", {"KSC_gt": gt})
    _check_layout(load_ksc(download=False), cube, gt)


def test_named_loader_checks_verified_md5(tmp_path):
    cache = tmp_path / "cache" / "hsi"
    cache.mkdir(parents=True)
    cube, gt = _scene()
    scipy.io.savemat(cache / "SalinasA_corrected.mat", {"salinasA_corrected": cube})
    scipy.io.savemat(cache / "SalinasA_gt.mat", {"salinasA_gt": gt})
    with pytest.raises(DataError, match="(?i)checksum|md5"):
        load_salinas_a(download=False)


def test_houston_and_trento_need_a_path(tmp_path):
    with pytest.raises(DataNotFoundError) as e:
        load_houston2013()
    msg = _err(e)
    assert "IEEE GRSS Data Fusion Contest 2013" in msg and "Houston.mat" in msg
    with pytest.raises(DataNotFoundError) as e:
        load_trento()
    assert "Trento" in _err(e) and "authors" in _err(e)


def test_trento_alternative_names_and_keys(tmp_path):
    cube, gt = _scene()
    scipy.io.savemat(tmp_path / "Trento_HSI.mat", {"HSI": cube})
    scipy.io.savemat(tmp_path / "GT_Trento.mat", {"GT_Trento": gt})
    ds = load_trento(tmp_path)
    _check_layout(ds, cube, gt)
    assert ds.extra["class_names"][1] == "Apple trees"


# ------------------------------------------------------------------------------------------
# Preprocessing
# ------------------------------------------------------------------------------------------


def _reference_patch(cube: np.ndarray, r: int, c: int, size: int) -> np.ndarray:
    """Patch by explicit mirror indexing (reflect without repeating the edge)."""
    rows, cols, _ = cube.shape
    h = size // 2

    def mirror(i: int, n: int) -> int:
        while i < 0 or i >= n:
            i = -i if i < 0 else 2 * (n - 1) - i
        return i

    out = np.empty((size, size, cube.shape[2]), cube.dtype)
    for a in range(size):
        for b in range(size):
            out[a, b] = cube[mirror(r - h + a, rows), mirror(c - h + b, cols)]
    return out


@pytest.mark.parametrize("size", [1, 3, 5])
def test_extract_patches_matches_reference(size):
    rng = np.random.default_rng(1)
    cube = rng.random((6, 8, 3)).astype(np.float32)
    pix = [(0, 0), (0, 7), (5, 0), (5, 7), (2, 3), (1, 6)]
    idx = np.array([r * 8 + c for r, c in pix])
    patches = extract_patches(cube, size, indices=idx)
    assert patches.shape == (len(pix), size, size, 3) and patches.dtype == np.float32
    for k, (r, c) in enumerate(pix):
        np.testing.assert_array_equal(patches[k], _reference_patch(cube, r, c, size))
        np.testing.assert_array_equal(patches[k, size // 2, size // 2], cube[r, c])


def test_extract_patches_wider_than_scene_and_default_indices():
    cube = np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2)
    patches = extract_patches(cube, 5)
    assert patches.shape == (6, 5, 5, 2)
    for k in range(6):
        np.testing.assert_array_equal(patches[k], _reference_patch(cube, k // 3, k % 3, 5))


def test_iter_patches_chunks_concatenate_to_extract_patches():
    rng = np.random.default_rng(2)
    cube = rng.random((9, 11, 2))
    idx = rng.permutation(99)[:40]
    chunks = list(iter_patches(cube, 3, indices=idx, chunk=7))
    assert [len(i) for i, _ in chunks] == [7] * 5 + [5]
    np.testing.assert_array_equal(np.concatenate([i for i, _ in chunks]), idx)
    np.testing.assert_array_equal(
        np.concatenate([p for _, p in chunks]), extract_patches(cube, 3, indices=idx)
    )
    full = np.concatenate([p for _, p in iter_patches(cube, 3, chunk=4096)])
    np.testing.assert_array_equal(full, extract_patches(cube, 3))


def test_patch_errors():
    cube = np.zeros((4, 4, 2))
    with pytest.raises(ConfigError, match="even"):
        extract_patches(cube, 4)
    with pytest.raises(ConfigError):
        extract_patches(cube, 0)
    with pytest.raises(DataError, match=r"\[0, 16\)"):
        extract_patches(cube, 3, indices=[0, 16])
    with pytest.raises(DataError, match="3-D"):
        extract_patches(np.zeros((4, 4)), 3)
    with pytest.raises(ConfigError, match="chunk"):
        next(iter_patches(cube, 3, chunk=0))


@pytest.mark.parametrize("block_values", [None, 7])
def test_standardize_bands(block_values, monkeypatch):
    if block_values is not None:  # force many blocks, with a ragged last one
        monkeypatch.setattr(hsi, "_BLOCK_VALUES", block_values)
    rng = np.random.default_rng(3)
    cube = rng.normal(5.0, 3.0, size=(20, 30, 4))
    cube[..., 2] = 7.0  # zero-variance band
    before = cube.copy()
    out = standardize_bands(cube)
    np.testing.assert_array_equal(cube, before)
    assert out.dtype == np.float32 and out.shape == cube.shape
    flat = out.reshape(-1, 4).astype(np.float64)
    np.testing.assert_allclose(flat.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(flat.std(0)[[0, 1, 3]], 1, rtol=1e-5)
    assert np.all(flat[:, 2] == 0)
    expected = (before - before.mean((0, 1))) / np.where(
        before.std((0, 1)) > 0, before.std((0, 1)), 1
    )
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_pca_reduce_shapes_and_errors():
    rng = np.random.default_rng(4)
    X = rng.random((50, 6))
    Z, pca = pca_reduce(X, 3, random_state=0)
    assert Z.shape == (50, 3) and Z.dtype == np.float32
    np.testing.assert_allclose(Z, pca.transform(X), atol=1e-5)
    Zc, _ = pca_reduce(rng.random((5, 4, 6)), 2)
    assert Zc.shape == (5, 4, 2)
    with pytest.raises(ConfigError, match="1 <= n_components <= 6"):
        pca_reduce(X, 7)


def test_patch_features_equal_pca_of_all_patches_when_fitted_on_all():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(5)
    cube = rng.random((12, 10, 3))
    feats = patch_features(cube, 3, n_components=4, chunk=17, random_state=0)
    patches = extract_patches(standardize_bands(cube), 3).reshape(120, -1)
    ref = PCA(4, svd_solver="full").fit_transform(patches)
    assert feats.shape == (120, 4) and feats.dtype == np.float32
    # Components are defined up to sign.
    signs = np.sign(np.sum(feats * ref, axis=0))
    np.testing.assert_allclose(feats * signs, ref, atol=1e-3)


@pytest.mark.parametrize("standardize", [True, False])
def test_band_pca_equals_the_dense_pca(standardize):
    """Streamed statistics give the dense PCA: same subspace, same projection up to the
    sign of each component, float64 statistics; the sign rule makes it deterministic."""
    rng = np.random.default_rng(3)
    cube = (rng.random((9, 7, 6)) * [1, 2, 3, 4, 5, 0.1]).astype(np.float32)
    cube[..., 2] += cube[..., 0] * 3  # correlated bands
    flat = cube.reshape(-1, 6).astype(np.float64)
    z = flat - flat.mean(0)
    if standardize:
        z /= flat.std(0)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    pca = band_pca(cube, 3, standardize=standardize)
    for got, want in zip(pca.components, vt[:3], strict=True):
        assert abs(float(got @ want)) == pytest.approx(1.0, abs=1e-9)
        assert got[np.abs(got).argmax()] > 0  # the sign rule
    out = pca.transform(cube)
    assert out.shape == (9, 7, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.reshape(-1, 3), z @ pca.components.T, rtol=1e-5, atol=1e-5)


def test_band_pca_of_a_memory_mapped_cube_streams(tmp_path, monkeypatch):
    """A memmap is read block by block: the peak allocation stays far below one float64
    copy of the cube, and the result equals the in-memory one."""
    import deepclust.data.hsi as hsi

    monkeypatch.setattr(hsi, "_BLOCK_VALUES", 1 << 12)
    rng = np.random.default_rng(4)
    path = tmp_path / "scene.npy"
    np.save(path, rng.random((200, 150, 12)).astype(np.float32))
    cube = np.load(path, mmap_mode="r")
    tracemalloc.start()
    try:
        pca = band_pca(cube, 4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < cube.size * 8 / 20, f"peak {peak / 2**20:.1f} MiB"
    dense = band_pca(np.array(cube), 4)
    np.testing.assert_allclose(pca.components, dense.components, atol=1e-10)
    np.testing.assert_allclose(pca.transform(cube), dense.transform(np.array(cube)), atol=1e-5)


def test_band_pca_refuses_bad_input():
    with pytest.raises(ConfigError, match="n_components"):
        band_pca(np.zeros((4, 4, 3)), 4)
    with pytest.raises(DataError, match="bands on the last axis"):
        band_pca(np.zeros(5), 1)


def test_patch_features_stream_big_scene_in_bounded_memory():
    rng = np.random.default_rng(6)
    cube = rng.random((200, 200, 4)).astype(np.float32)
    full_bytes = 200 * 200 * 17 * 17 * 4 * 4  # all patches at once: 185 MB
    import sklearn.decomposition  # noqa: F401  (module import is not the memory measured)

    tracemalloc.start()
    try:
        feats = patch_features(
            cube, 17, n_components=8, band_components=None, fit_samples=2000, random_state=0
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert feats.shape == (40000, 8) and np.isfinite(feats).all()
    assert peak < full_bytes / 4, f"peak {peak / 2**20:.0f} MiB"
    idx = np.arange(0, 40000, 97)
    sub = patch_features(cube, 17, n_components=8, indices=idx, band_components=2, random_state=0)
    assert sub.shape == (idx.size, 8)


# ------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_salinas_a(tmp_path):
    folder = SHARED / "hsi"
    if not (folder / "SalinasA_corrected.mat").exists():
        pytest.skip(f"real data not available: {folder}")
    digests = {p.name: _md5(p) for p in folder.glob("SalinasA*.mat")}
    ds = load_hsi(folder / "SalinasA_corrected.mat")
    assert ds.cube.shape == (83, 86, 204) and ds.cube.dtype == np.float32
    assert int(ds.mask.sum()) == 5348
    assert set(np.unique(ds.y[ds.y > 0])) == {1, 10, 11, 12, 13, 14}
    raw = scipy.io.loadmat(folder / "SalinasA_corrected.mat")["salinasA_corrected"]
    np.testing.assert_array_equal(ds.cube, raw.astype(np.float32))
    named = load_salinas_a(folder)
    np.testing.assert_array_equal(named.y, ds.y)
    assert named.n_classes == 6
    # The md5 of the official files is the one recorded in SCENES.
    assert digests == dict(
        zip(SCENES["salinas_a"]["files"], SCENES["salinas_a"]["md5"], strict=True)
    )
    # Through the cache with checksum verification, without network.
    cache = tmp_path / "cache" / "hsi"
    cache.mkdir(parents=True)
    for p in folder.glob("SalinasA*.mat"):
        shutil.copy(p, cache / p.name)
    np.testing.assert_array_equal(load_salinas_a(download=False).cube, ds.cube)
    assert {p.name: _md5(p) for p in folder.glob("SalinasA*.mat")} == digests


def test_module_exports():
    for name in hsi.__all__:
        assert hasattr(hsi, name)
