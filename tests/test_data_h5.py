"""Generic HDF5 loader (``h5:FILE``): split groups as in usps.h5, flat files, images vs
vectors, key detection and its errors, and the real USPS file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

import deepclust
from deepclust.data import DATASETS, load_h5
from deepclust.exceptions import ConfigError, DataError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _usps_like(path: Path, n_train: int = 6, n_test: int = 4) -> dict[str, np.ndarray]:
    """The usps.h5 layout: train/data, train/target, test/data, test/target."""
    rng = np.random.default_rng(0)
    parts = {
        "train": rng.random((n_train, 256), dtype=np.float32),
        "test": rng.random((n_test, 256), dtype=np.float32),
    }
    parts["train"][:, 0] = 1.0  # top-left pixel set: orientation marker
    targets = {"train": np.arange(n_train) % 10, "test": (np.arange(n_test) + 3) % 10}
    with h5py.File(path, "w") as fh:
        for part in ("train", "test"):
            fh[f"{part}/data"] = parts[part]
            fh[f"{part}/target"] = targets[part].astype(np.int32)
    return {**{f"{k}_x": v for k, v in parts.items()}, **{f"{k}_y": v for k, v in targets.items()}}


def test_registered_as_h5_spec():
    assert DATASETS["h5"].path == "required"


def test_split_groups_all_train_test(tmp_path):
    f = tmp_path / "digits.h5"
    ref = _usps_like(f)
    before = _md5(f)
    ds = deepclust.load(f"h5:{f}")
    assert ds.kind == "images" and ds.image_shape == (16, 16) and ds.name == "digits"
    assert ds.X.shape == (10, 256) and ds.X.dtype == np.float32
    np.testing.assert_array_equal(ds.X, np.concatenate([ref["train_x"], ref["test_x"]]))
    np.testing.assert_array_equal(ds.y, np.concatenate([ref["train_y"], ref["test_y"]]))
    assert ds.y.dtype == np.int64
    assert ds.extra["splits"] == {"train": 6, "test": 4} and ds.extra["label_key"] == "target"
    assert ds.X[0].reshape(16, 16)[0, 0] == 1.0  # row-major: index 0 is the top-left pixel
    train = load_h5(f, split="train")
    np.testing.assert_array_equal(train.X, ref["train_x"])
    test = deepclust.load(f"h5:{f}", split="test")
    np.testing.assert_array_equal(test.y, ref["test_y"])
    with pytest.raises(DataError) as e:
        load_h5(f, split="val")
    assert _err(e) == "digits.h5 has no 'val' group; available splits: train, test"
    with pytest.raises(ConfigError, match="unknown split 'dev'"):
        load_h5(f, split="dev")
    assert _md5(f) == before


def test_flat_layout_vectors_and_images(tmp_path):
    rng = np.random.default_rng(1)
    f = tmp_path / "flat.h5"
    X = rng.normal(size=(8, 5))
    with h5py.File(f, "w") as fh:
        fh["data"] = X
        fh["labels"] = np.array([0, 1] * 4)
    ds = load_h5(f)
    assert ds.kind == "vectors" and ds.image_shape is None and ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, [0, 1] * 4)
    with pytest.raises(DataError, match="has no train/val/test groups, so split='train'"):
        load_h5(f, split="train")

    imgs = rng.integers(0, 256, size=(4, 64)).astype(np.uint8)
    with h5py.File(tmp_path / "u8.h5", "w") as fh:
        fh["X"] = imgs
    ds = load_h5(tmp_path / "u8.h5", label_key=False)
    assert ds.kind == "images" and ds.image_shape == (8, 8)
    np.testing.assert_array_equal(ds.X, imgs / np.float32(255))
    assert ds.extra["scaling"] == "divided by 255 (uint8)"
    vec = load_h5(tmp_path / "u8.h5", label_key=False, image_shape=False)
    assert vec.kind == "vectors" and vec.X.shape == (4, 64)

    # A 256-wide table of values outside [0, 1] is not mistaken for images.
    with h5py.File(tmp_path / "wide.h5", "w") as fh:
        fh["features"] = rng.normal(size=(3, 256))
    assert load_h5(tmp_path / "wide.h5").kind == "vectors"


def test_stacked_images_and_explicit_shape(tmp_path):
    rng = np.random.default_rng(2)
    hwc = rng.integers(0, 256, size=(3, 4, 5, 3)).astype(np.uint8)
    with h5py.File(tmp_path / "rgb.h5", "w") as fh:
        fh["images"] = hwc
        fh["y"] = np.array([2, 0, 1])
    ds = load_h5(tmp_path / "rgb.h5")
    assert ds.image_shape == (3, 4, 5)  # channels first
    np.testing.assert_array_equal(
        ds.X[1].reshape(3, 4, 5), hwc[1].transpose(2, 0, 1) / np.float32(255)
    )
    flat = load_h5(tmp_path / "rgb.h5", image_shape=False)  # stacked images as vectors
    assert flat.kind == "vectors" and flat.X.shape == (3, 60)
    np.testing.assert_array_equal(flat.X[2], hwc[2].reshape(-1))
    with pytest.raises(DataError, match=r"image_shape=\(4, 5\) but rgb.h5\['images'\]"):
        load_h5(tmp_path / "rgb.h5", image_shape=(4, 5))
    with h5py.File(tmp_path / "rect.h5", "w") as fh:
        fh["data"] = rng.random((2, 12))
    ds = deepclust.load(f"h5:{tmp_path / 'rect.h5'}", image_shape=[3, 4])  # as YAML gives it
    assert ds.kind == "images" and ds.image_shape == (3, 4)
    with pytest.raises(DataError, match="image_shape=\\(5, 5\\) does not fit the 12 features"):
        load_h5(tmp_path / "rect.h5", image_shape=(5, 5))


def test_keys_given_and_ambiguous(tmp_path):
    rng = np.random.default_rng(3)
    f = tmp_path / "two.h5"
    with h5py.File(f, "w") as fh:
        fh["X"] = rng.random((4, 3))
        fh["data"] = rng.random((4, 2))
        fh["y"] = np.array([0, 0, 1, 1])
        fh["labels"] = np.array([1, 1, 0, 0])
    with pytest.raises(DataError) as e:
        load_h5(f)
    assert _err(e) == (
        "several candidate data arrays in two.h5 (X, data); pass data_key= one of them "
        "(CLI: --data-opt data_key=NAME)"
    )
    with pytest.raises(DataError) as e:
        load_h5(f, data_key="data")
    assert "several candidate label arrays in two.h5 (labels, y)" in _err(e)
    assert "--data-opt label_key=NAME" in _err(e)
    ds = load_h5(f, data_key="data", label_key="labels")
    assert ds.X.shape == (4, 2) and list(ds.y) == [1, 1, 0, 0]
    with pytest.raises(DataError, match="data_key 'Z' not found in two.h5; available: X 4x3"):
        load_h5(f, data_key="Z")

    g = tmp_path / "odd.h5"
    with h5py.File(g, "w") as fh:
        fh["emb_a"] = rng.random((4, 3))
        fh["emb_b"] = rng.random((4, 3))
    with pytest.raises(
        DataError, match=r"several candidate data arrays in odd.h5 \(emb_a, emb_b\)"
    ):
        load_h5(g)
    assert load_h5(g, data_key="emb_b").X.shape == (4, 3)


def test_split_missing_an_array(tmp_path):
    f = tmp_path / "uneven.h5"
    with h5py.File(f, "w") as fh:
        fh["train/data"] = np.zeros((2, 4))
        fh["train/labels"] = np.array([0, 1])
        fh["test/data"] = np.zeros((2, 4))
    with pytest.raises(DataError) as e:
        load_h5(f)
    assert _err(e) == (
        "uneven.h5 group 'test' has no 'labels'; expected the same arrays in every split"
    )


def test_not_hdf5(tmp_path):
    f = tmp_path / "fake.h5"
    f.write_bytes(b"plain text, not HDF5")
    with pytest.raises(DataError, match="fake.h5 is not a valid HDF5 file"):
        load_h5(f)


@pytest.mark.shared_data
def test_real_usps():
    f = SHARED / "images" / "usps.h5"
    if not f.is_file():
        pytest.skip(f"real data not available: {f}")
    ds = deepclust.load(f"h5:{f}")
    assert ds.n_samples == 9298 and ds.n_classes == 10
    assert ds.kind == "images" and ds.image_shape == (16, 16)
    assert ds.extra["splits"] == {"train": 7291, "test": 2007}
    assert ds.extra["scaling"] == "none (already in [0, 1])"
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert load_h5(f, split="test").n_samples == 2007
    # Upright: a "1" is a vertical stroke, so its ink spreads over rows, not columns.
    one = ds.X[np.flatnonzero(ds.y == 1)].mean(axis=0).reshape(16, 16)
    assert (one.sum(axis=1) > 0.5).sum() > (one.sum(axis=0) > 0.5).sum()
