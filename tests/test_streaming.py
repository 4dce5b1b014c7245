"""Cubes larger than memory: streamed statistics and windows equal the in-memory path."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
import xarray as xr

from deepclust.exceptions import DataError
from deepclust.methods._climate import scale_cube
from deepclust.methods._streaming import StreamedCube, is_lazy_cube, streamed_statistics
from deepclust.methods.dsc import DSC
from deepclust.methods.dtc import DTC

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning")


@pytest.fixture(scope="module")
def cube():
    rng = np.random.default_rng(0)
    regimes = np.repeat([0, 1, 0, 2, 1, 2], 8)
    c = rng.normal(size=(3, 6, 5, 2))[regimes] + 0.1 * rng.normal(size=(48, 6, 5, 2))
    c = c.astype(np.float32)
    c[:, 0, 0, 1] = np.nan  # a land cell of one variable
    return c


@pytest.fixture()
def h5_cube(cube, tmp_path):
    f = h5py.File(tmp_path / "cube.h5", "w")
    f["x"] = cube
    yield f["x"]
    f.close()


def test_lazy_arrays_are_recognised(cube, h5_cube, tmp_path):
    mm = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float32,
                                   shape=cube.shape)  # fmt: skip
    assert is_lazy_cube(h5_cube) and is_lazy_cube(mm)
    assert not is_lazy_cube(cube) and not is_lazy_cube(cube.tolist())
    assert not is_lazy_cube(xr.DataArray(cube))  # numpy-backed: loaded as usual


@pytest.mark.parametrize("mode", ["minmax", "standardize", "none"])
def test_streamed_statistics_equal_the_in_memory_ones(cube, h5_cube, mode):
    _, offset, scale = scale_cube(cube, mode)
    got_offset, got_scale = streamed_statistics(h5_cube, mode, "test", chunk=7)
    np.testing.assert_allclose(got_offset, offset, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_scale, scale, rtol=1e-5, atol=1e-6)


def test_streamed_windows_equal_the_scaled_cube_and_read_only_the_batch(cube, h5_cube):
    scaled, offset, scale = scale_cube(cube, "minmax")
    reads = []

    class Counting:
        shape = h5_cube.shape

        def __getitem__(self, index):
            reads.append(len(index))
            return h5_cube[index]

    src = StreamedCube(Counting(), offset, scale, torch.device("cpu"))
    s = torch.tensor([[3, 4, 5, 6], [5, 6, 7, 8]])
    expected = torch.as_tensor(np.moveaxis(np.nan_to_num(scaled), 3, 1))[s]
    torch.testing.assert_close(src[s], expected)
    w = src.weights[s]
    assert w.shape == expected.shape and float(w[:, :, 1, 0, 0].max()) == 0.0
    assert reads == [6]  # the 6 distinct steps, once for data and weights
    flat = src.flattened()
    assert flat[s].shape == (2, 4, 6 * 5 * 2)


def test_dsc_on_an_h5_cube_matches_the_in_memory_fit(cube, h5_cube):
    kw = dict(window=4, filters=(4, 8), lstm_hidden=8, latent_dim=4, pretrain_epochs=3,
              epochs=2, batch_size=4, n_init=2, random_state=0, device="cpu")  # fmt: skip
    eager = DSC(3, **kw).fit(cube)
    lazy = DSC(3, **kw).fit(h5_cube)
    np.testing.assert_allclose(lazy.embedding_, eager.embedding_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(lazy.labels_, eager.labels_)
    np.testing.assert_allclose(lazy.predict_proba(h5_cube), eager.predict_proba(cube),
                               rtol=1e-4, atol=1e-5)  # fmt: skip


def test_dtc_streams_the_flat_view(cube, h5_cube):
    kw = dict(window=4, stride=4, filters=4, lstm_units=4, latent_channels=2,
              pretrain_epochs=2, epochs=1, batch_size=4, random_state=0, device="cpu")  # fmt: skip
    eager = DTC(3, **kw).fit(cube)
    lazy = DTC(3, **kw).fit(h5_cube)
    np.testing.assert_allclose(lazy.proba_, eager.proba_, rtol=1e-4, atol=1e-5)


def test_streamed_input_errors_are_one_line(cube, tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        bad = cube.copy()
        bad[..., 1] = np.nan
        f["nan"] = bad
        f["flat"] = cube.reshape(48, -1)
        f["const"] = np.ones((10, 3, 3, 2), np.float32)
        with pytest.raises(DataError, match="variable 1 of the cube has no finite value"):
            DSC(3, window=4).fit(f["nan"])
        with pytest.raises(DataError, match="time, lat, lon, variables"):
            DSC(3, window=4).fit(f["flat"])
        with pytest.raises(DataError, match="identical"):
            DSC(3, window=4).fit(f["const"])


def test_adatsc_on_a_memmap_cube_matches_the_in_memory_fit(cube, tmp_path):
    from deepclust.methods.adatsc import ADATSC

    mm = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float32,
                                   shape=cube.shape)  # fmt: skip
    mm[:] = cube
    kw = dict(window=4, filters=(4, 8), latent_dim=8, heads=2, pretrain_epochs=2, epochs=2,
              batch_size=4, n_init=2, n_real=4, n_fake=4, random_state=0, device="cpu")  # fmt: skip
    eager = ADATSC(3, **kw).fit(cube)
    lazy = ADATSC(3, **kw).fit(mm)
    np.testing.assert_allclose(lazy.proba_, eager.proba_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lazy.transform(mm), eager.transform(cube), rtol=1e-4, atol=1e-5)
