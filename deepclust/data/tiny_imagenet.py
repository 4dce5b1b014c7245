"""Tiny-ImageNet-200 in its official folder layout, and the imbalanced splits of MLC Table 4.

Layout of ``tiny-imagenet-200/`` (as distributed):

* ``wnids.txt``: the 200 WordNet ids, one per line (their order gives labels 0..199);
* ``words.txt``: ``wnid<TAB>names`` (optional; class names);
* ``train/<wnid>/images/*.JPEG``: 500 64 x 64 RGB images per class;
* ``val/images/*.JPEG`` with ``val/val_annotations.txt``: ``file<TAB>wnid<TAB>box``.

The test split has no labels and is not read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..exceptions import DataError
from .container import Dataset
from .images import _check_split, _existing, _images_dataset, _read_image

PathLike = str | Path


def _root(path: PathLike) -> Path:
    """The folder holding ``wnids.txt``: ``path`` itself or its ``tiny-imagenet-200``."""
    root = _existing(path, "the tiny-imagenet-200 folder")
    if not (root / "wnids.txt").is_file() and (root / "tiny-imagenet-200").is_dir():
        root = root / "tiny-imagenet-200"
    if not (root / "wnids.txt").is_file():
        raise DataError(f"{root} has no wnids.txt; expected the tiny-imagenet-200 folder")
    return root


def _class_names(root: Path, wnids: list[str]) -> list[str]:
    words = root / "words.txt"
    if not words.is_file():
        return wnids
    table = dict(line.split("\t", 1) for line in words.read_text().splitlines() if "\t" in line)
    return [table.get(w, w).strip() for w in wnids]


def _split_files(root: Path, split: str, wnids: list[str]) -> tuple[list[Path], list[int]]:
    index = {w: i for i, w in enumerate(wnids)}
    files: list[Path] = []
    labels: list[int] = []
    if split == "train":
        for w in wnids:
            found = sorted((root / "train" / w / "images").glob("*.JPEG"))
            files += found
            labels += [index[w]] * len(found)
        return files, labels
    notes = root / "val" / "val_annotations.txt"
    if not notes.is_file():
        raise DataError(f"{notes} not found; expected the val annotations of Tiny-ImageNet")
    for n, line in enumerate(notes.read_text().splitlines(), 1):
        parts = line.split("\t")
        if len(parts) < 2 or parts[1] not in index:
            raise DataError(f"{notes}:{n}: expected 'file<TAB>wnid<TAB>...' with a known wnid")
        files.append(root / "val" / "images" / parts[0])
        labels.append(index[parts[1]])
    return files, labels


def load_tiny_imagenet(path: PathLike, *, split: str = "train") -> Dataset:
    """Tiny-ImageNet-200 (200 classes, 64 x 64 RGB) from the official folder.

    Parameters
    ----------
    path : path-like
        ``tiny-imagenet-200`` or the folder above it.
    split : {"train", "val", "all"}
        100,000 training images, the 10,000 validation images, or both (train first).

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1] of shape (n, 3 * 64 * 64), ``y`` 0..199 in the order of
        ``wnids.txt``, ``image_shape=(3, 64, 64)``, ``extra["class_names"]``,
        ``extra["wnids"]``.
    """
    _check_split(split, ("train", "val", "all"))
    root = _root(path)
    wnids = [w.strip() for w in (root / "wnids.txt").read_text().split() if w.strip()]
    files: list[Path] = []
    labels: list[int] = []
    for part in ("train", "val") if split == "all" else (split,):
        f, lab = _split_files(root, part, wnids)
        files += f
        labels += lab
    if not files:
        raise DataError(f"no images for split {split!r} under {root}")
    images = np.stack([_read_image(f, False, None) for f in files])  # (n, H, W, 3)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(f"Tiny-ImageNet images must be RGB; got an array of shape {images.shape}")
    images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    return _images_dataset(
        images, np.asarray(labels, dtype=np.int64), f"tiny_imagenet_{split}", images.shape[1:],
        class_names=_class_names(root, wnids), wnids=wnids,
    )  # fmt: skip


def imbalanced_indices(
    y: np.ndarray, *, keep: float = 0.5, classes: str = "odd", random_state: int | None = 0
) -> np.ndarray:
    """Indices of an imbalanced subset (MLC Table 4: Imb-CIFAR10, Imb-CIFAR100-100).

    ``classes="odd"`` keeps only ``keep`` (half) of the samples of every odd-numbered
    class (1, 3, 5, ...) and all of the others, drawn without replacement by a seeded
    generator; the result is sorted, so applying it to the train and test splits of a
    set gives the paper's construction.
    """
    y = np.asarray(y)
    if classes != "odd":
        raise DataError(f"classes={classes!r}; expected 'odd' (the paper's construction)")
    if not 0 < keep <= 1:
        raise DataError(f"keep must be in (0, 1]; got {keep}")
    rng = np.random.default_rng(random_state)
    chosen = [np.flatnonzero(y % 2 == 0)]
    for c in np.unique(y[y % 2 == 1]):
        members = np.flatnonzero(y == c)
        chosen.append(rng.choice(members, int(round(keep * len(members))), replace=False))
    return np.sort(np.concatenate(chosen))
