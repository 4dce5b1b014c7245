"""Downloads are verified before they enter the cache, and a bad one leaves no file.

The network fetch (``deepclust.data.download._download``) is replaced by functions that
write chosen bytes, so no test touches the network.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import deepclust.data.download as download
from deepclust.data import hsi
from deepclust.data.download import data_home, fetch
from deepclust.data.hsi import SCENES, load_ksc, load_salinas_a
from deepclust.exceptions import DataError, DataNotFoundError


@pytest.fixture(autouse=True)
def _sandbox(monkeypatch, tmp_path):
    def _no_network(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "_verified", set())


def _err(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _files_under(folder: Path) -> list[str]:
    """Every file left, hidden temporary files included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _serve(monkeypatch, pages: dict[str, bytes]) -> list[str]:
    """Replace the network fetch: each URL writes its bytes (KeyError-free: unknown URLs
    fail like an unreachable host). Returns the URLs asked for."""
    calls: list[str] = []

    def fake_download(url: str, dest: Path, timeout: float) -> None:
        calls.append(url)
        if url not in pages:
            raise OSError("network is unreachable")
        dest.write_bytes(pages[url])

    monkeypatch.setattr(download, "_download", fake_download)
    return calls


def _mat_bytes(variables: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, variables)
    return buf.getvalue()


def test_checksum_mismatch_is_an_error_and_leaves_no_file(monkeypatch):
    urls = SCENES["salinas_a"]["urls"]
    calls = _serve(monkeypatch, {urls[0]: b"<html>moved</html>", urls[1]: b"x"})
    with pytest.raises(DataError) as e:
        load_salinas_a()
    msg = _err(e)
    assert msg.startswith(f"SalinasA_corrected.mat downloaded from {urls[0]} has md5 ")
    assert "expected md5 4852da09661d629f5033ca1d23b908ae" in msg
    assert calls == [urls[0]]
    assert _files_under(data_home()) == []  # neither the bad file nor a temporary copy


def test_unchecksummed_scene_is_checked_by_content(monkeypatch):
    urls = SCENES["ksc"]["urls"]
    small = _mat_bytes({"KSC": np.zeros((5, 7, 4), np.uint16)})
    _serve(monkeypatch, {urls[0]: small})
    with pytest.raises(DataError) as e:
        load_ksc()
    msg = _err(e)
    assert msg.startswith(f"KSC.mat downloaded from {urls[0]} is not the expected file")
    assert "expected variable 'KSC' of 512x614x176; found KSC 5x7x4 uint16" in msg
    assert _files_under(data_home()) == []
    _serve(monkeypatch, {urls[0]: b"<!DOCTYPE html><title>503</title>"})
    with pytest.raises(DataError, match="is not a valid .mat file"):
        load_ksc()
    assert _files_under(data_home()) == []


def test_verified_download_is_moved_into_place(monkeypatch):
    good = b"payload" * 50
    calls = _serve(monkeypatch, {"http://mirror/f.bin": good})
    seen: list[Path] = []

    def validate(path: Path) -> None:
        seen.append(path)
        assert path != data_home() / "x" / "f.bin"  # checked before the move

    path = fetch("f.bin", ["http://mirror/f.bin"], subdir="x", validate=validate)
    assert path == data_home() / "x" / "f.bin" and path.read_bytes() == good
    assert _files_under(data_home()) == ["x/f.bin"] and calls == ["http://mirror/f.bin"]
    assert seen and not seen[0].exists()  # the temporary file is gone after the move


def test_interrupted_download_leaves_no_partial_file(monkeypatch):
    def cut(url: str, dest: Path, timeout: float) -> None:
        dest.write_bytes(b"half of it")
        raise OSError("connection reset by peer")

    monkeypatch.setattr(download, "_download", cut)
    with pytest.raises(DataNotFoundError) as e:
        fetch("f.bin", ["http://mirror/f.bin"], subdir="x")
    assert "connection reset by peer" in _err(e)
    assert _files_under(data_home()) == []


class _Response(io.BytesIO):
    """An HTTP response whose body may be shorter than its Content-Length."""

    def __init__(self, body: bytes, length: int):
        super().__init__(body)
        self.headers = {"Content-Length": str(length)}


def test_short_body_is_an_incomplete_download(monkeypatch):
    # http.client returns a short body without error when a connection drops.
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout=None: _Response(b"12345", 10))
    with pytest.raises(DataNotFoundError) as e:
        fetch("f.bin", ["http://mirror/f.bin"], subdir="x")  # no checksum to catch it
    assert "incomplete download: 5 of 10 bytes" in _err(e)
    assert _files_under(data_home()) == []
    monkeypatch.setattr(
        "urllib.request.urlopen", lambda url, timeout=None: _Response(b"1234567890", 10)
    )
    assert fetch("f.bin", ["http://mirror/f.bin"], subdir="x").read_bytes() == b"1234567890"


UNCHECKSUMMED = [s for s, info in SCENES.items() if info["urls"] and info["md5"][0] is None]


@pytest.mark.parametrize("scene", UNCHECKSUMMED)
def test_each_unchecksummed_scene_refuses_a_wrong_download(monkeypatch, scene):
    info = SCENES[scene]
    key, shape = info["keys"][0][0], "x".join(map(str, info["shape"]))
    _serve(monkeypatch, {info["urls"][0]: _mat_bytes({key: np.zeros((2, 2, 2))})})
    with pytest.raises(DataError, match=f"expected variable '{key}' of {shape}; found {key} 2x2x2"):
        getattr(hsi, f"load_{scene}")()
    assert _files_under(data_home()) == []


def test_the_four_gic_scenes_without_checksum():
    # No checksum is published for these files; see the loaders' docstrings.
    assert UNCHECKSUMMED == ["indian_pines", "pavia_university", "salinas", "ksc"]
