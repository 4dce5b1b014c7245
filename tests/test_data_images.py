"""Image loaders and downloads: exact round trips, orientation, and every error path.

No test touches the network: ``urllib.request.urlopen`` is replaced for every test, and
the download tests serve their bytes from memory.
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import io
import os
import pickle
import shutil
import struct
import tarfile
import urllib.error
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

import deepclust.data.download as download
import deepclust.data.images as images
from deepclust.data.download import data_home, extract_tar, fetch, find_local
from deepclust.data.images import (
    load_cifar10,
    load_cifar100,
    load_coil20,
    load_fashion_mnist,
    load_idx,
    load_image_folder,
    load_image_mat,
    load_mnist,
    load_orl,
    load_stl10,
)
from deepclust.exceptions import ConfigError, DataError, DataNotFoundError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Official class counts of MNIST (train 60k, test 10k).
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def shared_file(*parts: str) -> Path:
    """A path in the real data folder, or skip when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


class FakeWeb:
    """Stands in for ``urllib.request.urlopen``: serves bytes per URL, records calls."""

    def __init__(self, pages: dict[str, bytes] | None = None):
        self.pages = dict(pages or {})
        self.calls: list[str] = []

    def __call__(self, url, timeout=None):
        self.calls.append(url)
        if url not in self.pages:
            raise urllib.error.URLError("network is unreachable")
        return io.BytesIO(self.pages[url])


@pytest.fixture(autouse=True)
def web(monkeypatch, tmp_path):
    """Offline by default (every URL fails), cache in the test's folder."""
    fake = FakeWeb()
    monkeypatch.setattr("urllib.request.urlopen", fake)
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_verified", set())
    return fake


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under ``root`` (or of ``root`` itself)."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


# --------------------------------------------------------------------------- IDX


def idx_bytes(arr: np.ndarray) -> bytes:
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    code = codes[arr.dtype.str[1:]]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def test_idx_round_trip_all_types_gz_and_plain(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, size=(3, 4, 5)).astype(np.uint8),
        rng.integers(-128, 128, size=(7,)).astype(np.int8),
        rng.integers(-3000, 3000, size=(2, 3)).astype(np.int16),
        rng.integers(-(10**6), 10**6, size=(4,)).astype(np.int32),
        rng.normal(size=(2, 2, 2)).astype(np.float32),
        rng.normal(size=(5,)),
    ]
    for i, arr in enumerate(arrays):
        plain = tmp_path / f"a{i}-idx"
        plain.write_bytes(idx_bytes(arr))
        packed = tmp_path / f"a{i}-idx.gz"
        packed.write_bytes(gzip.compress(idx_bytes(arr)))
        for f in (plain, packed):
            out = load_idx(f)
            assert out.dtype == arr.dtype and out.dtype.isnative
            np.testing.assert_array_equal(out, arr)
            out[...] = 0  # writable, not a view of a read-only buffer


def test_idx_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\0" * 8)
    with pytest.raises(DataError, match="not an IDX file: magic bytes 12340801"):
        load_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8))[:-1])
    with pytest.raises(DataError, match=r"expected 6 for shape \(2, 3\)"):
        load_idx(short)
    with pytest.raises(DataNotFoundError):
        load_idx(tmp_path / "missing")


# --------------------------------------------------------------------------- MNIST


def fake_mnist(rng: np.random.Generator, n_train: int = 5, n_test: int = 3):
    parts = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
        imgs[:, 0, :5] = 255  # a bar at the top left: orientation marker
        imgs[:, 1:, :] = np.minimum(imgs[:, 1:, :], 200)
        labs = rng.integers(0, 10, size=n).astype(np.uint8)
        parts[part] = (imgs, labs)
    return parts


def write_mnist(folder: Path, parts, gz: bool) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for part, (imgs, labs) in parts.items():
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labs)):
            data = idx_bytes(arr)
            name = f"{part}-{kind}-ubyte"
            if gz:
                data, name = gzip.compress(data), name + ".gz"
            (folder / name).write_bytes(data)
            files[name] = data
    return files


def test_mnist_from_folder_all_splits(tmp_path):
    parts = fake_mnist(np.random.default_rng(1))
    folder = tmp_path / "mnist"
    write_mnist(folder, parts, gz=False)
    before = snapshot(folder)
    tr_i, tr_l = parts["train"]
    te_i, te_l = parts["t10k"]

    ds = load_mnist(folder)
    assert ds.X.shape == (8, 784) and ds.X.dtype == np.float32 and ds.X.flags.c_contiguous
    assert ds.image_shape == (28, 28) and ds.kind == "images" and ds.name == "mnist"
    all_imgs = np.concatenate([tr_i, te_i])
    np.testing.assert_array_equal(ds.X, all_imgs.reshape(8, -1) / np.float32(255))
    np.testing.assert_array_equal(ds.y, np.concatenate([tr_l, te_l]))
    assert ds.y.dtype == np.int64
    img = ds.X[0].reshape(ds.image_shape)
    assert (img[0, :5] == 1.0).all() and (img[1:] <= 200 / 255 + 1e-7).all()

    train = load_mnist(folder, split="train")
    np.testing.assert_array_equal(train.y, tr_l)
    test = load_mnist(folder / "t10k-images-idx3-ubyte", split="test")  # a file: its folder
    np.testing.assert_array_equal(test.X, te_i.reshape(3, -1) / np.float32(255))
    assert snapshot(folder) == before
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        load_mnist(folder, split="val")


def test_mnist_gz_in_a_subfolder_and_missing_file(tmp_path):
    parts = fake_mnist(np.random.default_rng(2))
    write_mnist(tmp_path / "data" / "MNIST", parts, gz=True)
    ds = load_mnist(tmp_path / "data")  # one level above the files
    np.testing.assert_array_equal(ds.y, np.concatenate([parts["train"][1], parts["t10k"][1]]))
    (tmp_path / "data" / "MNIST" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path / "data")
    assert load_mnist(tmp_path / "data", split="train").n_samples == 5


def test_mnist_label_count_mismatch(tmp_path):
    parts = fake_mnist(np.random.default_rng(3))
    imgs, labs = parts["train"]
    parts["train"] = (imgs, labs[:-1])
    write_mnist(tmp_path, parts, gz=False)
    with pytest.raises(DataError, match=r"labels of shape \(4,\); expected \(5,\)"):
        load_mnist(tmp_path)


def test_mnist_offline_names_the_cache_path(web, tmp_path):
    expected = data_home() / "mnist" / "train-images-idx3-ubyte.gz"
    assert expected == tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz"
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(download=False)
    assert str(expected) in str(info.value) and "\n" not in str(info.value)
    assert web.calls == []
    with pytest.raises(DataNotFoundError) as info:
        load_mnist()  # tries both mirrors, both unreachable
    assert str(expected) in str(info.value)
    assert web.calls == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz",
    ]
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_mnist_download_verified_then_cached(web, monkeypatch, tmp_path):
    parts = fake_mnist(np.random.default_rng(4))
    files = write_mnist(tmp_path / "served", parts, gz=True)
    monkeypatch.setattr(images, "_MNIST_MD5", {k: md5(v) for k, v in files.items()})
    # The first mirror is down for the labels: the fallback must be used.
    web.pages = {f"http://yann.lecun.com/exdb/mnist/{k}": v for k, v in files.items()}
    s3 = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    web.pages.update({s3 + k: v for k, v in files.items() if "images" in k})
    ds = load_mnist()
    assert ds.n_samples == 8
    np.testing.assert_array_equal(ds.y, np.concatenate([parts["train"][1], parts["t10k"][1]]))
    for name, data in files.items():
        assert (data_home() / "mnist" / name).read_bytes() == data
    n_calls = len(web.calls)
    again = load_mnist(download=False)
    np.testing.assert_array_equal(again.X, ds.X)
    assert len(web.calls) == n_calls


def test_mnist_cached_file_with_wrong_checksum(tmp_path):
    parts = fake_mnist(np.random.default_rng(5))
    write_mnist(data_home() / "mnist", parts, gz=True)
    with pytest.raises(DataError, match="f68b3c2dcbeaaa9fbdd348bbdeb94873") as info:
        load_mnist(download=False)
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_fashion_mnist_from_folder_and_offline(tmp_path):
    parts = fake_mnist(np.random.default_rng(6))
    write_mnist(tmp_path / "fm", parts, gz=True)
    ds = load_fashion_mnist(tmp_path / "fm", split="test")
    np.testing.assert_array_equal(ds.y, parts["t10k"][1])
    assert ds.name == "fashion_mnist" and ds.extra["class_names"][9] == "Ankle boot"
    with pytest.raises(DataNotFoundError, match=str(data_home() / "fashion_mnist")):
        load_fashion_mnist(download=False)


# --------------------------------------------------------------------------- fetch


def test_fetch_checksums_fallback_and_atomicity(web):
    good = b"payload" * 100
    web.pages = {"http://b/f.bin": good, "http://c/f.bin": b"corrupted"}
    sha = hashlib.sha256(good).hexdigest()
    # Mirror a is down, b serves the file.
    path = fetch("f.bin", ["http://a/f.bin", "http://b/f.bin"], sha256=sha, subdir="x")
    assert path == data_home() / "x" / "f.bin" and path.read_bytes() == good
    # A bad download is never cached, and the error names file and expected checksum.
    with pytest.raises(
        DataError,
        match=f"g.bin downloaded from http://c/f.bin has md5 .*; expected md5 {md5(good)}",
    ):
        fetch("g.bin", ["http://c/f.bin"], md5=md5(good), subdir="x")
    assert sorted(p.name for p in (data_home() / "x").iterdir()) == ["f.bin"]
    with pytest.raises(DataNotFoundError, match=r"put h.bin at .*x/h.bin or pass a local path"):
        fetch("h.bin", ["http://b/f.bin"], subdir="x", download=False)


def test_fetch_verifies_a_cached_file_once(monkeypatch):
    target = data_home() / "y" / "z.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"abc")
    calls = []
    real = download.file_digest

    def counting(path, algorithm="md5"):
        calls.append(algorithm)
        return real(path, algorithm)

    monkeypatch.setattr(download, "file_digest", counting)
    for _ in range(3):
        assert fetch("z.bin", ["http://nowhere"], md5=md5(b"abc"), subdir="y") == target
    assert calls == ["md5"]
    with pytest.raises(DataError, match=f"cached file .*z.bin has md5 {md5(b'abc')}; expected"):
        fetch("z.bin", [], md5="0" * 32, subdir="y")


def test_data_home_env(monkeypatch):
    monkeypatch.setenv("DEEPCLUST_DATA", "/some/where")
    assert data_home() == Path("/some/where")
    monkeypatch.delenv("DEEPCLUST_DATA")
    assert data_home() == Path.home() / ".cache" / "deepclust"


def test_find_local(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.gz").write_bytes(b"")
    (tmp_path / "a").write_bytes(b"")
    assert find_local(tmp_path, ["a.gz", "a"]) == tmp_path / "a"
    assert find_local(tmp_path, ["b", "b.gz"]) == tmp_path / "sub" / "b.gz"
    assert find_local(tmp_path / "a", ["zzz"]) == tmp_path / "a"
    assert find_local(tmp_path, ["c"], required=False) is None
    with pytest.raises(DataNotFoundError, match="expected one of: c, c.gz"):
        find_local(tmp_path, ["c", "c.gz"])
    with pytest.raises(DataNotFoundError, match="does not exist"):
        find_local(tmp_path / "nope", ["c"])


# --------------------------------------------------------------------------- tarballs


def make_tar(path: Path, entries: dict[str, bytes], *, symlink: str | None = None) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if symlink is not None:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tf.addfile(info)


def test_extract_tar_refuses_path_traversal_and_links(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    make_tar(evil, {"ok/a.txt": b"a", "../escaped.txt": b"x"})
    with pytest.raises(DataError, match=r"unsafe member '../escaped.txt'"):
        extract_tar(evil, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "dest" / "ok").exists()  # nothing half-extracted
    absolute = tmp_path / "abs.tar.gz"
    make_tar(absolute, {"/tmp/abs-escape.txt": b"x"})
    with pytest.raises(DataError, match="unsafe member"):
        extract_tar(absolute, tmp_path / "dest")
    linked = tmp_path / "link.tar.gz"
    make_tar(linked, {"ok/a.txt": b"a"}, symlink="ok/link")
    with pytest.raises(DataError, match="not a regular file or directory"):
        extract_tar(linked, tmp_path / "dest")
    good = tmp_path / "good.tar.gz"
    make_tar(good, {"d/a.txt": b"hello"})
    extract_tar(good, tmp_path / "dest")
    assert (tmp_path / "dest" / "d" / "a.txt").read_bytes() == b"hello"
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["d"]  # no temp dir left
    notar = tmp_path / "no.tar.gz"
    notar.write_bytes(b"garbage")
    with pytest.raises(DataError, match="expected a valid tar archive"):
        extract_tar(notar, tmp_path / "dest")


# --------------------------------------------------------------------------- CIFAR


def cifar_batch(rng, n: int, label_key: str, extra: dict | None = None) -> tuple[bytes, dict]:
    data = rng.integers(0, 256, size=(n, 3072)).astype(np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    d = {b"batch_label": b"fake", b"data": data, label_key.encode(): labels}
    d.update(extra or {})
    return pickle.dumps(d, protocol=2), d


def write_cifar10(root: Path, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    tr_x, tr_y = [], []
    for i in range(1, 6):
        raw, batch = cifar_batch(rng, 2, "labels")
        (d / f"data_batch_{i}").write_bytes(raw)
        tr_x.append(batch[b"data"])
        tr_y += batch[b"labels"]
    raw, batch = cifar_batch(rng, 3, "labels")
    (d / "test_batch").write_bytes(raw)
    names = [f"class{i}".encode() for i in range(10)]
    (d / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    return np.concatenate(tr_x), np.array(tr_y), batch[b"data"], np.array(batch[b"labels"])


def test_cifar10_from_folder(tmp_path):
    tr_x, tr_y, te_x, te_y = write_cifar10(tmp_path / "dl", np.random.default_rng(7))
    before = snapshot(tmp_path / "dl")
    for path in (tmp_path / "dl", tmp_path / "dl" / "cifar-10-batches-py"):
        ds = load_cifar10(path)
        assert ds.X.shape == (13, 3072) and ds.image_shape == (3, 32, 32)
        np.testing.assert_array_equal(ds.X, np.concatenate([tr_x, te_x]) / np.float32(255))
        np.testing.assert_array_equal(ds.y, np.concatenate([tr_y, te_y]))
    # Row layout: 1024 red values, then green, then blue, each 32x32 row-major.
    img = ds.X[4].reshape(ds.image_shape)
    np.testing.assert_array_equal(img[1, 2, 3], tr_x[4, 1024 + 2 * 32 + 3] / np.float32(255))
    assert ds.extra["class_names"][3] == "class3"
    test = load_cifar10(tmp_path / "dl", split="test")
    np.testing.assert_array_equal(test.y, te_y)
    assert load_cifar10(tmp_path / "dl", split="train").n_samples == 10
    assert snapshot(tmp_path / "dl") == before
    (tmp_path / "dl" / "cifar-10-batches-py" / "nothing").mkdir()
    with pytest.raises(DataNotFoundError, match="no CIFAR-10 data in .*; expected the directory"):
        load_cifar10(tmp_path / "dl" / "cifar-10-batches-py" / "nothing", split="test")
    (tmp_path / "dl" / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataNotFoundError, match="data_batch_3 is missing"):
        load_cifar10(tmp_path / "dl")


def test_cifar10_tarball_extracted_into_cache_and_download(web, monkeypatch, tmp_path):
    tr_x, tr_y, te_x, te_y = write_cifar10(tmp_path / "src", np.random.default_rng(8))
    tarball = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tarball, "w:gz") as tf:
        tf.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    before = snapshot(tarball)
    ds = load_cifar10(tarball, split="test")
    np.testing.assert_array_equal(ds.y, te_y)
    assert (data_home() / "cifar10" / "cifar-10-batches-py" / "test_batch").is_file()
    assert snapshot(tarball) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "cifar-10-python.tar.gz", "src"]

    # Download path: a fresh cache, the official URL served from memory.
    shutil.rmtree(data_home())
    blob = tarball.read_bytes()
    spec = dict(images._CIFAR["cifar10"], md5=md5(blob))
    monkeypatch.setitem(images._CIFAR, "cifar10", spec)
    with pytest.raises(DataNotFoundError, match=str(data_home() / "cifar10" / spec["archive"])):
        load_cifar10(download=False)
    web.pages = {"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz": blob}
    ds = load_cifar10()
    np.testing.assert_array_equal(ds.y, np.concatenate([tr_y, te_y]))


def test_cifar_refuses_code_in_pickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (builtins.print, ("unpickling ran code",))

    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    (d / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match=r"refusing to load (__builtin__|builtins)\.print"):
        load_cifar10(tmp_path, split="train")


def test_cifar100_fine_and_coarse(tmp_path):
    rng = np.random.default_rng(9)
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    batches = {}
    for name, n in (("train", 4), ("test", 2)):
        raw, batch = cifar_batch(rng, n, "fine_labels", {b"coarse_labels": [1] * n})
        (d / name).write_bytes(raw)
        batches[name] = batch
    meta = {b"fine_label_names": [b"f%d" % i for i in range(100)], b"coarse_label_names": [b"c"]}
    (d / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    ds = load_cifar100(tmp_path)
    np.testing.assert_array_equal(
        ds.y, batches["train"][b"fine_labels"] + batches["test"][b"fine_labels"]
    )
    assert ds.extra["class_names"][5] == "f5"
    coarse = load_cifar100(tmp_path, split="test", label_type="coarse")
    np.testing.assert_array_equal(coarse.y, [1, 1])
    np.testing.assert_array_equal(coarse.X, batches["test"][b"data"] / np.float32(255))
    with pytest.raises(ConfigError, match="label_type"):
        load_cifar100(tmp_path, label_type="medium")


# --------------------------------------------------------------------------- STL-10


def stl_image(rng) -> np.ndarray:
    """A (96, 96, 3) uint8 picture with a marker that tells rows from columns."""
    img = rng.integers(0, 100, size=(96, 96, 3)).astype(np.uint8)
    img[5, 80, 0] = 255  # red dot in row 5, column 80 (top right)
    img[70, 10, 2] = 254  # blue dot in row 70, column 10 (bottom left)
    return img


def write_stl(root: Path, rng, counts: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, n in counts.items():
        imgs = np.stack([stl_image(rng) for _ in range(n)])
        # The STL-10 binaries store each image column-major (Fortran order) as 96x96x3.
        raw = b"".join(img.flatten(order="F").tobytes() for img in imgs)
        (root / f"{part}_X.bin").write_bytes(raw)
        labs = rng.integers(1, 11, size=n).astype(np.uint8)
        if part != "unlabeled":
            (root / f"{part}_y.bin").write_bytes(labs.tobytes())
        out[part] = (imgs, labs)
    (root / "class_names.txt").write_text("\n".join(f"c{i}" for i in range(1, 11)) + "\n")
    return out


def test_stl10_orientation_labels_and_splits(tmp_path):
    root = tmp_path / "stl10_binary"
    parts = write_stl(root, np.random.default_rng(10), {"train": 2, "test": 3, "unlabeled": 2})
    before = snapshot(root)
    ds = load_stl10(tmp_path)
    assert ds.X.shape == (5, 3 * 96 * 96) and ds.image_shape == (3, 96, 96)
    img = ds.X[0].reshape(ds.image_shape)
    assert img[0, 5, 80] == 1.0 and img[0, 80, 5] != 1.0  # not transposed
    assert img[2, 70, 10] == np.float32(254) / np.float32(255)
    expected = np.concatenate([parts["train"][0], parts["test"][0]]).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(ds.X, expected.reshape(5, -1) / np.float32(255))
    np.testing.assert_array_equal(ds.y, np.concatenate([parts["train"][1], parts["test"][1]]) - 1)
    assert ds.extra["class_names"][0] == "c1" and ds.unlabelled is None

    unl = load_stl10(root, split="unlabeled")
    assert unl.y is None and unl.n_samples == 2
    np.testing.assert_array_equal(
        unl.X, parts["unlabeled"][0].transpose(0, 3, 1, 2).reshape(2, -1) / np.float32(255)
    )
    mixed = load_stl10(root, split="train+unlabelled")
    np.testing.assert_array_equal(mixed.y, [*(parts["train"][1] - 1), -1, -1])
    assert mixed.unlabelled == -1 and mixed.labelled.sum() == 2
    assert snapshot(root) == before
    with pytest.raises(ConfigError, match=r"unknown split 'train\+val'"):
        load_stl10(root, split="train+val")


def test_stl10_bad_files(tmp_path):
    root = tmp_path / "stl10_binary"
    write_stl(root, np.random.default_rng(11), {"train": 2})
    (root / "train_y.bin").write_bytes(bytes([0, 3]))
    with pytest.raises(DataError, match="expected 1..10"):
        load_stl10(root, split="train")
    (root / "train_y.bin").write_bytes(bytes([3]))
    with pytest.raises(DataError, match="has 1 labels; expected 2"):
        load_stl10(root, split="train")
    with open(root / "train_X.bin", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(DataError, match="expected a positive multiple of 27648"):
        load_stl10(root, split="train")
    with pytest.raises(DataNotFoundError, match=str(data_home() / "stl10")):
        load_stl10(download=False)


# --------------------------------------------------------------------------- MATLAB image sets


def matlab_rows(imgs: np.ndarray) -> np.ndarray:
    """Flatten images the way MATLAB does (column-major), one image per row."""
    return np.stack([img.flatten(order="F") for img in imgs])


def test_image_mat_grey_uint8_rectangular(tmp_path):
    rng = np.random.default_rng(12)
    imgs = rng.integers(0, 256, size=(5, 4, 6)).astype(np.uint8)  # H=4, W=6
    f = tmp_path / "faces.mat"
    scipy.io.savemat(f, {"fea": matlab_rows(imgs), "gnd": np.arange(1, 6)[:, None]})
    before = snapshot(f)
    with pytest.raises(DataError, match="cannot infer the image shape from 24 features"):
        load_image_mat(f)
    ds = load_image_mat(f, image_shape=(4, 6))
    assert ds.image_shape == (4, 6) and ds.kind == "images" and ds.name == "faces"
    np.testing.assert_array_equal(ds.X.reshape(5, 4, 6), imgs / np.float32(255))
    np.testing.assert_array_equal(ds.y, np.arange(1, 6))
    assert ds.X.dtype == np.float32 and ds.X.flags.c_contiguous
    assert snapshot(f) == before
    with pytest.raises(DataError, match=r"image_shape=\(5, 5\) does not fit 24 features"):
        load_image_mat(f, image_shape=(5, 5))
    with pytest.raises(DataError, match=r"key 'images' not found .*available keys: fea, gnd"):
        load_image_mat(f, key="images", image_shape=(4, 6))


def test_image_mat_square_float_colour_and_v73(tmp_path):
    rng = np.random.default_rng(13)
    grey = rng.random((3, 8, 8))
    f = tmp_path / "g.mat"
    scipy.io.savemat(f, {"fea": matlab_rows(grey)})
    ds = load_image_mat(f)
    assert ds.image_shape == (8, 8) and ds.y is None
    np.testing.assert_allclose(ds.X.reshape(3, 8, 8), grey.astype(np.float32), rtol=0, atol=0)

    colour = rng.integers(0, 256, size=(2, 4, 4, 3)).astype(np.uint8)  # MATLAB H x W x C
    c = tmp_path / "c.mat"
    scipy.io.savemat(c, {"X": matlab_rows(colour)})
    ds = load_image_mat(c)
    assert ds.image_shape == (3, 4, 4)
    np.testing.assert_array_equal(
        ds.X.reshape(2, 3, 4, 4), colour.transpose(0, 3, 1, 2) / np.float32(255)
    )
    # order="C": rows already row-major
    rows = grey.reshape(3, -1)
    r = tmp_path / "r.mat"
    scipy.io.savemat(r, {"fea": rows})
    np.testing.assert_array_equal(load_image_mat(r, order="C").X, rows.astype(np.float32))

    v73 = tmp_path / "v73.mat"
    pics = rng.integers(0, 256, size=(3, 4, 6)).astype(np.uint8)
    fea = matlab_rows(pics)
    with h5py.File(v73, "w", userblock_size=512) as fh:
        fh.create_dataset("fea", data=fea.T).attrs["MATLAB_class"] = np.bytes_("uint8")
        fh.create_dataset("gnd", data=np.array([[2.0, 1.0, 2.0]])).attrs["MATLAB_class"] = (
            np.bytes_("double")
        )
    ds = load_image_mat(v73, image_shape=(4, 6))
    np.testing.assert_array_equal(ds.X.reshape(3, 4, 6), pics / np.float32(255))
    np.testing.assert_array_equal(ds.y, [2, 1, 2])


def test_image_mat_pixel_scaling(tmp_path):
    pics = np.array([[0.0, 51.0, 255.0, 102.0]])  # doubles holding 8-bit values
    cases = [
        (pics, pics / 255, "divided by 255"),
        (pics / 255, pics / 255, "already in [0, 1]"),
        (np.array([[0, 1000, 65535, 0]], np.uint16), [[0, 1000 / 65535, 1, 0]], "65535"),
        (np.array([[-2.0, 0.0, 2.0, 6.0]]), [[0, 0.25, 0.5, 1]], "min-max"),
    ]
    for i, (fea, expected, note) in enumerate(cases):
        f = tmp_path / f"s{i}.mat"
        scipy.io.savemat(f, {"fea": fea})
        ds = load_image_mat(f, label_key=False, order="C")  # scaling only, no reorder
        np.testing.assert_allclose(ds.X, expected, rtol=1e-6)
        assert ds.X.dtype == np.float32 and note in ds.extra["scaling"]


def test_coil20_and_orl_need_a_path(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load_coil20()
    msg = str(info.value)
    assert str(data_home() / "coil20" / "COIL20.mat") in msg
    assert "http://www.cad.zju.edu.cn/home/dengcai/Data/COIL20/COIL20.mat" in msg
    with pytest.raises(DataNotFoundError, match="ORL_32x32.mat"):
        load_orl()
    with pytest.raises(DataNotFoundError, match="ORL file ORL_32x32.mat not found"):
        load_orl(tmp_path)
    # A file placed in the cache is found without a path (ORL: 400 faces of 40 people).
    imgs = np.random.default_rng(14).integers(0, 256, size=(400, 32, 32)).astype(np.uint8)
    gnd = np.repeat(np.arange(1, 41), 10).reshape(-1, 1)
    cached = data_home() / "orl" / "ORL_32x32.mat"
    cached.parent.mkdir(parents=True)
    scipy.io.savemat(cached, {"fea": matlab_rows(imgs), "gnd": gnd})
    ds = load_orl()
    assert ds.name == "orl"
    np.testing.assert_array_equal(ds.X.reshape(400, 32, 32), imgs / np.float32(255))


# --------------------------------------------------------------------------- folders


def test_image_folder_with_class_subfolders(tmp_path):
    rng = np.random.default_rng(15)
    root = tmp_path / "pets"
    expected = {}
    for cls, ext in (("dog", ".png"), ("cat", ".bmp"), ("eel", ".tif")):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            arr = rng.integers(0, 256, size=(5, 7)).astype(np.uint8)  # H=5, W=7
            Image.fromarray(arr, mode="L").save(root / cls / f"{i}{ext}")
            expected[f"{cls}/{i}{ext}"] = arr
    (root / "notes.txt").write_text("not an image")  # ignored
    (root / "empty").mkdir()  # no images: not a class
    before = snapshot(root)
    ds = load_image_folder(root)
    assert ds.extra["class_names"] == ["cat", "dog", "eel"]
    assert ds.extra["files"] == [
        "cat/0.bmp",
        "cat/1.bmp",
        "dog/0.png",
        "dog/1.png",
        "eel/0.tif",
        "eel/1.tif",
    ]
    np.testing.assert_array_equal(ds.y, [0, 0, 1, 1, 2, 2])
    assert ds.image_shape == (5, 7) and ds.X.shape == (6, 35) and ds.name == "pets"
    for row, name in zip(ds.X, ds.extra["files"], strict=True):
        np.testing.assert_array_equal(row.reshape(5, 7), expected[name] / np.float32(255))
    assert snapshot(root) == before


def test_image_folder_colour_flat_and_resizing(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    arr = np.zeros((4, 6, 3), dtype=np.uint8)
    arr[1, 2] = (255, 0, 0)  # a red pixel at row 1, column 2
    arr[3, 5] = (0, 0, 255)
    Image.fromarray(arr, mode="RGB").save(root / "a.png")
    Image.fromarray(arr[:, :, 1], mode="L").save(root / "b.png")  # grey joins as RGB
    ds = load_image_folder(root)
    assert ds.y is None and ds.image_shape == (3, 4, 6)
    img = ds.X[0].reshape(ds.image_shape)
    assert img[0, 1, 2] == 1.0 and img[1, 1, 2] == 0.0 and img[2, 3, 5] == 1.0
    assert img.sum() == 2.0
    grey = load_image_folder(root, grayscale=True)
    assert grey.image_shape == (4, 6)

    Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(root / "c.png")
    with pytest.raises(DataError, match=r"different sizes .*pass size=\(H, W\)"):
        load_image_folder(root)
    resized = load_image_folder(root, size=(3, 5))
    assert resized.image_shape == (3, 3, 5) and resized.X.shape == (3, 45)
    assert load_image_folder(root, size=4, grayscale=True).image_shape == (4, 4)


def test_image_folder_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no image files"):
        load_image_folder(empty)
    with pytest.raises(DataNotFoundError):
        load_image_folder(tmp_path / "absent")
    mixed = tmp_path / "mixed"
    (mixed / "a").mkdir(parents=True)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(mixed / "top.png")
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(mixed / "a" / "x.png")
    with pytest.raises(DataError, match="both at the top and in sub-folders"):
        load_image_folder(mixed)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read image"):
        load_image_folder(broken)


# --------------------------------------------------------------------------- real data


def _mirror_corr(imgs: np.ndarray, axis: int) -> float:
    """Mean correlation of each image with its mirror image along ``axis``."""
    a = imgs - imgs.mean(axis=(1, 2), keepdims=True)
    b = np.flip(a, axis=axis)
    return float(np.mean((a * b).sum((1, 2)) / np.sqrt((a * a).sum((1, 2)) * (b * b).sum((1, 2)))))


@pytest.mark.shared_data
def test_real_mnist():
    folder = shared_file("mnist")
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    ds = load_mnist(folder)
    assert ds.X.shape == (70000, 784) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.y), np.add(MNIST_TRAIN_COUNTS, MNIST_TEST_COUNTS))
    np.testing.assert_array_equal(np.bincount(ds.y[60000:]), MNIST_TEST_COUNTS)
    # Digits are written in the middle of the 28x28 frame, with empty borders.
    mean = ds.X.reshape(-1, 28, 28).mean(0)
    assert mean[:2].max() < 0.01 and mean[10:18, 10:18].mean() > 0.2
    assert before == {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


@pytest.mark.shared_data
def test_real_mnist_checksums_through_the_cache():
    folder = shared_file("mnist")
    target = data_home() / "mnist"
    target.mkdir(parents=True)
    for f in folder.glob("*.gz"):
        shutil.copyfile(f, target / f.name)
    ds = load_mnist(download=False, split="test")  # verifies the official MD5s
    np.testing.assert_array_equal(np.bincount(ds.y), MNIST_TEST_COUNTS)


@pytest.mark.shared_data
def test_real_orl_upright():
    f = shared_file("images", "ORL_32x32.mat")
    mtime = f.stat().st_mtime_ns
    ds = load_orl(f)
    assert ds.X.shape == (400, 1024) and ds.image_shape == (32, 32)
    np.testing.assert_array_equal(np.bincount(ds.y)[1:], np.full(40, 10))
    faces = ds.X.reshape(-1, 32, 32)
    # Upright faces are left-right symmetric (a transposed or rotated face is up-down
    # symmetric instead), and the forehead is brighter than chin and neck.
    assert _mirror_corr(faces, axis=2) > 0.45 > 0.25 > _mirror_corr(faces, axis=1)
    assert faces[:, :16].mean() > faces[:, 16:].mean() + 0.05
    assert f.stat().st_mtime_ns == mtime


@pytest.mark.shared_data
def test_real_coil20_upright():
    f = shared_file("images", "COIL20.mat")
    ds = load_coil20(f.parent)
    assert ds.X.shape == (1440, 1024) and ds.X.min() == 0.0 and ds.X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.y)[1:], np.full(20, 72))
    objs = ds.X.reshape(-1, 32, 32)
    # Objects stand on a turntable: mostly symmetric about the vertical axis.
    assert _mirror_corr(objs, axis=2) > _mirror_corr(objs, axis=1) + 0.1
    assert os.fspath(f) == ds.extra["source"]
