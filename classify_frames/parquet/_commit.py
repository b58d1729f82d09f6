"""All-or-nothing changes to a dataset directory, one writer at a time.

A new version is built in a sibling staging directory (unchanged files hard-linked, so nothing is
copied) and swapped in with one atomic ``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two
renames, with :func:`recover` putting the old version back if a crash falls between them. A
reader, or a process killed at any point, sees either the old dataset or the new one.

The lock is an ``flock`` on ``.<name>.lock`` beside the directory: the kernel releases it when its
holder dies, so a killed sync never leaves a stale lock behind (only an unlocked file, which the
next writer takes and removes). Recovery runs as soon as the lock is held, before anything is
written, so a staging directory left by a crash on a full disk is gone before it can block us.
A reader that finds no directory where a crash fell between the two renames reads the side copy
(:func:`side_copy`) instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .._exceptions import ExportError, Opt

__all__ = [
    "DatasetLockedError",
    "dataset_lock",
    "link_or_copy",
    "new_staging",
    "recover",
    "side_copy",
    "swap_in",
]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class DatasetLockedError(ExportError):
    """Another export or sync holds the write lock of a dataset (``holder``: its pid); the
    hint names ``lock_timeout`` as data, so the command line names its own flag."""

    def __init__(self, target: Path, holder: str) -> None:
        self.target = target
        self.holder = holder
        super().__init__(
            f"another export or sync (pid {holder}) is writing {str(target)!r}",
            option="lock_timeout",
            hint=["wait for it to finish, or pass ", Opt("lock_timeout", ...), " to wait"],
        )


@contextlib.contextmanager
def dataset_lock(target: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the write lock of the dataset at ``target``; wait up to ``timeout`` seconds for it.
    Whatever a crashed writer left is cleaned up (:func:`recover`) before the lock is yielded.

    Raises DatasetLockedError, naming the holder's pid, if another export or sync keeps it.
    """
    lock = target.parent / f".{target.name}.lock"
    deadline = time.monotonic() + timeout
    while True:
        fd = _open_lock(lock, target)
        if _try_lock(fd):
            if _same_file(fd, lock):
                break
            os.close(fd)  # its holder removed that file as we took it: take the new one
            continue
        os.lseek(fd, 0, os.SEEK_SET)
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        if time.monotonic() >= deadline:
            raise DatasetLockedError(target, holder)
        time.sleep(0.1)
    try:
        recover(target)
        # the pid is only for the refusal message: a full disk must not stop us here
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):  # before unlocking: no one may take a file about to go
            lock.unlink()
        os.close(fd)  # closing the descriptor releases the lock


def _open_lock(lock: Path, target: Path) -> int:
    try:
        return os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        msg = f"cannot write beside {str(target)!r} (lock file {lock.name}): {exc.strerror or exc}"
        raise ExportError(msg) from None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def new_staging(target: Path) -> Path:
    """A fresh, empty staging directory beside ``target`` (same filesystem, so renames work)."""
    staging = target.parent / f".{target.name}.staging-{secrets.token_hex(4)}"
    try:
        staging.mkdir()
    except OSError as exc:
        msg = f"cannot write beside {str(target)!r}: {exc.strerror or exc}"
        raise ExportError(msg) from None
    return staging


def recover(target: Path) -> None:
    """Clean up after a crashed writer (call with the lock held).

    Staging directories are dropped; an old version is put back if the crash came between the
    two renames of the portable swap, and dropped otherwise.
    """
    parent = target.parent
    for leftover in parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for old in sorted(parent.glob(f".{target.name}.old-*")):
        if not target.exists():
            os.rename(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)


def side_copy(target: Path) -> Path | None:
    """The old version a crash left beside ``target`` between the two renames of the portable
    swap, when ``target`` itself is missing (what :func:`recover` would put back)."""
    if target.exists():
        return None
    olds = sorted(target.parent.glob(f".{target.name}.old-*"))
    return olds[0] if olds else None


def swap_in(staging: Path, target: Path) -> None:
    """Make ``staging`` the dataset at ``target`` in one step; the old version is deleted."""
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # it now holds the old version
    else:
        old = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def link_or_copy(source: Path, destination: Path) -> None:
    """Hard-link ``source`` (data files are never changed in place), or copy it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
