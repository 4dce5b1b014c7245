"""What GATCluster, IIC and DAC share: images in, transformed copies, softmax label
features out, ``argmax`` labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..base import DeepClusterer
from ..exceptions import DataError
from ..nn.augment import GreyAfter, gatcluster_augmentation
from ._image_input import ImageRowsInput


class AugmentedImageClusterer(ImageRowsInput, DeepClusterer):
    """Host of the image options ``grey`` and ``flip`` and of batched inference.

    Subclasses define ``_label_features_of(x)`` (softmax label features of a batch of
    prepared images, eval mode) and use ``augment_``, ``to_grey_`` and ``_batch``.
    """

    #: Images only: the bench runs these methods on image datasets, not on vectors.
    input_kind = "images"

    def _resolve_images(self) -> None:
        """``grey_``, ``flip_`` and ``in_channels_`` from the options and the image size."""
        if len(self.input_shape_) != 3 or self.input_shape_[0] not in (1, 3):
            raise DataError(
                f"{type(self).__name__} clusters images; got samples of shape "
                f"{self.input_shape_}, expected (1|3, H, W) (pass image_shape= for images "
                "given as rows)"
            )
        c, h, w = self.input_shape_
        self.grey_ = True if self.grey == "auto" else bool(self.grey)
        small_grey = c == 1 and max(h, w) <= 32  # digits: a flip makes another symbol
        self.flip_ = (not small_grey) if self.flip == "auto" else bool(self.flip)
        self.in_channels_ = 1 if (self.grey_ or c == 1) else 3

    def _build_augment(self) -> None:
        c = self.input_shape_[0]
        self.augment_ = gatcluster_augmentation(c, self.grey_ and c == 3, self.flip_)
        self.augment_.to(self.device_)
        self.to_grey_ = GreyAfter() if self.grey_ else torch.nn.Identity()

    def _transformed(self, x: torch.Tensor, step: int = 256) -> torch.Tensor:
        """The transformation ``T`` applied to rows ``x`` (in chunks; no gradients)."""
        with torch.no_grad():
            return torch.cat([
                self.augment_(self._batch(x[i : i + step])) for i in range(0, len(x), step)
            ])  # fmt: skip

    def _prepared(self, x: torch.Tensor) -> torch.Tensor:
        """Un-transformed rows as network input (grey when training grey)."""
        return self.to_grey_(self._batch(x))

    @torch.no_grad()
    def _label_features(self, data: torch.Tensor, step: int = 256) -> torch.Tensor:
        """Softmax label features of rows ``data`` in eval mode, ``step`` at a time."""
        modules = [m for m in vars(self).values() if isinstance(m, torch.nn.Module)]
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        out = torch.cat([
            self._label_features_of(self._prepared(data[i : i + step]))
            for i in range(0, len(data), step)
        ])  # fmt: skip
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)
        return out

    def _label_features_of(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} must define _label_features_of")

    def _resolve(self, n: int) -> None:
        """Sizes that depend on the data (the image options by default)."""
        self._resolve_images()

    def _fit(self, X: Any) -> None:
        """Scale, resolve, build, train (``_train``), then label every image."""
        self._fit_scaling(X)
        self._resolve(len(X))
        self._build_modules()
        data = self._as_tensor(self._scaled(X))
        self._train(data)
        self._finish_labels(data)
        self.network_.eval()

    def _finish_labels(self, data: torch.Tensor) -> None:
        proba = self._label_features(data)
        self.proba_ = proba.cpu().numpy()
        self.embedding_ = self.proba_
        self.labels_ = self.proba_.argmax(1).astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Label features of new images."""
        X = self._validate_new_input(X)
        return self._label_features(self._as_tensor(self._scaled(X))).cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(1).astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """The label features (what these methods cluster with)."""
        return self.predict_proba(X)


__all__ = ["AugmentedImageClusterer"]
