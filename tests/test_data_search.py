"""A loader reads what it was pointed at, or says what it expected there.

Regression tests for the folder search of the IDX, CIFAR, STL-10, COIL-20/ORL and named
hyperspectral loaders: a file that is not one of the dataset's files is refused (its folder
is not searched), files are never mixed across folders, and a folder with several candidate
sub-folders is an error listing them instead of a silent pick of the first.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import deepclust
from deepclust.data.download import find_local
from deepclust.data.hsi import load_salinas_a
from deepclust.data.images import load_cifar10, load_coil20, load_fashion_mnist, load_mnist
from deepclust.exceptions import DataError, DataNotFoundError

IDX_EXPECTED = (
    "train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), "
    "t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz)"
)


@pytest.fixture(autouse=True)
def _offline(offline):
    """No network; the download cache lives in the test's folder (conftest ``offline``)."""


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _write_idx_set(folder: Path, value: int, n: int = 3) -> None:
    """Four IDX files whose pixels all equal ``value`` (to tell sets apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("train", "t10k"):
        imgs = np.full((n, 28, 28), value, np.uint8)
        labs = np.arange(n, dtype=np.uint8)
        (folder / f"{part}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(imgs)))
        (folder / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labs)))


# --------------------------------------------------------------------------- IDX


def test_mnist_never_picks_one_of_several_sibling_sets(tmp_path):
    data = tmp_path / "data"
    _write_idx_set(data / "FashionMNIST", 7)
    _write_idx_set(data / "MNIST", 200)
    with pytest.raises(DataError) as e:
        load_mnist(data)  # the old code loaded FashionMNIST/ (first in sorted order)
    msg = _err(e)
    assert "FashionMNIST" in msg and "MNIST" in msg and "several sub-folders" in msg
    ds = load_mnist(data / "MNIST")
    assert np.all(ds.X == np.float32(200 / 255))
    ds = load_fashion_mnist(data / "FashionMNIST")
    assert np.all(ds.X == np.float32(7 / 255))


def test_mnist_one_level_above_a_single_set_still_works(tmp_path):
    _write_idx_set(tmp_path / "data" / "MNIST", 9)
    (tmp_path / "data" / "notes").mkdir()
    ds = load_mnist(tmp_path / "data")
    assert ds.X.shape == (6, 784) and np.all(ds.X == np.float32(9 / 255))


def test_mnist_spec_pointing_at_an_unrelated_file(tmp_path):
    data = tmp_path / "data"
    _write_idx_set(data / "FashionMNIST", 7)
    good = data / "good.mat"
    scipy.io.savemat(good, {"x": np.ones(3)})
    with pytest.raises(DataError) as e:
        deepclust.load(f"mnist:{good}")  # the old code loaded FashionMNIST from a sibling
    assert _err(e) == f"mnist:PATH expects a folder holding {IDX_EXPECTED}; got a file {good}"
    with pytest.raises(DataError, match="fashion-mnist:PATH expects a folder"):
        load_fashion_mnist(good)


def test_mnist_file_means_its_folder_only(tmp_path):
    # The folder of the given file holds only part of the set; a sibling holds all of it.
    folder = tmp_path / "d"
    _write_idx_set(folder / "other", 5)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(
        (folder / "other" / "train-images-idx3-ubyte.gz").read_bytes()
    )
    with pytest.raises(DataNotFoundError) as e:
        load_mnist(folder / "train-images-idx3-ubyte.gz")
    msg = _err(e)
    assert f"train-labels-idx1-ubyte(.gz) not found in {folder};" in msg
    # Given the folder, its own files win and nothing is taken from other/.
    with pytest.raises(DataNotFoundError, match=f"not found in {folder};"):
        load_mnist(folder)


def test_mnist_file_of_the_set_reads_that_folder(tmp_path):
    _write_idx_set(tmp_path / "m", 11)
    ds = load_mnist(tmp_path / "m" / "t10k-labels-idx1-ubyte.gz", split="test")
    assert ds.X.shape == (3, 784) and ds.extra["files"][0].startswith(str(tmp_path / "m"))


def test_mnist_empty_folder_names_what_it_expected(tmp_path):
    with pytest.raises(DataNotFoundError) as e:
        load_mnist(tmp_path)
    assert _err(e) == (
        f"no MNIST IDX files in {tmp_path} or its sub-folders; expected {IDX_EXPECTED}"
    )


def test_find_local_refuses_to_guess_between_subfolders(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "f.bin").write_bytes(b"x")
    with pytest.raises(DataError) as e:
        find_local(tmp_path, ["f.bin"])
    assert "several sub-folders" in _err(e) and "a/f.bin, b/f.bin" in _err(e)
    (tmp_path / "f.bin").write_bytes(b"top")
    assert find_local(tmp_path, ["f.bin"]) == tmp_path / "f.bin"  # the folder itself wins


# --------------------------------------------------------------------------- CIFAR / STL


def _cifar_batch(path: Path, n: int = 2) -> None:
    batch = {b"data": np.zeros((n, 3072), np.uint8), b"labels": list(range(n))}
    path.write_bytes(pickle.dumps(batch, protocol=2))


def _cifar_dir(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _cifar_batch(folder / name)


def test_cifar_refuses_an_unrelated_file_beside_the_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _cifar_dir(folder)
    notes = folder / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(DataError) as e:
        load_cifar10(notes)  # the old code loaded the batches of its folder
    assert _err(e) == (
        "cifar10:PATH expects the folder cifar-10-batches-py (or a folder above it) or the "
        f"archive cifar-10-python.tar.gz; got a file {notes}"
    )
    assert load_cifar10(folder / "data_batch_3").X.shape == (12, 3072)  # a member: its folder


def test_cifar_folder_with_two_copies_is_ambiguous(tmp_path):
    _cifar_dir(tmp_path / "old" / "cifar-10-batches-py")
    _cifar_dir(tmp_path / "a")
    _cifar_dir(tmp_path / "b")
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path)
    assert "several sub-folders" in _err(e) and "a/data_batch_1, b/data_batch_1" in _err(e)
    assert load_cifar10(tmp_path / "a").X.shape == (12, 3072)


def test_stl10_refuses_an_unrelated_file(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    (folder / "train_X.bin").write_bytes(bytes(3 * 96 * 96))
    (folder / "train_y.bin").write_bytes(bytes([1]))
    (folder / "readme.md").write_text("x")
    with pytest.raises(DataError, match="stl10:PATH expects the folder stl10_binary"):
        deepclust.load(f"stl10:{folder / 'readme.md'}", split="train")
    ds = deepclust.load(f"stl10:{folder / 'train_y.bin'}", split="train")
    assert ds.X.shape == (1, 3 * 96 * 96)


# --------------------------------------------------------------------------- COIL-20 / ORL


def _fea_gnd(path: Path, n: int, k: int) -> None:
    fea = np.zeros((n, 1024), np.uint8)
    scipy.io.savemat(path, {"fea": fea, "gnd": (np.arange(n) % k + 1).reshape(-1, 1)})


def test_coil20_checks_it_was_given_coil20(tmp_path):
    orl = tmp_path / "ORL_32x32.mat"
    _fea_gnd(orl, 400, 40)
    with pytest.raises(DataError) as e:
        load_coil20(orl)
    assert _err(e) == (
        f"{orl} holds 400 images of 40 classes; coil20:PATH expects COIL-20 (COIL20.mat: "
        "1440 images of 20 classes); load other fea/gnd sets with image-mat:PATH"
    )


def test_coil20_folder_with_two_copies_is_ambiguous(tmp_path):
    for sub in ("v1", "v2"):
        (tmp_path / sub).mkdir()
        _fea_gnd(tmp_path / sub / "COIL20.mat", 1440, 20)
    with pytest.raises(DataError, match="several sub-folders"):
        load_coil20(tmp_path)
    assert load_coil20(tmp_path / "v2").n_samples == 1440


# --------------------------------------------------------------------------- HSI


def test_named_scene_refuses_its_ground_truth_file_as_the_scene(tmp_path):
    rng = np.random.default_rng(0)
    scipy.io.savemat(
        tmp_path / "SalinasA_corrected.mat", {"salinasA_corrected": rng.random((4, 5, 3))}
    )
    gt = tmp_path / "SalinasA_gt.mat"
    scipy.io.savemat(gt, {"salinasA_gt": np.ones((4, 5), np.uint8)})
    with pytest.raises(DataError) as e:
        load_salinas_a(gt)
    assert _err(e) == (
        "salinas-a:PATH expects the scene file SalinasA_corrected.mat (or a folder holding "
        f"SalinasA_corrected.mat and SalinasA_gt.mat); got the ground-truth file {gt}"
    )
    assert load_salinas_a(tmp_path / "SalinasA_corrected.mat").n_classes == 1
