"""The chat panel's Python half: synced traits and the kernel-comm transport.

In JupyterLab the panel talks to the server extension's WebSocket directly and this class only
carries the notebook's context. Where the extension cannot be reached from the page (VS Code, Colab,
a classic server) the panel sends the very same chat frames over the widget comm, and this class
forwards them to the kernel's :class:`~tutornb.service.TutorService`: one frame protocol, two pipes.

Comm messages (JSON, ``kind`` decides):

- ``{"kind": "request", "id", "method", "params"}`` is answered by
  ``{"kind": "response", "id", "ok", "result"|"error"}`` (errors come back as data
  ``{code, message}``, never as an exception, so the page handles a refusal like any other
  answer and a failure never surfaces as an uncaught error in the browser);
- ``{"kind": "connect", "session_id"}`` / ``{"kind": "disconnect"}`` open and close the chat
  connection;
- ``{"kind": "frame", "frame"}`` is one client chat frame; server frames come back as
  ``{"kind": "frame", "session_id", "frame"}``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets as t

from tutornb import frames
from tutornb.errors import InvalidRequest, TutorNBError
from tutornb.htmlpolicy import SANITIZER_POLICY
from tutornb.kernel.context import NotebookContext, current_context
from tutornb.kernel.runtime import KernelRuntime, kernel_owner, kernel_runtime
from tutornb.models import LearnerWork, is_valid_session_id

if TYPE_CHECKING:
    from tutornb.service import ChatConnection, TutorService

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("tutornb.widget")

#: Request methods the panel may call over the comm, mirroring the REST routes it would otherwise
#: use.
REQUEST_METHODS = frozenset(
    {"status", "list_sessions", "get_session", "create_session", "change_status", "export"}
)


def _error(exc: BaseException) -> dict[str, Any]:
    """An exception as wire data (``frames.wire_error``); an unexpected one is logged once here,
    with its traceback, and shown without internals."""
    if not isinstance(exc, TutorNBError):
        log.error("tutornb panel request failed", exc_info=exc)
    return frames.wire_error(exc)


def _str_params(params: object) -> dict[str, str]:
    """Query parameters as the REST handler would see them: strings, empty ones dropped."""
    if not isinstance(params, Mapping):
        return {}
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value == "":
            continue
        out[str(key)] = str(value)
    return out


#: The panel's text/plain: shown instead of the chat wherever the widget cannot be drawn.
PLACEHOLDER = "Tutor chat: run this cell or open the tutor sidebar (the Tutor tab on the right)."


class ChatPanel(anywidget.AnyWidget):  # type: ignore[misc]
    """The learner's chat panel for one notebook (see ``static/chat.js`` for the browser half)."""

    _esm = STATIC / "chat.js"
    _css = STATIC / "chat.css"

    #: Identifies this panel's model to the page (anywidget gives each view a different proxy).
    panel_id = t.Unicode().tag(sync=True)
    #: Course context of the notebook (course/module ids and titles, notebook_path, objectives,
    #: note).
    context = t.Dict().tag(sync=True)
    notebook_path = t.Unicode("").tag(sync=True)
    #: The session on screen: set from Python to open one (``%tutor resume ID``), set by the page
    #: after.
    session_id = t.Unicode("").tag(sync=True)
    #: Resume ``session_id`` when it is paused (``%tutor resume``) instead of only showing it.
    auto_resume = t.Bool(False).tag(sync=True)
    #: ``auto`` (WebSocket when the server extension answers, else comm), ``comm`` or ``websocket``.
    transport = t.Unicode("auto").tag(sync=True)
    #: Why the context is general, when it is (no notebook found, no tutornb metadata).
    note = t.Unicode("").tag(sync=True)
    #: The learner's last executed cell, kept up to date by the kernel after every run:
    #: ``{"cell_index"?: int, "code": str, "error"?: str}`` or ``None`` before the first run. The page
    #: offers "Ask about my last error" when ``error`` is set and sends this dict as a message frame's
    #: ``work`` (see tutornb.kernel.lastrun).
    last_work = t.Dict(default_value=None, allow_none=True).tag(sync=True)
    #: The server's sanitizer allowlist (:data:`tutornb.htmlpolicy.SANITIZER_POLICY`): the page's own
    #: HTML fence allows exactly this and nothing more (one allowlist, not two that drift).
    sanitizer_policy = t.Dict(default_value=SANITIZER_POLICY, read_only=True).tag(sync=True)

    def __init__(
        self,
        *,
        runtime: KernelRuntime | None = None,
        owner: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("panel_id", uuid.uuid4().hex)
        super().__init__(**kwargs)
        self._runtime = runtime
        self._owner = owner or kernel_owner()
        self._conn: ChatConnection | None = None
        # Chat traffic is handled in arrival order (a frame must not overtake its connect); requests
        # (history searches, exports) run beside it so a long tutor turn never blocks them.
        self._chat_tail: asyncio.Future[None] | None = None
        self.on_msg(self._on_custom_msg)
        self._stop_watching_work = self._watch_work()

    def __repr__(self) -> str:
        # What a notebook keeps as this output's text/plain, and what JupyterLab shows after a reload
        # (the widget's live state is gone): something a learner can act on, not a Python repr.
        return PLACEHOLDER

    def _watch_work(self) -> Callable[[], None]:
        """Follows the kernel's last run (captured by tutornb.kernel.lastrun) into ``last_work``."""
        from tutornb.kernel.lastrun import last_work_dict, work_tracker

        tracker = work_tracker()
        self.set_trait("last_work", last_work_dict(tracker.last))

        def follow(work: LearnerWork | None) -> None:
            self.set_trait("last_work", last_work_dict(work))

        return tracker.subscribe(follow)

    # -- plumbing
    # ---------------------------------------------------------------------------------------

    @property
    def runtime(self) -> KernelRuntime:
        if self._runtime is None:
            self._runtime = kernel_runtime()
        return self._runtime

    def _on_custom_msg(self, _widget: object, content: object, buffers: Sequence[bytes]) -> None:
        self.handle_message(content)

    def handle_message(self, content: object) -> concurrent.futures.Future[None] | None:
        """Entry point for one comm message from the page; returns the scheduled work (tests wait on
        it).
        """
        if not isinstance(content, Mapping):
            return None
        kind = content.get("kind")
        if kind == "request":
            return self.runtime.spawn(self._answer(content))
        if kind in {"connect", "frame", "disconnect"}:
            return self.runtime.spawn(self._in_order(lambda: self._chat(content)))
        return None

    async def _in_order(self, work: Callable[[], Awaitable[None]]) -> None:
        previous = self._chat_tail
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chat_tail = done
        try:
            if previous is not None:
                await asyncio.shield(previous)
            await work()
        finally:
            done.set_result(None)

    def _send_to_page(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        # Not named ``_send``: that is ipywidgets' own channel for state updates and custom messages,
        # and overriding it made every kernel-side send recurse and be dropped.
        try:
            self.send(content, buffers)
        except Exception:  # the page is gone; frames for it are dropped
            log.debug("tutornb panel: could not send to the page")

    # -- requests
    # ---------------------------------------------------------------------------------------

    async def _answer(self, content: Mapping[str, Any]) -> None:
        request_id = str(content.get("id", ""))[:80]
        method = content.get("method")
        params = content.get("params") if isinstance(content.get("params"), Mapping) else {}
        buffers: list[bytes] | None = None
        try:
            if method not in REQUEST_METHODS:
                raise InvalidRequest("Unknown request.")
            result, body = await self._call(str(method), params or {})
            if body is not None:
                buffers = [body]
            reply: dict[str, Any] = {
                "kind": "response",
                "id": request_id,
                "ok": True,
                "result": result,
            }
        except Exception as exc:
            reply = {"kind": "response", "id": request_id, "ok": False, "error": _error(exc)}
        self._send_to_page(reply, buffers)

    async def _call(self, method: str, params: Mapping[str, Any]) -> tuple[Any, bytes | None]:
        """One request as the matching service call. Ids and actions go in as the page sent them:
        the service validates them, exactly as it does for the REST routes."""
        service = self.runtime.service
        owner = self._owner
        session_id: Any = params.get("session_id")
        if method == "status":
            return service.status(), None
        if method == "list_sessions":
            page = service.list_sessions(owner, _str_params(params))
            return page.model_dump(mode="json"), None
        if method == "get_session":
            return service.get_session(owner, session_id).model_dump(mode="json"), None
        if method == "create_session":
            return service.create_session(owner, params).model_dump(mode="json"), None
        if method == "change_status":
            action: Any = params.get("action")
            session = await service.change_status(owner, session_id, action)
            return session.model_dump(mode="json"), None
        # export
        exported = service.export_session(owner, session_id, str(params.get("format", "json")))
        meta = {"filename": exported.filename, "media_type": exported.media_type}
        return meta, exported.body

    # -- chat
    # -------------------------------------------------------------------------------------------

    async def _chat(self, content: Mapping[str, Any]) -> None:
        try:
            await self._chat_step(content)
        except Exception as exc:  # the service answers bad frames itself; this is a last resort
            self._send_frame("", {"type": "error", **_error(exc)})

    async def _chat_step(self, content: Mapping[str, Any]) -> None:
        service = self.runtime.service
        kind = content.get("kind")
        if kind == "connect":
            await self._connect(service, content.get("session_id"))
        elif kind == "disconnect":
            await self._disconnect(service)
        else:
            frame = content.get("frame")
            if self._conn is None:
                self._send_frame("", frames.error_frame(InvalidRequest("Not connected to a session.")))
                return
            await service.receive(self._conn, frame if isinstance(frame, (str, Mapping)) else "")

    async def _connect(self, service: TutorService, session_id: object) -> None:
        await self._disconnect(service)
        if not is_valid_session_id(session_id):
            self._send_frame("", frames.error_frame(InvalidRequest("A valid session_id is required.")))
            return
        sid = str(session_id)

        async def sink(frame: dict[str, Any]) -> None:
            self._send_frame(sid, frame)

        try:
            self._conn = await service.connect(self._owner, sid, sink)
            self.runtime.connections.add(self._conn)
        except Exception as exc:
            self._send_frame(sid, {"type": "error", **_error(exc)})

    async def _disconnect(self, service: TutorService) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.runtime.connections.discard(conn)
            try:
                await service.disconnect(conn)
            except Exception as exc:
                log.debug("tutornb panel: disconnect failed: %s", type(exc).__name__)

    def _send_frame(self, session_id: str, frame: Mapping[str, Any]) -> None:
        self._send_to_page({"kind": "frame", "session_id": session_id, "frame": dict(frame)})

    def close(self) -> None:
        """Closing the widget closes its chat connection (the service may then pause it)."""
        self._stop_watching_work()
        if self._conn is not None and self._runtime is not None and self._runtime.running:
            self._runtime.spawn(self._in_order(lambda: self._disconnect(self.runtime.service)))
        super().close()


def panel_for(
    notebook: NotebookContext,
    *,
    session_id: str | None = None,
    auto_resume: bool = False,
    runtime: KernelRuntime | None = None,
    transport: str = "auto",
) -> ChatPanel:
    return ChatPanel(
        context=notebook.as_dict(),
        notebook_path=notebook.notebook_path or "",
        session_id=session_id or "",
        auto_resume=auto_resume,
        note=notebook.note,
        transport=transport,
        runtime=runtime,
    )


def open_panel(notebook_path: str | None = None, session_id: str | None = None) -> ChatPanel:
    """The panel for this kernel's notebook (or ``notebook_path``), optionally on ``session_id``.

    Used by ``tutornb.chat()``; the caller displays it (it is the cell's value).
    """
    if session_id is not None and not is_valid_session_id(session_id):
        raise InvalidRequest("That is not a valid session id.")
    return panel_for(
        current_context(notebook_path), session_id=session_id, auto_resume=session_id is not None
    )
