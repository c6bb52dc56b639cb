"""A session's tutor records in the store: the tutor's state and phase (one document, replaced
whole) and the action log (appended). Runs on :class:`~tutornb.store.sessions.SessionStore`'s own
transaction; the phase change is checked by the one phase machine (:mod:`tutornb.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from tinydb.table import Document

from tutornb import lifecycle
from tutornb.models import ActionLogEntry, Phase, Session, TutorState
from tutornb.store.layout import ACTIONS_PREFIX, SESSIONS, STATE_PREFIX, iso

if TYPE_CHECKING:
    from tutornb.store.sessions import SessionStore

_ACTIONS = TypeAdapter(list[ActionLogEntry])


def update_tutor_state(
    store: SessionStore,
    session_id: str,
    *,
    state: TutorState | None = None,
    phase: Phase | None = None,
    current_question_number: int | None = None,
    actions: Iterable[ActionLogEntry] = (),
    now: datetime | None = None,
) -> Session:
    stamp = iso(now)
    state_doc = state.model_dump(mode="json") if state is not None else None
    action_docs = [entry.model_dump(mode="json") for entry in actions]

    def update() -> dict[str, Any]:
        key, doc = store._require(session_id)
        fields: dict[str, Any] = {"updated_at": stamp}
        if phase is not None:
            lifecycle.check_phase_change(Phase(doc["phase"]), phase)
            fields["phase"] = phase.value
        if current_question_number is not None:
            fields["current_question_number"] = int(current_question_number)
        if state_doc is not None:
            replace_state(store, session_id, state_doc)
        if action_docs:
            store._table(ACTIONS_PREFIX + session_id).insert_multiple(action_docs)
        store._put_session(key, fields)
        return store.storage.peek_table(SESSIONS)[key]

    doc = store._write(update)
    with store._reading():
        return store._session_model(doc)


def replace_state(store: SessionStore, session_id: str, state_doc: dict[str, Any]) -> None:
    table = store._table(STATE_PREFIX + session_id)
    if store.storage.peek_table(table.name).get("1") is None:
        table.insert(Document(state_doc, doc_id=1))
    else:

        def replace(doc: MutableMapping[str, Any]) -> None:
            doc.clear()
            doc.update(state_doc)

        table.update(replace, doc_ids=[1])


def append_action(store: SessionStore, session_id: str, entry: ActionLogEntry) -> None:
    doc = entry.model_dump(mode="json")

    def append() -> None:
        store._require(session_id)
        store._table(ACTIONS_PREFIX + session_id).insert(doc)

    store._write(append)


def actions(store: SessionStore, session_id: str) -> list[ActionLogEntry]:
    with store._reading():
        store._require(session_id)
        docs = store.storage.peek_table(ACTIONS_PREFIX + session_id)
        ordered = [docs[key] for key in sorted(docs, key=int)]
    return _ACTIONS.validate_python(ordered)
