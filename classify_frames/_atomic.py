"""Atomic file writes: a temporary file beside the target, renamed over it only when complete.

A failed or interrupted write never leaves a half-written file and never damages the old one.
The file that is replaced keeps what the user gave it: a symlink's target is written (the link
stays a link), the mode and owner stay, and a read-only file is refused rather than replaced.
:func:`locked` serialises the read-modify-write cycles of several writers of one file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ._exceptions import ExportError

__all__ = [
    "atomic_path",
    "check_writable",
    "locked",
    "remove_stale_temporaries",
    "write_target",
]

_LOCK_POLL = (0.001, 0.05)  # first and longest wait between tries of a held lock, in seconds


def write_target(target: str | os.PathLike[str]) -> Path:
    """The file a write to ``target`` must replace: a symlink's target, else ``target``."""
    path = Path(target).expanduser().absolute()
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_writable(path: Path, *, advice: str = "or write to another file") -> None:
    """Refuse, naming ``path``, to replace a file that has no write permission (even as root)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        msg = (
            f"{str(path)!r} is read-only, so it is left as it is: make it writable "
            f"(chmod u+w {str(path)!r}) {advice}"
        )
        raise ExportError(msg)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` in one rename.

    An ``OSError`` while writing (a full disk ...) becomes an :class:`ExportError` naming
    ``target`` (the ``OSError`` is its ``__cause__``).

    >>> with atomic_path("jobs.csv") as tmp:      # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = write_target(target)
    if not path.parent.is_dir():
        msg = f"cannot write {str(path)!r}: the directory {str(path.parent)!r} does not exist"
        raise ExportError(msg)
    check_writable(path)
    # Not mkstemp: its 0600 mode would survive the rename; open(..., "x") honours the umask.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        tmp.open("xb").close()
    except OSError as exc:
        msg = f"cannot write {str(path)!r}: {exc.strerror or exc}"
        raise ExportError(msg) from None
    try:
        _keep_mode_and_owner(path, tmp)  # before any content: a private file's data stays so
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, ExportError):
            raise
        advice = "; free space on its disk, or write elsewhere" if _full(exc) else ""
        msg = f"cannot write {str(path)!r}: {exc.strerror or exc}{advice}"
        raise ExportError(msg) from exc  # not errno=: OSError's str() would show "[Errno 28]"
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(exc)


def _keep_mode_and_owner(path: Path, tmp: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    os.chmod(tmp, stat.S_IMODE(info.st_mode))
    if hasattr(os, "chown"):
        mine = tmp.stat()
        if (mine.st_uid, mine.st_gid) != (info.st_uid, info.st_gid):
            # only root may give a file away; a plain user still keeps the group when a member
            with contextlib.suppress(PermissionError):
                os.chown(tmp, info.st_uid, info.st_gid)
                return
            with contextlib.suppress(PermissionError):
                os.chown(tmp, -1, info.st_gid)


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files :func:`atomic_path` left for ``target`` when its process was
    killed mid-write; the ones removed. Call it only under :func:`locked`, when no write of
    ``target`` can be under way."""
    path = write_target(target)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{12}}\.tmp")
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path.parent):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def locked(target: str | os.PathLike[str], *, timeout: float = 10.0) -> Iterator[Path]:
    """Hold an OS lock on ``.<name>.lock`` beside ``target`` (a symlink's target) while inside.

    Every writer that reads ``target``, changes it and writes it back takes this lock first,
    so none writes over a change it has not read, whether in this process, another process or
    another explorer. The lock is released when the process ends, however it ends; the small
    lock file stays (deleting it would let two writers lock two different files). Yields the
    file to write. Raises :class:`ExportError` after ``timeout`` seconds of waiting.
    """
    path = write_target(target)
    lock = path.parent / f".{path.name}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        msg = f"cannot lock {str(path)!r} (its lock file {str(lock)!r}): {exc.strerror or exc}"
        raise ExportError(msg) from None
    try:
        deadline = time.monotonic() + timeout
        wait = _LOCK_POLL[0]
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                msg = (
                    f"{str(path)!r} is being written by another program (it holds "
                    f"{str(lock)!r}) for more than {timeout:g} s; close the other explorer "
                    "or script, then try again"
                )
                raise ExportError(msg)
            time.sleep(wait)  # an OS lock has no portable wait with a timeout: poll
            wait = min(wait * 2, _LOCK_POLL[1])
        try:
            yield path
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:  # flock, not lockf: two opens in one process (two explorers) exclude each other
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
