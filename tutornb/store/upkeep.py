"""The store's upkeep: closing idle sessions, deleting old ones, and the figures ``/status`` and
``tutornb doctor`` show. Each runs on :class:`~tutornb.store.sessions.SessionStore`'s own transaction
and read lock; kept here so the store's module stays the session API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tutornb import lifecycle
from tutornb.errors import InvalidRequest
from tutornb.models import Status, StoreStats, utcnow
from tutornb.paths import display_path
from tutornb.store import files
from tutornb.store.layout import SESSIONS, iso, parse_time

if TYPE_CHECKING:
    from tutornb.store.sessions import SessionStore


def expire_idle(store: SessionStore, expiry_days: float, *, now: datetime | None = None) -> list[str]:
    moment = now or utcnow()
    stamp = iso(moment)

    def expire() -> list[str]:
        closed: list[str] = []
        for key, doc in list(store.storage.peek_table(SESSIONS).items()):
            status = Status(doc["status"])
            if lifecycle.is_expired(status, parse_time(doc["last_active_at"]), moment, expiry_days):
                store._archive_messages(doc["id"])
                store._put_session(key, {"status": Status.CLOSED.value, "updated_at": stamp})
                closed.append(doc["id"])
        return closed

    return store._write(expire)


def cleanup(
    store: SessionStore, *, older_than_days: float | None = None, max_sessions: int | None = None
) -> list[str]:
    if older_than_days is None and max_sessions is None:
        return []
    if max_sessions is not None and max_sessions < 0:
        raise InvalidRequest("max_sessions must be 0 or more.")
    moment = utcnow()

    def clean() -> list[str]:
        docs = list(store.storage.peek_table(SESSIONS).values())
        victims: list[str] = []
        if older_than_days is not None:
            cutoff = iso(moment - timedelta(days=older_than_days))
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
            store._delete(sid)
        return victims

    return store._write(clean)


def stats(store: SessionStore) -> StoreStats:
    with store._reading():
        docs = store.storage.peek_table(SESSIONS)
        return StoreStats(
            path=display_path(store.path, Path.cwd()),
            sessions=len(docs),
            messages=sum(int(d.get("message_count", 0)) for d in docs.values()),
            bytes=store.storage.bytes_on_disk(),
            quota_bytes=store.quota_bytes or 0,
            recovered=list(store.storage.recovered),
        )


def owner_stats(store: SessionStore, owner: str) -> StoreStats:
    """``stats`` for one owner's sessions only: what ``/status`` shows a user who shares the
    server with others (store-wide counts would tell them about everyone else)."""
    with store._reading():
        docs = [d for d in store.storage.peek_table(SESSIONS).values() if d.get("owner") == owner]
        used = sum(store._indexes.session_bytes(d["id"]) + len(files.dumps(d)) for d in docs)
        return StoreStats(
            path=display_path(store.path, Path.cwd()),
            sessions=len(docs),
            messages=sum(int(d.get("message_count", 0)) for d in docs),
            bytes=used,
            quota_bytes=store.quota_bytes or 0,
        )
