"""Loaders for image sets: MNIST-style IDX files, CIFAR, STL-10, MATLAB image sets, folders.

Every loader returns a :class:`~deepclust.data.container.Dataset` with ``kind="images"``,
``X`` of shape ``(n_samples, C*H*W)`` in float32 scaled to ``[0, 1]`` (row-major
flattening of each image, channels first), and ``image_shape`` = ``(H, W)`` for grey or
``(C, H, W)`` for colour images, so ``X[i].reshape(image_shape)`` is an upright picture.

Datasets with an official, checksummed source are downloaded into
:func:`~deepclust.data.download.data_home` when no path is given; inputs are only read.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..exceptions import ConfigError, DataError, DataNotFoundError
from ._files import first_nonfinite, require_nonempty
from .container import Dataset
from .download import data_home, extract_tar, fetch, find_local
from .vectors import (
    _as_labels,
    _choose_data_key,
    _choose_label_key,
    _note_missing_labels,
    read_mat_variables,
)

__all__ = [
    "load_cifar10",
    "load_cifar100",
    "load_coil20",
    "load_fashion_mnist",
    "load_idx",
    "load_image_folder",
    "load_image_mat",
    "load_mnist",
    "load_orl",
    "load_stl10",
]

PathLike = str | os.PathLike
Split = Literal["train", "test", "all"]

# --------------------------------------------------------------------------- sources

_MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
# The MD5s torchvision's FashionMNIST pins for these files. Parsing still validates them.
_FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
_FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
_IDX_PARTS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_CIFAR: dict[str, dict[str, Any]] = {
    "cifar10": {
        "title": "CIFAR-10",
        "dirname": "cifar-10-batches-py",
        "archive": "cifar-10-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "md5": "c58f30108f718f92721af3b95e74349a",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
    },
    "cifar100": {
        "title": "CIFAR-100",
        "dirname": "cifar-100-python",
        "archive": "cifar-100-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "md5": "eb9058c3a382ffc7106e4002c42a8d85",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
    },
}

_STL = {
    "dirname": "stl10_binary",
    "archive": "stl10_binary.tar.gz",
    "url": "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
    "md5": "91f7769df0f17e558f3565bffb0c7dfb",
}
_STL_SIDE = 96
_STL_BYTES = 3 * _STL_SIDE * _STL_SIDE

# Where the classic MATLAB image sets are usually obtained (no official checksum known,
# so they are never downloaded automatically).
_DENG_CAI = "http://www.cad.zju.edu.cn/home/dengcai/Data/"


# --------------------------------------------------------------------------- helpers


def _existing(path: PathLike, expected: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataNotFoundError(f"{p} does not exist; expected {expected}")
    return p


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _check_split(split: str, allowed: Sequence[str]) -> None:
    if split not in allowed:
        raise ConfigError(
            f"unknown split {split!r}; expected one of {', '.join(repr(s) for s in allowed)}"
        )


def _unit_float32(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1], computed in float32 without a float64 copy."""
    out = np.empty(images.shape, dtype=np.float32)
    np.divide(images, np.float32(255.0), out=out)
    return out


def _images_dataset(
    images: np.ndarray,
    y: np.ndarray | None,
    name: str,
    image_shape: tuple[int, ...],
    **extra: Any,
) -> Dataset:
    """Flatten float32 images ``(n, *image_shape)`` into the container."""
    X = np.ascontiguousarray(images, dtype=np.float32).reshape(images.shape[0], -1)
    info = {k: v for k, v in extra.items() if v is not None}
    return Dataset(
        X=X,
        y=y,
        name=name,
        kind="images",
        image_shape=tuple(int(s) for s in image_shape),
        unlabelled=info.pop("unlabelled", None),
        extra=info,
    )


# --------------------------------------------------------------------------- IDX / MNIST

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not.

    The header is two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8, ``0x0B``
    int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of dimensions,
    then each dimension as a big-endian uint32; the values follow big-endian, row-major.
    Compression is detected from the content, not the file name.

    Parameters
    ----------
    path : path-like
        IDX file (``.gz`` or plain).

    Returns
    -------
    ndarray
        Array of the stored shape in native byte order (e.g. ``(60000, 28, 28)`` uint8).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        Empty file, truncated or damaged gzip stream, bad magic number, unknown type code,
        or a size that does not match the header.
    """
    p = _existing(path, "an IDX file")
    require_nonempty(p, "an IDX file (.gz or plain)")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {p}: {_one_line(exc)}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            # EOFError: the stream was cut (partial download); OSError: bad CRC/header.
            raise DataError(
                f"{p} is a truncated or damaged gzip file ({_one_line(exc)}); expected a "
                "complete .gz IDX file (download or copy it again)"
            ) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(
            f"{p.name} is not an IDX file: magic bytes {raw[:4].hex() or '(empty)'}; expected "
            "0000 then a type code (08/09/0b/0c/0d/0e) and the number of dimensions"
        )
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DataError(f"{p.name} is truncated: the IDX header promises {ndim} dimensions")
    dims = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(dims, dtype=np.int64))
    if len(raw) - start != count * dtype.itemsize:
        raise DataError(
            f"{p.name} holds {len(raw) - start} data bytes; expected "
            f"{count * dtype.itemsize} for shape {tuple(dims)} of {dtype.name}"
        )
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=start).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # a native, writable copy


def _idx_names(stem: str) -> list[str]:
    # Some unzip tools turn "train-images-idx3-ubyte" into "train-images.idx3-ubyte".
    dotted = stem.replace("-idx", ".idx")
    return [f"{stem}.gz", stem, f"{dotted}.gz", dotted]


def _idx_expected() -> str:
    stems = [stem for part in ("train", "test") for stem in _IDX_PARTS[part]]
    return ", ".join(f"{stem}(.gz)" for stem in stems)


def _holds_idx(folder: Path) -> bool:
    """Whether ``folder`` directly holds at least one of the four IDX files."""
    return any(
        (folder / n).is_file()
        for part in ("train", "test")
        for stem in _IDX_PARTS[part]
        for n in _idx_names(stem)
    )


def _idx_folder(path: PathLike, spec: str, title: str) -> Path:
    """The one folder the IDX files are read from; files are never mixed across folders.

    A file must be one of the IDX files (its folder is then used, and only it). A folder is
    used if it holds any IDX file, else its only sub-folder that does; several such
    sub-folders (say ``MNIST/`` and ``FashionMNIST/``) are ambiguous and an error.
    """
    base = _existing(path, f"the directory holding the {title} IDX files")
    if base.is_file():
        names = {n for part in ("train", "test") for s in _IDX_PARTS[part] for n in _idx_names(s)}
        if base.name not in names:
            raise DataError(
                f"{spec}:PATH expects a folder holding {_idx_expected()}; got a file {base}"
            )
        return base.parent
    if _holds_idx(base):
        return base
    subs = sorted(d for d in base.iterdir() if d.is_dir() and _holds_idx(d))
    if len(subs) == 1:
        return subs[0]
    if subs:
        raise DataError(
            f"several sub-folders of {base} hold IDX files ({', '.join(d.name for d in subs)}); "
            f"expected {spec}:PATH to name the {title} one"
        )
    raise DataNotFoundError(
        f"no {title} IDX files in {base} or its sub-folders; expected {_idx_expected()}"
    )


def _idx_file(folder: Path, stem: str, title: str) -> Path:
    for n in _idx_names(stem):
        if (folder / n).is_file():
            return folder / n
    raise DataNotFoundError(
        f"{title} file {stem}(.gz) not found in {folder}; expected one of: "
        f"{', '.join(_idx_names(stem))} beside the other IDX files"
    )


def _load_idx_set(
    path: PathLike | None,
    split: str,
    download: bool,
    *,
    name: str,
    spec: str,
    title: str,
    urls: Sequence[str],
    md5s: dict[str, str],
    class_names: list[str] | None = None,
) -> Dataset:
    _check_split(split, ("train", "test", "all"))
    parts = ("train", "test") if split == "all" else (split,)
    base = None if path is None else _idx_folder(path, spec, title)
    images, labels, files = [], [], []
    for part in parts:
        pair = []
        for stem in _IDX_PARTS[part]:
            if base is None:
                gz = f"{stem}.gz"
                found = fetch(
                    gz, [u + gz for u in urls], md5=md5s.get(gz), subdir=name, download=download
                )
            else:
                found = _idx_file(base, stem, title)
            pair.append(found)
        imgs, labs = load_idx(pair[0]), load_idx(pair[1])
        if imgs.ndim != 3 or imgs.dtype != np.uint8:
            raise DataError(
                f"{pair[0].name} holds {imgs.dtype.name} of shape {imgs.shape}; expected "
                "uint8 images (n, H, W)"
            )
        if labs.ndim != 1 or labs.shape[0] != imgs.shape[0]:
            raise DataError(
                f"{pair[1].name} holds labels of shape {labs.shape}; expected "
                f"({imgs.shape[0]},) to match {pair[0].name}"
            )
        images.append(imgs)
        labels.append(labs.astype(np.int64))
        files.extend(str(f) for f in pair)
    stacked = np.concatenate(images) if len(images) > 1 else images[0]
    return _images_dataset(
        _unit_float32(stacked),
        np.concatenate(labels),
        name,
        stacked.shape[1:],
        source=str(base) if base is not None else str(data_home() / name),
        split=split,
        files=files,
        class_names=class_names,
    )


def load_mnist(
    path: PathLike | None = None,
    *,
    split: Split = "all",
    download: bool = True,
) -> Dataset:
    """Load MNIST handwritten digits from the original IDX files.

    Parameters
    ----------
    path : path-like, optional
        Directory holding ``train-images-idx3-ubyte(.gz)``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (or one level above it, when
        exactly one of its sub-folders holds IDX files), or one of these files (then its
        folder, and only it, is read). All files come from that one folder. ``None`` uses
        the cache ``data_home()/mnist``, downloading the ``.gz`` files from
        https://ossci-datasets.s3.amazonaws.com/mnist/ (fallback
        http://yann.lecun.com/exdb/mnist/) and checking their MD5s.
    split : {"train", "test", "all"}, default="all"
        ``"all"`` is the 60,000 training images followed by the 10,000 test images.
    download : bool, default=True
        If False, never touch the network (a missing cache file raises).

    Returns
    -------
    Dataset
        ``X`` (n, 784) float32 in [0, 1], ``y`` digits 0..9, ``image_shape=(28, 28)``.

    Raises
    ------
    DataNotFoundError
        Files missing and not downloadable; the message names the full cache path.
    DataError
        Corrupt files or a checksum mismatch; ``path`` is a file that is not one of the
        IDX files, or a folder with several sub-folders of IDX files.
    """
    return _load_idx_set(
        path,
        split,
        download,
        name="mnist",
        spec="mnist",
        title="MNIST",
        urls=_MNIST_URLS,
        md5s=_MNIST_MD5,
    )


def load_fashion_mnist(
    path: PathLike | None = None,
    *,
    split: Split = "all",
    download: bool = True,
) -> Dataset:
    """Load Fashion-MNIST (Zalando article images) from IDX files.

    Same file names and layout as :func:`load_mnist`. ``None`` uses the cache
    ``data_home()/fashion_mnist``, downloading from the official
    http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (fallback: the
    zalandoresearch/fashion-mnist GitHub repository). The dataset's own pages publish no
    checksums; downloads are checked against the MD5s that torchvision pins for these
    files, and every file is additionally validated by parsing its IDX header and size.

    Parameters
    ----------
    path : path-like, optional
        Directory holding the four IDX files (``.gz`` or not), one level above it, or one
        of the files, as for :func:`load_mnist`.
    split : {"train", "test", "all"}, default="all"
        ``"all"`` is the 60,000 training images followed by the 10,000 test images.
    download : bool, default=True
        If False, never touch the network.

    Returns
    -------
    Dataset
        ``X`` (n, 784) float32 in [0, 1], ``y`` 0..9, ``image_shape=(28, 28)``,
        ``extra["class_names"]``.
    """
    return _load_idx_set(
        path,
        split,
        download,
        name="fashion_mnist",
        spec="fashion-mnist",
        title="Fashion-MNIST",
        urls=_FASHION_URLS,
        md5s=_FASHION_MD5,
        class_names=list(_FASHION_CLASSES),
    )


# --------------------------------------------------------------------------- archives


def _dataset_dir(
    path: PathLike | None,
    download: bool,
    *,
    name: str,
    title: str,
    dirname: str,
    marker: str,
    archive: str,
    url: str,
    md5: str,
    members: Sequence[str],
) -> Path:
    """Directory holding an extracted dataset, extracting a tarball into the cache if needed.

    ``path`` may be the extracted directory, a folder above it (when only one of its
    sub-folders holds the data), one of the dataset's own files (``members``), the tarball,
    or a folder holding the tarball; ``None`` means the cache (downloading the tarball if
    allowed). Any other file is refused rather than its folder searched.
    """
    cache_dir = data_home() / name
    if path is None:
        if (cache_dir / dirname / marker).is_file():
            return cache_dir / dirname
        tarball = fetch(archive, [url], md5=md5, subdir=name, download=download)
    else:
        p = _existing(path, f"the {title} directory {dirname} or {archive}")
        if p.is_file() and p.name in members:
            return p.parent  # the user pointed at one of the data files: read its folder
        if p.is_file() and not _is_tar(p):
            raise DataError(
                f"{name}:PATH expects the folder {dirname} (or a folder above it) or the "
                f"archive {archive}; got a file {p}"
            )
        if p.is_dir():
            hit = find_local(p, [marker], required=False)
            if hit is not None:
                return hit.parent
            found = find_local(p, [archive], required=False)
            if found is None:
                raise DataNotFoundError(
                    f"no {title} data in {p}; expected the directory {dirname} (holding "
                    f"{marker}) or the archive {archive}"
                )
            p = found
        tarball = p
    extracted = cache_dir / dirname
    if not (extracted / marker).is_file():
        # Tarballs are unpacked into the cache, never next to the user's file.
        extract_tar(tarball, cache_dir)
    if not (extracted / marker).is_file():
        raise DataError(
            f"{tarball} does not contain {dirname}/{marker}; expected the official "
            f"{title} archive {archive}"
        )
    return extracted


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler for the CIFAR batches: only numpy arrays, no arbitrary code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path, title: str = "CIFAR") -> dict[str, Any]:
    """A CIFAR batch as a dict with str keys (the files are Python 2 pickles)."""
    require_nonempty(path, f"a {title} batch (Python pickle)")
    try:
        with open(path, "rb") as fh:
            obj = _NumpyOnlyUnpickler(fh, encoding="bytes").load()
    except pickle.UnpicklingError as exc:
        if str(exc).startswith("refusing"):
            raise DataError(f"cannot read {title} batch {path}: {_one_line(exc)}") from exc
        raise _bad_batch(path, title, exc) from exc
    except Exception as exc:
        # Damaged pickles fail in many ways (EOFError, KeyError, OverflowError, ...).
        raise _bad_batch(path, title, exc) from exc
    if not isinstance(obj, dict):
        raise DataError(f"{path} holds a {type(obj).__name__}; expected a CIFAR batch dict")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _bad_batch(path: Path, title: str, exc: BaseException) -> DataError:
    return DataError(
        f"{path} is not a valid {title} batch (Python pickle: {_one_line(exc)}); expected a "
        "file of the official python archive (extract it again)"
    )


def _load_cifar(
    which: str,
    path: PathLike | None,
    split: str,
    download: bool,
    label_key: str,
    names_key: str,
) -> Dataset:
    spec = _CIFAR[which]
    _check_split(split, ("train", "test", "all"))
    root = _dataset_dir(
        path,
        download,
        name=which,
        title=spec["title"],
        dirname=spec["dirname"],
        marker=spec["train"][0],
        archive=spec["archive"],
        url=spec["url"],
        md5=spec["md5"],
        members=[*spec["train"], *spec["test"], spec["meta"], "readme.html"],
    )
    batches = (spec["train"] + spec["test"]) if split == "all" else spec[split]
    data, labels = [], []
    for batch in batches:
        f = root / batch
        if not f.is_file():
            raise DataNotFoundError(f"{spec['title']} batch {batch} is missing from {root}")
        d = _unpickle(f, spec["title"])
        if "data" not in d or label_key not in d:
            raise DataError(
                f"{f} has keys {', '.join(sorted(d))}; expected 'data' and {label_key!r}"
            )
        x = np.asarray(d["data"])
        if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or x.dtype != np.uint8:
            raise DataError(
                f"{f} data is {x.dtype.name} {x.shape}; expected uint8 (n, 3072) images"
            )
        lab = np.asarray(d[label_key], dtype=np.int64).reshape(-1)
        if lab.shape[0] != x.shape[0]:
            raise DataError(f"{f} has {x.shape[0]} images but {lab.shape[0]} labels")
        data.append(x)
        labels.append(lab)
    class_names = None
    meta = root / spec["meta"]
    if meta.is_file():
        names = _unpickle(meta, spec["title"]).get(names_key)
        if names is not None:
            class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    # Each CIFAR row is the red plane, then green, then blue, each 32x32 row-major:
    # exactly the channels-first layout, so no transpose is needed.
    raw = np.concatenate(data)
    return _images_dataset(
        _unit_float32(raw.reshape(-1, 3, 32, 32)),
        np.concatenate(labels),
        which,
        (3, 32, 32),
        source=str(root),
        split=split,
        class_names=class_names,
    )


def load_cifar10(
    path: PathLike | None = None,
    split: Split = "all",
    download: bool = True,
) -> Dataset:
    """Load CIFAR-10 from its Python batches.

    Parameters
    ----------
    path : path-like, optional
        The directory ``cifar-10-batches-py`` (or a folder above it), or the archive
        ``cifar-10-python.tar.gz``, which is extracted (safely) into
        ``data_home()/cifar10``. ``None`` uses the cache, downloading
        https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (MD5 checked).
    split : {"train", "test", "all"}, default="all"
        ``"all"`` is the 50,000 training images followed by the 10,000 test images.
    download : bool, default=True
        If False, never touch the network.

    Returns
    -------
    Dataset
        ``X`` (n, 3072) float32 in [0, 1], ``y`` 0..9, ``image_shape=(3, 32, 32)``,
        ``extra["class_names"]`` from ``batches.meta``.
    """
    return _load_cifar("cifar10", path, split, download, "labels", "label_names")


def load_cifar100(
    path: PathLike | None = None,
    split: Split = "all",
    download: bool = True,
    label_type: Literal["fine", "coarse"] = "fine",
) -> Dataset:
    """Load CIFAR-100 from its Python batches.

    Parameters
    ----------
    path : path-like, optional
        The directory ``cifar-100-python`` (or a folder above it), or the archive
        ``cifar-100-python.tar.gz``. ``None`` uses ``data_home()/cifar100``, downloading
        https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz (MD5 checked).
    split : {"train", "test", "all"}, default="all"
        ``"all"`` is the 50,000 training images followed by the 10,000 test images.
    download : bool, default=True
        If False, never touch the network.
    label_type : {"fine", "coarse"}, default="fine"
        100 fine classes or 20 coarse super-classes.

    Returns
    -------
    Dataset
        ``X`` (n, 3072) float32 in [0, 1], ``image_shape=(3, 32, 32)``.
    """
    if label_type not in ("fine", "coarse"):
        raise ConfigError(f"unknown label_type {label_type!r}; expected 'fine' or 'coarse'")
    return _load_cifar(
        "cifar100", path, split, download, f"{label_type}_labels", f"{label_type}_label_names"
    )


# --------------------------------------------------------------------------- STL-10

_STL_PARTS = ("train", "test", "unlabeled")


def load_stl10(
    path: PathLike | None = None,
    split: str = "train+test",
    download: bool = True,
) -> Dataset:
    """Load STL-10 (96x96 colour images) from its binary files.

    The binaries store each image column-major (MATLAB order) as 3x96x96 bytes; they are
    transposed here so that ``X[i].reshape(3, 96, 96)`` is an upright, row-major picture.

    Parameters
    ----------
    path : path-like, optional
        The directory ``stl10_binary`` (``train_X.bin``, ``train_y.bin``, ``test_X.bin``,
        ``test_y.bin``, ``unlabeled_X.bin``), a folder above it, or
        ``stl10_binary.tar.gz`` (extracted into ``data_home()/stl10``). ``None`` uses the
        cache, downloading http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz
        (2.6 GB, MD5 checked).
    split : str, default="train+test"
        ``"train"`` (5,000), ``"test"`` (8,000), ``"unlabeled"`` (100,000) or several
        joined with ``+`` in that order of appearance. ``"unlabeled"`` alone gives
        ``y=None``; mixed with labelled parts, unlabelled samples get ``y=-1`` and
        ``unlabelled=-1``. Beware: 100,000 float32 images take 11 GB.
    download : bool, default=True
        If False, never touch the network.

    Returns
    -------
    Dataset
        ``X`` (n, 27648) float32 in [0, 1], ``y`` 0..9 (the files' 1..10 shifted),
        ``image_shape=(3, 96, 96)``, ``extra["class_names"]`` if ``class_names.txt`` is
        present.
    """
    parts = [s.strip().replace("unlabelled", "unlabeled") for s in split.split("+")]
    if not parts or any(p not in _STL_PARTS for p in parts) or len(set(parts)) != len(parts):
        raise ConfigError(
            f"unknown split {split!r}; expected 'train', 'test', 'unlabeled' or several "
            "joined by '+' (e.g. 'train+test')"
        )
    root = _dataset_dir(
        path,
        download,
        name="stl10",
        title="STL-10",
        dirname=_STL["dirname"],
        marker=f"{parts[0]}_X.bin",
        archive=_STL["archive"],
        url=_STL["url"],
        md5=_STL["md5"],
        members=[
            *(f"{part}_X.bin" for part in _STL_PARTS),
            "train_y.bin",
            "test_y.bin",
            "class_names.txt",
            "fold_indices.txt",
        ],
    )
    sources = []
    for part in parts:
        xf = root / f"{part}_X.bin"
        if not xf.is_file():
            raise DataNotFoundError(f"STL-10 file {xf.name} is missing from {root}")
        size = xf.stat().st_size
        if size == 0 or size % _STL_BYTES:
            raise DataError(
                f"{xf} has {size} bytes; expected a positive multiple of {_STL_BYTES} "
                "(3x96x96 images)"
            )
        sources.append((part, xf, size // _STL_BYTES))
    n_total = sum(n for _, _, n in sources)
    # Filled in place: the unlabeled part would not fit twice in memory.
    out = np.empty((n_total, 3, _STL_SIDE, _STL_SIDE), dtype=np.float32)
    labels: list[np.ndarray] = []
    start = 0
    for part, xf, n in sources:
        raw = np.memmap(xf, dtype=np.uint8, mode="r", shape=(n, 3, _STL_SIDE, _STL_SIDE))
        # Column-major 3x96x96 read row-major is indexed [c, x, y]; swap to [c, y, x].
        np.divide(raw.transpose(0, 1, 3, 2), np.float32(255.0), out=out[start : start + n])
        del raw
        start += n
        if part == "unlabeled":
            labels.append(np.full(n, -1, dtype=np.int64))
            continue
        yf = root / f"{part}_y.bin"
        if not yf.is_file():
            raise DataNotFoundError(f"STL-10 file {yf.name} is missing from {root}")
        lab = np.fromfile(yf, dtype=np.uint8).astype(np.int64)
        if lab.shape[0] != n:
            raise DataError(f"{yf} has {lab.shape[0]} labels; expected {n} to match {xf.name}")
        if lab.size and (lab.min() < 1 or lab.max() > 10):
            raise DataError(f"{yf} has labels {lab.min()}..{lab.max()}; expected 1..10")
        labels.append(lab - 1)
    y: np.ndarray | None = np.concatenate(labels)
    unlabelled = None
    if parts == ["unlabeled"]:
        y = None
    elif "unlabeled" in parts:
        unlabelled = -1
    names_file = root / "class_names.txt"
    class_names = (
        [ln.strip() for ln in names_file.read_text().splitlines() if ln.strip()]
        if names_file.is_file()
        else None
    )
    return _images_dataset(
        out,
        y,
        "stl10",
        (3, _STL_SIDE, _STL_SIDE),
        source=str(root),
        split="+".join(parts),
        class_names=class_names,
        unlabelled=unlabelled,
    )


# --------------------------------------------------------------------------- MATLAB sets


def _scale_to_unit(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """Pixel values to float32 in [0, 1], and a note on how they were scaled."""
    if arr.dtype == np.uint8:
        return _unit_float32(arr), "divided by 255 (uint8)"
    if arr.dtype.kind == "b":
        return arr.astype(np.float32), "boolean"
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0.0 and hi <= 1.0:
        return arr.astype(np.float32), "none (already in [0, 1])"
    if lo >= 0.0 and hi <= 255.0:
        return (arr / 255.0).astype(np.float32), "divided by 255"
    if lo >= 0.0 and hi <= 65535.0 and arr.dtype.kind in "iu":
        return (arr / 65535.0).astype(np.float32), "divided by 65535 (16-bit)"
    span = hi - lo if hi > lo else 1.0
    return ((arr - lo) / span).astype(np.float32), f"min-max from [{lo:g}, {hi:g}]"


def _infer_image_shape(n_features: int, source: str) -> tuple[int, ...]:
    side = int(round(np.sqrt(n_features)))
    if side * side == n_features:
        return (side, side)
    if n_features % 3 == 0:
        side = int(round(np.sqrt(n_features // 3)))
        if 3 * side * side == n_features:
            return (3, side, side)
    raise DataError(
        f"{source}: cannot infer the image shape from {n_features} features (not a square "
        "image); pass image_shape=(H, W) or (C, H, W)"
    )


def load_image_mat(
    path: PathLike,
    *,
    image_shape: tuple[int, ...] | None = None,
    key: str | None = None,
    label_key: str | Literal[False] | None = None,
    order: Literal["F", "C"] = "F",
    name: str | None = None,
) -> Dataset:
    """Load an image set stored as a MATLAB matrix of flattened images (``fea``/``gnd``).

    Parameters
    ----------
    path : path-like
        ``.mat`` file (v5 or v7.3) with one image per row, e.g. Deng Cai's COIL-20
        (``fea`` 1440x1024 float in [0, 1]) or ORL (``fea`` 400x1024 uint8).
    image_shape : tuple, optional
        ``(H, W)`` or ``(C, H, W)``. Default: square ``(s, s)`` when ``n_features`` is a
        perfect square, else ``(3, s, s)`` when that fits.
    key, label_key : str, optional
        Variables for images and labels; defaults as in
        :func:`deepclust.data.vectors.load_mat` (``fea``/``gnd`` for these sets).
        ``label_key=False`` loads no labels.
    order : {"F", "C"}, default="F"
        Layout of each row. ``"F"``: MATLAB's column-major ``H x W (x C)`` image, as in
        these benchmark files (read row-major they show up transposed). ``"C"``: rows are
        already row-major ``(C,) H, W``.
    name : str, optional
        Dataset name (default: the file stem).

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1] (uint8 divided by 255; data already in [0, 1] kept),
        labels flattened to integers as stored, ``extra["scaling"]`` says how pixels
        were scaled.

    Raises
    ------
    DataError
        Unknown key (the message lists the variables), an image shape that does not
        match the number of features, or labels of the wrong length.
    """
    if order not in ("F", "C"):
        raise ConfigError(f"unknown order {order!r}; expected 'F' (MATLAB) or 'C'")
    p = Path(path).expanduser()
    variables = read_mat_variables(p)
    shapes = {n: tuple(v.shape) for n, v in variables.items()}
    data_key = _choose_data_key(shapes, key, p.name, largest=True)
    raw = variables[data_key]
    if hasattr(raw, "toarray"):
        raw = raw.toarray()
    raw = np.asarray(raw)
    if raw.ndim != 2 or raw.dtype.kind not in "biuf" or 0 in raw.shape:
        raise DataError(
            f"{p.name}[{data_key!r}] is {raw.dtype.name} of shape {raw.shape}; expected a "
            "numeric (n_images, n_pixels) matrix"
        )
    bad = first_nonfinite(raw) if raw.dtype.kind == "f" else None
    if bad is not None:
        raise DataError(
            f"{p.name}[{data_key!r}]: X contains {bad}; expected finite pixel values: fill or "
            "drop them"
        )
    n, n_features = raw.shape
    if image_shape is None:
        shape = _infer_image_shape(n_features, f"{p.name}[{data_key!r}]")
    else:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) not in (2, 3) or int(np.prod(shape)) != n_features:
            raise DataError(
                f"image_shape={tuple(image_shape)} does not fit {n_features} features per "
                f"image in {p.name}; expected (H, W) or (C, H, W) with H*W*C = {n_features}"
            )
    pixels, scaling = _scale_to_unit(raw)
    if order == "F":
        # Column-major H x W (x C): read row-major, the axes come out as (C,) W, H.
        flipped = (shape[0], shape[2], shape[1]) if len(shape) == 3 else (shape[1], shape[0])
        images = pixels.reshape(n, *flipped).swapaxes(-1, -2)
    else:
        images = pixels.reshape(n, *shape)
    chosen = _choose_label_key(list(variables), label_key, data_key, p.name)
    y = None
    if chosen is not None:
        y, _ = _as_labels(variables[chosen], n, f"{p.name}[{chosen!r}]")
    ds = _images_dataset(
        images,
        y,
        name or p.stem,
        shape,
        source=str(p),
        key=data_key,
        label_key=chosen,
        scaling=scaling,
    )
    if y is None and label_key is None:
        _note_missing_labels(ds.extra, variables, n, data_key, p.name)
    return ds


def _named_mat(
    path: PathLike | None,
    filename: str,
    where: str,
    name: str,
    title: str,
    expected: tuple[int, int],
) -> Dataset:
    if path is None:
        # No official checksummed source is known: only the cache is looked at.
        path = fetch(
            filename,
            [],
            subdir=name,
            download=False,
            hint=f"{title} is commonly distributed at {_DENG_CAI}{where}",
        )
    p = Path(path).expanduser()
    if p.is_dir():
        p = find_local(p, [filename], what=f"{title} file {filename}")
    ds = load_image_mat(p, key="fea", label_key="gnd", name=name)
    # Any fea/gnd image set would load here: check it is this one, not a sibling set.
    n_samples, n_classes = expected
    if ds.n_samples != n_samples or ds.n_classes != n_classes:
        raise DataError(
            f"{p} holds {ds.n_samples} images of {ds.n_classes} classes; {name}:PATH expects "
            f"{title} ({filename}: {n_samples} images of {n_classes} classes); load other "
            "fea/gnd sets with image-mat:PATH"
        )
    return ds


def load_coil20(path: PathLike | None = None) -> Dataset:
    """Load COIL-20 (processed, 32x32 grey) from Deng Cai's ``COIL20.mat``.

    Parameters
    ----------
    path : path-like, optional
        ``COIL20.mat`` (``fea`` 1440x1024 in [0, 1], ``gnd`` 1..20) or its folder (or one
        level above it, when only one sub-folder holds ``COIL20.mat``). A file that is not
        1440 images of 20 objects is refused (use ``image-mat:`` for other sets). No
        official download with a checksum is known, so ``None`` only looks in
        ``data_home()/coil20/COIL20.mat`` and otherwise raises, saying where to get it.

    Returns
    -------
    Dataset
        1440 upright 32x32 images of 20 objects, ``y`` 1..20 as stored.
    """
    return _named_mat(path, "COIL20.mat", "COIL20/COIL20.mat", "coil20", "COIL-20", (1440, 20))


def load_orl(path: PathLike | None = None) -> Dataset:
    """Load the ORL / AT&T faces (32x32 grey) from Deng Cai's ``ORL_32x32.mat``.

    Parameters
    ----------
    path : path-like, optional
        ``ORL_32x32.mat`` (``fea`` 400x1024 uint8, ``gnd`` 1..40) or its folder; a file
        that is not 400 faces of 40 people is refused. ``None``
        only looks in ``data_home()/orl/ORL_32x32.mat`` (no checksummed official source
        is known) and otherwise raises, saying where to get it.

    Returns
    -------
    Dataset
        400 upright 32x32 faces of 40 people, ``y`` 1..40 as stored.
    """
    return _named_mat(path, "ORL_32x32.mat", "ORL/ORL_32x32.mat", "orl", "ORL", (400, 40))


# --------------------------------------------------------------------------- folders

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.rglob("*")
        if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES and not f.name.startswith(".")
    )


def _image_error(f: Path, exc: BaseException) -> DataError:
    """One line for an image file PIL cannot open or decode."""
    from PIL import UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        what = "the file is empty (0 bytes)" if f.stat().st_size == 0 else "not an image format"
        return DataError(
            f"cannot read image {f}: {what}; expected an image file ({', '.join(_IMAGE_SUFFIXES)})"
        )
    return DataError(f"cannot read image {f} ({_one_line(exc)}); expected a complete image file")


def _lazy_folder(
    root: Path,
    files: list[Path],
    y: np.ndarray | None,
    grey: bool,
    size: tuple[int, int] | None,
    class_names: list[str] | None,
) -> Dataset:
    """The folder as a :class:`LazyImageRows` dataset: one image decoded (its shape), the
    others' headers read (equal sizes, unless ``size`` resizes them)."""
    from PIL import Image

    from .lazy_images import LazyImageRows

    first = _read_image(files[0], grey, size)
    if size is None:
        for f in files[1:]:
            try:
                with Image.open(f) as im:
                    hw = (im.size[1], im.size[0])
            except OSError as exc:
                raise _image_error(f, exc) from exc
            if hw != first.shape[:2]:
                raise DataError(
                    f"images in {root} have different sizes ({first.shape[0]}x"
                    f"{first.shape[1]} in {files[0].name}, {hw[0]}x{hw[1]} in {f.name}); "
                    "pass size=(H, W) to resize them"
                )
    image_shape = first.shape if grey else (3, *first.shape[:2])
    rel = [str(f.relative_to(root)) for f in files]
    X = LazyImageRows(root, rel, grey=grey, size=size, image_shape=image_shape)
    extra: dict[str, Any] = {"source": str(root), "files": rel}
    if class_names is not None:
        extra["class_names"] = class_names
    return Dataset(X=X, y=y, name=root.name, kind="images", image_shape=image_shape,
                   extra=extra)  # fmt: skip


def _read_image(f: Path, grey: bool, size: tuple[int, int] | None) -> np.ndarray:
    """One image as float32 in [0, 1], shape (H, W) or (H, W, 3)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(f) as im:
            im.load()
            im = ImageOps.exif_transpose(im)  # camera photos: honour the EXIF rotation
            if grey:
                if im.mode.startswith("I;16") or im.mode == "I":
                    im, scale = im.convert("I"), 65535.0
                elif im.mode == "F":
                    scale = 1.0
                else:
                    im, scale = im.convert("L"), 255.0
            else:
                im, scale = im.convert("RGB"), 255.0
            if size is not None:
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)  # PIL: (W, H)
            arr = np.asarray(im, dtype=np.float32) / np.float32(scale)
    except (OSError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise _image_error(f, exc) from exc
    if not (np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0):
        raise DataError(f"{f} has pixel values outside [0, 1] after scaling; expected 8/16-bit")
    return arr


def load_image_folder(
    path: PathLike,
    *,
    size: int | tuple[int, int] | None = None,
    grayscale: bool = False,
    lazy: bool = False,
) -> Dataset:
    """Load a folder of image files (PNG, JPEG, BMP, TIFF, GIF, PGM/PPM) with Pillow.

    Parameters
    ----------
    path : path-like
        Either a flat folder of images (``y=None``), or a folder with one sub-folder per
        class (images anywhere below it): sorted sub-folder names become labels
        ``0..K-1``, kept in ``extra["class_names"]``.
    size : int or (H, W), optional
        Resize every image to this size (bilinear). Required when sizes differ.
    grayscale : bool, default=False
        Convert to grey. Otherwise the set is grey when every image is grey, else RGB.
    lazy : bool, default=False
        Decode nothing now: ``X`` is a :class:`~deepclust.data.lazy_images.LazyImageRows`
        whose rows are decoded when indexed (the image methods train on it batch by
        batch, with memory for one batch). Only the file headers are read here.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1], ``image_shape`` ``(H, W)`` or ``(3, H, W)``,
        ``extra["files"]`` (paths relative to ``path``, in the order of ``X``).

    Raises
    ------
    DataNotFoundError
        ``path`` does not exist.
    DataError
        No images, images both at the top and in sub-folders, differing sizes without
        ``size``, or an unreadable file.
    """

    root = _existing(path, "a folder of images")
    if not root.is_dir():
        raise DataError(f"{root} is a file; expected a folder of images")
    size = _check_size(size)
    files, y, class_names = _folder_files(root)
    grey = grayscale or _all_grey(files)
    if lazy:
        return _lazy_folder(root, files, y, grey, size, class_names)
    arrays = [_read_image(f, grey, size) for f in files]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        odd = next(i for i, a in enumerate(arrays) if a.shape != first)
        raise DataError(
            f"images in {root} have different sizes ({first[0]}x{first[1]} in "
            f"{files[0].name}, {arrays[odd].shape[0]}x{arrays[odd].shape[1]} in "
            f"{files[odd].name}); pass size=(H, W) to resize them"
        )
    stack = np.stack(arrays)
    if grey:
        image_shape: tuple[int, ...] = stack.shape[1:]
    else:
        stack = stack.transpose(0, 3, 1, 2)  # (n, H, W, 3) -> channels first
        image_shape = stack.shape[1:]
    return _images_dataset(
        stack,
        y,
        root.name,
        image_shape,
        source=str(root),
        class_names=class_names,
        files=[str(f.relative_to(root)) for f in files],
    )


def _check_size(size: Any) -> tuple[int, int] | None:
    """``size`` as ``(H, W)`` (an int is square), or None."""
    if size is None:
        return None
    hw = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) <= 0:
        raise ConfigError(f"size={size!r}; expected a positive int or (H, W)")
    return (hw[0], hw[1])


def _folder_files(root: Path) -> tuple[list[Path], np.ndarray | None, list[str] | None]:
    """The image files of a flat folder (no labels) or of one sub-folder per class
    (labels ``0..K-1`` in sorted sub-folder order, and the class names)."""
    top = sorted(
        f
        for f in root.iterdir()
        if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES and not f.name.startswith(".")
    )
    class_dirs = [
        d
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith(".") and _image_files(d)
    ]
    if top and class_dirs:
        raise DataError(
            f"{root} has images both at the top and in sub-folders "
            f"({', '.join(d.name for d in class_dirs[:3])}); expected either a flat folder "
            "or one sub-folder per class"
        )
    if not top and not class_dirs:
        raise DataError(
            f"no image files ({', '.join(_IMAGE_SUFFIXES)}) found in {root}; expected a "
            "folder of images or one sub-folder of images per class"
        )
    if not class_dirs:
        return top, None, None
    per_class = [_image_files(d) for d in class_dirs]
    files = [f for fs in per_class for f in fs]
    y = np.repeat(np.arange(len(class_dirs), dtype=np.int64), [len(fs) for fs in per_class])
    return files, y, [d.name for d in class_dirs]


def _all_grey(files: list[Path]) -> bool:
    """True when every file is a grey image (headers only: nothing is decoded)."""
    from PIL import Image

    for f in files:
        try:
            with Image.open(f) as im:
                if im.mode not in _GREY_MODES:
                    return False
        except OSError as exc:
            raise _image_error(f, exc) from exc
    return True
