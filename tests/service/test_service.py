"""TutorService on its own: a real store and a real tutor, frames in and out, no server, no kernel.

Each test plays one or two transports (a "connection" is a sink collecting frames), the way the
WebSocket handler and the widget's comm do.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tutornb.errors import InvalidSessionState, RateLimited
from tutornb.models import Role, Status
from tutornb.service import ServiceConfig, TutorService
from tutornb.store import SessionStore
from tutornb.tutors import load_tutor
from tutornb.tutors.base import TextDelta, Tutor, TutorEvent, TutorTurn

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
OWNER = "ada"
CONTEXT = {"context": {"course_id": "python-foundations", "notebook_path": "01_lists_and_loops.ipynb"}}


class Collector:
    """A transport's sink: keeps every frame the service sends to this connection."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


def _service(tmp_path: Path, tutor: Tutor | None = None, **config: Any) -> TutorService:
    store = SessionStore(tmp_path / ".tutornb", background_compaction=False)
    return TutorService(
        store,
        tutor or load_tutor("course", root_dir=NOTEBOOKS),
        root_dir=NOTEBOOKS,
        config=ServiceConfig(**config),
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TutorService]:
    opened = _service(tmp_path)
    yield opened
    opened.close()


def _message(text: str, client_id: str | None = None) -> dict[str, Any]:
    return {"type": "message", "client_id": client_id or str(uuid.uuid4()), "text": text}


def test_lifecycle_through_rest_calls_and_frames(service: TutorService) -> None:
    async def scenario() -> None:
        # Given a new session and a connection to it
        session = service.create_session(OWNER, CONTEXT)
        assert (session.status, session.phase.value) == (Status.ACTIVE, "intake")
        sink = Collector()
        conn = await service.connect(OWNER, session.id, sink)
        assert sink.frames[0]["type"] == "session"
        # When it is paused over the socket, resumed over REST, then closed
        await service.receive(conn, {"type": "pause"})
        assert sink.of_type("state")[-1]["session"]["status"] == "paused"
        await service.receive(conn, {"type": "pause"})
        assert sink.of_type("error")[-1]["code"] == "INVALID_SESSION_STATE"
        resumed = await service.change_status(OWNER, session.id, "resume")
        assert resumed.status is Status.ACTIVE
        closed = await service.change_status(OWNER, session.id, "close")
        # Then closed is final
        assert closed.status is Status.CLOSED
        with pytest.raises(InvalidSessionState):
            await service.change_status(OWNER, session.id, "resume")
        await service.receive(conn, _message("still there?"))
        assert sink.of_type("error")[-1]["code"] == "INVALID_SESSION_STATE"
        await service.disconnect(conn)

    asyncio.run(scenario())


def test_a_repeated_client_id_is_acked_again_and_stored_once(service: TutorService) -> None:
    async def scenario() -> None:
        session = service.create_session(OWNER, CONTEXT)
        sink = Collector()
        conn = await service.connect(OWNER, session.id, sink)
        frame = _message("What does range(3) give?", client_id="c-1")
        # When the same frame arrives twice (a resend after a lost ack)
        await service.receive(conn, frame)
        await service.drain()
        await service.receive(conn, frame)
        await service.drain()
        # Then both are acked with the one stored message, and only one learner message exists
        acks = sink.of_type("ack")
        assert len(acks) == 2
        assert acks[0]["message"]["id"] == acks[1]["message"]["id"]
        learner = [m for m in service.get_session(OWNER, session.id).messages if m.role is Role.LEARNER]
        assert [m.client_id for m in learner] == ["c-1"]
        await service.disconnect(conn)

    asyncio.run(scenario())


def test_the_rate_limit_refuses_the_excess_without_storing_it(tmp_path: Path) -> None:
    service = _service(tmp_path, rate_limit_per_minute=1, rate_limit_burst=2)

    async def scenario() -> None:
        session = service.create_session(OWNER, CONTEXT)
        sink = Collector()
        conn = await service.connect(OWNER, session.id, sink)
        # When three messages arrive at once with a burst of two
        for n in range(3):
            await service.receive(conn, _message(f"message {n}", client_id=f"c-{n}"))
        await service.drain()
        # Then the third is refused, named by its client id, and not stored
        errors = sink.of_type("error")
        assert [(e["code"], e.get("client_id")) for e in errors] == [("RATE_LIMITED", "c-2")]
        texts = [m.text for m in service.get_session(OWNER, session.id).messages if m.role is Role.LEARNER]
        assert texts == ["message 0", "message 1"]
        # And an acknowledged message resent now is still acked, never refused
        await service.receive(conn, _message("message 0", client_id="c-0"))
        assert sink.of_type("ack")[-1]["client_id"] == "c-0"
        with pytest.raises(RateLimited):
            await service.ask(OWNER, session.id, "one more")
        await service.disconnect(conn)

    try:
        asyncio.run(scenario())
    finally:
        service.close()


def test_every_connection_of_a_session_gets_every_message(service: TutorService) -> None:
    async def scenario() -> None:
        session = service.create_session(OWNER, CONTEXT)
        sender, other = Collector(), Collector()
        conn_a = await service.connect(OWNER, session.id, sender)
        conn_b = await service.connect(OWNER, session.id, other)
        assert service.connections(session.id) == 2
        # When one connection sends a message
        await service.receive(conn_a, _message("How do I loop over a list?", client_id="c-fan"))
        await service.drain()
        # Then the sender gets its ack first, and both get the learner and the tutor message
        kinds = [f["type"] for f in sender.frames[1:]]
        assert kinds.index("ack") < kinds.index("message")
        for sink in (sender, other):
            roles = [f["message"]["role"] for f in sink.of_type("message")]
            assert roles[:2] == ["learner", "tutor"]
        assert not other.of_type("ack")
        await service.disconnect(conn_a)
        assert service.connections(session.id) == 1
        await service.disconnect(conn_b)
        # And a session nobody watches any more waits paused
        assert service.get_session(OWNER, session.id).status is Status.PAUSED

    asyncio.run(scenario())


def test_a_turn_streams_then_stores_the_tutor_reply(service: TutorService) -> None:
    async def scenario() -> None:
        session = service.create_session(OWNER, CONTEXT)
        sink = Collector()
        await service.connect(OWNER, session.id, sink)
        # When the learner asks (the magic's path: waits for the reply)
        reply = await service.ask(OWNER, session.id, "How do I add an item to a list?")
        # Then the reply is durable, streamed before it was stored, and in the transcript
        assert reply.role is Role.TUTOR
        assert reply.text
        streamed = "".join(f["text"] for f in sink.of_type("delta"))
        assert streamed == reply.text
        stored = service.get_session(OWNER, session.id).messages
        assert stored[-1].id == reply.id

    asyncio.run(scenario())


class _BrokenTutor:
    """A tutor with a bug: it raises mid-stream (tutors must not; the service must survive it)."""

    name = "broken"
    model = None

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        yield TextDelta("Let me th")
        raise KeyError("internal detail /home/secret")


def test_an_unexpected_error_is_logged_once_with_traceback_and_never_sent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = _service(tmp_path, tutor=_BrokenTutor())  # type: ignore[arg-type]

    async def scenario() -> None:
        session = service.create_session(OWNER, CONTEXT)
        sink = Collector()
        conn = await service.connect(OWNER, session.id, sink)
        # When its tutor raises in the middle of a turn
        with caplog.at_level(logging.INFO, logger="tutornb"):
            await service.receive(conn, _message("hi"))
            await service.drain()
        await service.disconnect(conn)
        # Then the client gets a plain error frame (no exception text) and the learner message stays
        error = sink.of_type("error")[-1]
        assert error["code"] == "TUTOR_UNAVAILABLE"
        assert "secret" not in str(sink.frames)
        assert "KeyError" not in str(sink.frames)
        assert [m.role for m in service.get_session(OWNER, session.id).messages] == [Role.LEARNER]
        # And the log has the traceback exactly once
        with_traceback = [r for r in caplog.records if r.exc_info]
        assert len(with_traceback) == 1
        assert with_traceback[0].exc_info is not None
        assert isinstance(with_traceback[0].exc_info[1], KeyError)

    try:
        asyncio.run(scenario())
    finally:
        service.close()


def test_a_short_pause_gets_no_recap_a_long_one_does(tmp_path: Path) -> None:
    async def scenario(recap_after_seconds: float) -> list[str]:
        service = _service(tmp_path / str(recap_after_seconds), recap_after_seconds=recap_after_seconds)
        try:
            # Given a session with one answered question
            session = service.create_session(OWNER, CONTEXT)
            await service.ask(OWNER, session.id, "What is a list?")
            # When the learner pauses it and resumes it
            await service.change_status(OWNER, session.id, "pause")
            await service.change_status(OWNER, session.id, "resume")
            await service.drain()
            return [m.text for m in service.get_session(OWNER, session.id).messages if m.role is Role.TUTOR]
        finally:
            service.close()

    # Then within recap_after_seconds the transcript gets no "Welcome back" recap ...
    quick = asyncio.run(scenario(300.0))
    assert len(quick) == 1
    # ... and past it (here: at once) the tutor says where they left off
    later = asyncio.run(scenario(0.0))
    assert len(later) == 2
    assert later[-1].startswith("Welcome back")


def test_a_resume_after_an_automatic_pause_gets_the_recap(tmp_path: Path) -> None:
    async def scenario() -> str:
        service = _service(tmp_path)
        try:
            # Given a session whose page went away (the last connection closed: an automatic pause)
            session = service.create_session(OWNER, CONTEXT)
            sink = Collector()
            conn = await service.connect(OWNER, session.id, sink)
            await service.receive(conn, _message("What is a list?"))
            await service.drain()
            await service.disconnect(conn)
            assert service.get_session(OWNER, session.id).status is Status.PAUSED
            # When the learner comes back and resumes it at once
            await service.change_status(OWNER, session.id, "resume")
            await service.drain()
            return service.get_session(OWNER, session.id).messages[-1].text
        finally:
            service.close()

    # Then the tutor recaps where they left off
    assert asyncio.run(scenario()).startswith("Welcome back")
