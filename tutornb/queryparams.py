"""Query-string parameters of the history and transcript calls, checked once for every transport.

Each parser answers ``INVALID_REQUEST`` with a message that names the parameter and what it accepts;
an empty value means "not given" except where a number is required.
"""

from __future__ import annotations

from collections.abc import Mapping

from tutornb.errors import InvalidRequest
from tutornb.models import Status

MAX_FILTER_CHARS = 1024
MAX_CURSOR_CHARS = 512


def integer(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidRequest(f"'{name}' must be an integer from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise InvalidRequest(f"'{name}' must be an integer from {lo} to {hi}.")
    return value


def text(params: Mapping[str, str], name: str, limit: int = MAX_FILTER_CHARS) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise InvalidRequest(f"'{name}' is too long.")
    return str(value)


def statuses(raw: str | None) -> frozenset[Status] | None:
    """``active,paused`` → {ACTIVE, PAUSED}; absent or empty means every status."""
    if raw is None or raw.strip() == "":
        return None
    found: set[Status] = set()
    for part in raw.split(","):
        try:
            found.add(Status(part.strip()))
        except ValueError:
            raise InvalidRequest("'status' is a comma list of active, paused, closed.") from None
    return frozenset(found)
