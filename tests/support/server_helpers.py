"""Helpers shared by the server tests (a uniquely named module: tests folders are not packages)."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpclient import HTTPResponse
from tornado.websocket import WebSocketClientConnection

Fetch = Callable[..., Awaitable[tuple[int, Any, HTTPResponse]]]


async def create_session(api: Fetch, **context: str) -> dict[str, Any]:
    code, data, _ = await api(
        "sessions", method="POST", body={"context": context, "title": context.get("title")}
    )
    assert code == 201, data
    return dict(data)


class Chat:
    """A chat socket with helpers that read frames until the one a test waits for."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def recv(self, timeout: float = 10.0) -> dict[str, Any] | None:
        raw = await asyncio.wait_for(self.ws.read_message(), timeout)
        if raw is None:
            return None
        frame = json.loads(raw)
        self.seen.append(frame)
        return dict(frame)

    async def until(
        self, kind: str, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            assert frame is not None, f"socket closed while waiting for {kind!r}"
            if frame["type"] == kind and (predicate is None or predicate(frame)):
                return frame

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            frame = json.dumps(frame)
        await self.ws.write_message(frame, binary=isinstance(frame, bytes))

    def close(self) -> None:
        self.ws.close()


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Polls ``check`` until it returns a truthy value (for effects of a socket closing)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")
