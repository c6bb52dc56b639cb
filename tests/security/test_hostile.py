"""Hostile input against a live server: XSS payloads as learner messages and as tutor output, 10,000
malformed socket frames, oversize frames and bodies, and a rate-limit burst.

The server is a real ``jupyter server`` subprocess (``hostile_server``) whose tutor, installed
through the ``tutornb.tutors`` entry point, echoes every learner message back as its reply, as a
citation and as a quiz. Its log is captured: no test here may leave an unhandled exception in it.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import httpx
import pytest
import websocket

from tests.support.chat_client import learner_messages, open_socket, read_until
from tests.support.frame_storm import OVERSIZE, run_storm
from tests.support.hostile_chat import XssSession
from tests.support.hostile_payloads import FAMILIES, INVALID_UTF8_TEXT, malformed_frames, xss_payloads
from tests.support.live_server import LiveServer
from tests.support.security_helpers import html_problems
from tutornb.render import render_markdown, sanitize_html

MALFORMED_FRAMES = int(os.environ.get("TUTORNB_MALFORMED_FRAMES", "10000"))


def test_payload_families_are_broad() -> None:
    payloads = xss_payloads()
    assert len(payloads) >= 200
    assert {p.family.split(":")[0] for p in payloads} == set(FAMILIES)
    assert len({p.text for p in payloads}) == len(payloads)


def test_the_python_sanitizer_neutralizes_every_payload() -> None:
    for payload in xss_payloads(contexts=4):
        # When a payload is rendered as Markdown (and, on its own, as HTML through the fence)
        for html in (
            render_markdown(payload.text),
            render_markdown("You said: " + payload.text),
            sanitize_html(payload.text),
        ):
            # Then nothing executable, clobbering or command-linking survives
            assert html_problems(html) == [], (payload.number, payload.family, html)


def test_xss_learner_messages_and_tutor_echoes_are_stored_verbatim_and_sanitized(
    xss_sessions: list[XssSession], hostile_server: LiveServer
) -> None:
    # Given every payload sent over the real socket and echoed by the hostile tutor
    sent = [p for s in xss_sessions for p in s.payloads]
    assert len(sent) >= 200
    for session in xss_sessions:
        by_client = {m["client_id"]: m for m in session.messages if m["role"] == "learner"}
        tutors = [m for m in session.messages if m["role"] == "tutor"]
        # Then every learner message is stored exactly as typed (text is never mangled)...
        for payload in session.payloads:
            stored = by_client[f"xss-{payload.number}"]
            assert stored["text"] == payload.text
            # ...and its html is sanitized
            assert html_problems(stored["html"] or "") == [], (payload.number, stored["html"])
        # And every tutor echo (reply, citation, quiz) is stored, its html sanitized too
        assert len(tutors) == len(session.payloads)
        for reply in tutors:
            assert html_problems(reply["html"] or "") == [], reply["html"]
            assert reply["citations"]
            assert reply["quiz"]["choices"][0] in reply["text"]
        # And the restore payload carries the same transcript
        assert [m["id"] for m in session.detail["messages"]] == [m["id"] for m in session.messages]
    assert hostile_server.unhandled() == []


def test_malformed_frames_each_get_an_error_and_the_server_keeps_answering(
    hostile_server: LiveServer,
) -> None:
    # Given a session and a socket on it
    with hostile_server.client() as client:
        session_id = client.post("sessions", json={"title": "frames"}).json()["id"]
    frames = malformed_frames(MALFORMED_FRAMES)
    # When malformed frames arrive (invalid UTF-8, truncated JSON, deep nesting, wrong types, huge
    # strings, unknown types, binary garbage...), then invalid UTF-8 text frames, then frames
    # announcing more than 64 KiB
    report = run_storm(hostile_server, session_id, frames)
    # Then each malformed frame is answered by exactly one error frame, on a socket that lives on
    assert report.answered == len(frames)
    assert set(report.answers) <= {"INVALID_REQUEST", "PAYLOAD_TOO_LARGE"}, report.answers
    assert report.other_frames == []
    # And a text frame that is not UTF-8 is refused by the socket layer itself: the server fails
    # the connection (RFC 6455 7.1.7), and the next connection works
    assert report.invalid_utf8_closed == report.invalid_utf8_sent == len(INVALID_UTF8_TEXT)
    # And a frame over 64 KiB closes the socket with 1009, however large it claims to be
    assert report.oversize_close_codes == [1009] * len(OVERSIZE)

    # And nothing was stored, the server still answers, chats, and logged no unhandled exception
    assert learner_messages(hostile_server, session_id) == []
    ws = open_socket(hostile_server, session_id)
    ws.send(json.dumps({"type": "resume"}))  # (closing the last socket paused it)
    ws.send(json.dumps({"type": "message", "client_id": "after-storm", "text": "still there?"}))
    read_until(ws, lambda got: any(f["type"] == "ack" for f in got))
    ws.close()
    with hostile_server.client() as client:
        assert client.get("status").status_code == 200
    assert hostile_server.unhandled() == []


def test_rate_limit_holds_without_losing_an_acknowledged_message(
    hostile_server: LiveServer,
) -> None:
    # Given a session with the default limit (120 a minute, bursts of 20)
    with hostile_server.client() as client:
        session_id = client.post("sessions", json={"title": "burst"}).json()["id"]
    ws = open_socket(hostile_server, session_id)
    try:
        # When a script sends 60 messages at once
        ids = [f"burst-{i}" for i in range(60)]
        for client_id in ids:
            ws.send(json.dumps({"type": "message", "client_id": client_id, "text": client_id}))
        frames = read_until(
            ws,
            lambda got: (
                sum(1 for f in got if f["type"] in ("ack", "error") and f.get("client_id")) >= len(ids)
            ),
        )
        acked = [f["client_id"] for f in frames if f["type"] == "ack"]
        limited = [
            f["client_id"]
            for f in frames
            if f["type"] == "error" and f["code"] == "RATE_LIMITED" and f.get("client_id")
        ]
        # Then the excess is refused with RATE_LIMITED, the rest acknowledged, nothing else
        assert sorted(acked + limited) == sorted(ids)
        assert len(acked) >= 20
        assert len(limited) >= 10
        # And every acknowledged message is stored exactly once; no refused one is stored
        stored = Counter(m["client_id"] for m in learner_messages(hostile_server, session_id))
        assert all(stored[c] == 1 for c in acked)
        assert not any(stored[c] for c in limited)

        # When the acknowledged ones are resent while the bucket is still empty
        for client_id in acked:
            ws.send(json.dumps({"type": "message", "client_id": client_id, "text": client_id}))
        again = read_until(ws, lambda got: sum(1 for f in got if f["type"] in ("ack", "error")) >= len(acked))
        # Then they are acknowledged again, never refused (acknowledged is forever)
        assert sorted(f["client_id"] for f in again if f["type"] in ("ack", "error")) == sorted(acked)
        assert all(f["type"] == "ack" for f in again if f["type"] in ("ack", "error"))

        # And once the bucket refills, a refused message goes through on retry, once
        time.sleep(1.2)
        retry = limited[0]
        ws.send(json.dumps({"type": "message", "client_id": retry, "text": retry}))
        read_until(ws, lambda got: any(f.get("client_id") == retry for f in got))
    finally:
        ws.close()
    stored = Counter(m["client_id"] for m in learner_messages(hostile_server, session_id))
    assert stored[retry] == 1
    assert all(n == 1 for n in stored.values())
    assert hostile_server.unhandled() == []


def test_rest_bodies_over_one_mib_answer_413(hostile_server: LiveServer) -> None:
    big = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
    with hostile_server.client() as client:
        session_id = client.post("sessions", json={}).json()["id"]
        before = client.get("status").json()["store"]
        for method, path in [
            ("POST", "sessions"),
            ("POST", "sessions/import"),
            ("PUT", f"sessions/{session_id}/pause"),
            ("POST", "no/such/route"),
        ]:
            # When a body over 1 MiB arrives, with a Content-Length or chunked
            for content in (big, iter([big[:1000], big[1000:]])):
                resp = client.request(method, path, content=content)
                # Then it is refused with a JSON 413 before any parsing
                assert resp.status_code == 413, (method, path)
                assert resp.json()["code"] == "PAYLOAD_TOO_LARGE"
        # And a body just under the limit is parsed (and refused for what it is, not its size)
        resp = client.post("sessions/import", content=b" " * (1024 * 1024 - 10) + b"{}")
        assert resp.status_code == 400
        # And nothing was written; the server answers
        after = client.get("status").json()["store"]
        assert (after["sessions"], after["messages"]) == (before["sessions"], before["messages"])
        assert client.get(f"sessions/{session_id}").json()["status"] == "active"
    assert hostile_server.unhandled() == []


def test_the_live_server_refuses_unauthenticated_hostile_clients(
    hostile_server: LiveServer,
) -> None:
    # (the live server is a real deployment: the token matters there too)
    with httpx.Client(base_url=hostile_server.api_url, timeout=10) as anonymous:
        assert anonymous.get("sessions").status_code == 403
        assert anonymous.post("sessions", json={}).status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(hostile_server.ws_url("abc"), timeout=5)
    assert refused.value.status_code == 403
