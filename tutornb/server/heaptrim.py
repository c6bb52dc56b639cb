"""Gives freed heap memory back to the operating system.

A socket that stopped reading leaves its queued frames in large ``bytes`` objects, allocated by
glibc's malloc. Freeing them makes the memory reusable but does not shrink the process: glibc keeps
freed heap pages until ``malloc_trim`` asks it to release them. Without that, a burst of slow
sockets leaves the server's RSS at its peak for good.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from functools import lru_cache

from tornado.ioloop import IOLoop

_log = logging.getLogger("tutornb")
#: Trims are coalesced: many sockets closing together cost one trim, shortly after the last.
_TRIM_DELAY_SECONDS = 1.0
_scheduled = False


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (musl, macOS): nothing to do
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_freed_memory() -> bool:
    """True when the C library was asked to return free heap pages."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def release_soon() -> None:
    """Schedules one :func:`release_freed_memory` on the current loop (coalesced)."""
    global _scheduled
    if _scheduled:
        return
    _scheduled = True

    def run() -> None:
        global _scheduled
        _scheduled = False
        released = release_freed_memory()
        _log.debug("tutornb: freed memory returned to the system: %s", released)

    IOLoop.current().call_later(_TRIM_DELAY_SECONDS, run)
