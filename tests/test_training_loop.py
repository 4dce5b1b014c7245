"""The loop's batches and in-step draws live on the device: one index copy per epoch,
none per step, and on the CPU exactly the batches and draws of before."""

from __future__ import annotations

import pytest
import torch

from deepclust.training import TrainingLoop, index_device


def _loop(device: str | None = None, seed: int = 0) -> TrainingLoop:
    torch.manual_seed(seed)  # the loop's generator is seeded from the global RNG
    dev = torch.device(device) if device else None
    return TrainingLoop("stage", 1, state={}, history=[], device=dev)


def test_batches_on_a_device_are_slices_of_one_placed_permutation():
    host, placed = _loop(), _loop()
    expected = list(host.batches(10, 4))
    got = []
    for idx in placed.batches(10, 4, device=torch.device("meta")):
        assert idx.device.type == "meta"  # on the device, without a per-step copy
        got.append(placed.host_batch.clone())
    assert [len(b) for b in expected] == [4, 4, 2]
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert sorted(torch.cat(got).tolist()) == list(range(10))


class _FakeSync:
    """Rank 1 of 2 sharding every batch, without a process group."""

    shard_batches, world = True, 2

    def shard_slice(self, n: int) -> slice:
        from deepclust.distributed import share_slice

        return share_slice(n, 1, self.world)


def test_sharded_batches_are_the_ranks_slices_of_the_global_batch():
    plain, sharded = _loop(), _loop()
    sharded.sync = _FakeSync()
    whole = list(plain.batches(9, 4))  # 4, 4, 1 rows
    got = []
    for idx in sharded.batches(9, 4, device=torch.device("meta")):
        assert idx.device.type == "meta"
        got.append((sharded.host_batch.clone(), sharded.global_batch.clone(),
                    sharded.placed_global_batch))  # fmt: skip
    assert len(got) == 2  # the last batch of one row cannot be shared: skipped
    for full, (mine, global_rows, placed) in zip(whole[:2], got, strict=True):
        torch.testing.assert_close(global_rows, full[:4], rtol=0, atol=0)
        torch.testing.assert_close(mine, full[2:4], rtol=0, atol=0)  # rank 1's half
        assert placed.device.type == "meta" and len(placed) == len(global_rows)


def test_batches_on_the_cpu_are_the_host_batches():
    a = list(_loop().batches(9, 4, drop_last=True))
    b = list(_loop().batches(9, 4, drop_last=True, device=torch.device("cpu")))
    assert len(a) == len(b) == 2
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_in_step_draws_come_from_the_loops_generator_on_the_cpu():
    loop = _loop()
    assert loop.device_generator is loop.generator  # the same draws as before
    reference = torch.Generator().set_state(loop.generator.get_state())
    draw = loop.randint(7, 50)
    torch.testing.assert_close(draw, torch.randint(0, 7, (50,), generator=reference))
    assert draw.min() >= 0 and draw.max() < 7
    assert "_device_generator" not in loop.state  # nothing new in a CPU checkpoint


def test_index_device_keeps_host_rows_on_the_host():
    assert index_device(torch.zeros(3, device="meta")).type == "meta"
    assert index_device(torch.zeros(3).numpy()).type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_draws_are_on_the_device_and_checkpointed():
    loop = _loop("cuda")
    assert loop.randint(5, 8).device.type == "cuda"
    assert next(iter(loop.batches(6, 3, device=loop.device))).device.type == "cuda"
    saved = loop.state["_device_generator"].state_dict()
    first = loop.randint(1000, 16)
    loop.state["_device_generator"].load_state_dict(saved)
    torch.testing.assert_close(loop.randint(1000, 16), first, rtol=0, atol=0)


@pytest.fixture
def aot_eager(monkeypatch):
    """torch.compile through dynamo and AOT autograd without inductor's C++ code
    generation: the same capture and compiled backward, no compiler needed on CI."""
    import functools

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))


def test_compiled_forwards_compile_for_the_block_only(aot_eager):
    from torch._dynamo.utils import counters

    from deepclust.training import compiled_forwards

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x = torch.randn(16, 6)
    eager = net(x)
    counters.clear()
    with compiled_forwards([net, "not a module"]):
        assert "forward" in vars(net) and "forward" in vars(net[0])  # the net and children
        torch.testing.assert_close(net(x), eager, rtol=1e-5, atol=1e-6)
    assert counters["frames"]["ok"] >= 1  # dynamo captured a graph
    assert "forward" not in vars(net) and "forward" not in vars(net[0])
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_an_estimator_trains_with_compiled_networks(tmp_path, aot_eager):
    import numpy as np
    from sklearn.datasets import make_blobs

    from deepclust import IDEC

    X = make_blobs(128, n_features=5, centers=3, random_state=0)[0].astype(np.float32)
    settings = dict(hidden_dims=(8,), latent_dim=2, ae_layerwise_epochs=1,
                    ae_finetune_epochs=2, epochs=2, batch_size=32, random_state=0,
                    device="cpu")  # fmt: skip
    eager = IDEC(3, **settings).fit(X)
    est = IDEC(3, compile_networks=True, **settings).fit(X)
    a = [r.get("loss", r.get("kl")) for r in eager.history_]
    b = [r.get("loss", r.get("kl")) for r in est.history_]
    np.testing.assert_allclose(b, a, rtol=1e-3)  # the same training, up to float order
    for net in (est.autoencoder_, est.clustering_):
        assert all("forward" not in vars(m) for m in net.modules())  # wrappers removed
    path = est.save(tmp_path / "idec.pt")
    np.testing.assert_array_equal(IDEC.load(path).predict(X), est.predict(X))


def test_clustergan_trains_with_compiled_networks_but_an_eager_critic(aot_eager):
    # the gradient penalty differentiates the critic twice, which compiled code cannot
    import numpy as np
    from sklearn.datasets import make_blobs

    from deepclust import ClusterGAN

    X = make_blobs(64, n_features=4, centers=2, random_state=0)[0].astype(np.float32)
    est = ClusterGAN(2, iterations=4, batch_size=16, random_state=0, device="cpu",
                     compile_networks=True).fit(X)  # fmt: skip
    assert est.critic_.eager_only and len(set(est.labels_.tolist())) >= 1
