"""Labels and ground truth that are missing, blank or stored under unusual names.

* A hyperspectral ground truth without any labelled pixel is an error with an exact text.
* When labels sit under an unusual name, the loaders name the option that selects them
  (``label_key=`` / ``gt_key=``, on the CLI ``--data-opt ...``) and list the candidates.
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
import scipy.io

import deepclust
from deepclust.data.hsi import load_hsi, load_salinas_a
from deepclust.data.images import load_image_mat
from deepclust.data.vectors import load_mat, load_npz
from deepclust.exceptions import DataError


@pytest.fixture(autouse=True)
def _offline(offline):
    """No network; the download cache lives in the test's folder (conftest ``offline``)."""


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _cube(rows=4, cols=5, bands=3):
    return np.random.default_rng(0).random((rows, cols, bands)).astype(np.float32)


# --------------------------------------------------------------------------- blank gt


def test_blank_companion_ground_truth_is_an_error(tmp_path):
    scipy.io.savemat(tmp_path / "Scene_corrected.mat", {"scene": _cube()})
    scipy.io.savemat(tmp_path / "Scene_gt.mat", {"scene_gt": np.zeros((4, 5), np.uint8)})
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "Scene_corrected.mat")
    assert _err(e) == (
        "ground truth Scene_gt.mat:scene_gt of Scene_corrected.mat has no labelled pixel "
        "(all values are 0 = unlabelled)"
    )
    ds = load_hsi(tmp_path / "Scene_corrected.mat", gt=False)  # the way out: no labels
    assert ds.y is None and ds.extra["gt_source"] is None


def test_blank_ground_truth_array_in_file_or_given(tmp_path):
    f = tmp_path / "s.mat"
    scipy.io.savemat(f, {"cube": _cube(), "map": np.zeros((4, 5), np.uint8)})
    with pytest.raises(DataError) as e:
        load_hsi(f)
    assert _err(e) == (
        "ground truth s.mat:map of s.mat has no labelled pixel (all values are 0 = unlabelled)"
    )
    np.save(tmp_path / "cube.npy", _cube())
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "cube.npy", gt=np.zeros((4, 5), int))
    assert _err(e) == (
        "ground truth the gt array of cube.npy has no labelled pixel "
        "(all values are 0 = unlabelled)"
    )
    np.save(tmp_path / "blank.npy", np.zeros((4, 5), np.uint8))
    with pytest.raises(DataError, match="ground truth blank.npy of cube.npy has no labelled"):
        deepclust.load(f"hsi:{tmp_path / 'cube.npy'}", gt=str(tmp_path / "blank.npy"))


def test_blank_ground_truth_of_a_named_scene(tmp_path):
    scipy.io.savemat(tmp_path / "SalinasA_corrected.mat", {"salinasA_corrected": _cube()})
    scipy.io.savemat(tmp_path / "SalinasA_gt.mat", {"salinasA_gt": np.zeros((4, 5), np.uint8)})
    with pytest.raises(DataError) as e:
        load_salinas_a(tmp_path)
    assert _err(e) == (
        "ground truth SalinasA_gt.mat:salinasA_gt of SalinasA_corrected.mat has no labelled "
        "pixel (all values are 0 = unlabelled)"
    )


def test_one_labelled_pixel_is_enough(tmp_path):
    gt = np.zeros((4, 5), np.uint8)
    gt[2, 3] = 4
    np.save(tmp_path / "cube.npy", _cube())
    ds = load_hsi(tmp_path / "cube.npy", gt=gt)
    assert ds.n_classes == 1 and ds.mask.sum() == 1


# --------------------------------------------------------------------------- gt keys


def test_scene_without_ground_truth_says_how_to_give_one(tmp_path):
    f = tmp_path / "field.mat"
    scipy.io.savemat(f, {"cube": _cube(), "classes": np.ones((5, 4), np.uint8)})  # transposed
    ds = load_hsi(f)
    assert ds.y is None
    hint = ds.extra["labels_hint"]
    assert "no ground truth found for field.mat" in hint and "classes 5x4 uint8" in hint
    assert "--data-opt gt=FILE" in hint and "--data-opt gt_key=NAME" in hint


def test_ground_truth_file_with_unusual_keys_names_gt_key(tmp_path):
    np.save(tmp_path / "cube.npy", _cube())
    gt = tmp_path / "labels.mat"
    scipy.io.savemat(gt, {"a": np.ones((4, 5), np.uint8), "b": np.ones((4, 5), np.uint8)})
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "cube.npy", gt=gt)
    assert _err(e) == (
        "several candidate ground-truth arrays in labels.mat (a, b); pass gt_key=NAME "
        "(CLI: --data-opt gt_key=NAME)"
    )
    assert load_hsi(tmp_path / "cube.npy", gt=gt, gt_key="b").n_classes == 1
    scipy.io.savemat(gt, {"rgb": np.ones((4, 5, 3))})
    with pytest.raises(DataError) as e:
        load_hsi(tmp_path / "cube.npy", gt=gt)
    assert "no 2-D ground-truth array of 4 x 5 in labels.mat; available: rgb 4x5x3" in _err(e)
    assert "pass gt_key=NAME (CLI: --data-opt gt_key=NAME)" in _err(e)


# --------------------------------------------------------------------------- label keys


def test_mat_labels_under_an_unusual_name(tmp_path):
    f = tmp_path / "feats.mat"
    X = np.random.default_rng(1).random((30, 4))
    cls = np.repeat([1, 2, 3], 10).reshape(-1, 1)
    scipy.io.savemat(f, {"X": X, "cls": cls, "weights": np.linspace(0, 1, 30)})
    with pytest.warns(UserWarning) as w:
        ds = load_mat(f)
    assert ds.y is None
    hint = ds.extra["labels_hint"]
    assert hint == str(w[0].message)
    assert hint == (
        "feats.mat has no label array named y, labels, label, gnd, target, targets; "
        "candidate label arrays: 'cls' (3 classes); pass label_key='cls' "
        "(CLI: --data-opt label_key=cls) to use one"
    )
    np.testing.assert_array_equal(load_mat(f, label_key="cls").y, cls.ravel())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # label_key=False: no labels wanted, no warning
        assert load_mat(f, label_key=False).y is None


def test_mat_without_any_label_like_array_still_names_the_option(tmp_path):
    f = tmp_path / "plain.mat"
    scipy.io.savemat(f, {"X": np.random.default_rng(2).random((12, 3))})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing label-like: no warning
        ds = deepclust.load(f"mat:{f}")
    assert "pass label_key=NAME (CLI: --data-opt label_key=NAME)" in ds.extra["labels_hint"]


def test_npz_image_mat_and_h5_list_candidates(tmp_path):
    X = np.random.default_rng(3).random((20, 16))
    group = np.repeat(["a", "b"], 10)
    np.savez(tmp_path / "t.npz", X=X, group=group)
    with pytest.warns(UserWarning, match="label_key='group'"):
        assert load_npz(tmp_path / "t.npz").extra["labels_hint"].startswith("t.npz has no label")
    scipy.io.savemat(tmp_path / "im.mat", {"fea": X, "object_id": np.repeat([1, 2], 10)})
    with pytest.warns(UserWarning, match="'object_id' \\(2 classes\\)"):
        load_image_mat(tmp_path / "im.mat")
    with h5py.File(tmp_path / "f.h5", "w") as fh:
        fh["data"] = X
        fh["digit"] = np.repeat([0, 1], 10)
    with pytest.warns(UserWarning, match="--data-opt label_key=digit"):
        assert deepclust.load(f"h5:{tmp_path / 'f.h5'}").y is None
