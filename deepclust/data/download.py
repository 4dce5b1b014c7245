"""Cache directory, checksummed downloads and safe archive extraction.

Every dataset file deepclust fetches lives under :func:`data_home`. A file is only moved
into the cache after its checksum matched, so a half-finished or corrupted download never
looks like a good cached copy. Nothing here touches the network unless a loader is asked
to download.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal, overload

from ..exceptions import DataError, DataNotFoundError
from ..utils import atomic_path

__all__ = ["data_home", "extract_tar", "fetch", "file_digest", "find_local"]

logger = logging.getLogger(__name__)

_ENV_VAR = "DEEPCLUST_DATA"
_CHUNK = 1 << 20

# Cached files whose checksum already matched in this process, keyed by what would change
# if the file were replaced: hashing a 2.6 GB archive on every load would dominate it.
_verified: set[tuple[str, int, int, str]] = set()


def data_home() -> Path:
    """Directory that holds downloaded datasets.

    Returns
    -------
    Path
        ``$DEEPCLUST_DATA`` when that environment variable is set and non-empty, else
        ``~/.cache/deepclust``. The directory is not created here.
    """
    env = os.environ.get(_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "deepclust"


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks so large archives do not fill memory.

    Parameters
    ----------
    path : path-like
        File to hash.
    algorithm : {"md5", "sha256"} or any name :func:`hashlib.new` accepts
        Hash function.

    Returns
    -------
    str
        Lower-case hexadecimal digest.
    """
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _checksum_mismatch(path: Path, md5: str | None, sha256: str | None) -> str | None:
    """Describe the first checksum of ``path`` that differs from the expected one."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        actual = file_digest(path, algorithm)
        if actual.lower() != expected.lower():
            return f"{algorithm} {actual}; expected {algorithm} {expected.lower()}"
    return None


def _one_line(exc: BaseException) -> str:
    """An exception as one line (urllib and OS errors may carry newlines)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def fetch(
    filename: str,
    urls: Sequence[str],
    *,
    md5: str | None = None,
    sha256: str | None = None,
    subdir: str,
    download: bool = True,
    timeout: float = 60.0,
    hint: str | None = None,
    validate: Callable[[Path], None] | None = None,
) -> Path:
    """Return the cached copy of a dataset file, downloading it first if needed.

    Parameters
    ----------
    filename : str
        Name of the file inside the cache (``data_home() / subdir / filename``).
    urls : sequence of str
        Sources tried in order; the first whose download passes the checksum wins. May be
        empty for files without a known official source (then only the cache is looked at).
    md5, sha256 : str, optional
        Expected checksums. A cached file is verified once per process; a download is
        verified before it is moved into the cache.
    subdir : str
        Sub-directory of :func:`data_home` for this dataset.
    download : bool, default=True
        If False, never touch the network: a missing file raises at once.
    timeout : float, default=60.0
        Socket timeout in seconds for each download attempt.
    hint : str, optional
        Extra advice appended to the "not found" message (e.g. where to get the file).
    validate : callable, optional
        ``validate(path)`` raises :class:`DataError` when the file's content is not what
        was expected (e.g. a variable of the wrong shape). For files without a published
        checksum this is the check a download must pass before it is moved into the
        cache (a cached file is not re-validated: the loader parses it anyway).

    Returns
    -------
    Path
        Path of the verified file in the cache.

    Raises
    ------
    DataError
        The cached file, or every downloaded copy, has the wrong checksum or fails
        ``validate``; a bad download is removed, never cached.
    DataNotFoundError
        The file is not cached and could not be downloaded (or ``download=False``); a
        download cut short (fewer bytes than the server announced) counts as failed.

    Notes
    -----
    Each download is streamed into a temporary file beside the target and moved into
    place (an atomic rename) only once it is complete and verified, so an interrupted or
    corrupted download never looks like a cached copy.
    """
    target = data_home() / subdir / filename
    if target.is_file():
        _verify_cached(target, md5, sha256)
        return target

    where = f"put {filename} at {target} or pass a local path"
    if hint:
        where = f"{where} ({hint})"
    if not download or not urls:
        reason = "download=False" if urls else "no download source is known"
        raise DataNotFoundError(f"{filename} is not in the cache ({reason}); {where}")

    failures: list[str] = []
    bad_checksum: str | None = None
    for url in urls:
        logger.info("downloading %s from %s to %s", filename, url, target)
        try:
            with atomic_path(target) as tmp:
                _download(url, tmp, timeout)
                mismatch = _checksum_mismatch(tmp, md5, sha256)
                if mismatch is not None:
                    # Raising inside atomic_path discards the temp file: nothing is cached.
                    raise _ChecksumError(f"has {mismatch}")
                if validate is not None:
                    try:
                        validate(tmp)
                    except DataError as exc:
                        raise _ChecksumError(f"is not the expected file ({exc})") from exc
        except _ChecksumError as exc:
            bad_checksum = f"{filename} downloaded from {url} {exc}"
            failures.append(f"{url}: failed verification")
            continue
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # URLError/timeouts are OSErrors, a cut connection an HTTPException (e.g.
            # IncompleteRead); ValueError covers malformed URLs.
            failures.append(f"{url}: {_one_line(exc)}")
            continue
        _mark_verified(target, md5, sha256)
        return target

    if bad_checksum is not None:
        raise DataError(f"{bad_checksum}; {where}")
    raise DataNotFoundError(
        f"{filename} is not in the cache and could not be downloaded "
        f"({'; '.join(failures)}); {where}"
    )


class _ChecksumError(Exception):
    """Internal signal: a downloaded file failed its checksum."""


def _download(url: str, dest: Path, timeout: float) -> None:
    """Stream ``url`` into ``dest`` (the caller makes this atomic).

    http.client returns a short body without error when the connection drops, so the
    size is checked against the announced Content-Length.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, _CHUNK)
        headers = getattr(response, "headers", None)
        announced = headers.get("Content-Length") if headers is not None else None
    if announced is not None and announced.strip().isdigit():
        got = dest.stat().st_size
        if got != int(announced):
            raise OSError(f"incomplete download: {got} of {int(announced)} bytes")


def _verify_key(path: Path, algorithm: str) -> tuple[str, int, int, str]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, algorithm)


def _mark_verified(path: Path, md5: str | None, sha256: str | None) -> None:
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is not None:
            _verified.add(_verify_key(path, f"{algorithm}:{expected.lower()}"))


def _verify_cached(path: Path, md5: str | None, sha256: str | None) -> None:
    """Check a cached file's checksums, skipping the ones already verified unchanged."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        key = _verify_key(path, f"{algorithm}:{expected.lower()}")
        if key in _verified:
            continue
        actual = file_digest(path, algorithm)
        if actual.lower() != expected.lower():
            raise DataError(
                f"cached file {path} has {algorithm} {actual}; expected {algorithm} "
                f"{expected.lower()} (delete it to download again, or replace it with a good copy)"
            )
        _verified.add(key)


@overload
def find_local(
    path: str | os.PathLike,
    candidates: Iterable[str],
    *,
    what: str | None = ...,
    required: Literal[True] = ...,
) -> Path: ...


@overload
def find_local(
    path: str | os.PathLike,
    candidates: Iterable[str],
    *,
    what: str | None = ...,
    required: bool = ...,
) -> Path | None: ...


def find_local(
    path: str | os.PathLike,
    candidates: Iterable[str],
    *,
    what: str | None = None,
    required: bool = True,
) -> Path | None:
    """Locate one of several accepted file names given a file or a directory.

    Parameters
    ----------
    path : path-like
        A file (returned as it is) or a directory searched for ``candidates``, first
        directly, then one level of sub-directories (e.g. the user passed ``data/`` that
        holds ``data/MNIST/``). A candidate found in several sub-directories is an error,
        never a silent pick.
    candidates : iterable of str
        Accepted file names, in order of preference (e.g. with and without ``.gz``).
    what : str, optional
        Description used in the error message (default: the first candidate).
    required : bool, default=True
        If False, return None instead of raising when nothing is found.

    Returns
    -------
    Path or None
        The file found.

    Raises
    ------
    DataNotFoundError
        ``path`` does not exist, or (with ``required=True``) no candidate is in it.
    DataError
        Several sub-directories hold a candidate.
    """
    base = Path(path).expanduser()
    names = list(candidates)
    if not base.exists():
        raise DataNotFoundError(f"{base} does not exist; expected a file or a directory")
    if base.is_file():
        return base
    for name in names:
        hit = base / name
        if hit.is_file():
            return hit
    label = what or (names[0] if names else "the data file")
    hits = []
    for sub in sorted(p for p in base.iterdir() if p.is_dir()):
        hit = next((sub / n for n in names if (sub / n).is_file()), None)
        if hit is not None:
            hits.append(hit)
    if len(hits) > 1:
        # e.g. data/MNIST/ and data/FashionMNIST/: guessing would load the wrong set.
        shown = ", ".join(str(h.relative_to(base)) for h in hits)
        raise DataError(
            f"several sub-folders of {base} hold {label} ({shown}); expected a path naming "
            "the folder (or file) to use"
        )
    if hits:
        return hits[0]
    if not required:
        return None
    raise DataNotFoundError(f"{label} not found in {base}; expected one of: {', '.join(names)}")


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse members that could write outside the extraction directory."""
    name = member.name
    parts = Path(name).parts
    if (
        name.startswith(("/", "\\"))
        or os.path.isabs(name)
        or ".." in parts
        or (parts and ":" in parts[0])
    ):
        raise DataError(
            f"archive {archive} has unsafe member {name!r} (absolute path or '..'); "
            "refusing to extract"
        )
    if not (member.isfile() or member.isdir()):
        raise DataError(
            f"archive {archive} has member {name!r} that is not a regular file or directory "
            "(link or device); refusing to extract"
        )


def extract_tar(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a (compressed) tar archive into ``dest`` safely and atomically.

    Members with absolute paths, ``..`` components, links or device entries are refused,
    so a hostile archive cannot write outside ``dest``. Extraction happens in a temporary
    directory inside ``dest``; each top-level entry is moved into place only when the
    whole archive extracted, so an interrupted run never leaves a partial dataset that
    looks complete. Existing top-level entries are kept as they are.

    Parameters
    ----------
    archive : path-like
        ``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2`` or ``.tar.xz`` file (not modified).
    dest : path-like
        Directory to extract into (created if needed).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DataError
        The archive is unreadable or has an unsafe member.
    """
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise DataNotFoundError(f"archive {archive} does not exist")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        try:
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(member, archive)
                if hasattr(tarfile, "data_filter"):
                    # Belt and braces: Python's own "data" filter re-checks every member.
                    tf.extractall(tmp, members=members, filter="data")
                else:  # pragma: no cover - Python < 3.10.12 / 3.11.4
                    tf.extractall(tmp, members=members)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(
                f"cannot extract {archive}: {_one_line(exc)}; expected a valid tar archive"
            ) from exc
        for child in sorted(tmp.iterdir()):
            final = dest / child.name
            if final.exists():
                continue
            try:
                os.replace(child, final)
            except OSError:
                # Another process finished the same extraction first: keep its copy.
                if not final.exists():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
