"""A server that starts on a damaged store repairs it, reports it in /status and tells the learner once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.server_helpers import Chat, Fetch
from tutornb.models import CourseContext, Role
from tutornb.paths import default_owner
from tutornb.store import NewMessage, SessionStore


@pytest.fixture
def damaged_session(store_dir: Path) -> str:
    """A store compacted twice (so it has a backup) whose snapshot is then damaged on disk."""
    store = SessionStore(store_dir, background_compaction=False)  # type: ignore[call-arg]
    session = store.create_session(default_owner(), CourseContext(module_title="Lists & loops"))
    store.append_message(session.id, NewMessage(Role.LEARNER, "what is a list"))
    store.compact()  # type: ignore[attr-defined]
    store.append_message(session.id, NewMessage(Role.TUTOR, "A list is an ordered collection."))
    store.compact()  # type: ignore[attr-defined]
    store.append_message(session.id, NewMessage(Role.LEARNER, "thanks"))
    store.close()
    snapshot = store_dir / "snapshot.jsonl"
    data = bytearray(snapshot.read_bytes())
    data[int(len(data) * 0.6)] ^= 0x20
    snapshot.write_bytes(bytes(data))
    return session.id


async def test_recovery_is_reported_and_told_to_the_learner_once(
    damaged_session: str, api: Fetch, chat: Callable[..., Awaitable[Chat]]
) -> None:
    # Given a server started on that damaged store
    # When the status is asked for
    code, status, _ = await api("status")
    # Then the repair is reported, with no path in it
    assert code == 200
    assert status["recovered"]
    assert "snapshot.jsonl" in status["recovered"][0]
    assert "/" not in status["recovered"][0].replace("snapshot.jsonl", "")
    # When the learner opens the session
    ws = await chat(damaged_session)
    first = await ws.until("session")
    # Then every acknowledged message is there, followed by one system notice about the repair
    texts = [m["text"] for m in first["session"]["messages"]]
    assert texts[:3] == ["what is a list", "A list is an ordered collection.", "thanks"]
    notice = await ws.until("message", lambda f: f["message"]["role"] == "system")
    assert "repaired" in notice["message"]["text"]
    ws.close()
    # And a second visit is not told again
    again = await chat(damaged_session)
    frame = await again.until("session")
    systems = [m for m in frame["session"]["messages"] if m["role"] == "system"]
    assert len(systems) == 1
    again.close()
