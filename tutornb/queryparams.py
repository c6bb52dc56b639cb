"""Query-string parameters of the history and transcript calls, checked once for every transport.

Each parser answers ``INVALID_REQUEST`` with a message that names the parameter and what it accepts;
an empty value means "not given" except where a number is required.
"""

from __future__ import annotations

from collections.abc import Mapping

from tutornb.errors import InvalidRequest
from tutornb.models import Status
from tutornb.store.api import SessionQuery
from tutornb.store.listing import MAX_LIMIT

MAX_FILTER_CHARS = 1024
MAX_CURSOR_CHARS = 512
DEFAULT_SESSION_LIMIT = 30
MAX_SESSION_LIMIT = MAX_LIMIT  # the store's own bound


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


def session_query(params: Mapping[str, str], owner: str | None = None) -> SessionQuery:
    """The history listing's filters (REST, socket, magic and CLI alike)."""
    return SessionQuery(
        owner=owner,
        q=text(params, "q"),
        course_id=text(params, "course_id"),
        module_id=text(params, "module_id"),
        notebook_path=text(params, "notebook_path"),
        statuses=statuses(params.get("status")),
        limit=integer(params, "limit", DEFAULT_SESSION_LIMIT, 1, MAX_SESSION_LIMIT),
        cursor=text(params, "cursor", MAX_CURSOR_CHARS),
    )
