"""Chat sessions across the server's lifetime: idle sessions expire (at the first use after a start,
then on schedule), a shutdown pauses the sessions still open in a socket, and a message acknowledged
before a crash is answered on reconnect, once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tests.support.server_helpers import Fetch, create_session, eventually
from tutornb.models import CourseContext, Status, utcnow
from tutornb.paths import default_owner
from tutornb.service import TutorService

from .conftest import OpenChat, ScriptedTutor, is_tutor, message


@pytest.fixture
def expired_session_id(store_dir: Any) -> str:
    """A session last active 40 days ago, written before the server starts."""
    from tutornb.store import SessionStore

    store = SessionStore(store_dir)
    try:
        old = utcnow() - timedelta(days=40)
        return store.create_session(default_owner(), CourseContext(), "old", now=old).id
    finally:
        store.close()


async def test_idle_sessions_expire_at_startup_and_on_schedule(
    expired_session_id: str, api: Fetch, service: TutorService
) -> None:
    # Given a session idle for 40 days before the server started
    # Then the server closed it at startup
    _, detail, _ = await api("sessions", expired_session_id)
    assert detail["status"] == "closed"
    # Given another idle session created while the server runs
    old = utcnow() - timedelta(days=31)
    sid = service.store.create_session(detail["owner"], CourseContext(), "x", now=old).id
    # When the periodic expiry runs
    closed = service.expire_idle()
    # Then it is closed too
    assert closed == [sid]
    _, detail, _ = await api("sessions", sid)
    assert detail["status"] == "closed"


async def test_server_shutdown_pauses_sessions_that_are_still_open(
    api: Fetch, chat: OpenChat, service: TutorService, store_dir: Any
) -> None:
    # Given a session with a socket open
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When the extension shuts down (the server stops) while the socket is open
    service.close()
    # Then the session was paused, as if its last socket had closed
    from tutornb.store.sessions import SessionStore

    store = SessionStore(store_dir)
    try:
        assert store.get_session(session["id"]).status is Status.PAUSED
    finally:
        store.close()
    ws.close()


async def test_a_reply_composed_at_once_streams_in_few_frames(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a tutor that produces its whole reply in one go (as the offline tutor does)
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When a turn runs
    await ws.send(message("batch me", "b-1"))
    reply = await ws.until("message", is_tutor)
    # Then the first delta goes out at once and the rest follows batched, losing nothing
    deltas = [f["text"] for f in ws.seen if f["type"] == "delta"]
    assert deltas[0] == "Echo"
    assert len(deltas) < 3
    assert "".join(deltas) == reply["message"]["text"] == "Echo: batch me"
    ws.close()


async def test_a_message_acknowledged_before_a_crash_is_answered_on_reconnect(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given an active session whose transcript ends with a stored learner message and no reply,
    # as a server killed between the ack and the tutor's answer leaves it
    from tutornb.models import Role
    from tutornb.store import NewMessage

    session = await create_session(api)
    service.store.append_message(session["id"], NewMessage(role=Role.LEARNER, text="still there?"))
    # When a socket connects to it again
    ws = await chat(session["id"])
    await ws.until("session")
    # Then the tutor answers the waiting message, once, and the restore shows the reply after it
    reply = await ws.until("message", is_tutor)
    assert reply["message"]["text"] == "Echo: still there?"
    await service.drain()
    _, detail, _ = await api("sessions", session["id"])
    assert [(m["seq"], m["role"]) for m in detail["messages"]] == [(1, "learner"), (2, "tutor")]
    # And a second connection does not answer it again
    ws2 = await chat(session["id"])
    await ws2.until("session")
    await service.drain()
    assert scripted.kinds == ["message"]
    ws.close()
    ws2.close()


async def test_a_socket_connecting_during_a_headless_ask_does_not_answer_it_again(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given a script asking through the service, its tutor still streaming the answer
    scripted.gap = 0.3
    session = await create_session(api)
    asking = asyncio.ensure_future(service.ask(session["owner"], session["id"], "one answer please"))
    await eventually(lambda: service.store.messages(session["id"]))
    # When a socket connects while the transcript ends with that unanswered-yet question
    ws = await chat(session["id"])
    await ws.until("session")
    reply = await asking
    await service.drain()
    # Then the tutor answered it once: the running turn counts as its answer
    assert scripted.kinds == ["message"]
    stored = service.store.messages(session["id"])
    assert [(m.role.value, m.text) for m in stored] == [
        ("learner", "one answer please"),
        ("tutor", reply.text),
    ]
    ws.close()
