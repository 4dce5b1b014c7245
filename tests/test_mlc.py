"""MLC: the paper's two-manifold example, image mode, line 10's sparse path, helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.data.synthetic import make_sphere_manifolds
from deepclust.exceptions import ConfigError, DataError
from deepclust.methods.mlc import MLC, MLCNetwork, cluster_subspaces, knn_kernel_graph
from deepclust.metrics import cluster_accuracy
from deepclust.nn.backbones import MLPBackbone
from deepclust.validation import ParameterError

SMALL = dict(dim=3, backbone_hidden=(100,), head_hidden=(100,), device="cpu", random_state=0)


@pytest.fixture(scope="module")
def manifolds():
    return make_sphere_manifolds(random_state=0)


def test_two_manifolds_are_linearised_and_clustered(manifolds):
    # App. D.1: a curved closed curve and a Gaussian blob on the sphere (k-means: 0.76)
    est = MLC(2, init_epochs=200, epochs=100, **SMALL).fit(manifolds.X)
    assert cluster_accuracy(manifolds.y, est.labels_) > 0.95
    assert est.embedding_.shape == (200, 3)
    np.testing.assert_allclose(np.linalg.norm(est.embedding_, axis=1), 1.0, rtol=1e-5)
    assert isinstance(est.affinity_, np.ndarray) and est.affinity_.shape == (200, 200)
    assert len(est.cluster_ranks_) == 2 and all(1 <= r <= 3 for r in est.cluster_ranks_)
    assert (est.predict(manifolds.X) == est.labels_).mean() > 0.95
    stages = [r["stage"] for r in est.history_]
    assert stages.count("tcr") == 200 and stages.count("mlc") == 100
    mlc = [r for r in est.history_ if r["stage"] == "mlc"]
    assert {"expansion", "compression", "regulariser"} <= set(mlc[0])
    three = est.labels_for(3)
    assert three.shape == (200,) and len(np.unique(three)) == 3


def test_sparse_membership_graph_above_full_membership_max(manifolds):
    est = MLC(2, init_epochs=30, epochs=10, full_membership_max=50, n_neighbors=10, **SMALL)
    est.fit(manifolds.X)
    assert est.affinity_.shape == (200, 200) and est.affinity_.nnz <= 2 * 200 * 10
    assert set(np.unique(est.labels_)) == {0, 1}


def test_image_mode_with_flat_rows_or_4d_arrays():
    rng = np.random.default_rng(0)
    imgs = np.zeros((40, 1, 12, 12), np.float32)
    imgs[:20, :, :, :6] = 255.0  # left half bright
    imgs[20:, :, :6, :] = 255.0  # top half bright
    imgs += rng.uniform(0, 20, imgs.shape).astype(np.float32)
    kw = dict(init_epochs=2, epochs=2, dim=8, head_hidden=(16,), device="cpu", random_state=0)
    a = MLC(2, image_shape=(1, 12, 12), **kw).fit(imgs.reshape(40, -1))
    b = MLC(2, **kw).fit(imgs)
    assert a.input_shape_ == b.input_shape_ == (1, 12, 12)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.transform(imgs[:5]).shape == (5, 8)
    with pytest.raises(DataError, match="image_shape"):
        MLC(2, image_shape=(1, 10, 10), **kw).fit(imgs.reshape(40, -1))


def test_bad_parameters_fail_before_training(manifolds):
    with pytest.raises(ParameterError, match="eta"):
        MLC(2, eta=0.0).fit(manifolds.X)
    with pytest.raises(ParameterError, match="backbone"):
        MLC(2, backbone="vit").fit(manifolds.X)


def test_cluster_head_starts_as_a_copy_of_the_feature_head():
    net = MLCNetwork(MLPBackbone(4, (8,)), 3, (8,))
    h = torch.randn(6, 8)
    net.eval()
    assert not torch.allclose(net.feature_head(h), net.cluster_head(h))
    net.copy_feature_head()
    torch.testing.assert_close(net.feature_head(h), net.cluster_head(h))


def test_knn_kernel_graph_is_symmetric_without_self_loops():
    c = torch.nn.functional.normalize(
        torch.randn(50, 4, generator=torch.Generator().manual_seed(0)), dim=1
    )
    g = knn_kernel_graph(c.numpy(), 5, eta=0.2)
    assert (g != g.T).nnz == 0 and g.diagonal().max() == 0
    assert (g.getnnz(axis=1) >= 5).all() and g.data.max() <= 1.0


def test_cluster_subspaces_are_orthonormal_and_ranked():
    rng = np.random.default_rng(0)
    z = np.zeros((60, 4))
    z[:30, :2] = rng.standard_normal((30, 2))  # a plane
    z[30:, 3] = 1.0  # a line
    labels = np.repeat([0, 1], 30)
    bases, ranks = cluster_subspaces(z, labels, 3)
    assert ranks[:2] == [2, 1] and ranks[2] == 0
    np.testing.assert_allclose(bases[0].T @ bases[0], np.eye(2), atol=1e-10)
    with pytest.raises(ConfigError, match="saved model"):
        est = MLC(2)
        est.labels_ = labels
        est.affinity_ = None
        est.labels_for(2)


def test_the_run_layer_gives_image_rows_their_shape():
    from deepclust.data.container import Dataset
    from deepclust.run import build_estimator, fit_method

    rng = np.random.default_rng(1)
    ds = Dataset(X=rng.random((30, 100)).astype(np.float32), name="tiny", kind="images",
                 image_shape=(10, 10))  # fmt: skip
    est = build_estimator("mlc", 2, dict(init_epochs=1, epochs=1, dim=4, head_hidden=(8,)), 0)
    fit_method(est, ds, {})
    assert est.input_shape_ == (1, 10, 10) and type(est.network_.backbone).__name__ == "SmallCNN"


def test_nmce_clusters_the_two_manifolds_with_a_point_to_cluster_membership():
    from deepclust.methods.nmce import NMCE, nmce_loss

    ds = make_sphere_manifolds(random_state=1)
    est = NMCE(2, init_epochs=200, epochs=100, finetune_epochs=50, **SMALL).fit(ds.X)
    assert cluster_accuracy(ds.y, est.labels_) > 0.9
    np.testing.assert_allclose(est.proba_.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(est.predict(ds.X), est.labels_)
    assert [
        s for s in ("tcr", "nmce", "finetune") if any(r["stage"] == s for r in est.history_)
    ] == ["tcr", "nmce", "finetune"]
    z = torch.nn.functional.normalize(torch.randn(10, 3), dim=1)
    terms = nmce_loss(z, z, torch.zeros(10, 2), eps2=0.1, invariance=2.0)
    assert float(terms["agreement"]) == pytest.approx(1.0)


def test_init_from_reuses_the_tcr_stage_across_mlc_and_nmce(manifolds, tmp_path):
    from deepclust.methods.nmce import NMCE

    first = MLC(2, init_epochs=30, epochs=5, **SMALL).fit(manifolds.X)
    path = first.save(tmp_path / "mlc.pt")
    for source in (first, str(path)):
        again = NMCE(2, init_from=source, epochs=2, finetune_epochs=1, **SMALL).fit(manifolds.X)
        assert not any(r["stage"] == "tcr" for r in again.history_)
    key = "net.0.weight"
    tcr_head = first.init_state_["feature_head"][key]
    assert not torch.equal(tcr_head, first.network_.feature_head.state_dict()[key])  # trained on
    for source in (first, str(path)):  # the line-1 state is handed on, not the trained head
        reused = MLC(2, init_from=source, epochs=0, **SMALL).fit(manifolds.X)
        torch.testing.assert_close(  # epochs=0: the copied feature head is untouched
            reused.network_.feature_head.state_dict()[key], tcr_head, rtol=0, atol=0
        )
        torch.testing.assert_close(reused.init_state_["feature_head"][key], tcr_head)
    with pytest.raises(ConfigError, match="architecture"):
        MLC(2, init_from=first, **{**SMALL, "dim": 4}).fit(manifolds.X)
    with pytest.raises(ConfigError, match="shape"):
        MLC(2, init_from=first, **SMALL).fit(np.c_[manifolds.X, manifolds.X])


def test_the_cli_gets_the_cosine_similarity_picture(manifolds, tmp_path):
    est = MLC(2, init_epochs=2, epochs=1, **SMALL).fit(manifolds.X)
    (path,) = est.write_figures(tmp_path)
    assert path.name == "cosine_similarity.png" and path.stat().st_size > 1000


def test_mixed_precision_is_only_used_on_cuda():
    import contextlib

    est = MLC(2, amp=True)
    est.device_ = torch.device("cpu")
    assert isinstance(est._autocast(), contextlib.nullcontext)
    est.device_ = torch.device("cuda")
    assert isinstance(est._autocast(), torch.autocast)
    est.amp = False
    assert isinstance(est._autocast(), contextlib.nullcontext)


def test_the_cli_runs_mlc_on_images_and_on_a_feature_table(tmp_path, capsys):
    from deepclust.cli import main

    tiny = []
    for item in ("init_epochs=1", "epochs=1", "dim=4", "head_hidden=[8]", "device=cpu"):
        tiny += ["--set", item]
    out = tmp_path / "images"  # the digits: 8 x 8 grey images, the small CNN
    assert main(["run", "mlc", "--data", "digits", "--out", str(out), *tiny]) == 0
    assert np.load(out / "labels.npy").shape == (1797,)
    assert (out / "cosine_similarity.png").stat().st_size > 1000
    table = tmp_path / "features.npy"  # frozen-feature mode: the heads on the vectors
    np.save(table, np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32))
    out = tmp_path / "table"
    args = ["run", "mlc", "--data", f"npy:{table}", "--n-clusters", "3", "--out", str(out)]
    assert main([*args, *tiny, "--set", "backbone_hidden=[]"]) == 0
    assert np.load(out / "labels.npy").shape == (60,)
