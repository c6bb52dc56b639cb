"""The session store: sessions, transcripts, tutor state and action logs on the journaled TinyDB.

Layout (all TinyDB tables in one journaled database):

* ``meta``: doc 1 holds the schema version (``models.SCHEMA_VERSION``).
* ``sessions``: one document per session with its summary fields (what the history lists). Small, so
  an
  append rewrites only a few hundred bytes of it.
* ``messages/<session id>``: the transcript, document id == ``seq``. One table per session means a
  session is
  restored by parsing its own table only, and a cold open parses none of them (tables load lazily).
* ``archive/<session id>``: a closed session's transcript, compressed into one document (see
  ``archive``).
* ``state/<session id>``: doc 1 holds the tutor state; ``actions/<session id>``: the action log.
* ``plans``: cached study plans with an expiry time.

In-memory indexes (session id -> document, client ids per session, lowercased text per session) are
kept up
to date from the storage's change notifications, which also cover other processes' commits.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from contextlib import AbstractContextManager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
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
    SCHEMA_VERSION,
    ActionLogEntry,
    Citation,
    CourseContext,
    Message,
    Phase,
    QuizPrompt,
    Session,
    SessionDetail,
    SessionExport,
    SessionPage,
    SessionSummary,
    Status,
    StoreStats,
    StudyPlan,
    TutorState,
    is_valid_session_id,
    utcnow,
)
from tutornb.store import archive, files
from tutornb.store.api import AppendResult, NewMessage, SessionQuery
from tutornb.store.storage import JournaledStorage, JournaledTable, JournaledTinyDB, open_tinydb

log = logging.getLogger("tutornb.store")

T = TypeVar("T")

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
MAX_LIMIT = 200
#: Validated transcripts kept for fast restores (messages never change once stored).
MESSAGE_CACHE_SESSIONS = 16

_MESSAGES = TypeAdapter(list[Message])
_ACTIONS = TypeAdapter(list[ActionLogEntry])


def _iso(value: datetime | None) -> str:
    moment = value or utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _preview_of(role: str, text: str) -> dict[str, str]:
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1] + "…"
    return {"role": role, "text": text}


def previews(message_docs: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The session's ``preview``: its last two messages, shortened."""
    return [_preview_of(doc["role"], doc["text"]) for doc in message_docs[-2:]]


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


def _encode_cursor(doc: dict[str, Any]) -> str:
    raw = json.dumps([doc["last_active_at"], doc["id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
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
        self._by_id: dict[str, str] | None = None
        self._client_ids: dict[str, dict[str, int]] = {}
        self._texts: dict[str, str] = {}
        #: Lowercased texts appended since ``_texts`` was built: joined onto it by the next search,
        #: so an append never copies a long transcript's text.
        self._text_tails: dict[str, list[str]] = {}
        #: Lowercased raw JSON of a transcript not parsed yet (b"" when not ASCII: no pre-filter).
        self._raw_lower: dict[str, bytes] = {}
        self._message_cache: OrderedDict[str, list[Message]] = OrderedDict()
        #: Bytes each session's tables take as JSON (for per-owner figures and quotas).
        self._sizes: dict[str, int] = {}
        self.storage.add_listener(self._on_change)
        try:
            from tutornb.store.migrate import ensure_schema

            ensure_schema(self)
        except BaseException:
            self.db.close()
            raise

    # ---------------------------------------------------------------------------------
    # Indexes, kept current by the storage's change notifications (local and other processes'
    # commits)

    def _on_change(self, table: str | None, key: str | None, old: Any, new: Any) -> None:
        if table is None:
            self._by_id = None
            self._sizes.clear()
            self._client_ids.clear()
            self._texts.clear()
            self._text_tails.clear()
            self._raw_lower.clear()
            self._message_cache.clear()
            return
        if table == SESSIONS:
            if key is None or self._by_id is None:
                self._by_id = None
                return
            if old is not None and self._by_id.get(old.get("id")) == key:
                del self._by_id[old["id"]]
            if new is not None and "id" in new:
                self._by_id[new["id"]] = key
            return
        for prefix in SESSION_TABLE_PREFIXES:
            if table.startswith(prefix):
                size = self._sizes.pop(table[len(prefix) :], None)
                if size is not None and prefix == MESSAGES_PREFIX and old is None and new is not None:
                    self._sizes[table[len(prefix) :]] = size + len(files.dumps(new)) + 8
                break
        for prefix in (MESSAGES_PREFIX, ARCHIVE_PREFIX):
            if table.startswith(prefix):
                sid = table[len(prefix) :]
                cached = self._message_cache.pop(sid, None)
                self._raw_lower.pop(sid, None)
                if prefix == MESSAGES_PREFIX and key is not None and old is None and new is not None:
                    # An append: extend the indexes instead of dropping them.
                    if cached is not None and key == str(len(cached) + 1):
                        with suppress(ValidationError):
                            cached.append(Message.model_validate(new))
                            self._message_cache[sid] = cached
                    if sid in self._texts:
                        self._text_tails.setdefault(sid, []).append(str(new.get("text", "")).lower())
                    clients = self._client_ids.get(sid)
                    if clients is not None and new.get("client_id"):
                        clients.setdefault(new["client_id"], int(key))
                    return
                self._texts.pop(sid, None)
                self._text_tails.pop(sid, None)
                self._client_ids.pop(sid, None)
                return

    def _index(self) -> dict[str, str]:
        if self._by_id is None:
            docs = self.storage.peek_table(SESSIONS)
            self._by_id = {doc["id"]: key for key, doc in docs.items() if "id" in doc}
        return self._by_id

    def _find(self, session_id: str) -> tuple[str, dict[str, Any]] | None:
        if not is_valid_session_id(session_id):
            return None
        key = self._index().get(session_id)
        if key is None:
            return None
        doc = self.storage.peek_table(SESSIONS).get(key)
        if doc is None or doc.get("id") != session_id:
            self._by_id = None
            return None
        return key, doc

    def _require(self, session_id: str, owner: str | None = None) -> tuple[str, dict[str, Any]]:
        found = self._find(session_id)
        if found is None or (owner is not None and found[1].get("owner") != owner):
            raise SessionNotFound(session_id)
        return found

    def _message_docs(self, session_id: str) -> list[dict[str, Any]]:
        docs = self.storage.peek_table(MESSAGES_PREFIX + session_id)
        if docs:
            return [docs[key] for key in sorted(docs, key=int)]
        packed = self.storage.peek_table(ARCHIVE_PREFIX + session_id).get("1")
        if packed is not None:
            return archive.unpack(packed)
        return []

    def _client_index(self, session_id: str) -> dict[str, int]:
        index = self._client_ids.get(session_id)
        if index is None:
            index = {}
            for doc in self._message_docs(session_id):
                if doc.get("client_id"):
                    index.setdefault(doc["client_id"], int(doc["seq"]))
            self._client_ids[session_id] = index
        return index

    def _session_bytes(self, session_id: str) -> int:
        """Bytes the session's tables take as JSON: its share of the store, cached until they
        change (an append adds its own size)."""
        size = self._sizes.get(session_id)
        if size is None:
            size = 0
            for prefix in SESSION_TABLE_PREFIXES:
                name = prefix + session_id
                raw = self.storage.raw_table(name)
                if raw is not None:
                    size += len(raw)
                else:
                    docs = self.storage.peek_table(name)
                    size += len(files.dumps(docs)) if docs else 0
            self._sizes[session_id] = size
        return size

    def owner_stats(self, owner: str) -> StoreStats:
        """``stats`` for one owner's sessions only: what ``/status`` shows a user who shares the
        server with others (store-wide counts would tell them about everyone else)."""
        with self._reading():
            docs = [d for d in self.storage.peek_table(SESSIONS).values() if d.get("owner") == owner]
            used = sum(self._session_bytes(d["id"]) + len(files.dumps(d)) for d in docs)
            return StoreStats(
                path=self.display_path(),
                sessions=len(docs),
                messages=sum(int(d.get("message_count", 0)) for d in docs),
                bytes=used,
                quota_bytes=self.quota_bytes or 0,
            )

    def _lowered_raw(self, session_id: str) -> bytes:
        """The transcript's raw JSON, lowercased, without parsing it (b"" when not usable)."""
        lowered = self._raw_lower.get(session_id)
        if lowered is None:
            raw = self.storage.raw_table(MESSAGES_PREFIX + session_id)
            if raw is None:
                packed = self.storage.peek_table(ARCHIVE_PREFIX + session_id).get("1")
                if packed is not None and not self.storage.peek_table(MESSAGES_PREFIX + session_id):
                    try:
                        raw = archive.unpack_raw(packed)
                    except (ValueError, OSError):
                        raw = None
            # Only pure-ASCII JSON lowercases byte-wise exactly as its text does.
            lowered = raw.lower() if raw is not None and raw.isascii() else b""
            self._raw_lower[session_id] = lowered
        return lowered

    def _matches(self, session_id: str, needle: str, needle_json: bytes | None) -> bool:
        """Case-insensitive substring test over a session's messages.

        A transcript not parsed yet is first scanned as raw JSON: the needle, JSON-escaped, must
        occur in it (escaping commutes with lowercasing for ASCII), so a miss there is a sure miss
        and only candidates are parsed.
        """
        text = self._texts.get(session_id)
        if text is None and needle_json is not None:
            lowered = self._lowered_raw(session_id)
            if lowered and needle_json not in lowered:
                return False
        return needle in self._search_text(session_id)

    def _search_text(self, session_id: str) -> str:
        text = self._texts.get(session_id)
        if text is None:
            text = "\x00".join(str(doc.get("text", "")).lower() for doc in self._message_docs(session_id))
        else:
            tail = self._text_tails.pop(session_id, None)
            if not tail:
                return text
            text = "\x00".join([text, *tail])
        self._texts[session_id] = text
        return text

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
        cached = self._message_cache.get(session_id)
        if cached is not None:
            self._message_cache.move_to_end(session_id)
            return cached
        messages = _MESSAGES.validate_python(self._message_docs(session_id))
        self._message_cache[session_id] = messages
        while len(self._message_cache) > MESSAGE_CACHE_SESSIONS:
            self._message_cache.popitem(last=False)
        return messages

    def _archive_messages(self, session_id: str) -> None:
        """Closed sessions never change again: their transcript is stored compressed."""
        name = MESSAGES_PREFIX + session_id
        if not self.storage.peek_table(name):
            if self.storage.has_table(name):
                self.db.drop_table(name)
            return
        packed = archive.pack(self._message_docs(session_id))
        self._table(ARCHIVE_PREFIX + session_id).insert(Document(packed, doc_id=1))
        self.db.drop_table(name)

    def _unused_id(self, preferred: object = None) -> str:
        """``preferred`` when it is a valid id no session has yet, else a fresh random one."""
        sid = preferred if isinstance(preferred, str) else ""
        if not is_valid_session_id(sid):
            sid = new_session_id()
        while self._find(sid) is not None:
            sid = new_session_id()
        return sid

    def _insert_whole_session(
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
        self._table(SESSIONS).update(fields, doc_ids=[int(key)])

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
        stamp = _iso(now)
        shown_title = title or context.module_title or context.course_title or "Tutoring session"

        def create() -> dict[str, Any]:
            if session_id is not None and self._find(session_id) is not None:
                raise InvalidRequest("A session with this id exists already.")
            sid = self._unused_id(session_id)
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
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidRequest(
                f"limit must be between 1 and {MAX_LIMIT}.",
                errors=[{"loc": ["limit"], "msg": "out of range"}],
            )
        after = _decode_cursor(query.cursor) if query.cursor else None
        statuses = {s.value for s in query.statuses} if query.statuses else None
        needle = query.q.lower() if query.q else None
        escaped = files.dumps(needle)[1:-1] if needle else ""
        needle_json = escaped.encode() if needle and escaped.isascii() else None
        with self._reading():
            candidates = []
            for doc in self.storage.peek_table(SESSIONS).values():
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
                candidates.append(doc)
        if needle is not None:
            candidates = [doc for doc in candidates if self._text_match(doc, needle, needle_json)]
        with self._reading():
            matches = candidates
            total = len(matches)
            matches.sort(key=_sort_key, reverse=True)
            if after is not None:
                matches = [doc for doc in matches if _sort_key(doc) < after]
            page = matches[: query.limit]
            next_cursor = _encode_cursor(page[-1]) if len(matches) > query.limit else None
            sessions = [SessionSummary.model_validate(doc) for doc in page]
        return SessionPage(sessions=sessions, next_cursor=next_cursor, total=total)

    def _text_match(self, doc: dict[str, Any], needle: str, needle_json: bytes | None) -> bool:
        """One session's title and messages, under the store's lock for that session only: a
        search over a big store (run on a worker thread by the server) lets every other request
        take the lock between two sessions instead of waiting for the whole search."""
        if needle in str(doc.get("title", "")).lower():
            return True
        with self._reading():
            if self._find(doc["id"]) is None:
                return False  # deleted meanwhile
            found = self._matches(doc["id"], needle, needle_json)
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
            seq = self._client_index(session_id).get(client_id)
            return None if seq is None else self._messages_models(session_id)[seq - 1]

    def batch(self) -> AbstractContextManager[object]:
        return self.storage.transaction()

    def append_message(
        self, session_id: str, message: NewMessage, *, now: datetime | None = None
    ) -> AppendResult:
        stamp = _iso(now)
        citations = [Citation.model_validate(c).model_dump(mode="json") for c in (message.citations or ())]
        quiz = QuizPrompt.model_validate(message.quiz).model_dump(mode="json") if message.quiz else None

        def append() -> tuple[dict[str, Any], bool, dict[str, Any]]:
            key, doc = self._require(session_id)
            table_name = MESSAGES_PREFIX + session_id
            if message.client_id:
                seq = self._client_index(session_id).get(message.client_id)
                if seq is not None:
                    stored = self._message_docs(session_id)[seq - 1]
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
            if message.interrupted:
                new["interrupted"] = message.interrupted
            if quiz is not None:
                new["quiz"] = quiz
            self._table(table_name).insert(Document(new, doc_id=seq))
            preview = [*doc.get("preview", [])[-1:], _preview_of(new["role"], new["text"])]
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
            cached = self._message_cache.get(session_id)
            seq = int(stored["seq"])
            if cached is not None and len(cached) >= seq and cached[seq - 1].id == stored["id"]:
                result_message = cached[seq - 1]
            else:
                result_message = Message.model_validate(stored)
        return AppendResult(message=result_message, created=created, session=session)

    def set_status(self, session_id: str, status: Status, *, now: datetime | None = None) -> Session:
        stamp = _iso(now)

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
        stamp = _iso(now)
        state_doc = state.model_dump(mode="json") if state is not None else None
        action_docs = [entry.model_dump(mode="json") for entry in actions]

        def update() -> dict[str, Any]:
            key, doc = self._require(session_id)
            fields: dict[str, Any] = {"updated_at": stamp}
            if phase is not None:
                current = Phase(doc["phase"])
                if not lifecycle.can_change_phase(current, phase):
                    log.warning("refused phase change %s -> %s for a session", current.value, phase.value)
                lifecycle.check_phase_change(current, phase)
                fields["phase"] = phase.value
            if current_question_number is not None:
                fields["current_question_number"] = int(current_question_number)
            if state_doc is not None:
                self._replace_state(session_id, state_doc)
            if action_docs:
                self._table(ACTIONS_PREFIX + session_id).insert_multiple(action_docs)
            self._put_session(key, fields)
            return self.storage.peek_table(SESSIONS)[key]

        doc = self._write(update)
        with self._reading():
            return self._session_model(doc)

    def _replace_state(self, session_id: str, state_doc: dict[str, Any]) -> None:
        table = self._table(STATE_PREFIX + session_id)
        if self.storage.peek_table(table.name).get("1") is None:
            table.insert(Document(state_doc, doc_id=1))
        else:

            def replace(doc: MutableMapping[str, Any]) -> None:
                doc.clear()
                doc.update(state_doc)

            table.update(replace, doc_ids=[1])

    def append_action(self, session_id: str, entry: ActionLogEntry) -> None:
        doc = entry.model_dump(mode="json")

        def append() -> None:
            self._require(session_id)
            self._table(ACTIONS_PREFIX + session_id).insert(doc)

        self._write(append)

    def actions(self, session_id: str) -> list[ActionLogEntry]:
        with self._reading():
            self._require(session_id)
            docs = self.storage.peek_table(ACTIONS_PREFIX + session_id)
            ordered = [docs[key] for key in sorted(docs, key=int)]
        return _ACTIONS.validate_python(ordered)

    def touch(self, session_id: str, *, now: datetime | None = None) -> None:
        stamp = _iso(now)

        def touch() -> None:
            key, _ = self._require(session_id)
            self._put_session(key, {"last_active_at": stamp})

        self._write(touch)

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
            doc["created_at"] = _iso(message.created_at)
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
            sid = self._unused_id()
            doc = session_doc(
                sid,
                owner,
                status=source.status.value,
                phase=source.phase.value,
                context=source.context.model_dump(mode="json", exclude_none=True),
                title=source.title,
                created_at=_iso(source.created_at),
                updated_at=_iso(source.updated_at),
                last_active_at=_iso(source.last_active_at),
                messages=message_docs,
                current_question_number=source.current_question_number,
            )
            self._insert_whole_session(doc, message_docs, state_doc, action_docs)
            return doc

        doc = self._write(do_import)
        with self._reading():
            return self._session_model(doc)

    def expire_idle(self, expiry_days: float, *, now: datetime | None = None) -> list[str]:
        moment = now or utcnow()
        stamp = _iso(moment)

        def expire() -> list[str]:
            closed: list[str] = []
            for key, doc in list(self.storage.peek_table(SESSIONS).items()):
                status = Status(doc["status"])
                if lifecycle.is_expired(status, _parse_time(doc["last_active_at"]), moment, expiry_days):
                    self._archive_messages(doc["id"])
                    self._put_session(key, {"status": Status.CLOSED.value, "updated_at": stamp})
                    closed.append(doc["id"])
            return closed

        return self._write(expire)

    def cleanup(self, *, older_than_days: float | None = None, max_sessions: int | None = None) -> list[str]:
        if older_than_days is None and max_sessions is None:
            return []
        if max_sessions is not None and max_sessions < 0:
            raise InvalidRequest("max_sessions must be 0 or more.")
        moment = utcnow()

        def clean() -> list[str]:
            docs = list(self.storage.peek_table(SESSIONS).values())
            victims: list[str] = []
            if older_than_days is not None:
                cutoff = _iso(moment - timedelta(days=older_than_days))
                # Closed first, then the oldest: the order deletions are reported in.
                old = [d for d in docs if d["last_active_at"] < cutoff]
                old.sort(key=lambda d: (d["status"] != Status.CLOSED.value, d["last_active_at"]))
                victims.extend(d["id"] for d in old)
            if max_sessions is not None:
                remaining = [d for d in docs if d["id"] not in set(victims)]
                excess = len(remaining) - max_sessions
                if excess > 0:
                    remaining.sort(key=lambda d: (d["status"] != Status.CLOSED.value, d["last_active_at"]))
                    victims.extend(d["id"] for d in remaining[:excess])
            for sid in victims:
                self._delete(sid)
            return victims

        return self._write(clean)

    def get_plan(self, key: str) -> StudyPlan | None:
        now = _iso(None)
        with self._reading():
            for doc in self.storage.peek_table(PLANS).values():
                if doc.get("key") == key and doc.get("expires_at", "") > now:
                    try:
                        return StudyPlan.model_validate(doc["plan"])
                    except ValidationError:
                        return None
        return None

    def put_plan(self, key: str, plan: StudyPlan, ttl: timedelta) -> None:
        now = utcnow()
        doc = {"key": key, "plan": plan.model_dump(mode="json"), "expires_at": _iso(now + ttl)}
        stamp = _iso(now)

        def put() -> None:
            table = self._table(PLANS)
            stale = [
                int(k)
                for k, d in self.storage.peek_table(PLANS).items()
                if d.get("key") == key or d.get("expires_at", "") <= stamp
            ]
            if stale:
                table.remove(doc_ids=stale)
            table.insert(doc)

        self._write(put)

    def stats(self) -> StoreStats:
        with self._reading():
            docs = self.storage.peek_table(SESSIONS)
            return StoreStats(
                path=self.display_path(),
                sessions=len(docs),
                messages=sum(int(d.get("message_count", 0)) for d in docs.values()),
                bytes=self.storage.bytes_on_disk(),
                quota_bytes=self.quota_bytes or 0,
                recovered=list(self.storage.recovered),
            )

    def display_path(self) -> str:
        """The store folder relative to the working folder when inside it (never leak the full
        path)."""
        try:
            return str(self.path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return self.path.name

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
