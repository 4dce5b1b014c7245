"""Image folders decoded on demand: the same rows as the eager loader, and the image
methods fit on them batch by batch, without ever decoding the whole set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from deepclust.data.images import load_image_folder
from deepclust.data.lazy_images import LazyImageRows
from deepclust.exceptions import DataError

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning")


def _write_folder(root, colour: bool = False) -> np.ndarray:
    """Three classes of 16 x 16 shapes, one sub-folder each, as PNG files."""
    from test_gatcluster import _shapes

    X, y = _shapes(36, 16)
    for i, (img, label) in enumerate(zip(X[:, 0], y, strict=True)):
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(img.clip(0, 1) * 255).astype(np.uint8)
        if colour:
            pixels = np.stack([pixels, 255 - pixels, pixels // 2], axis=-1)
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return y


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    _write_folder(root)
    return root


@pytest.mark.parametrize("colour", [False, True])
def test_lazy_rows_equal_the_eager_loader(tmp_path, colour):
    _write_folder(tmp_path, colour)
    eager = load_image_folder(tmp_path)
    lazy = load_image_folder(tmp_path, lazy=True)
    assert isinstance(lazy.X, LazyImageRows)
    assert lazy.X.shape == eager.X.shape and lazy.image_shape == eager.image_shape
    np.testing.assert_array_equal(lazy.y, eager.y)
    assert lazy.extra["files"] == eager.extra["files"]
    np.testing.assert_array_equal(np.asarray(lazy.X), eager.X)
    np.testing.assert_array_equal(lazy.X[[5, 2]], eager.X[[5, 2]])
    np.testing.assert_array_equal(lazy.X[3:7], eager.X[3:7])
    np.testing.assert_array_equal(lazy.X[torch.tensor([0, 35])], eager.X[[0, 35]])
    np.testing.assert_array_equal(lazy.X[4], eager.X[4])


def test_differing_sizes_are_refused_from_the_headers(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("L", (8, 9)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match="different sizes"):
        load_image_folder(tmp_path, lazy=True)
    assert load_image_folder(tmp_path, lazy=True, size=8).X.shape == (2, 64)


CONV = dict(widths=(4, 8, 8), feature_dim=8, epochs=2, batch_size=16)
SETTINGS = {"IIC": CONV, "DAC": CONV, "GATCluster": CONV,
            "MLC": dict(init_epochs=1, epochs=1, dim=8)}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_a_fit_on_the_lazy_folder_equals_the_fit_on_the_array(folder, name, monkeypatch):
    import deepclust
    from deepclust.threads import set_num_threads

    eager, lazy = load_image_folder(folder), load_image_folder(folder, lazy=True)
    kw = dict(SETTINGS[name], random_state=0, device="cpu", image_shape=(1, 16, 16))
    set_num_threads(1)
    try:
        reference = getattr(deepclust, name)(3, **kw).fit(eager.X)

        def no_materialising(*_):
            raise AssertionError("the whole folder was decoded")

        monkeypatch.setattr(LazyImageRows, "__array__", no_materialising)
        est = getattr(deepclust, name)(3, **kw).fit(lazy.X)
    finally:
        set_num_threads(None)
    # the same pixels in the same batches: the same model and labels
    np.testing.assert_array_equal(est.labels_, reference.labels_)
    np.testing.assert_allclose(est.embedding_, reference.embedding_, rtol=1e-5, atol=1e-6)
    # predicting reads the folder in chunks too (MLC's predict is not its labels_: the
    # training labels come from the doubly stochastic membership of the whole set)
    np.testing.assert_array_equal(est.predict(lazy.X), reference.predict(eager.X))


def test_a_folder_of_identical_images_is_refused_without_decoding_it_all(tmp_path):
    from deepclust import IIC

    for i in range(5):
        Image.new("L", (8, 8), color=128).save(tmp_path / f"{i}.png")
    lazy = load_image_folder(tmp_path, lazy=True)
    with pytest.raises(DataError, match="identical"):
        IIC(2, device="cpu", image_shape=(1, 8, 8)).fit(lazy.X)
