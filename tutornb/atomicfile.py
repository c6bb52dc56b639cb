"""Replacing a file the reader never sees half-written, shared by the instructor tools.

``tutornb course init`` rewrites notebooks, ``tutornb progress`` / ``%tutor share`` write reports
into an exchange folder that others read while learners re-share: a temp file in the same folder,
fsynced and renamed over the target, gives every reader the old file or the new one, never a mix.
Unlike the store's private files (0600), these keep the mode a notebook had, or get the mode the
caller asks for (an exchange folder is read by the instructor), or else the mode the user's umask
gives a new file (``umask 077`` keeps a report private).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

DEFAULT_MODE = 0o666


def _umask() -> int:
    current = os.umask(0o077)
    os.umask(current)
    return current


def replace_file(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Atomically makes ``path`` hold ``data``. ``mode`` defaults to the existing file's mode, else
    0666 less the umask. Refuses to write through a symlink (it would replace a file elsewhere)."""
    if path.is_symlink():
        raise OSError(f"{path.name} is a symbolic link; not writing through it")
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = DEFAULT_MODE & ~_umask()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # not every file system can fsync a folder
        folder_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)
