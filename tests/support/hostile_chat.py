"""Sends XSS payloads through a live server's chat socket, one session per burst (shared by the
hostile tests, the browser test and ``bench/hostile.py``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.chat_client import all_messages, open_socket, read_until
from tests.support.hostile_payloads import Payload
from tests.support.live_server import LiveServer

#: The server's default burst: a session never receives more at once, so nothing is rate limited.
RATE_BURST = 20


@dataclass
class XssSession:
    session_id: str
    payloads: list[Payload]
    detail: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)


def _tutor_replies(frames: list[dict[str, Any]]) -> int:
    return sum(1 for f in frames if f["type"] == "message" and f["message"]["role"] == "tutor")


def send_payloads(server: LiveServer, payloads: list[Payload]) -> list[XssSession]:
    sessions: list[XssSession] = []
    for start in range(0, len(payloads), RATE_BURST):
        chunk = payloads[start : start + RATE_BURST]
        first = chunk[0].text
        body = {
            "title": first[:200],
            "context": {
                "course_title": first[:500],
                "module_title": chunk[-1].text[:500],
                "course_id": "xss",
            },
        }
        with server.client() as client:
            created = client.post("sessions", json=body)
        created.raise_for_status()
        session = XssSession(created.json()["id"], chunk)
        ws = open_socket(server, session.session_id)
        try:
            for payload in chunk:
                frame = {"type": "message", "client_id": f"xss-{payload.number}"}
                ws.send(json.dumps({**frame, "text": payload.text}))
            # Each payload: its ack, then the echoing tutor's stored reply.
            expected = len(chunk)
            read_until(ws, lambda frames: _tutor_replies(frames) >= expected)  # noqa: B023
        finally:
            ws.close()
        session.messages = all_messages(server, session.session_id)
        with server.client() as client:
            session.detail = client.get(f"sessions/{session.session_id}").json()
        sessions.append(session)
    return sessions
