"""In-memory indexes of the session store, kept current by the storage's change notifications.

Session id -> ``sessions`` key, client ids per session (idempotent appends), lowercased text per
session (search), and validated transcripts of recent sessions (fast restores). The notifications
cover other processes' commits too, so a kernel and the server never serve each other stale data.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from typing import Any

from pydantic import TypeAdapter, ValidationError

from tutornb.models import Message, is_valid_session_id
from tutornb.store import archive, files
from tutornb.store.journaled import JournaledStorage
from tutornb.store.layout import ARCHIVE_PREFIX, MESSAGES_PREFIX, SESSION_TABLE_PREFIXES, SESSIONS

#: Validated transcripts kept for fast restores (messages never change once stored).
MESSAGE_CACHE_SESSIONS = 16

_MESSAGES = TypeAdapter(list[Message])


class SessionIndexes:
    """Every method runs under the storage's ``reading()`` or ``transaction()`` (the caller's)."""

    def __init__(self, storage: JournaledStorage) -> None:
        self.storage = storage
        self._by_id: dict[str, str] | None = None
        self._client_ids: dict[str, dict[str, int]] = {}
        self._texts: dict[str, str] = {}
        #: Lowercased texts appended since ``_texts`` was built: joined onto it by the next search,
        #: so an append never copies a long transcript's text.
        self._text_tails: dict[str, list[str]] = {}
        #: Lowercased raw JSON of a transcript not parsed yet (b"" when not ASCII: no pre-filter).
        self._raw_lower: dict[str, bytes] = {}
        self._message_cache: OrderedDict[str, list[Message]] = OrderedDict()
        #: Bytes each session's tables take as JSON (per-owner figures and quotas).
        self._sizes: dict[str, int] = {}
        storage.add_listener(self._on_change)

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
                sid = table[len(prefix) :]
                size = self._sizes.pop(sid, None)
                if size is not None and prefix == MESSAGES_PREFIX and old is None and new is not None:
                    self._sizes[sid] = size + len(files.dumps(new)) + 8  # an append adds its own size
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

    # -- sessions

    def find(self, session_id: str) -> tuple[str, dict[str, Any]] | None:
        """The ``sessions`` key and document of a session, or None."""
        if not is_valid_session_id(session_id):
            return None
        if self._by_id is None:
            docs = self.storage.peek_table(SESSIONS)
            self._by_id = {doc["id"]: key for key, doc in docs.items() if "id" in doc}
        key = self._by_id.get(session_id)
        if key is None:
            return None
        doc = self.storage.peek_table(SESSIONS).get(key)
        if doc is None or doc.get("id") != session_id:
            self._by_id = None
            return None
        return key, doc

    def session_bytes(self, session_id: str) -> int:
        """Bytes the session's tables take as JSON: its share of the store, cached until they
        change."""
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

    # -- transcripts

    def message_docs(self, session_id: str) -> list[dict[str, Any]]:
        """The transcript's stored documents in ``seq`` order (live or archived)."""
        docs = self.storage.peek_table(MESSAGES_PREFIX + session_id)
        if docs:
            return [docs[key] for key in sorted(docs, key=int)]
        packed = self.storage.peek_table(ARCHIVE_PREFIX + session_id).get("1")
        if packed is not None:
            return archive.unpack(packed)
        return []

    def messages(self, session_id: str) -> list[Message]:
        """The validated transcript (cached; do not mutate)."""
        cached = self._message_cache.get(session_id)
        if cached is not None:
            self._message_cache.move_to_end(session_id)
            return cached
        messages = _MESSAGES.validate_python(self.message_docs(session_id))
        self._message_cache[session_id] = messages
        while len(self._message_cache) > MESSAGE_CACHE_SESSIONS:
            self._message_cache.popitem(last=False)
        return messages

    def cached_message(self, session_id: str, seq: int, message_id: str) -> Message | None:
        """The validated message when the change listener already cached it."""
        cached = self._message_cache.get(session_id)
        if cached is not None and len(cached) >= seq and cached[seq - 1].id == message_id:
            return cached[seq - 1]
        return None

    def client_seq(self, session_id: str, client_id: str) -> int | None:
        """The ``seq`` of the learner message sent with ``client_id``, if stored."""
        index = self._client_ids.get(session_id)
        if index is None:
            index = {}
            for doc in self.message_docs(session_id):
                if doc.get("client_id"):
                    index.setdefault(doc["client_id"], int(doc["seq"]))
            self._client_ids[session_id] = index
        return index.get(client_id)

    # -- search

    def matches(self, session_id: str, needle: str, needle_json: bytes | None) -> bool:
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

    def _search_text(self, session_id: str) -> str:
        text = self._texts.get(session_id)
        if text is None:
            text = "\x00".join(str(doc.get("text", "")).lower() for doc in self.message_docs(session_id))
        else:
            tail = self._text_tails.pop(session_id, None)
            if not tail:
                return text
            text = "\x00".join([text, *tail])
        self._texts[session_id] = text
        return text
