"""ImageNet-10 and ImageNet-Dogs: the class subsets of DAC, DCCM and GATCluster.

The user supplies the images (ImageNet's licence forbids redistribution): a folder with
one sub-folder per WordNet ID, as ImageNet's training set is laid out (the whole
training folder, or a copy holding only the subset's classes). The published class
lists pick the sub-folders; every image is resized on load (96 x 96 by default, the
papers' size; GATCluster-128 uses 128).

* ImageNet-10 (Chang et al., DAC, 2017): 10 classes, 13,000 training images.
* ImageNet-Dogs (Chang et al., DAC, 2017): 15 dog breeds, 19,500 training images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..exceptions import ConfigError, DataError, DataNotFoundError
from .container import Dataset
from .images import _image_files, _images_dataset, _read_image

IMAGENET10 = {
    "n02056570": "king penguin", "n02085936": "Maltese dog", "n02128757": "snow leopard",
    "n02690373": "airliner", "n02692877": "airship", "n03095699": "container ship",
    "n04254680": "soccer ball", "n04285008": "sports car", "n04467665": "trailer truck",
    "n07747607": "orange",
}  # fmt: skip
IMAGENET_DOGS = {
    "n02085936": "Maltese dog", "n02086646": "Blenheim spaniel", "n02088238": "basset",
    "n02091467": "Norwegian elkhound", "n02097130": "giant schnauzer",
    "n02099601": "golden retriever", "n02101388": "Brittany spaniel", "n02101556": "clumber",
    "n02102177": "Welsh springer spaniel", "n02105056": "groenendael", "n02105412": "kelpie",
    "n02105855": "Shetland sheepdog", "n02107142": "Doberman", "n02110958": "pug",
    "n02112137": "chow",
}  # fmt: skip
SUBSETS = {"imagenet10": IMAGENET10, "imagenet-dogs": IMAGENET_DOGS}


def load_imagenet_subset(
    path: str | os.PathLike,
    subset: str = "imagenet10",
    *,
    size: int = 96,
    grayscale: bool = False,
    max_per_class: int | None = None,
) -> Dataset:
    """Load ImageNet-10 or ImageNet-Dogs from an ImageNet-style folder.

    Parameters
    ----------
    path : path-like
        Folder holding one sub-folder per WordNet ID (``n02056570/...``).
    subset : {"imagenet10", "imagenet-dogs"}
    size : int
        Side every image is resized to (bilinear).
    grayscale : bool
        Convert to grey on load (GATCluster trains grey, but converts after its colour
        jitter, so the default keeps colour).
    max_per_class : int, optional
        Keep the first ``max_per_class`` files of every class (sorted names).

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1], ``y`` in the published class order,
        ``extra["class_names"]`` (readable names) and ``extra["wnids"]``.
    """
    if subset not in SUBSETS:
        raise ConfigError(f"subset={subset!r}; expected one of {', '.join(SUBSETS)}")
    if int(size) <= 0:
        raise ConfigError(f"size={size!r}; expected a positive int")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"{root} does not exist or is not a folder; expected a folder "
                                "with one sub-folder per WordNet ID")  # fmt: skip
    classes = SUBSETS[subset]
    missing = [w for w in classes if not (root / w).is_dir()]
    if missing:
        raise DataError(
            f"{root} lacks {len(missing)} of the {len(classes)} {subset} classes "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); expected one "
            "sub-folder per WordNet ID, as ImageNet's training folder"
        )
    per_class = [_image_files(root / w)[:max_per_class] for w in classes]
    empty = [w for w, files in zip(classes, per_class, strict=True) if not files]
    if empty:
        raise DataError(f"class folder {root / empty[0]} holds no images; expected image files")
    hw = (int(size), int(size))
    images = np.stack([_read_image(f, grayscale, hw) for files in per_class for f in files])
    y = np.repeat(np.arange(len(classes), dtype=np.int64), [len(f) for f in per_class])
    if not grayscale:
        images = images.transpose(0, 3, 1, 2)
    return _images_dataset(
        images, y, subset, images.shape[1:], source=str(root),
        class_names=list(classes.values()), wnids=list(classes),
    )  # fmt: skip


def load_imagenet10(path: str | os.PathLike, **options: object) -> Dataset:
    """ImageNet-10 (see :func:`load_imagenet_subset`)."""
    return load_imagenet_subset(path, "imagenet10", **options)  # type: ignore[arg-type]


def load_imagenet_dogs(path: str | os.PathLike, **options: object) -> Dataset:
    """ImageNet-Dogs (see :func:`load_imagenet_subset`)."""
    return load_imagenet_subset(path, "imagenet-dogs", **options)  # type: ignore[arg-type]


__all__ = ["IMAGENET10", "IMAGENET_DOGS", "load_imagenet10", "load_imagenet_dogs",
           "load_imagenet_subset"]  # fmt: skip
