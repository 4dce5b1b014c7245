"""Declarative parameter validation (scikit-learn's ``_parameter_constraints`` style).

Every estimator declares ``_parameter_constraints``: a dict from parameter name to a
list of accepted forms (``Interval``, ``StrOptions``, types, ``None``, ``"boolean"``).
:func:`validate_params` checks all of them at the very start of ``fit``, so a bad value
fails in a second with one line (``The 'batch_size' parameter of IDEC must be an int in
the range [1, inf). Got -1 instead.``), not after an hour of training.

Constraints are merged along the class hierarchy, so a mixin (e.g. the torch plumbing)
declares its parameters once for every estimator that uses it.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

from .exceptions import ConfigError


class ParameterError(ConfigError, InvalidParameterError):
    """A parameter has a wrong type or value (a ConfigError that sklearn also recognises)."""


def positive_int() -> Interval:
    return Interval(Integral, 1, None, closed="left")


def non_negative_int() -> Interval:
    return Interval(Integral, 0, None, closed="left")


def positive_real() -> Interval:
    return Interval(Real, 0, None, closed="neither")


def non_negative_real() -> Interval:
    return Interval(Real, 0, None, closed="left")


def unit_interval(closed: str = "both") -> Interval:
    return Interval(Real, 0, 1, closed=closed)


AUTO = StrOptions({"auto"})
#: any integer: the range (2 <= k <= n_samples) needs the data and is checked in fit
N_CLUSTERS = [Interval(Integral, None, None, closed="neither")]
SEED = [Interval(Integral, 0, None, closed="left"), None]
LAYER_SIZES = [AUTO, list, tuple]

#: Parameters of every torch-based estimator (see :class:`deepclust.base.TorchMixin`).
TORCH_CONSTRAINTS: dict[str, list[Any]] = {
    "device": [str],
    "precision": [StrOptions({"fp32", "bf16", "fp16"})],
    "compile_networks": ["boolean"],
    "random_state": SEED,
    "verbose": ["boolean"],
    "checkpoint_dir": [str, os.PathLike, None],
    "checkpoint_every": [positive_int()],
    "resume": ["boolean"],
}

#: Parameters of the methods that start from a pretrained autoencoder.
AUTOENCODER_CONSTRAINTS: dict[str, list[Any]] = {
    "hidden_dims": LAYER_SIZES,
    "latent_dim": [AUTO, positive_int()],
    "pretrained": [None, str, os.PathLike, HasMethods(["transform"])],
    "ae_layerwise_epochs": [AUTO, non_negative_int()],
    "ae_finetune_epochs": [AUTO, non_negative_int()],
    "ae_lr": [positive_real()],
    "input_scaling": [StrOptions({"auto", "max", "standardize", "none"})],
}


def merged_constraints(cls: type) -> dict[str, list[Any]]:
    """``_parameter_constraints`` of ``cls`` and its bases (subclasses win)."""
    merged: dict[str, list[Any]] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("_parameter_constraints", {}))
    return merged


def validate_params(est: Any) -> None:
    """Check every declared parameter of ``est``; raise :class:`ParameterError` if one is bad.

    Layer-size lists are checked here too (sklearn's constraints stop at the type).
    """
    params = est.get_params(deep=False)
    constraints = merged_constraints(type(est))
    name = type(est).__name__
    try:
        validate_parameter_constraints(constraints, params, caller_name=name)
    except InvalidParameterError as exc:
        raise ParameterError(str(exc)) from None
    for key, value in params.items():
        # bool is an Integral to Python; True is never meant as a count
        if isinstance(value, bool) and key in constraints and "boolean" not in constraints[key]:
            raise ParameterError(
                f"The {key!r} parameter of {name} must not be a boolean. Got {value!r} instead."
            )
    hidden = params.get("hidden_dims", "auto")
    if isinstance(hidden, (list, tuple)) and not all(
        isinstance(h, Integral) and not isinstance(h, bool) and h >= 1 for h in hidden
    ):
        raise ParameterError(
            f"The 'hidden_dims' parameter of {type(est).__name__} must be 'auto' or a list of "
            f"positive integers. Got {hidden!r} instead."
        )


__all__ = [
    "AUTO",
    "AUTOENCODER_CONSTRAINTS",
    "N_CLUSTERS",
    "Interval",
    "Options",
    "ParameterError",
    "SEED",
    "StrOptions",
    "TORCH_CONSTRAINTS",
    "merged_constraints",
    "non_negative_int",
    "non_negative_real",
    "positive_int",
    "positive_real",
    "unit_interval",
    "validate_params",
]
