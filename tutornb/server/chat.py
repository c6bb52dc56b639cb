"""The chat WebSocket ``/tutornb/api/sessions/{id}/chat``: frames in, ``TutorService.receive``,
frames out.

Security mirrors jupyter-server's kernel socket: ``@ws_authenticated``, an authorizer check (action
``execute`` on resource ``tutornb``, as jupyter-server's authorizers expect for sockets), and
``WebSocketMixin.check_origin`` (a cookie-authenticated socket from a foreign Origin is refused,
token-authenticated scripts are exempt). Frames above 64 KiB close the socket with 1009 (tornado's
``max_message_size``); everything smaller but malformed is answered by an error frame from the
service.

A client that stops reading is closed with 1008 once more than ``max_socket_pending_bytes`` wait to be
sent to it (frames are queued without waiting for the flush, so one slow socket never stalls a
broadcast); the memory its queue held is then given back to the system (see ``memory``).

When a new socket would exceed a cap, this handler is how the service learns whether an attached
socket is alive (``answers``: nothing over the pending limit, and a ping answered in time) and how
it evicts one that is not (closed with 1008 ``EVICTED``), so idle sockets cannot lock a learner out.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.iostream import StreamBufferFullError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from tutornb.errors import InvalidRequest, TutorNBError
from tutornb.server.base import TutorNBMixin
from tutornb.server.heaptrim import release_soon

if TYPE_CHECKING:
    from tutornb.service import ChatConnection

MAX_FRAME_BYTES = 64 * 1024
#: The close reason a client that stopped reading gets (it sees it once it reads again).
BACKLOG_REASON = "SLOW_CONSUMER: too many frames waiting; reconnect to catch up"

#: Disconnects scheduled from tornado's synchronous on_close, kept referenced until they finish.
_CLOSING: set[asyncio.Future[Any]] = set()


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a write's outcome so a peer that vanished mid-write leaves no 'never retrieved'
    noise."""
    if not future.cancelled():
        future.exception()


def pending_bytes(handler: WebSocketHandler) -> int:
    """Bytes queued on the socket's stream and not yet taken by the kernel."""
    connection = handler.ws_connection
    stream = getattr(connection, "stream", None)
    buffer = getattr(stream, "_write_buffer", None)
    try:
        return len(buffer) if buffer is not None else 0
    except TypeError:
        return 0


class ChatSocketHandler(
    TutorNBMixin, ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler
):  # type: ignore[misc]
    conn: ChatConnection | None = None
    overflowed = False
    #: The size of a frame larger than the limit itself (a long restore payload) while it is still
    #: being sent: the frames right behind it must not count it against the client.
    _slack = 0
    #: Set by the next pong while a liveness probe waits for one (shared by concurrent probes).
    _probe: asyncio.Future[bool] | None = None

    def set_default_headers(self) -> None:
        """jupyter-server's API headers make no sense on a socket (as in its kernel socket)."""

    def get_compression_options(self) -> dict[str, Any] | None:
        return None

    @property
    def max_message_size(self) -> int:
        # Per handler, not the application-wide setting: kernel sockets keep their own limit.
        return MAX_FRAME_BYTES

    @ws_authenticated
    async def get(self, session_id: str) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(403)
        origin = self.get_origin()
        if origin is not None and not self.check_origin(origin):
            # Checked before looking the session up, so a foreign page cannot probe for ids.
            raise web.HTTPError(403)
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            raise InvalidRequest("This endpoint speaks WebSocket only.")
        self.session_owner = self.owner
        await self.service_ready()
        # A malformed id is 400 and an unknown one 404, before the upgrade (the service checks both).
        self.service.get_session(self.session_owner, session_id)
        await super().get(session_id)

    async def open(self, session_id: str) -> None:  # type: ignore[override]
        super().open()  # starts jupyter-server's keep-alive pings
        self.set_nodelay(True)
        try:
            self.conn = await self.service.connect(self.session_owner, session_id, self._sink, self)
        except TutorNBError as exc:
            from tutornb.frames import error_frame

            await self._sink(error_frame(exc))
            self.close(1011 if exc.http_status >= 500 else 1008, exc.code)

    async def on_message(self, message: str | bytes) -> None:
        if self.conn is not None:
            await self.service.receive(self.conn, message)

    def on_close(self) -> None:
        if self.overflowed:
            release_soon()
        conn, self.conn = self.conn, None
        if conn is not None:
            future = asyncio.ensure_future(self.service.disconnect(conn))
            _CLOSING.add(future)
            future.add_done_callback(_CLOSING.discard)

    async def _sink(self, frame: dict[str, Any]) -> None:
        """Queues one frame; not awaiting the flush keeps one slow socket from stalling a
        broadcast. A socket whose queue is over the limit is closed instead (the frame is in the
        store; a reconnect restores it)."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            raise WebSocketClosedError()
        limit = self.service.config.max_socket_pending_bytes
        pending = pending_bytes(self)
        if pending <= limit:
            self._slack = 0
        elif pending > limit + self._slack:
            self._close_slow_consumer()
            raise WebSocketClosedError()
        from tutornb.frames import encode  # loaded with the service, on the first request

        text = encode(frame)
        if len(text) > limit:
            self._slack = max(self._slack, len(text))
        try:
            future = self.write_message(text)
        except StreamBufferFullError:
            self._close_slow_consumer()
            raise WebSocketClosedError() from None
        future.add_done_callback(_consume)

    async def answers(self, timeout: float) -> bool:
        """A sign of life: a ping answered within ``timeout`` by a client that keeps reading."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            return False
        if pending_bytes(self) > self.service.config.max_socket_pending_bytes:
            return False
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_future()
            try:
                self.ping(b"tutornb-probe")
            except WebSocketClosedError:
                return False
        try:
            return await asyncio.wait_for(asyncio.shield(self._probe), timeout)
        except asyncio.TimeoutError:
            return False

    def on_pong(self, data: bytes) -> None:
        super().on_pong(data)  # type: ignore[no-untyped-call]
        if self._probe is not None and not self._probe.done():
            self._probe.set_result(True)

    def evict(self, reason: str) -> None:
        self.log.info("tutornb: evicting a chat socket that did not answer (%s)", reason)
        self.close(1008, reason)

    def _close_slow_consumer(self) -> None:
        self.overflowed = True
        self.log.info(
            "tutornb: closed a chat socket that stopped reading (%d bytes queued)", pending_bytes(self)
        )
        self.close(1008, BACKLOG_REASON)
