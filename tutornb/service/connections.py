"""The chat connections attached to each session, and the fan-out of frames to them.

A connection is one socket or one comm panel; transports hold it opaquely and hand it back to the
service. Connections are capped per session and per owner because each one costs a write buffer:
an unbounded number is a memory leak on demand (``ServiceConfig.max_sockets_per_session`` and
``max_sockets_per_owner``). A frame that cannot be delivered marks its connection closed and is
dropped: everything worth keeping is in the store already, and the transport calls ``disconnect``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

from tutornb.errors import RateLimited

FrameSink = Callable[[dict[str, Any]], Awaitable[None]]

_CONNECTION_IDS = count(1)


class ChatConnection:
    """One socket or one comm panel attached to a session; opaque to transports."""

    __slots__ = ("closed", "id", "owner", "session_id", "sink")

    def __init__(self, owner: str, session_id: str, sink: FrameSink) -> None:
        self.id = next(_CONNECTION_IDS)
        self.owner = owner
        self.session_id = session_id
        self.sink = sink
        self.closed = False

    def __repr__(self) -> str:
        return f"ChatConnection(id={self.id}, session_id={self.session_id!r})"


class Connections:
    """Who is attached to which session, and delivering frames to them in order."""

    def __init__(self, logger: logging.Logger, *, max_per_session: int, max_per_owner: int) -> None:
        self.log = logger
        self._max_per_session = max_per_session
        self._max_per_owner = max_per_owner
        self._by_session: dict[str, dict[int, ChatConnection]] = {}

    def count(self, session_id: str) -> int:
        return len(self._by_session.get(session_id, {}))

    def watched(self, session_id: str) -> bool:
        """Whether anyone is attached to the session (a frame for it would reach someone)."""
        return session_id in self._by_session

    def session_ids(self) -> list[str]:
        return list(self._by_session)

    def check_caps(self, owner: str, session_id: str) -> None:
        per_session = self._max_per_session
        if per_session and self.count(session_id) >= per_session:
            raise RateLimited(
                f"This session already has {per_session} chat connections open; close a tab and try again."
            )
        per_owner = self._max_per_owner
        if per_owner:
            mine = sum(
                1 for peers in self._by_session.values() for conn in peers.values() if conn.owner == owner
            )
            if mine >= per_owner:
                raise RateLimited(
                    f"You already have {per_owner} chat connections open; close some tabs and try again."
                )

    def attach(self, owner: str, session_id: str, sink: FrameSink) -> ChatConnection:
        conn = ChatConnection(owner, session_id, sink)
        self._by_session.setdefault(session_id, {})[conn.id] = conn
        return conn

    def detach(self, conn: ChatConnection) -> bool:
        """Forgets ``conn``; True when it was the session's last connection (nobody watches now)."""
        peers = self._by_session.get(conn.session_id)
        if peers is None:
            return False
        peers.pop(conn.id, None)
        if peers:
            return False
        del self._by_session[conn.session_id]
        return True

    def drop_session(self, session_id: str) -> list[ChatConnection]:
        """Forgets every connection of a session (deleted); they are returned to be told so."""
        return list(self._by_session.pop(session_id, {}).values())

    def clear(self) -> None:
        self._by_session.clear()

    async def send(self, conn: ChatConnection, frame: dict[str, Any]) -> None:
        if conn.closed:
            return
        try:
            await conn.sink(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A socket that went away: its transport calls disconnect(); the frame is in the store
            # anyway.
            conn.closed = True
            self.log.debug("tutornb: dropped a frame for a closed connection (%s)", type(exc).__name__)

    async def broadcast(self, session_id: str, frame: dict[str, Any]) -> None:
        for conn in list(self._by_session.get(session_id, {}).values()):
            await self.send(conn, frame)
