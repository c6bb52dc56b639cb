"""The session store's layout: table names, the ``sessions`` document, and times as stored.

Shared by the session store, the schema migrations and ``tutornb doctor`` so none of them imports
another for these (no import cycle, no private calls across modules).

All TinyDB tables live in one journaled database:

* ``meta``: doc 1 holds the schema version (``models.SCHEMA_VERSION``).
* ``sessions``: one document per session with its summary fields (what the history lists). Small,
  so an append rewrites only a few hundred bytes of it.
* ``messages/<session id>``: the transcript, document id == ``seq``. One table per session means a
  session is restored by parsing its own table only, and a cold open parses none of them.
* ``archive/<session id>``: a closed session's transcript, compressed into one document.
* ``state/<session id>``: doc 1 holds the tutor state; ``actions/<session id>``: the action log.
* ``plans``: cached study plans with an expiry time.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from tutornb.models import SCHEMA_VERSION, utcnow

SESSIONS = "sessions"
META = "meta"
PLANS = "plans"
MESSAGES_PREFIX = "messages/"
ARCHIVE_PREFIX = "archive/"
STATE_PREFIX = "state/"
ACTIONS_PREFIX = "actions/"
#: The tables a session owns besides its ``sessions`` document.
SESSION_TABLE_PREFIXES = (MESSAGES_PREFIX, ARCHIVE_PREFIX, STATE_PREFIX, ACTIONS_PREFIX)
PREVIEW_CHARS = 280


def iso(value: datetime | None = None) -> str:
    """A time as stored: ISO 8601 UTC with microseconds (naive times are taken as UTC); now by default."""
    moment = value or utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso_or(value: Any, fallback: str) -> str:
    """``value`` as a stored time when it is an ISO time string, else ``fallback`` (old data)."""
    if not isinstance(value, str):
        return fallback
    try:
        return iso(parse_time(value))
    except ValueError:
        return fallback


def preview_of(role: str, text: str) -> dict[str, str]:
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1] + "…"
    return {"role": role, "text": text}


def previews(message_docs: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The session's ``preview``: its last two messages, shortened."""
    return [preview_of(doc["role"], doc["text"]) for doc in message_docs[-2:]]


def session_doc(
    sid: str,
    owner: str,
    *,
    status: str,
    phase: str,
    context: dict[str, Any],
    title: str,
    created_at: str,
    updated_at: str,
    last_active_at: str,
    messages: Sequence[dict[str, Any]] = (),
    current_question_number: int = 0,
) -> dict[str, Any]:
    """A ``sessions`` document; its message count and preview are derived from its transcript."""
    return {
        "id": sid,
        "owner": owner,
        "status": status,
        "phase": phase,
        "context": context,
        "title": title,
        "created_at": created_at,
        "updated_at": updated_at,
        "last_active_at": last_active_at,
        "message_count": len(messages),
        "current_question_number": current_question_number,
        "schema_version": SCHEMA_VERSION,
        "preview": previews(messages),
    }


def new_session_id() -> str:
    """16 URL-safe random characters, never starting with "-" (it would read as a CLI option)."""
    while True:
        candidate = secrets.token_urlsafe(12)
        if candidate[0].isalnum():
            return candidate


class SessionWriter(Protocol):
    """What the migrations and the doctor need of the session store (``SessionStore`` is one)."""

    path: Path

    def batch(self) -> AbstractContextManager[object]: ...

    def table_docs(self, name: str) -> dict[str, dict[str, Any]]: ...

    def table_names(self) -> set[str]: ...

    def insert_doc(self, table: str, doc: dict[str, Any], doc_id: int | None = None) -> None: ...

    def update_doc(self, table: str, doc_id: int, fields: dict[str, Any]) -> None: ...

    def message_docs(self, session_id: str) -> list[dict[str, Any]]: ...

    def unused_id(self, preferred: object = None) -> str: ...

    def insert_whole_session(
        self,
        doc: dict[str, Any],
        message_docs: list[dict[str, Any]],
        state_doc: dict[str, Any],
        action_docs: Sequence[dict[str, Any]] = (),
    ) -> None: ...
