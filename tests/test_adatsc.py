"""A-DATSC estimator: windows, scaling, masks, variants, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.exceptions import ConfigError, DataError
from deepclust.methods.adatsc import ADATSC, average_over_windows, scale_cube, window_starts

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.base.CollapseWarning")

TINY = dict(window=4, filters=(4, 8), latent_dim=8, heads=2, pretrain_epochs=2, epochs=2,
            batch_size=4, n_init=2, n_real=4, n_fake=4, random_state=0, device="cpu")  # fmt: skip


@pytest.fixture(scope="module")
def cube():
    rng = np.random.default_rng(0)
    regimes = np.repeat([0, 1, 0, 2, 1], 8)  # 40 days
    patterns = rng.normal(size=(3, 6, 5, 2))
    return (patterns[regimes] + 0.1 * rng.normal(size=(40, 6, 5, 2))).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(cube):
    return ADATSC(3, **TINY).fit(cube)


def test_windows_cover_every_step_and_end_at_the_end():
    starts = window_starts(10, 4, 3)
    assert starts.tolist() == [0, 3, 6]
    covered = np.zeros(10, bool)
    for s in window_starts(11, 4, 3):
        covered[s : s + 4] = True
    assert covered.all() and window_starts(11, 4, 3)[-1] == 7
    with pytest.raises(DataError, match="fewer than window=4"):
        window_starts(3, 4, 1)


def test_scaling_per_column_ignores_nan():
    x = np.array([[[[1.0]], [[5.0]]], [[[3.0]], [[5.0]]], [[[np.nan]], [[5.0]]]])  # (3, 2, 1, 1)
    out, offset, scale = scale_cube(x, "minmax")
    np.testing.assert_allclose(out[:2, 0, 0, 0], [0.0, 1.0])
    assert np.isnan(out[2, 0, 0, 0])
    np.testing.assert_allclose(out[:, 1, 0, 0], 0.0)  # a constant column is shifted, not divided
    assert scale[1] == 1.0 and offset[0] == 1.0


def test_average_over_windows_by_hand():
    steps = torch.tensor([[0, 1], [1, 2]])
    values = torch.tensor([[[1.0], [2.0]], [[4.0], [6.0]]])
    out = average_over_windows(values, steps, 3)
    torch.testing.assert_close(out, torch.tensor([[1.0], [3.0], [6.0]]))


def test_fit_labels_every_step(fitted, cube):
    assert fitted.labels_.shape == (len(cube),)
    assert fitted.labels_.min() >= 0 and fitted.labels_.max() < 3
    np.testing.assert_allclose(fitted.proba_.sum(1), 1.0, rtol=1e-5)
    assert fitted.embedding_.shape == (len(cube), 8)
    assert fitted.affinity_.shape == (40, 40)
    np.testing.assert_allclose(fitted.affinity_, fitted.affinity_.T)
    stages = {h["stage"] for h in fitted.history_}
    assert stages == {"pretrain", "adatsc"}
    last = [h for h in fitted.history_ if h["stage"] == "adatsc"][-1]
    assert {"rec", "kl", "balance", "se", "adv", "disc", "tau"} <= set(last)
    # predict on the fitted cube repeats argmax q (SE does not enter q)
    np.testing.assert_array_equal(fitted.predict(cube), fitted.labels_q_)
    assert fitted.transform(cube).shape == (40, 8)


def test_seeded_runs_reproduce_and_save_load_round_trips(fitted, cube, tmp_path):
    again = ADATSC(3, **TINY).fit(cube)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    path = fitted.save(tmp_path / "m.pt")
    loaded = ADATSC.load(path)
    np.testing.assert_allclose(loaded.predict_proba(cube), fitted.predict_proba(cube), rtol=1e-5)


def test_nan_and_masked_cells_never_enter_the_loss(cube):
    holes = cube.copy()
    holes[:, 0, 0, 0] = np.nan
    weights = ADATSC._loss_weights(holes, np.ones((6, 5), bool))
    assert weights[:, 0, 0, 0].sum() == 0 and weights[:, 1, 1, 1].min() == 1
    mask = np.ones((6, 5), bool)
    mask[2] = False
    assert ADATSC._loss_weights(cube, mask)[:, 2].sum() == 0
    est = ADATSC(3, **TINY).fit(holes, mask=mask)
    assert np.isfinite(est.embedding_).all()
    assert all(np.isfinite(h["rec"]) for h in est.history_)


@pytest.mark.parametrize("variant", ["sel", "cnn-lstm", "gat"])
def test_ablation_variants_fit(variant, cube):
    est = ADATSC(3, variant=variant, **TINY).fit(cube)
    assert est.labels_.shape == (40,)
    assert np.isfinite(est.embedding_).all()


def test_spectral_refinement_on_the_coefficients(cube):
    est = ADATSC(3, refine="spectral", **TINY).fit(cube)
    assert est.labels_.shape == (40,) and set(est.labels_) <= {0, 1, 2}


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((10, 5)), "time, lat, lon, variables"),
        ("text", "numeric cube"),
    ],
)
def test_bad_cubes_are_one_line_errors(bad, match):
    with pytest.raises(DataError, match=match) as info:
        ADATSC(3, **TINY).fit(bad)
    assert "\n" not in str(info.value)


def test_bad_variable_mask_and_window_errors(cube):
    nan_var = cube.copy()
    nan_var[..., 1] = np.nan
    with pytest.raises(DataError, match="variable 1"):
        ADATSC(3, **TINY).fit(nan_var)
    with pytest.raises(DataError, match="mask has shape"):
        ADATSC(3, **TINY).fit(cube, mask=np.ones((3, 3), bool))
    with pytest.raises(DataError, match="fewer than window"):
        ADATSC(3, **{**TINY, "window": 50}).fit(cube)
    with pytest.raises(ConfigError, match="variant"):
        ADATSC(3, **{**TINY, "variant": "big"}).fit(cube)
    with pytest.raises(DataError, match="expected"):
        ADATSC(3, **TINY).fit(cube).predict(cube[:, :3])
