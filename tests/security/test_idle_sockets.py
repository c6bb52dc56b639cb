"""Idle sockets cannot lock a learner out of their own session (a live server, real sockets).

300 sockets that connect and then never read (so never answer a ping) are thrown at one session
whose cap is 20 per session. The learner's own tab, which reads and answers pings like any
browser, still gets in: the idle sockets in its way are probed and evicted. Live sockets are never
evicted: with 20 tabs that answer, the 21st is still refused with ``RATE_LIMITED``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
import websocket

from tests.support.chat_client import open_socket
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("idle") / "server",
        tutornb={"max_sockets_per_session": 20, "max_sockets_per_owner": 400},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _session(server: LiveServer, title: str) -> str:
    with server.client() as client:
        return str(client.post("sessions", json={"title": title}).json()["id"])


def _idle(server: LiveServer, session_id: str) -> websocket.WebSocket:
    """A socket that completes the handshake and then never reads (so never answers a ping)."""
    return websocket.create_connection(
        server.ws_url(session_id),
        header=[f"Authorization: token {server.token}"],
        sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
        timeout=30,
    )


def test_the_learners_tab_gets_in_past_300_idle_sockets(server: LiveServer) -> None:
    # Given a session with 300 idle sockets thrown at it: each has been let in or refused (its
    # first frame read, nothing after that), and 20 of them hold the cap
    sid = _session(server, "idle")
    idle = [_idle(server, sid) for _ in range(300)]
    try:
        first = [json.loads(ws.recv()) for ws in idle]
        kinds = {kind: sum(1 for f in first if f["type"] == kind) for kind in ("session", "error")}
        assert kinds["session"] >= 20
        assert kinds["session"] + kinds["error"] == 300
        # When the learner's own tab connects
        tab = open_socket(server, sid, timeout=30)
        # Then it is in: its first frame is the session, not RATE_LIMITED
        tab.close()
    finally:
        for ws in idle:
            ws.close()
    assert "evicted" in server.log_text()


def test_live_tabs_are_not_evicted(server: LiveServer) -> None:
    # Given 20 tabs that keep reading (they answer pings)
    sid = _session(server, "live")
    stop = threading.Event()
    tabs = [open_socket(server, sid, timeout=30) for _ in range(20)]
    readers = [threading.Thread(target=_keep_reading, args=(ws, stop), daemon=True) for ws in tabs]
    for reader in readers:
        reader.start()
    try:
        # When a 21st connects
        extra = websocket.create_connection(
            server.ws_url(sid), header=[f"Authorization: token {server.token}"], timeout=30
        )
        first = json.loads(extra.recv())
        extra.close()
        # Then it is refused, and every live tab is still open (its reader still running)
        assert (first["type"], first["code"]) == ("error", "RATE_LIMITED")
        assert all(reader.is_alive() for reader in readers)
    finally:
        stop.set()
        for ws in tabs:
            ws.close()


def _keep_reading(ws: websocket.WebSocket, stop: threading.Event) -> None:
    ws.settimeout(0.5)
    while not stop.is_set():
        try:
            ws.recv()  # websocket-client answers a ping while it reads
        except websocket.WebSocketTimeoutException:
            continue
        except (OSError, websocket.WebSocketException):
            return
