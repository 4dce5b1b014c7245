"""Tiny-ImageNet's official layout on a small written copy; the imbalanced splits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deepclust.data.registry import load
from deepclust.data.tiny_imagenet import imbalanced_indices, load_tiny_imagenet
from deepclust.exceptions import ConfigError, DataError


@pytest.fixture()
def tiny(tmp_path):
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819", "n01641577"]
    (root / "val" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (root / "words.txt").write_text(
        "n01443537\tgoldfish, Carassius auratus\nn01629819\tsalamander\n"
    )
    rng = np.random.default_rng(0)
    for c, w in enumerate(wnids):
        folder = root / "train" / w / "images"
        folder.mkdir(parents=True)
        for i in range(2):
            pixels = np.full((64, 64, 3), 40 * c + 10 * i, np.uint8)
            Image.fromarray(pixels).save(folder / f"{w}_{i}.JPEG", quality=100)
    notes = []
    for i, w in enumerate([wnids[2], wnids[0]]):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
            root / "val" / "images" / f"val_{i}.JPEG"
        )
        notes.append(f"val_{i}.JPEG\t{w}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(notes) + "\n")
    return tmp_path


def test_train_val_and_all_splits(tiny):
    train = load_tiny_imagenet(tiny)  # the folder above tiny-imagenet-200 works too
    assert train.X.shape == (6, 3 * 64 * 64) and train.image_shape == (3, 64, 64)
    np.testing.assert_array_equal(train.y, [0, 0, 1, 1, 2, 2])
    assert train.X.dtype == np.float32 and 0 <= train.X.min() and train.X.max() <= 1
    # JPEG of a flat grey image stays close to its value; channel-first layout
    img = train.X[2].reshape(3, 64, 64)
    assert abs(float(img.mean()) - 40 / 255) < 0.02
    assert train.extra["class_names"][:2] == ["goldfish, Carassius auratus", "salamander"]
    assert train.extra["class_names"][2] == "n01641577"  # not in words.txt: its wnid
    val = load_tiny_imagenet(tiny / "tiny-imagenet-200", split="val")
    np.testing.assert_array_equal(val.y, [2, 0])
    both = load(f"tiny-imagenet:{tiny}", split="all")
    assert len(both.X) == 8


def test_bad_folders_and_splits(tiny, tmp_path):
    with pytest.raises(DataError, match="wnids.txt"):
        load_tiny_imagenet(tmp_path / "tiny-imagenet-200" / "train")
    with pytest.raises(ConfigError, match="split"):
        load_tiny_imagenet(tiny, split="test")
    (tiny / "tiny-imagenet-200" / "val" / "val_annotations.txt").write_text("val_0.JPEG\tnXXX\n")
    with pytest.raises(DataError, match="known wnid"):
        load_tiny_imagenet(tiny, split="val")


def test_imbalanced_indices_halve_the_odd_classes_reproducibly():
    y = np.repeat(np.arange(10), 100)
    idx = imbalanced_indices(y, random_state=3)
    counts = np.bincount(y[idx])
    np.testing.assert_array_equal(counts, [100, 50] * 5)
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, imbalanced_indices(y, random_state=3))
    assert not np.array_equal(idx, imbalanced_indices(y, random_state=4))
    with pytest.raises(DataError):
        imbalanced_indices(y, keep=0)
