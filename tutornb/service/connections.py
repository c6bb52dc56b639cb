"""The chat connections attached to each session, and the fan-out of frames to them.

A connection is one socket or one comm panel; transports hold it opaquely and hand it back to the
service. Connections are capped per session and per owner because each one costs a write buffer:
an unbounded number is a memory leak on demand (``ServiceConfig.max_sockets_per_session`` and
``max_sockets_per_owner``). A frame that cannot be delivered marks its connection closed and is
dropped: everything worth keeping is in the store already, and the transport calls ``disconnect``.

A cap must not let idle connections lock a learner out of their own session: when a new connection
would exceed a cap, every connection that counts against it is asked for a sign of life (a socket:
a WebSocket ping answered within :data:`PROBE_SECONDS`, and no more than the allowed bytes waiting
to be sent), and those that give none are evicted to make room. Only if every one of them is alive
is the new connection refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any, Protocol

from tutornb.errors import RateLimited

FrameSink = Callable[[dict[str, Any]], Awaitable[None]]
#: How long a connection at a full cap has to answer before it is evicted for a newcomer.
PROBE_SECONDS = 3.0
EVICTED_REASON = "EVICTED: idle connection closed to make room for a new one"


class Liveness(Protocol):
    """What a transport can tell about its connection (sockets can; a comm panel has no probe)."""

    async def answers(self, timeout: float) -> bool:
        """Whether the peer shows it is alive within ``timeout`` seconds."""

    def evict(self, reason: str) -> None:
        """Closes the connection (its transport then calls ``disconnect``)."""


_CONNECTION_IDS = count(1)


class ChatConnection:
    """One socket or one comm panel attached to a session; opaque to transports."""

    __slots__ = ("closed", "id", "liveness", "owner", "session_id", "sink")

    def __init__(
        self, owner: str, session_id: str, sink: FrameSink, liveness: Liveness | None = None
    ) -> None:
        self.id = next(_CONNECTION_IDS)
        self.owner = owner
        self.session_id = session_id
        self.sink = sink
        self.liveness = liveness
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
        """Open connections of the session (an evicted one is gone as soon as it is closed)."""
        return sum(1 for conn in self._by_session.get(session_id, {}).values() if not conn.closed)

    def _owned(self, owner: str) -> list[ChatConnection]:
        return [
            conn
            for peers in self._by_session.values()
            for conn in peers.values()
            if conn.owner == owner and not conn.closed
        ]

    def _full(self, owner: str, session_id: str) -> list[ChatConnection]:
        """The connections counting against a cap the newcomer would exceed (none: there is room)."""
        full: dict[int, ChatConnection] = {}
        if self._max_per_session and self.count(session_id) >= self._max_per_session:
            full.update((c.id, c) for c in self._by_session[session_id].values() if not c.closed)
        if self._max_per_owner:
            mine = self._owned(owner)
            if len(mine) >= self._max_per_owner:
                full.update((c.id, c) for c in mine)
        return list(full.values())

    async def make_room(
        self, owner: str, session_id: str, timeout: float = PROBE_SECONDS, rounds: int = 3
    ) -> int:
        """Evicts the connections in the way of a new one that show no sign of life; how many.

        Several rounds: while this newcomer waited, others may have taken the room it made (a flood
        of idle sockets refills the cap), so the ones now in the way are probed in turn, until
        there is room, every connection in the way is alive, or the rounds are used up."""
        evicted = 0
        for _ in range(rounds):
            candidates = [conn for conn in self._full(owner, session_id) if conn.liveness is not None]
            if not candidates:
                break
            answered = await asyncio.gather(
                *(conn.liveness.answers(timeout) for conn in candidates if conn.liveness is not None)
            )
            for conn, alive in zip(candidates, answered, strict=True):
                if not alive and not conn.closed and conn.liveness is not None:
                    conn.closed = True
                    conn.liveness.evict(EVICTED_REASON)
                    evicted += 1
            if all(answered):
                break
        if evicted:
            self.log.info("tutornb: evicted %d idle chat connection(s) to make room", evicted)
        return evicted

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
        if per_owner and len(self._owned(owner)) >= per_owner:
            raise RateLimited(
                f"You already have {per_owner} chat connections open; close some tabs and try again."
            )

    def attach(
        self, owner: str, session_id: str, sink: FrameSink, liveness: Liveness | None = None
    ) -> ChatConnection:
        conn = ChatConnection(owner, session_id, sink, liveness)
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
