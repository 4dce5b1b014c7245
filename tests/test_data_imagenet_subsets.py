"""ImageNet-10 / ImageNet-Dogs folder layouts on small files written here."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deepclust.data import load
from deepclust.data.imagenet_subsets import IMAGENET10, IMAGENET_DOGS, load_imagenet_subset
from deepclust.exceptions import DataError


def _write(root, wnids, per_class=2, size=(40, 30)):
    rng = np.random.default_rng(0)
    for w in wnids:
        (root / w).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / w / f"{w}_{i}.JPEG", format="JPEG")


def test_published_class_lists():
    assert len(IMAGENET10) == 10 and len(IMAGENET_DOGS) == 15
    assert IMAGENET10["n02056570"] == "king penguin" and IMAGENET_DOGS["n02110958"] == "pug"


def test_imagenet10_from_a_training_folder_with_other_classes(tmp_path):
    _write(tmp_path, [*IMAGENET10, "n01440764"])  # an extra ImageNet class is ignored
    ds = load(f"imagenet10:{tmp_path}", size=24)
    assert ds.X.shape == (20, 3 * 24 * 24) and ds.image_shape == (3, 24, 24)
    assert np.array_equal(ds.y, np.repeat(np.arange(10), 2))
    assert ds.extra["class_names"][0] == "king penguin"
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    grey = load_imagenet_subset(tmp_path, "imagenet10", size=16, grayscale=True, max_per_class=1)
    assert grey.X.shape == (10, 16 * 16)


def test_missing_classes_give_one_line(tmp_path):
    _write(tmp_path, list(IMAGENET_DOGS)[:14])
    with pytest.raises(DataError, match="lacks 1 of the 15 imagenet-dogs classes") as err:
        load(f"imagenet-dogs:{tmp_path}")
    assert "\n" not in str(err.value)
