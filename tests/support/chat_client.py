"""A synchronous chat client for a live server (websocket-client), shared by the hostile, crash
and fuzz tests and the bench scripts."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import websocket

from tests.support.live_server import LiveServer
from tutornb.models import Role


def open_socket(server: LiveServer, session_id: str, timeout: float = 10.0) -> websocket.WebSocket:
    ws = websocket.create_connection(
        server.ws_url(session_id),
        header=[f"Authorization: token {server.token}"],
        timeout=timeout,
    )
    first = json.loads(ws.recv())
    if first.get("type") != "session":
        raise AssertionError(f"the first frame is {first.get('type')!r}, not 'session'")
    return ws


def learner_messages(server: LiveServer, session_id: str) -> list[dict[str, Any]]:
    """Every stored learner message of a session, through REST (paging by ``after_seq``)."""
    return [m for m in all_messages(server, session_id) if m["role"] == Role.LEARNER.value]


def all_messages(server: LiveServer, session_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    with server.client() as client:
        while True:
            resp = client.get(f"sessions/{session_id}/messages", params={"after_seq": after, "limit": 1000})
            resp.raise_for_status()
            page = resp.json()["messages"]
            if not page:
                return out
            out.extend(page)
            after = page[-1]["seq"]


def read_until(ws: websocket.WebSocket, done: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Reads frames until ``done(frames_so_far)`` is true; returns every frame read."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {len(frames)} frames")
        frames.append(json.loads(ws.recv()))
    return frames


class LiveTab:
    """A socket that keeps reading in the background (so it answers pings), as a browser tab does:
    at a full cap the server evicts only sockets that do not answer."""

    def __init__(self, server: LiveServer, session_id: str) -> None:
        self.ws = open_socket(server, session_id)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        self.ws.settimeout(0.5)
        while not self._stop.is_set():
            try:
                self.ws.recv()  # websocket-client answers a ping while it reads
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException):
                return

    @property
    def open(self) -> bool:
        return self._reader.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._reader.join(2)
        self.ws.close()
