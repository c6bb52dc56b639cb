"""Schema versions of the session store, and the migrations between them.

* v1 (tutornb 0.0): a stock TinyDB ``JSONStorage`` file ``<store>/tutornb.json``; its ``sessions``
  table
  holds one document per session with the transcript embedded in a ``messages`` list (no ``seq``;
  roles
  ``user``/``assistant``; naive UTC times; ``ended`` for closed sessions).
* v2 (``models.SCHEMA_VERSION``): the journaled layout described in ``tutornb.store.layout``.

Opening a v1 store imports it in one commit and keeps the old file as ``tutornb.json.v1.bak``;
opening a
store whose schema is newer than this tutornb refuses with ``StoreVersionError`` and changes
nothing.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from tutornb.errors import StoreVersionError
from tutornb.models import SCHEMA_VERSION
from tutornb.store import files
from tutornb.store.layout import META, SESSIONS, SessionWriter, iso_or, session_doc

log = logging.getLogger("tutornb.store")

V1_FILE = "tutornb.json"
V1_BACKUP = "tutornb.json.v1.bak"

_V1_ROLES = {"user": "learner", "assistant": "tutor", "system": "system"}
_V1_STATUS = {"active": "active", "paused": "paused", "ended": "closed", "closed": "closed"}
_V1_STAGE = {
    "chat": "learning",
    "plan": "planning",
    "quiz": "quizzing",
    "review": "analyzing",
    "done": "completed",
}


def ensure_schema(store: SessionWriter) -> None:
    """Records the schema version in a new store, migrates an older one, refuses a newer one."""
    with store.batch():
        meta = store.table_docs(META).get("1")
        if meta is None:
            legacy = store.path / V1_FILE
            migrated_from = None
            if files.exists(legacy) and not store.table_docs(SESSIONS):
                import_v1(store, _read_v1(legacy))
                migrated_from = 1
            doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "format": "tutornb.store"}
            if migrated_from is not None:
                doc["migrated_from"] = migrated_from
            store.insert_doc(META, doc, doc_id=1)
            meta = doc
        version = meta.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"This session store has schema version {version}, newer than this tutornb "
                f"understands ({SCHEMA_VERSION}). Upgrade tutornb to open it; nothing was changed."
            )
        if version < SCHEMA_VERSION:  # pragma: no cover - no journaled schema older than 2 exists yet
            store.update_doc(META, 1, {"schema_version": SCHEMA_VERSION})
    # The import is committed: only now retire the old file (a crash before this just renames next
    # time).
    legacy = store.path / V1_FILE
    if meta.get("migrated_from") == 1 and files.exists(legacy):
        os.replace(legacy, store.path / V1_BACKUP)
        files.fsync_dir(store.path)
        log.info("migrated a tutornb 0.0 store (schema 1) to schema %s", SCHEMA_VERSION)


def _read_v1(path: os.PathLike[str]) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise StoreVersionError("The tutornb 0.0 store file is not a TinyDB database; nothing was changed.")
    return data


def _v1_message(raw: dict[str, Any], seq: int, fallback_time: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": f"v1-{seq}",
        "seq": seq,
        "role": _V1_ROLES.get(str(raw.get("role")), "system"),
        "text": str(raw.get("content", "")),
        "created_at": iso_or(raw.get("time"), fallback_time),
    }
    citations = []
    for source in raw.get("sources") or []:
        if isinstance(source, dict) and isinstance(source.get("notebook"), str):
            cell = source.get("cell", 0)
            citations.append(
                {
                    "notebook_path": source["notebook"],
                    "cell_index": cell if isinstance(cell, int) and cell >= 0 else 0,
                    "heading": str(source.get("heading", "")),
                }
            )
    if citations:
        message["citations"] = citations
    return message


def import_v1(store: SessionWriter, data: dict[str, Any]) -> int:
    """Imports every v1 session (inside the caller's transaction); returns how many."""
    sessions = data.get("sessions") or {}
    count = 0
    for _, raw in sorted(sessions.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0):
        if not isinstance(raw, dict):
            continue
        created = iso_or(raw.get("created"), iso_or("1970-01-01T00:00:00", ""))
        updated = iso_or(raw.get("updated"), created)
        raw_id = raw.get("id")
        sid = store.unused_id(raw_id)
        messages = [
            _v1_message(m, seq, updated)
            for seq, m in enumerate((m for m in raw.get("messages") or [] if isinstance(m, dict)), start=1)
        ]
        status = _V1_STATUS.get(str(raw.get("status")), "paused")
        context = {
            key: str(raw[source])
            for key, source in (
                ("course_id", "course"),
                ("course_title", "course_title"),
                ("module_id", "module"),
                ("module_title", "module_title"),
                ("notebook_path", "notebook"),
            )
            if isinstance(raw.get(source), str)
        }
        doc = session_doc(
            sid,
            str(raw.get("user") or "learner"),
            status=status,
            phase=_V1_STAGE.get(str(raw.get("stage")), "intake" if not messages else "learning"),
            context=context,
            title=str(raw.get("title") or context.get("module_title") or "Tutoring session"),
            created_at=created,
            updated_at=updated,
            last_active_at=updated,
            messages=messages,
            current_question_number=int(raw.get("question", 0) or 0),
        )
        summary = raw.get("summary")
        state = {"summary": summary} if isinstance(summary, str) else {}
        store.insert_whole_session(doc, messages, state)
        count += 1
    return count
