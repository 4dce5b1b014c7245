"""Complete-or-nothing output folders.

A run writes every file into a hidden temporary folder beside ``--out`` and swaps it in
only when all of them are written, so an output folder always holds one whole run: a
crash, a kill or an error half-way leaves the previous folder (or none) untouched, never
labels of one run beside the model of another. An existing non-empty folder is refused
unless ``overwrite=True``, and then replaced whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from .exceptions import ConfigError


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


class OutputFolder:
    """Stage a run's outputs and publish them atomically.

    Use as a context manager: ``with OutputFolder(out) as tmp: write files into tmp``.
    The temporary folder is created on entry (so an unwritable destination fails before
    any work) and renamed to ``out`` on a clean exit; on an exception it is removed.

    Parameters
    ----------
    out : path-like
        Final folder.
    overwrite : bool
        Replace an existing non-empty ``out``.
    """

    def __init__(self, out: str | os.PathLike, *, overwrite: bool = False) -> None:
        self.out = Path(out).expanduser().absolute()
        self.overwrite = overwrite
        self.tmp: Path | None = None

    def check(self) -> None:
        """Raise a one-line error now if the run could not publish its outputs."""
        try:
            self._check()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise ConfigError(
                f"cannot use --out {self.out}: {exc.strerror or exc}; choose another folder"
            ) from exc

    def _check(self) -> None:
        if self.out.exists() and not self.out.is_dir():
            raise ConfigError(f"--out {self.out} is a file; expected a folder (or a new path)")
        if self.out.is_dir() and not _is_empty_dir(self.out) and not self.overwrite:
            raise ConfigError(
                f"--out {self.out} already holds an earlier run; pass --overwrite to replace "
                "it, or choose another folder"
            )
        parent = self._parent()
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(
                f"cannot write into {parent} (permission denied); choose another --out"
            )

    def _parent(self) -> Path:
        parent = self.out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ConfigError(f"--out {self.out}: {parent} is not a folder")
        return parent

    def __enter__(self) -> Path:
        self.check()
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        except OSError as exc:
            raise ConfigError(f"cannot create --out {self.out}: {exc.strerror or exc}") from exc
        os.chmod(self.tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        return self.tmp

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        self.publish()

    def publish(self) -> None:
        """Swap the finished temporary folder in place of ``out``."""
        assert self.tmp is not None
        old = None
        if self.out.exists():
            self.check()  # another process may have written there meanwhile
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old.", dir=self.out.parent))
            os.replace(self.out, old / "previous")
        try:
            os.replace(self.tmp, self.out)
        except OSError:
            if old is not None:  # put the previous run back
                os.replace(old / "previous", self.out)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["OutputFolder"]
