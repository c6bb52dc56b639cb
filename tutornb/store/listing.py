"""The history listing: filters, full-text match, newest first, and opaque cursors.

Pure functions over ``sessions`` documents, so the session store only supplies the documents and the
transcript matcher (``SessionIndexes.matches``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from typing import Any

from tutornb.errors import InvalidRequest
from tutornb.models import SessionPage, SessionSummary
from tutornb.store import files
from tutornb.store.api import SessionQuery

MAX_LIMIT = 200

#: ``matches(session_id, needle, needle_json)``: whether a session's messages contain the needle.
TranscriptMatcher = Callable[[str, str, bytes | None], bool]


def encode_cursor(doc: dict[str, Any]) -> str:
    raw = json.dumps([doc["last_active_at"], doc["id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        if isinstance(value, list) and len(value) == 2 and all(isinstance(part, str) for part in value):
            return value[0], value[1]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidRequest("Invalid cursor.", errors=[{"loc": ["cursor"], "msg": "not a cursor"}])


def _sort_key(doc: dict[str, Any]) -> tuple[str, str]:
    return (doc["last_active_at"], doc["id"])


def check(query: SessionQuery) -> tuple[str, str] | None:
    """Validates the query before any reading; returns the decoded cursor."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidRequest(
            f"limit must be between 1 and {MAX_LIMIT}.",
            errors=[{"loc": ["limit"], "msg": "out of range"}],
        )
    return decode_cursor(query.cursor) if query.cursor else None


def page(
    docs: Iterable[dict[str, Any]],
    query: SessionQuery,
    after: tuple[str, str] | None,
    matches: TranscriptMatcher,
) -> SessionPage:
    """One page of the sessions matching ``query`` (``total`` counts every match)."""
    statuses = {s.value for s in query.statuses} if query.statuses else None
    needle = query.q.lower() if query.q else None
    escaped = files.dumps(needle)[1:-1] if needle else ""
    needle_json = escaped.encode() if needle and escaped.isascii() else None
    found = []
    for doc in docs:
        if query.owner is not None and doc.get("owner") != query.owner:
            continue
        if statuses is not None and doc.get("status") not in statuses:
            continue
        context = doc.get("context") or {}
        if query.course_id is not None and context.get("course_id") != query.course_id:
            continue
        if query.module_id is not None and context.get("module_id") != query.module_id:
            continue
        if query.notebook_path is not None and context.get("notebook_path") != query.notebook_path:
            continue
        if (
            needle is not None
            and needle not in str(doc.get("title", "")).lower()
            and not matches(doc["id"], needle, needle_json)
        ):
            continue
        found.append(doc)
    total = len(found)
    found.sort(key=_sort_key, reverse=True)
    if after is not None:
        found = [doc for doc in found if _sort_key(doc) < after]
    shown = found[: query.limit]
    next_cursor = encode_cursor(shown[-1]) if len(found) > query.limit else None
    sessions = [SessionSummary.model_validate(doc) for doc in shown]
    return SessionPage(sessions=sessions, next_cursor=next_cursor, total=total)
