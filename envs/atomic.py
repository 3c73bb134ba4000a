"""Atomic output: files written to a temporary file then renamed; run folders swapped whole.

:func:`atomic_write`: readers never see a half-written file, and a crash leaves the old file
(or none) in place.

:func:`staged_folder`: a run's output folder is written as a set. The files go to a fresh
sibling folder ``NAME.partial-<pid>-<random>`` (hidden, ``.NAME…``, unless the partial output
is worth keeping), marked by an ``INCOMPLETE`` file; only when the run has written everything
is the previous folder moved aside and the new one renamed into place. A kill mid-run leaves
the previous run's folder untouched (never a new ``summary.csv`` beside an old ``jobs.csv``),
and files of the previous run that this run does not write (``comparison.csv``, plots) do
not survive beside the new ones. A folder holding anything but a previous run's output is
never replaced.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = [
    "INCOMPLETE",
    "RUN_MARKER",
    "atomic_copy",
    "atomic_write",
    "check_output_folder",
    "staged_folder",
]

#: Marks a finished run folder written by :func:`staged_folder` (safe to replace).
RUN_MARKER = ".constellation-dispatch-run"
#: Marks a partial run folder (interrupted or still being written).
INCOMPLETE = "INCOMPLETE"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    The parent folder is created if needed, and the file gets the usual permissions
    (``0o666`` less the umask) rather than the private mode of temporary files.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = pathlib.Path(tmp, "sub", "out.txt")
    ...     with atomic_write(target) as fh:
    ...         _ = fh.write("hello")
    ...     target.read_text()
    'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy the file ``src`` to ``dst`` through :func:`atomic_write`; ``dst`` as a ``Path``."""
    with atomic_write(dst, "wb") as fh:
        fh.write(Path(src).read_bytes())
    return Path(dst)


def check_output_folder(path: str | os.PathLike[str], recognised: Sequence[str] = ()) -> Path:
    """``path`` as an output folder a run may replace; raise if it may not.

    A missing or empty folder, or one holding a previous run (:data:`RUN_MARKER`, or any of
    the ``recognised`` file names that runs before the marker wrote), may be replaced.

    Raises:
        FileExistsError: ``path`` is a file.
        ConfigError: ``path`` is a folder with other files (they would be lost).
    """
    from envs.errors import ConfigError

    target = Path(path)
    if target.exists() and not target.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    if target.is_dir():
        names = sorted(p.name for p in target.iterdir())
        if names and RUN_MARKER not in names and not set(names) & set(recognised):
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise ConfigError(
                f"{target}: output folder exists and is not a previous run's ({shown}); "
                "choose a new folder or empty it"
            )
    return target


@contextmanager
def staged_folder(
    path: str | os.PathLike[str],
    *,
    recognised: Sequence[str] = (),
    start_from_previous: bool = False,
    keep_partial: bool = False,
) -> Iterator[Path]:
    """Yield a fresh folder to write a run into; on success it replaces ``path`` whole.

    Args:
        path: The run's output folder (see :func:`check_output_folder`).
        recognised: File names that mark an output folder of an earlier version.
        start_from_previous: Copy the previous folder's files in first (resuming a run that
            reads and extends them).
        keep_partial: On an error or interruption keep the partial folder (visible,
            ``NAME.partial-…``, with an ``INCOMPLETE`` file) instead of removing it; for
            outputs worth resuming from, such as checkpoints.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = pathlib.Path(tmp, "run")
    ...     with staged_folder(out) as stage:
    ...         _ = (stage / "a.csv").write_text("1")
    ...     with staged_folder(out) as stage:
    ...         _ = (stage / "b.csv").write_text("2")
    ...     sorted(p.name for p in out.iterdir())
    ['.constellation-dispatch-run', 'b.csv']
    """
    target = check_output_folder(path, recognised)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(target)
    prefix = f"{'' if keep_partial else '.'}{target.name}.partial-{os.getpid()}-"
    stage = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        os.chmod(stage, 0o777 & ~_umask())
        if start_from_previous and target.is_dir():
            shutil.copytree(target, stage, dirs_exist_ok=True, symlinks=True)
        (stage / RUN_MARKER).unlink(missing_ok=True)
        (stage / INCOMPLETE).write_text(
            f"Partial output of process {os.getpid()} for {target}: interrupted or still "
            "running. The folder it replaces is unchanged.\n"
        )
        yield stage
        (stage / INCOMPLETE).unlink()
        (stage / RUN_MARKER).write_text("finished\n")
    except BaseException:
        if not keep_partial:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    if target.exists():
        prefix = f".{target.name}.old-{os.getpid()}-"
        old = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_dead_partials(target: Path) -> None:
    """Remove hidden partial folders of ``target`` left by processes that no longer run."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(partial|old)-(\d+)-")
    for p in target.parent.glob(f".{target.name}.*"):
        m = pattern.match(p.name)
        if m is None or not p.is_dir():
            continue
        if not _running(int(m.group(2))):
            shutil.rmtree(p, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
