"""Shared test helpers: where the real datasets live and a marker that skips without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

#: ``../shared/data`` beside the repository (absent in a user's fresh clone).
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: Skip a test (or module, via ``pytestmark``) when the real datasets are absent.
requires_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"real datasets not available at {SHARED}"
)


@pytest.fixture
def shared_dir() -> Path:
    """The real-data folder; skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"real datasets not available at {SHARED}")
    return SHARED


@pytest.fixture
def single_thread():
    """Run the test with one OpenMP/BLAS thread.

    The test machine has two cores shared with other jobs; OpenMP code (k-means,
    t-SNE) that spins on a busy core can run several times slower than one thread.
    Opt in with ``pytestmark = pytest.mark.usefixtures("single_thread")``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def float64_default():
    """Run the test with torch's default dtype float64, restoring the previous one after.

    Restoring matters: a module that switched the dtype at import time leaked float64
    into every later module's networks (float/double mismatches far away).
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No test may reach the network; the download cache lives in the test's folder."""

    def _no_network(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path / "cache"))
