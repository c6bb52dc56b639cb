"""REST handlers: each method turns an HTTP request into one TutorService call and its result into
JSON.

No session logic lives here. Every method is ``@web.authenticated`` then ``@authorized`` (resource
``tutornb``), in that order, which is also what jupyter-server's startup check looks for.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from tutornb.errors import InvalidRequest, NotFound, PayloadTooLarge
from tutornb.server.base import TutorNBMixin

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tutornb.service import StatusAction

#: REST bodies above this are refused with 413 before any parsing.
MAX_BODY_BYTES = 1024 * 1024
_TOO_LARGE = PayloadTooLarge("Request bodies are limited to 1 MiB.")
#: A body over the limit but under this is read to its end and dropped, then refused: answering
#: while a client is still sending makes its TCP stack discard the answer (a reset). Above it, the
#: refusal comes at once and the connection closes.
DRAIN_BODY_BYTES = 4 * 1024 * 1024


@web.stream_request_body
class TutorNBHandler(TutorNBMixin, ExtensionHandlerMixin, APIHandler):
    """Base of the REST handlers.

    Bodies are streamed (tornado's default reads a whole body, up to jupyter-server's 500 MiB
    limit, before any handler code runs): ``prepare`` refuses an unauthenticated request (403) or a
    declared length over :data:`MAX_BODY_BYTES` (413) before a byte of the body is read, and
    :meth:`data_received` stops a body that grows past the limit as it arrives. Finishing early
    makes tornado close the connection instead of reading the rest.
    """

    _body: bytearray | None = None
    _received = 0
    #: The refusal to answer once the body has been read (see :meth:`_refuse_when_read`).
    _refusal: Exception | None = None

    async def prepare(self) -> None:  # type: ignore[override]
        length = self.request.headers.get("Content-Length")
        declared = int(length) if length is not None and length.isdigit() else None
        try:
            await super().prepare()
        except web.HTTPError as refusal:
            # jupyter-server's own checks (e.g. the XSRF check of a request without credentials)
            # refuse here: the same care as below, so a small body does not turn the answer into
            # a reset connection.
            if declared is not None and declared > MAX_BODY_BYTES:
                raise
            self._refuse_when_read(refusal)
            return
        if self.current_user is None and self.request.method != "OPTIONS":
            # (A CORS preflight is answered without credentials, by jupyter-server's design.)
            if declared is not None and declared > MAX_BODY_BYTES:
                raise web.HTTPError(403)
            # A small body is most likely in flight already: read and drop it (never kept), then
            # answer, or closing on unread data resets the connection and loses the 403.
            self._refuse_when_read(web.HTTPError(403))
            return
        if declared is not None and declared > MAX_BODY_BYTES:
            if declared > DRAIN_BODY_BYTES:
                raise PayloadTooLarge("Request bodies are limited to 1 MiB.")
            self._refuse_when_read(_TOO_LARGE)
            return
        self._body = bytearray()
        if self.current_user is not None:
            # The first request of a signed-in user opens the service (off the event loop).
            await self.service_ready()

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._finished or self._body is None:
            # Draining a refused body: an unauthenticated one only up to the size a request may
            # have, an oversize one up to DRAIN_BODY_BYTES; past that the refusal comes at once.
            limit = MAX_BODY_BYTES if isinstance(self._refusal, web.HTTPError) else DRAIN_BODY_BYTES
            if self._received > limit and not self._finished and self._refusal is not None:
                refusal = self._refusal
                status = refusal.status_code if isinstance(refusal, web.HTTPError) else 413
                self.send_error(status, exc_info=(type(refusal), refusal, None))
            return
        if self._received > MAX_BODY_BYTES:
            self._refuse_when_read(_TOO_LARGE)
            return
        self._body += chunk

    def _refuse_when_read(self, refusal: Exception) -> None:
        """Drops the body (kept or to come) and answers ``refusal`` once it has been read, instead
        of running the method."""
        self._body = None
        self._refusal = refusal

        def refuse(*args: Any, **kwargs: Any) -> None:
            raise refusal

        setattr(self, (self.request.method or "get").lower(), refuse)

    def request_body(self) -> bytes:
        return bytes(self._body or b"")

    def query_params(self) -> dict[str, str]:
        """The query as sent (last value of each name), decoded but not cleaned: tornado's
        ``get_query_argument`` blanks control characters and strips, which would let a value
        longer than the documented limits through. The service validates every value."""
        return {
            name: self.decode_argument(values[-1], name=name)
            for name, values in self.request.query_arguments.items()
        }

    def json_body(self) -> Any:
        body = self.request_body()
        if not body or not body.strip():
            return None
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidRequest("The body must be valid JSON.") from None
        if data is None:
            # An explicit JSON null is a body of the wrong type, not a missing body.
            raise InvalidRequest("The body must be a JSON object.")
        return data

    def reply(self, payload: BaseModel | dict[str, Any], status: int = 200) -> None:
        # pydantic's own serializer is ~2x faster than model_dump + json.dumps on a long transcript.
        # (duck-typed: pydantic is the service's, loaded on first use, not at server start)
        body = json.dumps(payload) if isinstance(payload, dict) else payload.model_dump_json()
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


class StatusHandler(TutorNBHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        # On a shared server each user sees the figures of their own sessions only.
        self.reply(self.service.status(self.owner if self.shared else None))


class SessionsHandler(TutorNBHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.service.find_sessions(self.owner, self.query_params()))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        session = self.service.create_session(self.owner, self.json_body())
        self.set_header("Location", self.request.path.rstrip("/") + "/" + session.id)
        self.reply(session, 201)


class ImportHandler(TutorNBHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        session = self.service.import_session(self.owner, self.request_body())
        self.reply(session, 201)


class SessionHandler(TutorNBHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.reply(self.service.get_session(self.owner, session_id))

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        await self.service.delete_session(self.owner, session_id)
        self.set_status(204)
        self.finish()


class MessagesHandler(TutorNBHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        messages = self.service.list_messages(self.owner, session_id, self.query_params())
        self.reply({"messages": [m.model_dump(mode="json") for m in messages]})


class _StatusChangeHandler(TutorNBHandler):
    action: StatusAction

    @web.authenticated
    @authorized
    async def put(self, session_id: str) -> None:
        self.reply(await self.service.change_status(self.owner, session_id, self.action))


class PauseHandler(_StatusChangeHandler):
    action = "pause"


class ResumeHandler(_StatusChangeHandler):
    action = "resume"


class CloseHandler(_StatusChangeHandler):
    action = "close"


class ExportHandler(TutorNBHandler):
    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        fmt = self.query_params().get("format", "json")
        export = self.service.export_session(self.owner, session_id, fmt)
        self.set_header("Content-Disposition", f'attachment; filename="{export.filename}"')
        self.set_header("Cache-Control", "no-store")
        self.finish(export.body, set_content_type=export.media_type)


class NotFoundHandler(TutorNBHandler):
    """Anything else under ``tutornb/api``: a JSON 404, never jupyter-server's HTML page."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        raise NotFound("No such tutornb endpoint.")

    @web.authenticated
    @authorized
    async def post(self) -> None:
        raise NotFound("No such tutornb endpoint.")

    @web.authenticated
    @authorized
    async def put(self) -> None:
        raise NotFound("No such tutornb endpoint.")

    @web.authenticated
    @authorized
    async def patch(self) -> None:
        raise NotFound("No such tutornb endpoint.")

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        raise NotFound("No such tutornb endpoint.")
