"""The session store: sessions, transcripts, tutor state and action logs on the journaled TinyDB.

The tables and documents are described in ``tutornb.store.layout``; the in-memory indexes (kept
current by the storage's change notifications, which also cover other processes' commits) in
``tutornb.store.indexes``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from tinydb.table import Document

from tutornb import lifecycle
from tutornb.errors import (
    InvalidRequest,
    InvalidSessionState,
    QuotaExceeded,
    SessionNotFound,
    StoreVersionError,
)
from tutornb.models import (
    ActionLogEntry,
    CourseContext,
    Message,
    Phase,
    Session,
    SessionDetail,
    SessionExport,
    SessionPage,
    Status,
    StoreStats,
    StudyPlan,
    TutorState,
    is_valid_session_id,
)
from tutornb.store import archive, listing, migrate, plans, tutor_records, upkeep
from tutornb.store.api import AppendResult, NewMessage, SessionQuery
from tutornb.store.indexes import SessionIndexes
from tutornb.store.journaled import JournaledStorage, JournaledTable, JournaledTinyDB, open_tinydb
from tutornb.store.layout import (
    ACTIONS_PREFIX,
    ARCHIVE_PREFIX,
    MESSAGES_PREFIX,
    SESSION_TABLE_PREFIXES,
    SESSIONS,
    STATE_PREFIX,
    iso,
    new_session_id,
    preview_of,
    session_doc,
)

log = logging.getLogger("tutornb.store")

T = TypeVar("T")


class SessionStore:
    """Implements ``SessionStoreAPI``; every write is durable on return and safe across
    processes."""

    def __init__(
        self,
        path: Path | str,
        *,
        quota_bytes: int | None = None,
        background_compaction: bool = True,
        compact_bytes: int | None = None,
        lock: bool = True,
    ) -> None:
        """``lock=False`` exists only for the reliability harness's negative control."""
        self.path = Path(path)
        kwargs: dict[str, Any] = {
            "quota_bytes": quota_bytes,
            "background_compaction": background_compaction,
            "lock": lock,
            # Every document below is built fresh from JSON-mode model dumps and plain values.
            "normalize_documents": False,
        }
        if compact_bytes is not None:
            kwargs["compact_bytes"] = compact_bytes
        self.db: JournaledTinyDB = open_tinydb(self.path, **kwargs)
        self.storage: JournaledStorage = self.db.journal
        self.quota_bytes = quota_bytes
        self._indexes = SessionIndexes(self.storage)
        try:
            migrate.ensure_schema(self)
        except BaseException:
            self.db.close()
            raise

    def _require(self, session_id: str, owner: str | None = None) -> tuple[str, dict[str, Any]]:
        found = self._indexes.find(session_id)
        if found is None or (owner is not None and found[1].get("owner") != owner):
            raise SessionNotFound(session_id)
        return found

    # ---------------------------------------------------------------------------------
    # Documents as stored (``layout.SessionWriter``: the migrations and the doctor use these)

    def table_docs(self, name: str) -> dict[str, dict[str, Any]]:
        """A table's live documents by key (do not mutate); inside ``batch()`` or a read."""
        return self.storage.peek_table(name)

    def table_names(self) -> set[str]:
        return self.storage.table_names()

    def insert_doc(self, table: str, doc: dict[str, Any], doc_id: int | None = None) -> None:
        self._table(table).insert(doc if doc_id is None else Document(doc, doc_id=doc_id))

    def update_doc(self, table: str, doc_id: int, fields: dict[str, Any]) -> None:
        self._table(table).update(fields, doc_ids=[doc_id])

    def message_docs(self, session_id: str) -> list[dict[str, Any]]:
        """A transcript's stored documents in ``seq`` order (live or archived)."""
        return self._indexes.message_docs(session_id)

    # ---------------------------------------------------------------------------------
    # Helpers

    def _table(self, name: str) -> JournaledTable:
        table = self.db.table(name)
        assert isinstance(table, JournaledTable)
        return table

    def _reading(self) -> AbstractContextManager[None]:
        return self.storage.reading()

    def _write(self, fn: Callable[[], T]) -> T:
        """One durable commit; over the quota, compacts once (deleted data gives space back) and
        retries."""
        try:
            with self.storage.transaction():
                return fn()
        except QuotaExceeded:
            if not self.storage.reclaim():
                raise
        with self.storage.transaction():
            return fn()

    def _session_model(self, doc: dict[str, Any]) -> Session:
        state = self.storage.peek_table(STATE_PREFIX + doc["id"]).get("1")
        return Session.model_validate({**doc, "state": state or {}})

    def _messages_models(self, session_id: str) -> list[Message]:
        return self._indexes.messages(session_id)

    def _archive_messages(self, session_id: str) -> None:
        """Closed sessions never change again: their transcript is stored compressed."""
        name = MESSAGES_PREFIX + session_id
        if not self.storage.peek_table(name):
            if self.storage.has_table(name):
                self.db.drop_table(name)
            return
        packed = archive.pack(self.message_docs(session_id))
        self._table(ARCHIVE_PREFIX + session_id).insert(Document(packed, doc_id=1))
        self.db.drop_table(name)

    def unused_id(self, preferred: object = None) -> str:
        """``preferred`` when it is a valid id no session has yet, else a fresh random one."""
        sid = preferred if isinstance(preferred, str) else ""
        if not is_valid_session_id(sid):
            sid = new_session_id()
        while self._indexes.find(sid) is not None:
            sid = new_session_id()
        return sid

    def insert_whole_session(
        self,
        doc: dict[str, Any],
        message_docs: list[dict[str, Any]],
        state_doc: dict[str, Any],
        action_docs: Sequence[dict[str, Any]] = (),
    ) -> None:
        """An imported or migrated session with its transcript (compressed when closed), tutor
        state and action log, inside the caller's transaction."""
        sid = doc["id"]
        self._table(SESSIONS).insert(doc)
        if message_docs:
            if doc["status"] == Status.CLOSED.value:
                packed = archive.pack(message_docs)
                self._table(ARCHIVE_PREFIX + sid).insert(Document(packed, doc_id=1))
            else:
                self._table(MESSAGES_PREFIX + sid).insert_multiple(
                    Document(d, doc_id=d["seq"]) for d in message_docs
                )
        self._table(STATE_PREFIX + sid).insert(Document(state_doc, doc_id=1))
        if action_docs:
            self._table(ACTIONS_PREFIX + sid).insert_multiple(action_docs)

    def _put_session(self, key: str, fields: dict[str, Any]) -> None:
        self.update_doc(SESSIONS, int(key), fields)

    # ---------------------------------------------------------------------------------
    # SessionStoreAPI

    def create_session(
        self,
        owner: str,
        context: CourseContext,
        title: str | None = None,
        *,
        session_id: str | None = None,
        now: datetime | None = None,
    ) -> Session:
        if session_id is not None and not is_valid_session_id(session_id):
            raise InvalidRequest("Invalid session id.", errors=[{"loc": ["id"], "msg": "invalid id"}])
        stamp = iso(now)
        shown_title = title or context.module_title or context.course_title or "Tutoring session"

        def create() -> dict[str, Any]:
            if session_id is not None and self._indexes.find(session_id) is not None:
                raise InvalidRequest("A session with this id exists already.")
            sid = self.unused_id(session_id)
            doc = session_doc(
                sid,
                owner,
                status=Status.ACTIVE.value,
                phase=Phase.INTAKE.value,
                context=context.model_dump(mode="json", exclude_none=True),
                title=shown_title,
                created_at=stamp,
                updated_at=stamp,
                last_active_at=stamp,
            )
            self._table(SESSIONS).insert(doc)
            return doc

        doc = self._write(create)
        with self._reading():
            return self._session_model(doc)

    def get_session(self, session_id: str, *, owner: str | None = None) -> Session:
        with self._reading():
            _, doc = self._require(session_id, owner)
            return self._session_model(doc)

    def get_detail(self, session_id: str, *, owner: str | None = None) -> SessionDetail:
        with self._reading():
            _, doc = self._require(session_id, owner)
            session = self._session_model(doc)
            messages = self._messages_models(session_id)
        detail = SessionDetail.model_construct(**dict(session), messages=list(messages))
        return detail

    def list_sessions(self, query: SessionQuery) -> SessionPage:
        after = listing.check(query)
        with self._reading():
            docs = [dict(doc) for doc in self.storage.peek_table(SESSIONS).values()]
        return listing.page(docs, query, after, self._text_match)

    def _text_match(self, session_id: str, needle: str, needle_json: bytes | None) -> bool:
        """One session's messages, under the store's lock for that session only: a search over a
        big store (the server runs it on a worker thread) lets every other request take the lock
        between two sessions instead of waiting for the whole search."""
        with self._reading():
            found = self._indexes.find(session_id) is not None and self._indexes.matches(
                session_id, needle, needle_json
            )
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0)  # hand the interpreter to the event loop's thread, if it waits
        return found

    def messages(self, session_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[Message]:
        with self._reading():
            self._require(session_id)
            selected = self._messages_models(session_id)[max(after_seq, 0) :]
        return list(selected if limit is None else selected[: max(limit, 0)])

    def find_client_message(self, session_id: str, client_id: str) -> Message | None:
        with self._reading():
            self._require(session_id)
            seq = self._indexes.client_seq(session_id, client_id)
            return None if seq is None else self._messages_models(session_id)[seq - 1]

    def batch(self) -> AbstractContextManager[object]:
        return self.storage.transaction()

    def append_message(
        self, session_id: str, message: NewMessage, *, now: datetime | None = None
    ) -> AppendResult:
        stamp = iso(now)
        citations = [c.model_dump(mode="json") for c in message.citations]
        quiz = message.quiz.model_dump(mode="json") if message.quiz is not None else None

        def append() -> tuple[dict[str, Any], bool, dict[str, Any]]:
            key, doc = self._require(session_id)
            table_name = MESSAGES_PREFIX + session_id
            if message.client_id:
                seq = self._indexes.client_seq(session_id, message.client_id)
                if seq is not None:
                    stored = self.message_docs(session_id)[seq - 1]
                    return stored, False, doc
            if doc["status"] == Status.CLOSED.value:
                raise InvalidSessionState("A closed session takes no new messages.")
            seq = int(doc["message_count"]) + 1
            new: dict[str, Any] = {
                "id": secrets.token_urlsafe(9),
                "seq": seq,
                "role": message.role.value,
                "text": message.text,
                "created_at": stamp,
            }
            if message.html is not None:
                new["html"] = message.html
            if message.client_id:
                new["client_id"] = message.client_id
            if citations:
                new["citations"] = citations
            if quiz is not None:
                new["quiz"] = quiz
            if message.work is not None:
                new["work"] = message.work.model_dump(mode="json", exclude_none=True)
            if message.interrupted:
                new["interrupted"] = message.interrupted
            self._table(table_name).insert(Document(new, doc_id=seq))
            preview = [*doc.get("preview", [])[-1:], preview_of(new["role"], new["text"])]
            self._put_session(
                key,
                {
                    "message_count": seq,
                    "updated_at": stamp,
                    "last_active_at": stamp,
                    "preview": preview,
                },
            )
            stored = self.storage.peek_table(table_name)[str(seq)]
            return stored, True, self.storage.peek_table(SESSIONS)[key]

        stored, created, session_doc = self._write(append)
        with self._reading():
            session = self._session_model(session_doc)
            # The change listener has usually validated the new message into the cache already.
            result_message = self._indexes.cached_message(
                session_id, int(stored["seq"]), stored["id"]
            ) or Message.model_validate(stored)
        return AppendResult(message=result_message, created=created, session=session)

    def set_status(self, session_id: str, status: Status, *, now: datetime | None = None) -> Session:
        stamp = iso(now)

        def change() -> dict[str, Any]:
            key, doc = self._require(session_id)
            lifecycle.check_status_change(Status(doc["status"]), status)
            fields: dict[str, Any] = {"status": status.value, "updated_at": stamp}
            if status is Status.ACTIVE:
                fields["last_active_at"] = stamp
            if status is Status.CLOSED:
                self._archive_messages(session_id)
            self._put_session(key, fields)
            return self.storage.peek_table(SESSIONS)[key]

        doc = self._write(change)
        with self._reading():
            return self._session_model(doc)

    def update_tutor_state(
        self,
        session_id: str,
        *,
        state: TutorState | None = None,
        phase: Phase | None = None,
        current_question_number: int | None = None,
        actions: Iterable[ActionLogEntry] = (),
        now: datetime | None = None,
    ) -> Session:
        return tutor_records.update_tutor_state(
            self,
            session_id,
            state=state,
            phase=phase,
            current_question_number=current_question_number,
            actions=actions,
            now=now,
        )

    def append_action(self, session_id: str, entry: ActionLogEntry) -> None:
        tutor_records.append_action(self, session_id, entry)

    def actions(self, session_id: str) -> list[ActionLogEntry]:
        return tutor_records.actions(self, session_id)

    def _delete(self, session_id: str) -> None:
        key, _ = self._require(session_id)
        self._table(SESSIONS).remove(doc_ids=[int(key)])
        for prefix in SESSION_TABLE_PREFIXES:
            if self.storage.has_table(prefix + session_id):
                self.db.drop_table(prefix + session_id)

    def delete_session(self, session_id: str) -> None:
        self._write(lambda: self._delete(session_id))

    def export_session(self, session_id: str) -> SessionExport:
        with self._reading():
            _, doc = self._require(session_id)
            session = self._session_model(doc)
            messages = list(self._messages_models(session_id))
            actions = self.actions(session_id)
        return SessionExport(session=session, messages=messages, actions=actions)

    def import_session(self, document: SessionExport, *, owner: str) -> Session:
        source = document.session
        ordered = sorted(document.messages, key=lambda m: (m.seq, m.created_at))
        seen_clients: set[str] = set()
        seen_ids: set[str] = set()
        message_docs: list[dict[str, Any]] = []
        for seq, message in enumerate(ordered, start=1):
            doc = message.model_dump(mode="json", exclude_none=True)
            doc["seq"] = seq
            doc["imported"] = True  # the model tutor reads it as data, never as its own words
            doc["created_at"] = iso(message.created_at)
            if not doc.get("citations"):
                doc.pop("citations", None)
            if doc["id"] in seen_ids:
                doc["id"] = secrets.token_urlsafe(9)
            seen_ids.add(doc["id"])
            client_id = doc.get("client_id")
            if client_id:
                if client_id in seen_clients:
                    del doc["client_id"]
                else:
                    seen_clients.add(client_id)
            message_docs.append(doc)
        state_doc = source.state.model_dump(mode="json")
        action_docs = [entry.model_dump(mode="json") for entry in document.actions]

        def do_import() -> dict[str, Any]:
            # Always a fresh id: keeping a free one and replacing a taken one would tell a user
            # which ids other users' sessions have.
            sid = self.unused_id()
            doc = session_doc(
                sid,
                owner,
                status=source.status.value,
                phase=source.phase.value,
                context=source.context.model_dump(mode="json", exclude_none=True),
                title=source.title,
                created_at=iso(source.created_at),
                updated_at=iso(source.updated_at),
                last_active_at=iso(source.last_active_at),
                messages=message_docs,
                current_question_number=source.current_question_number,
            )
            self.insert_whole_session(doc, message_docs, state_doc, action_docs)
            return doc

        doc = self._write(do_import)
        with self._reading():
            return self._session_model(doc)

    # ---------------------------------------------------------------------------------
    # Upkeep and plans (tutornb.store.upkeep, tutornb.store.plans)

    def expire_idle(self, expiry_days: float, *, now: datetime | None = None) -> list[str]:
        return upkeep.expire_idle(self, expiry_days, now=now)

    def cleanup(self, *, older_than_days: float | None = None, max_sessions: int | None = None) -> list[str]:
        return upkeep.cleanup(self, older_than_days=older_than_days, max_sessions=max_sessions)

    def stats(self) -> StoreStats:
        return upkeep.stats(self)

    def owner_stats(self, owner: str) -> StoreStats:
        """``stats`` for one owner's sessions only (see :func:`tutornb.store.upkeep.owner_stats`)."""
        return upkeep.owner_stats(self, owner)

    def get_plan(self, key: str) -> StudyPlan | None:
        return plans.get_plan(self, key)

    def put_plan(self, key: str, plan: StudyPlan, ttl: timedelta) -> None:
        plans.put_plan(self, key, plan, ttl)

    def compact(self) -> None:
        """A fresh snapshot now (the previous one kept, gzipped, as the backup)."""
        self.storage.compact()
        self.storage.shrink_backups()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SessionStore", "StoreVersionError", "new_session_id"]
