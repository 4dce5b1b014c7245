"""A catalogue of bad inputs, through the command line and the Python API.

Every case checks the whole promise, not just "it failed": exit code 2 (CLI) or a
:class:`~deepclust.exceptions.DeepclustError` (API); one message line that names the problem
(the fragments are what the message *should* say); no traceback; no partial output (no
``--out`` folder, no hidden ``.NAME.*`` temporary folder beside it); and every input file
byte-identical afterwards (SHA-256 of the whole input tree, so a file written beside an
input, such as a GRIB ``.idx`` index, fails too). A few positive controls prove that the
harness accepts good input, and a few cases go through the real ``python -m deepclust``.

Inputs are tiny files written once per module; method runs use ``kmeans`` (milliseconds)
or ``idec`` for deep parameters (validated before any data is read).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import struct
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_cli

import deepclust
from deepclust.exceptions import ConfigError, DataError, DataNotFoundError, DeepclustError
from deepclust.records import report_text
from deepclust.run import RunSettings, run
from deepclust.validation import ParameterError

pytestmark = pytest.mark.usefixtures("single_thread")

RNG = np.random.default_rng(0)
JUNK = RNG.bytes(300)  # random bytes: no format's signature
SHORT_JUNK = b"\x01\x02\x03\x04" + JUNK[:96]
K2 = ["--n-clusters", "2"]


# --------------------------------------------------------------------------- inputs
class Inputs:
    """Small input files under one module-wide folder, each written on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str, write: Callable[[Path], Any]) -> Path:
        p = self.root / name
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            write(p)
        return p

    def raw(self, name: str, data: bytes) -> Path:
        return self.path(name, lambda p: p.write_bytes(data))

    def npy(self, name: str, arr: np.ndarray) -> Path:
        return self.path(name, lambda p: np.save(p, arr))

    def cut(self, name: str, source: Path, keep: float = 0.5) -> Path:
        """``source`` cut short (a partial download or copy)."""
        data = source.read_bytes()
        return self.raw(name, data[: int(len(data) * keep)])

    def damaged(self, name: str, source: Path, at: int, n: int = 64) -> Path:
        """``source`` with ``n`` random bytes written over offset ``at``."""
        data = bytearray(source.read_bytes())
        data[at : at + n] = JUNK[: min(n, len(data) - at)]
        return self.raw(name, bytes(data))

    def tree(self, name: str, source: Path, change: Callable[[Path], Any]) -> Path:
        """A copy of folder ``source`` with ``change`` applied to the copy."""

        def write(p: Path) -> None:
            shutil.copytree(source, p)
            change(p)

        return self.path(name, write)

    # ------------------------------------------------------------ good files
    def points(self) -> Path:
        """30 samples in 3 well-separated groups, 3 features."""
        centres = np.repeat(np.eye(3) * 10.0, 10, axis=0)
        return self.npy("points.npy", centres + RNG.normal(scale=0.3, size=(30, 3)))

    def npz(self) -> Path:
        return self.path("good.npz", lambda p: np.savez(p, X=np.load(self.points()), y=LABELS))

    def csv(self) -> Path:
        X = np.load(self.points())
        rows = "".join(f"{a},{b},{c},{y}\n" for (a, b, c), y in zip(X, LABELS, strict=True))
        return self.path("good.csv", lambda p: p.write_text("a,b,c,label\n" + rows))

    def mat5(self) -> Path:
        import scipy.io

        X = np.load(self.points())
        return self.path("good.mat", lambda p: scipy.io.savemat(p, {"X": X, "y": LABELS}))

    def mat73(self) -> Path:
        return self.path("good73.mat", lambda p: _write_mat73(p, np.load(self.points())))

    def h5(self) -> Path:
        return self.path("good.h5", lambda p: _write_h5(p, np.load(self.points()), LABELS))

    def mnist(self) -> Path:
        return self.path("mnist", _write_mnist)

    def cifar(self) -> Path:
        return self.path("cifar/cifar-10-batches-py", _write_cifar)

    def netcdf(self) -> Path:
        return self.path("cube.nc", lambda p: _cube().to_netcdf(p))

    def zarr(self) -> Path:
        pytest.importorskip("zarr")
        return self.path("cube.zarr", _write_zarr)

    def grib(self) -> Path:
        pytest.importorskip("cfgrib")
        try:
            import eccodes
        except (ImportError, RuntimeError):  # the python package without its library
            pytest.skip("eccodes (with its ecCodes library) is not usable here")
        return self.path("t2m.grib", lambda p: _write_grib(eccodes, p))

    def images(self) -> Path:
        return self.path("images", _write_images)

    def scene(self) -> Path:
        import scipy.io

        cube = RNG.normal(size=(6, 7, 4))
        return self.path("scene.mat", lambda p: scipy.io.savemat(p, {"cube": cube}))


LABELS = np.repeat([0, 1, 2], 10)


def _write_mat73(path: Path, X: np.ndarray) -> None:
    """A MATLAB v7.3 file: HDF5 behind a 512-byte MATLAB header, arrays transposed."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, value in (("X", X), ("y", LABELS[None, :].astype(float))):
            fh[name] = value.T
            fh[name].attrs["MATLAB_class"] = np.bytes_(b"double")
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116, b" "))


def _write_h5(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "w") as fh:
        fh["data"], fh["labels"] = X, y


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def _write_mnist(folder: Path) -> None:
    folder.mkdir()
    images = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = (np.arange(12) % 3).astype(np.uint8)
    for part in ("train", "t10k"):
        (folder / f"{part}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
        (folder / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels)))


def _write_images(folder: Path) -> None:
    from PIL import Image

    folder.mkdir()
    for name in "abcd":
        Image.fromarray(RNG.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{name}.png")


CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _write_cifar(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in CIFAR_BATCHES:
        batch = {b"data": RNG.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1] * 2}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def _cube(var: str = "tas", n_lat: int = 3, start: str = "2000-01-01", time: bool = True) -> Any:
    import pandas as pd
    import xarray as xr

    dims = ("time", "lat", "lon") if time else ("member", "lat", "lon")
    coords: dict[str, Any] = {"lat": np.arange(n_lat, dtype=float), "lon": np.arange(4.0)}
    if time:
        coords["time"] = pd.date_range(start, periods=8, freq="D")
    values = RNG.normal(280.0, 4.0, size=(8, n_lat, 4))
    return xr.Dataset({var: (dims, values, {"units": "K"})}, coords=coords)


def _write_zarr(store: Path) -> None:
    with warnings.catch_warnings():  # zarr 3 warns about consolidated metadata
        warnings.simplefilter("ignore")
        _cube().to_zarr(store, zarr_format=2, consolidated=False)


def _write_grib(ec: Any, path: Path) -> None:
    """Daily 2 m temperature on a 3 x 4 one-degree grid, one GRIB2 message per day."""
    grid = {
        "Ni": 4,
        "Nj": 3,
        "latitudeOfFirstGridPointInDegrees": 50.0,
        "longitudeOfFirstGridPointInDegrees": 0.0,
        "latitudeOfLastGridPointInDegrees": 48.0,
        "longitudeOfLastGridPointInDegrees": 3.0,
        "iDirectionIncrementInDegrees": 1.0,
        "jDirectionIncrementInDegrees": 1.0,
        "dataTime": 0,
        "shortName": "2t",
    }
    with open(path, "wb") as fh:
        for day in range(6):
            h = ec.codes_grib_new_from_samples("regular_ll_sfc_grib2")
            try:
                for key, value in {**grid, "dataDate": 20010101 + day}.items():
                    ec.codes_set(h, key, value)
                ec.codes_set_values(h, RNG.normal(280.0, 4.0, size=12))
                ec.codes_write(h, fh)
            finally:
                ec.codes_release(h)


def _config(inp: Inputs, name: str, text: str | bytes) -> Path:
    data = text.encode() if isinstance(text, str) else text
    return inp.raw(f"configs/{name}", data)


def _cut_row(table: Path, line: int) -> bytes:
    """The first ``line`` lines of ``table``, the last one cut after its second cell."""
    lines = table.read_text().splitlines()[:line]
    lines[-1] = ",".join(lines[-1].split(",")[:2])
    return "\n".join(lines).encode()


def _zarr_chunks(store: Path, var: str = "tas") -> list[Path]:
    return [p for p in (store / var).rglob("*") if p.is_file() and not p.name.startswith(".")]


def _cut_files(files: list[Path], keep: int = 10) -> None:
    for f in files:
        f.write_bytes(f.read_bytes()[:keep])


# --------------------------------------------------------------------------- harness
def tree_digest(*roots: Path) -> dict[str, str]:
    """Every file and folder under ``roots``: SHA-256 of files, "dir" for folders."""
    out: dict[str, str] = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def assert_untouched(before: dict[str, str], *roots: Path) -> None:
    """Nothing published or staged (no --out, no hidden ``.NAME.*``), inputs byte-identical."""
    after = tree_digest(*roots)
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not (new or gone or changed), f"new {new}, removed {gone}, changed {changed}"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path_factory):
    """No network, and a private data cache (nothing is downloaded or extracted elsewhere)."""

    def _no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path_factory.getbasetemp() / "data-cache"))


@dataclass(frozen=True)
class Case:
    """``deepclust run METHOD ARGS`` must fail with one line holding ``fragments``.

    ``args(inputs, tmp)`` writes what it needs and returns the arguments after METHOD;
    ``tmp`` is the case's own folder (the parent of ``--out``, unless ARGS name one).
    """

    id: str
    args: Callable[[Inputs, Path], list[str]]
    fragments: tuple[str, ...]
    method: str = "kmeans"


def case(
    id: str, args: Callable[[Inputs, Path], list[str]], fragments: tuple[str, ...], **kw: Any
) -> Any:
    return pytest.param(Case(id, args, fragments, **kw), id=id)


def data(spec: str, path: Path, *more: str) -> list[str]:
    return ["--data", f"{spec}:{path}", *more]


# --------------------------------------------------------------------------- CLI cases
FILE_CASES = [
    # .npy
    case(
        "npy-missing",
        lambda i, t: data("npy", i.root / "absent.npy", *K2),
        ("absent.npy", "no such file"),
    ),
    case(
        "npy-empty",
        lambda i, t: data("npy", i.raw("empty.npy", b""), *K2),
        ("empty.npy", "is empty (0 bytes)"),
    ),
    case(
        "npy-truncated",
        lambda i, t: data("npy", i.cut("cut.npy", i.points()), *K2),
        ("cut.npy", "is truncated", "expected 720"),
    ),
    case(
        "npy-corrupted",
        lambda i, t: data("npy", i.raw("junk.npy", JUNK), *K2),
        ("junk.npy", "not a valid .npy file"),
    ),
    # .npz
    case(
        "npz-missing",
        lambda i, t: data("npz", i.root / "absent.npz"),
        ("absent.npz", "no such file"),
    ),
    case(
        "npz-empty",
        lambda i, t: data("npz", i.raw("empty.npz", b"")),
        ("empty.npz", "is empty (0 bytes)"),
    ),
    case(
        "npz-truncated",
        lambda i, t: data("npz", i.cut("cut.npz", i.npz(), 0.8)),
        ("cut.npz", "not a valid .npz (zip) file", "truncated or damaged zip"),
    ),
    case(
        "npz-corrupted",
        lambda i, t: data("npz", i.damaged("crc.npz", i.npz(), at=200)),
        ("crc.npz", "not a valid .npz (zip) file", "member 'X'"),
    ),
    # .csv
    case(
        "csv-missing",
        lambda i, t: data("csv", i.root / "absent.csv"),
        ("absent.csv", "no such file"),
    ),
    case(
        "csv-empty",
        lambda i, t: data("csv", i.raw("empty.csv", b""), *K2),
        ("empty.csv", "is empty"),
    ),
    # cut in the middle of line 12
    case(
        "csv-truncated",
        lambda i, t: data("csv", i.raw("cut.csv", _cut_row(i.csv(), 12)), *K2),
        ("cut.csv", "line 12 has 2 columns", "expected 4"),
    ),
    case(
        "csv-corrupted",
        lambda i, t: data("csv", i.raw("junk.csv", JUNK), *K2),
        ("junk.csv", "not a text table"),
    ),
    # MATLAB v5
    case(
        "mat5-missing",
        lambda i, t: data("mat", i.root / "absent.mat"),
        ("absent.mat", "no such file"),
    ),
    case(
        "mat5-empty",
        lambda i, t: data("mat", i.raw("empty.mat", b"")),
        ("empty.mat", "is empty (0 bytes)"),
    ),
    case(
        "mat5-truncated",
        lambda i, t: data("mat", i.cut("cut.mat", i.mat5())),
        ("cut.mat", "damaged or truncated MATLAB file"),
    ),
    # the header is intact, the first variable's tag is not
    case(
        "mat5-corrupted",
        lambda i, t: data("mat", i.damaged("tag.mat", i.mat5(), at=128)),
        ("tag.mat", "damaged or truncated MATLAB file"),
    ),
    # < 128 bytes: scipy's version probe raised IndexError
    case(
        "mat5-short-foreign-file",
        lambda i, t: data("mat", i.raw("short.mat", SHORT_JUNK)),
        ("short.mat", "not a valid .mat file"),
    ),
    case(
        "coil20-short-foreign-file",
        lambda i, t: data("coil20", i.raw("coil/COIL20.mat", SHORT_JUNK)),
        ("COIL20.mat", "not a valid .mat file"),
    ),
    # MATLAB v7.3 (HDF5)
    case(
        "mat73-truncated",
        lambda i, t: data("mat", i.cut("cut73.mat", i.mat73())),
        ("cut73.mat", "not a valid MATLAB v7.3 (HDF5) file", "truncated"),
    ),
    # the HDF5 superblock after the 512-byte MATLAB header
    case(
        "mat73-corrupted",
        lambda i, t: data("mat", i.damaged("sb73.mat", i.mat73(), at=520, n=200)),
        ("sb73.mat", "not a valid MATLAB v7.3 (HDF5) file"),
    ),
    # HDF5
    case(
        "h5-missing", lambda i, t: data("h5", i.root / "absent.h5"), ("absent.h5", "no such file")
    ),
    case(
        "h5-empty",
        lambda i, t: data("h5", i.raw("empty.h5", b"")),
        ("empty.h5", "is empty (0 bytes)"),
    ),
    case(
        "h5-truncated",
        lambda i, t: data("h5", i.cut("cut.h5", i.h5())),
        ("cut.h5", "damaged HDF5 file", "truncated"),
    ),
    case(
        "h5-corrupted",
        lambda i, t: data("h5", i.raw("junk.h5", JUNK)),
        ("junk.h5", "not a valid HDF5 file"),
    ),
    # MNIST IDX (gzip) folders
    case(
        "idx-missing-folder",
        lambda i, t: data("mnist", i.root / "no-mnist"),
        ("no-mnist", "no such file"),
    ),
    case(
        "idx-missing-file",
        lambda i, t: data(
            "mnist",
            i.tree("mnist-3", i.mnist(), lambda p: (p / "t10k-labels-idx1-ubyte.gz").unlink()),
        ),
        ("t10k-labels-idx1-ubyte", "not found"),
    ),
    case(
        "idx-empty",
        lambda i, t: data(
            "mnist",
            i.tree(
                "mnist-empty",
                i.mnist(),
                lambda p: (p / "train-images-idx3-ubyte.gz").write_bytes(b""),
            ),
        ),
        ("train-images-idx3-ubyte.gz", "is empty (0 bytes)"),
    ),
    case(
        "idx-truncated",
        lambda i, t: data(
            "mnist",
            i.tree(
                "mnist-cut",
                i.mnist(),
                lambda p: _cut_files([p / "train-images-idx3-ubyte.gz"], 200),
            ),
        ),
        ("train-images-idx3-ubyte.gz", "truncated or damaged gzip file"),
    ),
    # a valid gzip stream of something that is not IDX
    case(
        "idx-corrupted",
        lambda i, t: data(
            "mnist",
            i.tree(
                "mnist-magic",
                i.mnist(),
                lambda p: (p / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(JUNK)),
            ),
        ),
        ("train-images-idx3-ubyte.gz", "not an IDX file", "magic bytes"),
    ),
    # CIFAR-10 python batches
    case(
        "cifar-missing-folder",
        lambda i, t: data("cifar10", i.root / "no-cifar"),
        ("no-cifar", "no such file"),
    ),
    case(
        "cifar-missing-batch",
        lambda i, t: data(
            "cifar10", i.tree("cifar-5", i.cifar(), lambda p: (p / "test_batch").unlink())
        ),
        ("test_batch", "is missing"),
    ),
    case(
        "cifar-empty",
        lambda i, t: data(
            "cifar10",
            i.tree("cifar-empty", i.cifar(), lambda p: (p / "data_batch_3").write_bytes(b"")),
        ),
        ("data_batch_3", "is empty (0 bytes)"),
    ),
    case(
        "cifar-truncated",
        lambda i, t: data(
            "cifar10",
            i.tree("cifar-cut", i.cifar(), lambda p: _cut_files([p / "data_batch_3"], 500)),
        ),
        ("data_batch_3", "not a valid CIFAR-10 batch", "truncated"),
    ),
    case(
        "cifar-corrupted",
        lambda i, t: data(
            "cifar10",
            i.tree("cifar-junk", i.cifar(), lambda p: (p / "data_batch_3").write_bytes(JUNK)),
        ),
        ("data_batch_3", "not a valid CIFAR-10 batch"),
    ),
    # a batch that would run os.system when unpickled
    case(
        "cifar-pickled-code",
        lambda i, t: data(
            "cifar10",
            i.tree(
                "cifar-evil",
                i.cifar(),
                lambda p: (p / "data_batch_1").write_bytes(pickle.dumps(os.system)),
            ),
        ),
        ("data_batch_1", "refusing to load"),
    ),
    # NetCDF
    case(
        "netcdf-missing",
        lambda i, t: data("climate", i.root / "absent.nc", *K2),
        ("absent.nc", "no such file"),
    ),
    case(
        "netcdf-empty",
        lambda i, t: data("climate", i.raw("empty.nc", b""), *K2),
        ("empty.nc", "is empty (0 bytes)"),
    ),
    case(
        "netcdf-truncated",
        lambda i, t: data("climate", i.cut("cut.nc", i.netcdf()), *K2),
        ("cut.nc", "damaged or truncated NetCDF-4/HDF5 file"),
    ),
    case(
        "netcdf-corrupted",
        lambda i, t: data("climate", i.raw("junk.nc", JUNK), *K2),
        ("junk.nc", "not a valid NetCDF file"),
    ),
    # zarr
    case(
        "zarr-missing",
        lambda i, t: data("climate", i.root / "absent.zarr", *K2),
        ("absent.zarr", "no such file"),
    ),
    case(
        "zarr-empty",
        lambda i, t: (i.zarr(), data("climate", i.path("empty.zarr", Path.mkdir), *K2))[1],
        ("empty.zarr", "not a valid zarr store"),
    ),
    # every chunk of 'tas' cut to 10 bytes
    case(
        "zarr-truncated",
        lambda i, t: data(
            "climate", i.tree("cut.zarr", i.zarr(), lambda p: _cut_files(_zarr_chunks(p))), *K2
        ),
        ("cannot read the values of 'tas'", "cut.zarr", "damaged"),
    ),
    # the array metadata are not JSON
    case(
        "zarr-corrupted",
        lambda i, t: data(
            "climate",
            i.tree(
                "meta.zarr", i.zarr(), lambda p: (p / "tas" / ".zarray").write_text('{"shape": [')
            ),
            *K2,
        ),
        ("meta.zarr", "not a valid zarr store"),
    ),
    # GRIB
    case(
        "grib-missing",
        lambda i, t: (i.grib(), data("climate", i.root / "absent.grib", *K2))[1],
        ("absent.grib", "no such file"),
    ),
    case(
        "grib-empty",
        lambda i, t: (i.grib(), data("climate", i.raw("empty.grib", b""), *K2))[1],
        ("empty.grib", "is empty (0 bytes)"),
    ),
    case(
        "grib-truncated",
        lambda i, t: data("climate", i.cut("cut.grib", i.grib(), 0.05), *K2),
        ("cut.grib", "not a valid GRIB file", "no readable message"),
    ),
    case(
        "grib-corrupted",
        lambda i, t: (i.grib(), data("climate", i.raw("junk.grib", JUNK), *K2))[1],
        ("junk.grib", "not a valid GRIB file", "no 'GRIB' message header"),
    ),
    # image folders
    case(
        "images-empty-folder",
        lambda i, t: data("images", i.path("no-images", Path.mkdir), *K2),
        ("no image files", "no-images"),
    ),
    case(
        "images-corrupted",
        lambda i, t: data(
            "images",
            i.tree("images-junk", i.images(), lambda p: (p / "b.png").write_bytes(JUNK)),
            *K2,
        ),
        ("b.png", "not an image format"),
    ),
    case(
        "images-truncated",
        lambda i, t: data(
            "images", i.tree("images-cut", i.images(), lambda p: _cut_files([p / "b.png"], 60)), *K2
        ),
        ("b.png", "truncated"),
    ),
    case(
        "images-empty-file",
        lambda i, t: data(
            "images", i.tree("images-0", i.images(), lambda p: (p / "b.png").write_bytes(b"")), *K2
        ),
        ("b.png", "empty (0 bytes)"),
    ),
    # hyperspectral .mat whose variable list is readable but whose data are cut
    case(
        "hsi-mat-truncated",
        lambda i, t: data("hsi", i.cut("cut_scene.mat", i.scene(), 0.6), *K2),
        ("cut_scene.mat", "'cube'", "damaged or truncated"),
    ),
]

VALUE_CASES = [
    case(
        "npy-3d",
        lambda i, t: data("npy", i.npy("rank3.npy", np.ones((4, 3, 2))), *K2),
        ("rank3.npy", "2-D", "(4, 3, 2)"),
    ),
    case(
        "npy-1d",
        lambda i, t: data("npy", i.npy("rank1.npy", np.arange(10.0)), *K2),
        ("rank1.npy", "2-D", "(10,)"),
    ),
    case(
        "hsi-2d",
        lambda i, t: data("hsi", i.npy("flat.npy", np.ones((5, 3))), *K2),
        ("flat.npy", "3-D", "(5, 3)"),
    ),
    case(
        "npy-no-samples",
        lambda i, t: data("npy", i.npy("none.npy", np.ones((0, 3))), *K2),
        ("none.npy", "empty", "(0, 3)"),
    ),
    case(
        "npy-no-features",
        lambda i, t: data("npy", i.npy("nofeat.npy", np.ones((5, 0))), *K2),
        ("nofeat.npy", "empty", "(5, 0)"),
    ),
    case(
        "npy-nan",
        lambda i, t: data("npy", i.npy("nan.npy", np.where(np.eye(30, 3) > 0, np.nan, 1.0)), *K2),
        ("nan.npy", "3 NaN values", "row 0, column 0"),
    ),
    case(
        "npy-inf",
        lambda i, t: data(
            "npy", i.npy("inf.npy", np.where(np.eye(30, 3, -5) > 0, -np.inf, 1.0)), *K2
        ),
        ("inf.npy", "3 inf values", "row 5, column 0"),
    ),
    case(
        "csv-nan",
        lambda i, t: data("csv", i.raw("nan.csv", b"1,2\n3,\n4,5\n6,7\n"), *K2),
        ("nan.csv", "1 NaN values", "row 1, column 1"),
    ),
    # finite in float64, inf once cast to the float32 the methods use
    case(
        "npy-beyond-float32",
        lambda i, t: data("npy", i.npy("huge.npy", np.arange(60.0).reshape(20, 3) * 1e300), *K2),
        ("huge", "5.9e+301", "float32"),
    ),
    case(
        "npy-identical-rows",
        lambda i, t: data("npy", i.npy("same.npy", np.ones((20, 3))), *K2),
        ("all 20 samples are identical",),
    ),
    case(
        "npy-object-dtype",
        lambda i, t: data(
            "npy",
            i.path("obj.npy", lambda p: np.save(p, np.array([{}, None]), allow_pickle=True)),
            *K2,
        ),
        ("obj.npy", "holds Python objects"),
    ),
]

CLUSTER_CASES = [
    case(f"n-clusters-{k}", lambda i, t, k=k: data("npy", i.points(), "--n-clusters", k), frags)
    for k, frags in [
        ("0", ("n_clusters=0", ">= 2")),
        ("1", ("n_clusters=1", ">= 2")),
        ("-3", ("n_clusters=-3", ">= 2")),
        ("2.5", ("--n-clusters", "expected an integer", "'2.5'")),
        ("abc", ("--n-clusters", "expected an integer", "'abc'")),
        ("31", ("n_clusters=31", "number of samples (30)")),
    ]
] + [
    case(
        "no-labels-no-k", lambda i, t: data("npy", i.points()), ("no ground truth", "--n-clusters")
    ),
]

TRUTH_CASES = [
    case(
        "hsi-gt-other-shape",
        lambda i, t: data(
            "hsi",
            i.scene(),
            "--data-opt",
            f"gt={i.npy('gt_7x6.npy', RNG.integers(0, 3, (7, 6)))}",
            *K2,
        ),
        ("ground truth", "gt_7x6.npy", "(7, 6)", "6 x 7"),
    ),
    case(
        "hsi-gt-missing",
        lambda i, t: data("hsi", i.scene(), "--data-opt", f"gt={i.root / 'absent_gt.mat'}", *K2),
        ("ground truth", "absent_gt.mat", "does not exist"),
    ),
    case(
        "npz-labels-other-length",
        lambda i, t: data(
            "npz", i.path("short.npz", lambda p: np.savez(p, X=np.load(i.points()), y=LABELS[:25]))
        ),
        ("short.npz", "labels have 25 entries", "30 samples"),
    ),
    case(
        "h5-labels-other-length",
        lambda i, t: data(
            "h5", i.path("short.h5", lambda p: _write_h5(p, np.load(i.points()), LABELS[:7]))
        ),
        ("short.h5", "labels have 7 entries", "30 samples"),
    ),
    case(
        "idx-labels-other-length",
        lambda i, t: data(
            "mnist",
            i.tree(
                "mnist-labels",
                i.mnist(),
                lambda p: (p / "train-labels-idx1-ubyte.gz").write_bytes(
                    gzip.compress(_idx(np.zeros(5, np.uint8)))
                ),
            ),
        ),
        ("train-labels-idx1-ubyte.gz", "(5,)", "(12,)"),
    ),
]

CLIMATE_CASES = [
    case(
        "climate-no-time-axis",
        lambda i, t: data(
            "climate", i.path("notime.nc", lambda p: _cube(time=False).to_netcdf(p)), *K2
        ),
        ("no time axis", "notime.nc"),
    ),
    case(
        "climate-unknown-variable",
        lambda i, t: data("climate", i.netcdf(), "--data-opt", "variables=[nope]", *K2),
        ("unknown variable", "'nope'", "available: tas"),
    ),
    case(
        "climate-variables-not-a-list",
        lambda i, t: data("climate", i.netcdf(), "--data-opt", "variables=3", *K2),
        ("variables=3", "list of variable names"),
    ),
    case(
        "climate-all-nan-variable",
        lambda i, t: data(
            "climate",
            i.path("allnan.nc", lambda p: _cube().assign(pr=lambda d: d.tas * np.nan).to_netcdf(p)),
            *K2,
        ),
        ("'pr'", "no finite value", "NaN"),
    ),
    # tas on 3 x 4, pr on 5 x 4
    case(
        "climate-folder-grids-differ",
        lambda i, t: data(
            "climate",
            i.path(
                "grids",
                lambda p: (
                    p.mkdir(),
                    _cube("tas").to_netcdf(p / "a.nc"),
                    _cube("pr", n_lat=5).to_netcdf(p / "b.nc"),
                ),
            ),
            *K2,
        ),
        ("'tas'", "'pr'", "different grids"),
    ),
    # one variable, two periods, two grids
    case(
        "climate-folder-periods-on-other-grids",
        lambda i, t: data(
            "climate",
            i.path(
                "periods",
                lambda p: (
                    p.mkdir(),
                    _cube("tas").to_netcdf(p / "a.nc"),
                    _cube("tas", n_lat=5, start="2001-01-01").to_netcdf(p / "b.nc"),
                ),
            ),
            *K2,
        ),
        ("'tas'", "different grids"),
    ),
    case(
        "climate-empty-folder",
        lambda i, t: data("climate", i.path("no-climate", Path.mkdir), *K2),
        ("no climate files", "no-climate"),
    ),
    # was reported as a damaged NetCDF file
    case(
        "climate-chunks-text",
        lambda i, t: data("climate", i.netcdf(), "--data-opt", "chunks=abc", *K2),
        ("chunks='abc'", "expected an int"),
    ),
    case(
        "climate-unknown-option",
        lambda i, t: data("climate", i.netcdf(), "--data-opt", "variable=tas", *K2),
        ("climate loader", "'variable'", "variables"),
    ),
]

CONFIG_CASES = [
    case(
        "config-malformed-yaml",
        lambda i, t: data(
            "npy", i.points(), "--config", _config(i, "broken.yaml", "method: kmeans\nparams: [1\n")
        ),
        ("broken.yaml", "not valid YAML", "line 3"),
    ),
    case(
        "config-not-utf8",
        lambda i, t: data(
            "npy", i.points(), "--config", _config(i, "binary.yaml", b"\xff\xfe\x00\x80")
        ),
        ("binary.yaml", "not valid YAML", "not UTF-8"),
    ),
    case(
        "config-unknown-keys",
        lambda i, t: data(
            "npy", i.points(), "--config", _config(i, "extra.yaml", "method: kmeans\nbogus: 1\n")
        ),
        ("extra.yaml", "unknown keys", "'bogus'"),
    ),
    case(
        "config-for-another-method",
        lambda i, t: data(
            "npy", i.points(), *K2, "--config", _config(i, "idec.yaml", "method: idec\n")
        ),
        ("config is for method 'idec'", "'kmeans'"),
    ),
    case(
        "config-params-of-another-method",
        lambda i, t: data(
            "npy",
            i.points(),
            *K2,
            "--config",
            _config(i, "deep.yaml", "params: {batch_size: 64}\n"),
        ),
        ("kmeans has no parameter", "'batch_size'"),
    ),
    case(
        "config-params-not-a-mapping",
        lambda i, t: data(
            "npy", i.points(), *K2, "--config", _config(i, "plist.yaml", "params: [1, 2]\n")
        ),
        ("plist.yaml", "params must be a mapping", "list"),
    ),
    case(
        "config-method-not-a-string",
        lambda i, t: [
            "--config",
            _config(i, "m3.yaml", f"method: 3\ndata: npy:{i.points()}\nn_clusters: 2\n"),
        ],
        ("method must be a string", "got 3"),
        method="",
    ),
    case(
        "config-data-not-a-string",
        lambda i, t: ["--config", _config(i, "d3.yaml", "data: 3\nn_clusters: 2\n")],
        ("data must be a string", "got 3"),
    ),
    case(
        "config-missing",
        lambda i, t: data("npy", i.points(), "--config", str(i.root / "absent.yaml")),
        ("absent.yaml", "not found"),
    ),
    case(
        "config-folder-without-config",
        lambda i, t: data("npy", i.points(), "--config", str(i.path("configs-dir", Path.mkdir))),
        ("configs-dir", "folder without config.yaml"),
    ),
]

OUT_CASES = [
    case(
        "out-below-a-file",
        lambda i, t: data("npy", i.points(), *K2, "--out", str(i.points() / "sub")),
        ("points.npy", "is not a folder"),
    ),
    case(
        "out-is-the-input-file",
        lambda i, t: data("npy", i.points(), *K2, "--out", str(i.points())),
        ("points.npy", "is a file"),
    ),
    case(
        "out-holds-an-earlier-run",
        lambda i, t: (
            (t / "run").mkdir(),
            (t / "run" / "labels.npy").write_bytes(b"earlier"),
            data("npy", i.points(), *K2, "--out", str(t / "run")),
        )[2],
        ("already holds an earlier run", "--overwrite"),
    ),
    # publishing would have deleted the input
    case(
        "out-is-the-data-folder-with-overwrite",
        lambda i, t: data(
            "npy",
            i.npy("in-here/points.npy", np.load(i.points())),
            *K2,
            "--out",
            str(i.root / "in-here"),
            "--overwrite",
        ),
        ("holds the input data", "in-here"),
    ),
    case(
        "out-is-above-the-data-folder",
        lambda i, t: data("mnist", i.mnist(), "--out", str(i.root), "--overwrite"),
        ("holds the input data",),
    ),
    case(
        "out-inside-the-data-folder",
        lambda i, t: data("mnist", i.mnist(), "--out", str(i.mnist() / "run")),
        ("inside the data folder", "mnist"),
    ),
    case(
        "out-name-too-long",
        lambda i, t: data("npy", i.points(), *K2, "--out", str(t / ("o" * 300))),
        ("cannot use --out", "File name too long"),
    ),
    pytest.param(
        Case(
            "out-parent-not-writable",
            lambda i, t: data("npy", i.points(), *K2, "--out", "/proc/1/deepclust-out"),
            ("cannot write into /proc/1",),
        ),
        id="out-parent-not-writable",
        marks=pytest.mark.skipif(
            not os.path.isdir("/proc/1") or os.access("/proc/1", os.W_OK),
            reason="needs a folder this user cannot write into",
        ),
    ),
]

OPTION_CASES = [
    case(
        "set-batch-size-negative",
        lambda i, t: data("npy", i.points(), *K2, "--set", "batch_size=-1"),
        ("'batch_size'", "Got -1"),
        method="idec",
    ),
    case(
        "set-batch-size-zero",
        lambda i, t: data("npy", i.points(), *K2, "--set", "batch_size=0"),
        ("'batch_size'", "Got 0"),
        method="idec",
    ),
    case(
        "set-epochs-negative",
        lambda i, t: data("npy", i.points(), *K2, "--set", "epochs=-1"),
        ("'epochs'", "Got -1"),
        method="idec",
    ),
    case(
        "set-epochs-text",
        lambda i, t: data("npy", i.points(), *K2, "--set", "epochs=abc"),
        ("'epochs'", "Got 'abc'"),
        method="idec",
    ),
    case(
        "set-n-clusters",
        lambda i, t: data("npy", i.points(), "--set", "n_clusters=2.5"),
        ("n_clusters", "--n-clusters"),
        method="idec",
    ),
    case(
        "set-unknown-key",
        lambda i, t: data("npy", i.points(), *K2, "--set", "nope=1"),
        ("idec has no parameter", "'nope'"),
        method="idec",
    ),
    case(
        "set-without-equals",
        lambda i, t: data("npy", i.points(), *K2, "--set", "epochs"),
        ("--set", "'epochs'", "KEY=VALUE"),
        method="idec",
    ),
    case(
        "set-bad-yaml",
        lambda i, t: data("npy", i.points(), *K2, "--set", "hidden_dims=[8"),
        ("--set", "not valid YAML"),
        method="idec",
    ),
    case(
        "preprocess-unknown",
        lambda i, t: data("npy", i.points(), *K2, "--preprocess", "foo=1"),
        ("unknown preprocess option", "'foo'"),
    ),
    case(
        "preprocess-pca-0",
        lambda i, t: data("npy", i.points(), *K2, "--preprocess", "pca=0"),
        ("pca=0", "positive integer"),
    ),
    case(
        "preprocess-pca-above-features",
        lambda i, t: data("npy", i.points(), *K2, "--preprocess", "pca=5"),
        ("pca=5", "3 features", "pca <= 3"),
    ),
    case(
        "preprocess-region",
        lambda i, t: data("npy", i.points(), *K2, "--preprocess", "region=nowhere"),
        ("region='nowhere'", "'labelled' or 'all'"),
    ),
    case(
        "data-opt-unknown",
        lambda i, t: data("npy", i.points(), *K2, "--data-opt", "key=X"),
        ("npy loader", "'key'", "allow_nan"),
    ),
    case(
        "unknown-method",
        lambda i, t: data("npy", i.points(), *K2),
        ("unknown method", "'nope'", "kmeans"),
        method="nope",
    ),
    case(
        "unknown-data-kind",
        lambda i, t: data("nope", i.points(), *K2),
        ("unknown data spec", "'nope:"),
    ),
    case(
        "data-kind-without-path", lambda i, t: ["--data", "npy:", *K2], ("'npy:'", "needs a path")
    ),
    case(
        "seed-negative",
        lambda i, t: data("npy", i.points(), *K2, "--seed", "-1"),
        ("seed=-1", ">= 0"),
    ),
    case(
        "seed-text",
        lambda i, t: data("npy", i.points(), *K2, "--seed", "x"),
        ("--seed", "expected an integer"),
    ),
    case(
        "threads-zero",
        lambda i, t: data("npy", i.points(), *K2, "--threads", "0"),
        ("threads=0", ">= 1"),
    ),
    # OpenMP tried to start them all and hung
    case(
        "threads-too-many",
        lambda i, t: data("npy", i.points(), *K2, "--threads", "100000"),
        ("threads=100000", "too many", "<= 1024"),
    ),
    case(
        "hsi-method-on-vectors",
        lambda i, t: data("npy", i.points(), *K2),
        ("SCDSC clusters hsi data", "vectors", "expected --data hsi:"),
        method="scdsc",
    ),
    case(
        "device-unknown",
        lambda i, t: data("npy", i.points(), *K2, "--device", "warp9"),
        ("unknown device", "'warp9'"),
        method="idec",
    ),
    case(
        "unknown-flag",
        lambda i, t: data("npy", i.points(), *K2, "--frobnicate"),
        ("unrecognized arguments", "--frobnicate"),
    ),
]

PATH_CASES = [
    case(
        "path-200-chars-absent",
        lambda i, t: data("npy", i.root / ("x" * 196 + ".npy"), *K2),
        ("no such file", "x" * 196 + ".npy"),
    ),
    # longer than a file name may be
    case(
        "path-300-chars",
        lambda i, t: data("npy", i.root / ("x" * 296 + ".npy"), *K2),
        ("File name too long",),
    ),
    case(
        "path-unicode-absent",
        lambda i, t: data("npy", i.root / "données ünï 数据" / "absent.npy", *K2),
        ("données ünï 数据", "no such file"),
    ),
]

CLI_CASES = (
    FILE_CASES
    + VALUE_CASES
    + CLUSTER_CASES
    + TRUTH_CASES
    + CLIMATE_CASES
    + CONFIG_CASES
    + OUT_CASES
    + OPTION_CASES
    + PATH_CASES
)


@pytest.mark.parametrize("c", CLI_CASES)
def test_cli_refuses_bad_input(c: Case, inputs: Inputs, tmp_path: Path, capsys):
    args = c.args(inputs, tmp_path)
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "out")]
    before = tree_digest(inputs.root, tmp_path)
    rc, out, err = run_cli(capsys, "run", *([c.method] if c.method else []), *args, "-q")
    assert rc == 2, err
    assert_one_line_error(rc, err, *c.fragments)
    assert "Traceback" not in out and out == ""
    assert not (tmp_path / "out").exists()
    assert_untouched(before, inputs.root, tmp_path)


# --------------------------------------------------------------------------- API cases
@dataclass(frozen=True)
class ApiCase:
    """``call(prepare(inputs, tmp), tmp)`` must raise ``error`` with one line holding
    ``fragments``; ``prepare`` writes the inputs (before the snapshot), ``call`` fails."""

    id: str
    prepare: Callable[[Inputs, Path], Any]
    call: Callable[[Any, Path], Any]
    error: type[DeepclustError]
    fragments: tuple[str, ...]


def api(id: str, prepare: Callable, call: Callable, error: type, fragments: tuple[str, ...]) -> Any:
    return pytest.param(ApiCase(id, prepare, call, error, fragments), id=id)


def _points(i: Inputs, t: Path) -> np.ndarray:
    return np.load(i.points())


def _spec(i: Inputs, t: Path) -> str:
    return f"npy:{i.points()}"


def _earlier_run(i: Inputs, t: Path) -> str:
    (t / "run").mkdir()
    (t / "run" / "labels.npy").write_bytes(b"earlier")
    return _spec(i, t)


def _broken_run(i: Inputs, t: Path) -> Path:
    return i.path("broken-run", lambda p: (p.mkdir(), (p / "config.yaml").write_text("a: [b\n")))


def _kmeans(k: Any = 2) -> Any:
    return deepclust.KMeans(n_clusters=k)


API_CASES = [
    api(f"api-n-clusters-{k}", _points, lambda X, t, k=k: _kmeans(k).fit(X), err, frags)
    for k, err, frags in [
        (0, ConfigError, ("n_clusters=0", ">= 2")),
        (1, ConfigError, ("n_clusters=1", ">= 2")),
        (-3, ConfigError, ("n_clusters=-3", ">= 2")),
        (2.5, ParameterError, ("'n_clusters'", "must be an int", "Got 2.5")),
        ("abc", ParameterError, ("'n_clusters'", "must be an int", "Got 'abc'")),
        (31, ConfigError, ("n_clusters=31", "n_samples=30")),
    ]
] + [
    api(
        "api-idec-n-clusters-0",
        _points,
        lambda X, t: deepclust.IDEC(n_clusters=0).fit(X),
        ConfigError,
        ("n_clusters=0",),
    ),
    api(
        "api-run-n-clusters-2.5",
        _spec,
        lambda spec, t: run(RunSettings("kmeans", spec, n_clusters=2.5), t / "out"),
        ConfigError,
        ("n_clusters must be an integer", "2.5"),
    ),
    api(
        "api-run-n-clusters-above-n",
        _spec,
        lambda spec, t: run(RunSettings("kmeans", spec, n_clusters=40), t / "out"),
        ConfigError,
        ("n_clusters=40", "(30)"),
    ),
    api(
        "api-fit-nan",
        lambda i, t: np.where(np.eye(30, 3) > 0, np.nan, _points(i, t)),
        lambda X, t: _kmeans().fit(X),
        DataError,
        ("KMeans", "3 NaN values", "row 0, column 0"),
    ),
    api(
        "api-fit-inf",
        lambda i, t: np.full((5, 2), np.inf),
        lambda X, t: deepclust.IDEC(n_clusters=2).fit(X),
        DataError,
        ("IDEC", "10 inf values"),
    ),
    api(
        "api-fit-3d",
        lambda i, t: np.ones((4, 3, 2)),
        lambda X, t: _kmeans().fit(X),
        DataError,
        ("KMeans", "(4, 3, 2)", "2-D"),
    ),
    api(
        "api-fit-1d",
        lambda i, t: np.arange(5.0),
        lambda X, t: _kmeans().fit(X),
        DataError,
        ("(5,)",),
    ),
    api(
        "api-fit-empty",
        lambda i, t: np.ones((0, 3)),
        lambda X, t: _kmeans().fit(X),
        DataError,
        ("0 sample(s)", "(0, 3)"),
    ),
    api(
        "api-fit-strings",
        lambda i, t: [["a", "b"], ["c", "d"]],
        lambda X, t: _kmeans().fit(X),
        DataError,
        ("could not convert string", "real numbers"),
    ),
    api(
        "api-fit-identical",
        lambda i, t: np.ones((9, 2)),
        lambda X, t: _kmeans().fit(X),
        DataError,
        ("all 9 samples are identical",),
    ),
    api(
        "api-predict-other-features",
        _points,
        lambda X, t: _kmeans(3).fit(X).predict(np.ones((2, 5))),
        DataError,
        ("5 features", "expecting 3"),
    ),
    api(
        "api-idec-batch-size",
        _points,
        lambda X, t: deepclust.IDEC(n_clusters=2, batch_size=-1).fit(X),
        ParameterError,
        ("'batch_size'", "Got -1"),
    ),
    api(
        "api-load-missing",
        lambda i, t: i.root / "absent.npy",
        lambda p, t: deepclust.load(f"npy:{p}"),
        DataNotFoundError,
        ("absent.npy", "no such file"),
    ),
    api(
        "api-load-unknown-option",
        _spec,
        lambda spec, t: deepclust.load(spec, bogus=1),
        ConfigError,
        ("npy loader", "'bogus'"),
    ),
    api(
        "api-load-climate-no-time",
        lambda i, t: i.path("notime.nc", lambda p: _cube(time=False).to_netcdf(p)),
        lambda p, t: deepclust.load(f"climate:{p}"),
        DataError,
        ("no time axis",),
    ),
    api(
        "api-load-hsi-gt-other-shape",
        lambda i, t: i.scene(),
        lambda p, t: deepclust.load(f"hsi:{p}", gt=np.ones((6, 5), dtype=int)),
        DataError,
        ("ground truth", "(6, 5)", "6 x 7"),
    ),
    api(
        "api-settings-method-not-a-string",
        _spec,
        lambda spec, t: RunSettings(3, spec),
        ConfigError,
        ("method must be a string",),
    ),
    api(
        "api-settings-data-not-a-string",
        _spec,
        lambda spec, t: RunSettings("kmeans", [spec]),
        ConfigError,
        ("data must be a string",),
    ),
    api(
        "api-run-params-not-a-mapping",
        _spec,
        lambda spec, t: run(RunSettings("kmeans", spec, params=[1]), t / "out"),
        ConfigError,
        ("params must be a mapping",),
    ),
    api(
        "api-config-for-another-method",
        _spec,
        lambda spec, t: RunSettings.from_config({"method": "idec"}, method="kmeans", data=spec),
        ConfigError,
        ("config is for method 'idec'",),
    ),
    api(
        "api-run-out-holds-an-earlier-run",
        _earlier_run,
        lambda spec, t: run(RunSettings("kmeans", spec, n_clusters=2), t / "run"),
        ConfigError,
        ("already holds an earlier run",),
    ),
    api(
        "api-run-out-is-the-data-folder",
        lambda i, t: i.npy("api-in-here/points.npy", np.load(i.points())),
        lambda src, t: run(
            RunSettings("kmeans", f"npy:{src}", n_clusters=2), src.parent, overwrite=True
        ),
        ConfigError,
        ("holds the input data",),
    ),
    api(
        "api-report-broken-record",
        _broken_run,
        lambda folder, t: report_text(folder),
        ConfigError,
        ("config.yaml", "not valid YAML", "line 2"),
    ),
]


@pytest.mark.parametrize("c", API_CASES)
def test_api_raises_one_line_deepclust_error(c: ApiCase, inputs: Inputs, tmp_path: Path):
    arg = c.prepare(inputs, tmp_path)
    before = tree_digest(inputs.root, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DeepclustError) as info:
            c.call(arg, tmp_path)
    exc = info.value
    assert isinstance(exc, c.error), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert msg and "\n" not in msg, msg
    for frag in c.fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    assert_untouched(before, inputs.root, tmp_path)


# --------------------------------------------------------------------------- report
@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ({"config.yaml": "method: [kmeans\n"}, ("config.yaml", "not valid YAML", "line 2")),
        ({"config.yaml": "- 1\n- 2\n"}, ("config.yaml", "holds a list")),
        (
            {"config.yaml": "method: kmeans\n", "metrics.json": "{bad"},
            ("metrics.json", "not valid JSON"),
        ),
        ({}, ("not a finished deepclust run", "no config.yaml")),
    ],
    ids=["report-yaml", "report-list", "report-json", "report-not-a-run"],
)
def test_report_of_a_damaged_run_is_one_line(content, fragments, tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    for name, text in content.items():
        (folder / name).write_text(text)
    before = tree_digest(tmp_path)
    rc, out, err = run_cli(capsys, "report", folder)
    assert rc == 2 and out == ""
    assert_one_line_error(rc, err, *fragments)
    assert_untouched(before, tmp_path)


# --------------------------------------------------------------------------- controls
GOOD = [
    pytest.param(lambda i: data("npy", i.points(), "--n-clusters", "3"), (30,), id="good-npy"),
    pytest.param(
        lambda i: data(
            "npy", i.npy("données ünï 数据/points.npy", np.load(i.points())), "--n-clusters", "3"
        ),
        (30,),
        id="good-unicode-folder",
    ),
    pytest.param(
        lambda i: data("csv", i.csv(), "--data-opt", "label_column=label"), (30,), id="good-csv"
    ),
    pytest.param(lambda i: data("mat", i.mat73()), (30,), id="good-mat73"),
    pytest.param(lambda i: data("climate", i.netcdf(), *K2), (8,), id="good-netcdf"),
    pytest.param(
        lambda i: data("climate", i.netcdf(), "--data-opt", "time_slice=[0, 6]", *K2),
        (6,),
        id="good-netcdf-time-slice",
    ),
    pytest.param(lambda i: data("images", i.images(), *K2), (4,), id="good-image-folder"),
]


@pytest.mark.parametrize(("args", "shape"), GOOD)
def test_good_input_is_accepted(args, shape, inputs: Inputs, tmp_path: Path, capsys):
    argv = args(inputs)
    out = tmp_path / "результат out"
    before = tree_digest(inputs.root)
    rc, stdout, err = run_cli(capsys, "run", "kmeans", *argv, "--out", out, "-q")
    assert rc == 0, err
    assert "Traceback" not in err and "error" not in err
    assert f"wrote {out}/" in stdout
    assert np.load(out / "labels.npy").shape == shape
    assert os.listdir(tmp_path) == [out.name]  # the temporary folder was swapped in
    assert_untouched(before, inputs.root)


# --------------------------------------------------------------------------- real entry point
def _entry_point(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deepclust", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1", "DEEPCLUST_DATA": str(tmp_path / "cache")},
    )


def test_identical_rows_exit_2_not_a_segfault(inputs: Inputs, tmp_path: Path):
    src = inputs.npy("same.npy", np.ones((20, 3)))
    before = tree_digest(inputs.root)
    proc = _entry_point(tmp_path, "run", "kmeans", "--data", f"npy:{src}", *K2, "--out", "o", "-q")
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # -11 was the segfault
    assert_one_line_error(proc.returncode, proc.stderr, "identical")
    assert proc.stdout == ""
    assert not [n for n in os.listdir(tmp_path) if n != "cache"]  # no o/, no .o.* staging
    assert_untouched(before, inputs.root)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "kmeans", "--data", "digits", "--n-clusters", "2.5"], ("--n-clusters", "'2.5'")),
        (
            ["run", "kmeans", "--data", "npy:/nonexistent/x.npy", "--data-opt", "nope=1"],
            ("'nope'",),
        ),
        ([], ("required", "command")),
    ],
    ids=["entry-point-usage", "entry-point-loader-option", "entry-point-no-command"],
)
def test_entry_point_errors_are_one_line(args, fragments, tmp_path: Path):
    proc = _entry_point(tmp_path, *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr
    assert_one_line_error(proc.returncode, proc.stderr, *fragments)
    assert proc.stdout == ""
    assert not [n for n in os.listdir(tmp_path) if n != "cache"]


def test_catalogue_size():
    """At least 60 bad-input cases; keeps the catalogue from shrinking unnoticed."""
    assert len(CLI_CASES) + len(API_CASES) >= 60
