"""Builds a big store offline (before its server starts), for the search-latency test and bench.

Every session's last message holds :data:`NEEDLE`, so a search for it must look inside every
transcript: the worst case for a search over a cold store (nothing parsed or lowercased yet).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tutornb.models import CourseContext, Message, Role, Session, SessionExport, Status
from tutornb.store import SessionStore

NEEDLE = "zebrafish"
_WORDS = "list loop index slice append range value tuple dict key set sort print return".split()  # noqa: SIM905
#: Recent, so that no session is idle past the expiry (which would archive them all at start).
_T0 = datetime.now(timezone.utc) - timedelta(days=1)


def _export(rng: random.Random, index: int, messages: int, words: int) -> SessionExport:
    start = _T0 + timedelta(seconds=index)
    session = Session(
        id=f"big{index:06d}",
        owner="placeholder",
        status=Status.PAUSED,
        context=CourseContext(course_id="big", module_id=f"m{index % 7}"),
        title=f"Session {index}",
        created_at=start,
        updated_at=start,
        last_active_at=start,
    )
    items = []
    for seq in range(1, messages + 1):
        text = " ".join(rng.choice(_WORDS) for _ in range(words))
        if seq == messages:
            text += f" {NEEDLE}"
        role = Role.LEARNER if seq % 2 else Role.TUTOR
        items.append(Message(id=f"m{seq}", seq=seq, role=role, text=text, created_at=start))
    return SessionExport(session=session, messages=items)


def build_big_store(folder: Path, owner: str, megabytes: int, seed: int = 11) -> int:
    """Fills ``folder`` with ~``megabytes`` of transcripts owned by ``owner``; returns sessions."""
    rng = random.Random(seed)
    store = SessionStore(folder, quota_bytes=None)
    sessions = 0
    try:
        # ~100 KB a session: 40 messages of ~2.5 KB (text and its html).
        while store.stats().bytes < megabytes * 1024 * 1024:
            for _ in range(50):
                store.import_session(_export(rng, sessions, 40, 200), owner=owner)
                sessions += 1
        store.compact()
    finally:
        store.close()
    return sessions
