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
