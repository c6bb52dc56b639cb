"""Reading a file someone else may control, without being hung or exhausted by it.

The instructor tools read files learners or course authors wrote (shared reports, notebooks). A
path listed a moment ago may be a fifo (reads block forever), a device (``/dev/zero`` never ends) or
a symbolic link by the time it is opened: it is opened without following links and without
blocking, must be a regular file by ``fstat`` of what was opened (not of the path), and is read only
up to the caller's limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class NotARegularFile(OSError):
    """What was opened is not a regular file."""


class TooLarge(OSError):
    """The file holds more than the limit."""


def read_limited(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path`` (at most ``limit``) and its status.

    Raises :class:`NotARegularFile`, :class:`TooLarge`, or the ``OSError`` of the open (``ELOOP``
    for a symbolic link)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile("not a regular file")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise TooLarge(f"larger than {limit} bytes")
        return b"".join(chunks), info
    finally:
        os.close(fd)
