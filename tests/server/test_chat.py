"""The chat WebSocket: frames, ordering, idempotency, fan-out, lifecycle, limits and failures.

Streaming details are checked with a small scripted tutor (deterministic deltas, a failure switch);
the course tutor's own behaviour is covered in test_course_flow.py.
"""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.support.server_helpers import Fetch, create_session, eventually
from tutornb.models import Phase, Status
from tutornb.service import TutorService

from .conftest import OpenChat, ScriptedTutor, is_tutor, message


async def test_chat_flow_session_ack_deltas_message_and_restore(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a new session and a socket on it, and a tutor streaming over a slow link
    scripted.gap = 0.05
    session = await create_session(api, module_title="Lists & loops")
    ws = await chat(session["id"])
    first = await ws.recv()
    # Then the first frame is the session with its (empty) transcript
    assert first is not None
    assert first["type"] == "session"
    assert first["session"]["id"] == session["id"]
    assert first["session"]["messages"] == []
    # When the learner sends a message
    await ws.send(message("What is a **list**?", "c-1"))
    # Then the ack comes first, with the durable learner message and its sanitized html
    ack = await ws.recv()
    assert ack is not None
    assert ack["type"] == "ack"
    assert ack["client_id"] == "c-1"
    assert ack["message"]["seq"] == 1
    assert ack["message"]["role"] == "learner"
    assert "<strong>list</strong>" in ack["message"]["html"]
    # And the learner message is broadcast, then the tutor streams deltas and its final message
    learner = await ws.until("message")
    assert learner["message"]["id"] == ack["message"]["id"]
    reply = await ws.until("message", is_tutor)
    deltas = [f for f in ws.seen if f["type"] == "delta"]
    assert [d["text"] for d in deltas] == ["Echo", ": ", "What is a **list**?"]
    assert {d["message_id"] for d in deltas} == {reply["stream_id"]}
    assert reply["message"]["text"] == "Echo: What is a **list**?"
    assert reply["message"]["citations"][0]["cell_index"] == 2
    assert reply["message"]["seq"] == 2
    # And a restore shows both messages, in order
    code, detail, _ = await api("sessions", session["id"])
    assert code == 200
    assert [(m["seq"], m["role"]) for m in detail["messages"]] == [(1, "learner"), (2, "tutor")]
    assert detail["message_count"] == 2
    ws.close()


async def test_duplicate_client_id_is_acked_twice_and_stored_once(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given a socket on a session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When the same client_id is sent twice (a client retrying after a lost ack)
    await ws.send(message("hello", "same-id"))
    first = await ws.until("ack")
    await ws.send(message("hello", "same-id"))
    second = await ws.until("ack")
    await service.drain()
    # Then both acks carry the same stored message, and the transcript holds it once, answered once
    assert first["message"]["id"] == second["message"]["id"]
    _, detail, _ = await api("sessions", session["id"])
    learners = [m for m in detail["messages"] if m["role"] == "learner"]
    assert [m["client_id"] for m in learners] == ["same-id"]
    assert [m["role"] for m in detail["messages"]] == ["learner", "tutor"]
    assert scripted.kinds == ["message"]
    ws.close()


async def test_two_sockets_on_one_session_both_see_every_message(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given two tabs on one session
    session = await create_session(api)
    tab_a = await chat(session["id"])
    tab_b = await chat(session["id"])
    await tab_a.until("session")
    await tab_b.until("session")
    # When tab A sends a message
    await tab_a.send(message("from A", "a-1"))
    # Then A gets its ack before the broadcast, and both tabs get the learner and tutor messages
    ack = await tab_a.recv()
    assert ack is not None
    assert ack["type"] == "ack"
    for tab in (tab_a, tab_b):
        learner = await tab.until("message")
        assert learner["message"]["text"] == "from A"
        reply = await tab.until("message", is_tutor)
        assert reply["message"]["text"] == "Echo: from A"
    assert [f["type"] for f in tab_b.seen if f["type"] == "ack"] == []
    assert any(f["type"] == "delta" for f in tab_b.seen)
    # When tab B sends, tab A sees it too
    await tab_b.send(message("from B", "b-1"))
    seen_by_a = await tab_a.until("message", lambda f: f["message"]["text"] == "from B")
    assert seen_by_a["message"]["seq"] == 3
    tab_a.close()
    tab_b.close()


async def test_last_socket_closing_pauses_the_session(
    api: Fetch, chat: OpenChat, service: TutorService
) -> None:
    # Given two sockets on an active session
    session = await create_session(api)
    sid = session["id"]
    tab_a = await chat(sid)
    tab_b = await chat(sid)
    await tab_a.until("session")
    await tab_b.until("session")
    # When one closes, the session stays active
    tab_a.close()
    await eventually(lambda: service.connections(sid) == 1)
    _, detail, _ = await api("sessions", sid)
    assert detail["status"] == "active"
    # When the last one closes, the session is paused (and offered for resume)
    tab_b.close()
    await eventually(lambda: service.connections(sid) == 0)
    await eventually(lambda: service.store.get_session(sid).status is Status.PAUSED)
    _, page, _ = await api("sessions", params={"status": "active,paused"})
    assert [s["id"] for s in page["sessions"]] == [sid]
    assert page["sessions"][0]["status"] == "paused"


# The recap after a resume is what this test watches: shown however short the pause.
@pytest.mark.parametrize("tutornb_config", [{"recap_after_seconds": 0}])
async def test_paused_session_refuses_messages_until_resumed(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a paused session with a socket
    session = await create_session(api)
    sid = session["id"]
    await api("sessions", sid, "pause", method="PUT")
    ws = await chat(sid)
    first = await ws.until("session")
    assert first["session"]["status"] == "paused"
    # When a message is sent
    await ws.send(message("are you there?", "p-1"))
    # Then it is refused with INVALID_SESSION_STATE and not stored
    error = await ws.until("error")
    assert error["code"] == "INVALID_SESSION_STATE"
    assert error["client_id"] == "p-1"
    # When the socket resumes the session
    await ws.send({"type": "resume"})
    # Then a state frame says active, and the tutor's resume turn streams in
    state = await ws.until("state")
    assert state["session"]["status"] == "active"
    resumed = await ws.until("message", is_tutor)
    assert resumed["message"]["text"] == "Echo: (resume)"
    # And messages are accepted again
    await ws.send(message("are you there?", "p-1"))
    ack = await ws.until("ack")
    assert ack["message"]["text"] == "are you there?"
    _, detail, _ = await api("sessions", sid)
    assert [m["role"] for m in detail["messages"]][:2] == ["tutor", "learner"]
    ws.close()


async def test_pause_and_close_frames_reach_every_socket(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given two sockets on an active session
    session = await create_session(api)
    tab_a = await chat(session["id"])
    tab_b = await chat(session["id"])
    await tab_a.until("session")
    await tab_b.until("session")
    # When A pauses, both tabs get a paused state frame; pausing again is an error for A only
    await tab_a.send({"type": "pause"})
    for tab in (tab_a, tab_b):
        assert (await tab.until("state"))["session"]["status"] == "paused"
    await tab_a.send({"type": "pause"})
    assert (await tab_a.until("error"))["code"] == "INVALID_SESSION_STATE"
    # When B closes it, both tabs learn it is closed
    await tab_b.send({"type": "close"})
    for tab in (tab_a, tab_b):
        assert (await tab.until("state"))["session"]["status"] == "closed"
    tab_a.close()
    tab_b.close()


# The recap after a resume is what this test watches: shown however short the pause.
@pytest.mark.parametrize("tutornb_config", [{"recap_after_seconds": 0}])
async def test_rest_resume_streams_to_connected_sockets(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a paused session with a socket open
    session = await create_session(api)
    await api("sessions", session["id"], "pause", method="PUT")
    ws = await chat(session["id"])
    await ws.until("session")
    # When it is resumed over REST
    code, resumed, _ = await api("sessions", session["id"], "resume", method="PUT")
    # Then the socket sees the state change and the tutor's "where we left off" message
    assert code == 200
    assert resumed["status"] == "active"
    assert (await ws.until("state"))["session"]["status"] == "active"
    await ws.until("delta")
    await ws.until("message", is_tutor)
    assert scripted.kinds == ["resume"]
    ws.close()


@pytest.mark.parametrize("tutornb_config", [{"rate_limit_burst": 3, "rate_limit_per_minute": 1}])
async def test_rate_limit_refuses_excess_without_touching_acknowledged_messages(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given a session whose bucket holds 3 messages and refills 1 a minute
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When 5 messages are sent at once
    for i in range(5):
        await ws.send(message(f"m{i}", f"r-{i}"))
    answers = []
    while len(answers) < 5:
        frame = await ws.recv()
        assert frame is not None
        if frame["type"] in ("ack", "error"):
            answers.append(frame)
    # Then 3 are acknowledged and 2 refused with RATE_LIMITED
    assert [f["type"] for f in answers] == ["ack", "ack", "ack", "error", "error"]
    assert {f["code"] for f in answers if f["type"] == "error"} == {"RATE_LIMITED"}
    assert [f["client_id"] for f in answers if f["type"] == "error"] == ["r-3", "r-4"]
    # And a resend of an acknowledged message is still acknowledged while limited
    await ws.send(message("m0", "r-0"))
    again = await ws.until("ack")
    assert again["message"]["id"] == answers[0]["message"]["id"]
    await service.drain()
    _, detail, _ = await api("sessions", session["id"])
    learners = [m["client_id"] for m in detail["messages"] if m["role"] == "learner"]
    assert learners == ["r-0", "r-1", "r-2"]
    ws.close()


async def test_frame_over_64_kib_closes_with_1009(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a socket on a session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When a frame larger than 64 KiB is sent
    await ws.send(message("x" * (70 * 1024), "big"))
    # Then the server closes the socket with 1009 and stores nothing
    assert await ws.recv() is None
    assert ws.ws.close_code == 1009
    _, detail, _ = await api("sessions", session["id"])
    assert detail["messages"] == []
    # And the server still answers
    code, _, _ = await api("status")
    assert code == 200


MALFORMED: list[str | bytes] = [
    "not json",
    "{",
    "[]",
    "null",
    '"message"',
    "1e999999",
    "{}",
    '{"type": "message"}',
    '{"type": "nope"}',
    '{"type": 5}',
    '{"type": "message", "client_id": "ok-1", "text": 5}',
    '{"type": "message", "client_id": "ok-1", "text": ""}',
    '{"type": "message", "client_id": "ok-1", "text": "   "}',
    '{"type": "message", "client_id": "bad id with spaces", "text": "x"}',
    '{"type": "message", "client_id": ["x"], "text": "x"}',
    '{"type": "message", "client_id": "ok-1", "text": "x", "extra": true}',
    '{"type": "pause", "now": true}',
    '{"type": "answer", "question_id": "q1", "choice": -1}',
    '{"type": "answer", "question_id": "no-such-question", "choice": 0}',
    '{"type": "answer", "question_id": "", "choice": "a"}',
    "[" * 20000 + "]" * 20000,
    '{"a":' * 8000 + "1" + "}" * 8000,
    json.dumps({"type": "message", "client_id": "ok-1", "text": "y" * 16001}),
    json.dumps({"type": "message", "client_id": "ok-1", "text": "\ud800"}),
    b"\xff\xfe\x00garbage",
    b'{"type": "message", "client_id": "bin-1", "text": "\xc3\x28"}',
]


async def test_malformed_frames_each_get_an_error_frame_and_the_socket_survives(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a socket on a session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    for raw in MALFORMED:
        # When a malformed frame is sent
        await ws.send(raw)
        # Then it is answered by an error frame with a code, never by a crash
        error = await ws.recv()
        assert error is not None, raw[:40]
        assert error["type"] == "error", raw[:40]
        assert error["code"] in {"INVALID_REQUEST", "PAYLOAD_TOO_LARGE"}, error
        assert "Traceback" not in error["message"]
        if "client_id" in error:
            assert error["client_id"] == "ok-1"
    # And the socket still works: a valid message is acknowledged; nothing malformed was stored
    await ws.send(message("finally valid", "good-1"))
    ack = await ws.until("ack")
    assert ack["message"]["seq"] == 1
    ws.close()


async def test_tutor_failure_sends_error_and_keeps_the_message_for_a_retry(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given a tutor whose model endpoint is down
    scripted.fail = True
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When the learner sends a message
    await ws.send(message("explain loops", "f-1"))
    ack = await ws.until("ack")
    # Then an error frame names the tutor's code and the learner message stays stored
    error = await ws.until("error")
    assert error["code"] == "TUTOR_UNAVAILABLE"
    assert error["client_id"] == "f-1"
    _, detail, _ = await api("sessions", session["id"])
    assert [m["id"] for m in detail["messages"]] == [ack["message"]["id"]]
    # When the tutor is back and the client resends the same message
    scripted.fail = False
    await ws.send(message("explain loops", "f-1"))
    again = await ws.until("ack")
    reply = await ws.until("message", is_tutor)
    # Then the same stored message is answered, once
    assert again["message"]["id"] == ack["message"]["id"]
    assert reply["message"]["text"] == "Echo: explain loops"
    await service.drain()
    _, detail, _ = await api("sessions", session["id"])
    assert [m["role"] for m in detail["messages"]] == ["learner", "tutor"]
    ws.close()


async def test_phase_changes_are_validated_logged_and_announced(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given a session in intake and a tutor that jumps straight to "completed"
    session = await create_session(api)
    sid = session["id"]
    ws = await chat(sid)
    await ws.until("session")
    scripted.phase = Phase.COMPLETED
    # When a turn runs
    await ws.send(message("done?", "ph-1"))
    await ws.until("message", is_tutor)
    await service.drain()
    # Then the jump is refused, the phase stays, and the refusal is in the action log
    assert service.store.get_session(sid).phase is Phase.INTAKE
    refused = [a for a in service.store.actions(sid) if a.action == "phase_change_refused"]
    assert refused[0].data == {"from": "intake", "to": "completed"}
    # When the tutor moves to a phase the machine allows
    scripted.phase = Phase.PLANNING
    await ws.send(message("make a plan", "ph-2"))
    # Then the change is stored and every socket gets a state frame
    state = await ws.until("state")
    assert state["session"]["phase"] == "planning"
    assert service.store.get_session(sid).phase is Phase.PLANNING
    ws.close()


async def test_headless_ask_returns_the_durable_reply_and_updates_sockets(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor, service: TutorService
) -> None:
    # Given a socket watching a session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When a script asks through the service (as %tutor ask does)
    reply = await service.ask(session["owner"], session["id"], "headless question")
    # Then the reply is durable and the socket saw the question and the answer
    assert reply.text == "Echo: headless question"
    stored = service.store.messages(session["id"])
    assert [m.id for m in stored][-1] == reply.id
    learner = await ws.until("message")
    assert learner["message"]["text"] == "headless question"
    await ws.until("message", is_tutor)
    ws.close()


async def test_deleting_a_session_tells_its_sockets(
    api: Fetch, chat: OpenChat, scripted: ScriptedTutor
) -> None:
    # Given a socket on a session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")
    # When the session is deleted over REST
    code, _, _ = await api("sessions", session["id"], method="DELETE")
    assert code == 204
    # Then the socket gets SESSION_NOT_FOUND, and later frames too
    assert (await ws.until("error"))["code"] == "SESSION_NOT_FOUND"
    await ws.send(message("still there?", "d-1"))
    assert (await ws.until("error"))["code"] == "SESSION_NOT_FOUND"
    ws.close()


async def test_socket_handshake_errors(api: Fetch, chat: OpenChat) -> None:
    # Given no session with this id, and an id that is not an id
    # When sockets are opened on them
    # Then the handshake is refused with 404 and 400
    with pytest.raises(HTTPClientError) as missing:
        await chat("no_such_session")
    assert missing.value.code == 404
    with pytest.raises(HTTPClientError) as malformed:
        await chat("bad.id")
    assert malformed.value.code == 400
