"""TutorService: the one place where session logic lives.

Every transport (REST handlers, the chat WebSocket, the widget's kernel comm, the ``%tutor`` magic,
the CLI) translates its input into calls on this class and sends back the frames it produces.
Keeping validation, lifecycle, idempotency, rate limiting and tutor turns here means every transport
behaves the same, and the transports stay thin enough to review at a glance.

Ordering promises (docs/architecture.md, "Chat frames"): a learner message is acknowledged only
once it is durable; the sender gets its ``ack`` before anyone gets the ``message`` frame; tutor
turns on one session are serialized by a per-session lock, while acknowledgements never wait for a
tutor turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from tutornb import frames, queryparams
from tutornb.batching import AppendBatcher
from tutornb.errors import (
    InvalidRequest,
    InvalidSessionState,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    SessionNotFound,
    TutorNBError,
    TutorUnavailable,
)
from tutornb.lifecycle import (
    accepts_messages,
    is_expired,
    status_for_action,
)
from tutornb.models import (
    CLIENT_FRAME,
    SESSION_ID_RE,
    AnswerFrame,
    ControlFrame,
    CourseContext,
    CreateSessionRequest,
    LearnerWork,
    Message,
    MessageFrame,
    QuizPrompt,
    Role,
    Session,
    SessionDetail,
    SessionPage,
    SessionSummary,
    Status,
    StopFrame,
    utcnow,
)
from tutornb.paths import display_path, resolve_store_dir
from tutornb.ratelimit import RateLimiter
from tutornb.render import render_markdown
from tutornb.store.api import NewMessage, SessionStoreAPI
from tutornb.turns import TurnRunner
from tutornb.tutors.base import (
    QuizAnswerInput,
    TurnKind,
    Tutor,
)
from tutornb.version import __version__

FrameSink = Callable[[dict[str, Any]], Awaitable[None]]
StatusAction = Literal["pause", "resume", "close"]

_CONNECTION_IDS = count(1)


@dataclass(frozen=True)
class ServiceConfig:
    max_message_chars: int = 16_000
    session_expiry_days: float = 30.0
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 20
    #: Tutor turns running at once across all sessions. Turns of the offline tutor are CPU and fsync
    #: work on the server's event loop: a bound keeps acknowledgements prompt under load. Raise it
    #: for a model-backed tutor whose turns mostly wait on the network.
    max_concurrent_turns: int = 8
    #: Chat connections (sockets, panels) at once on one session, and for one owner across all
    #: their sessions: each costs a write buffer, so an unbounded number is a memory leak on demand.
    #: 0 disables a cap.
    max_sockets_per_session: int = 20
    max_sockets_per_owner: int = 60
    #: Bytes a socket may have waiting to be sent before it is closed (1008): a client that stops
    #: reading must not grow the server without bound. A single larger frame (a long restore
    #: payload) is still sent when the queue is below the limit.
    max_socket_pending_bytes: int = 128 * 1024
    #: Bytes one owner's sessions may take (0: no limit beyond the store's quota). Set when several
    #: users share a server, so one of them cannot fill the store for everyone.
    owner_quota_bytes: int = 0
    #: A session resumed this soon (seconds) after the learner paused it gets no "where we left off"
    #: recap: they are still looking at the conversation. After a longer pause, an automatic pause
    #: (the page went away) or a server restart, the recap is shown.
    recap_after_seconds: float = 300.0


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    body: bytes


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


# --------------------------------------------------------------------------------------------------
# Small pure helpers


def check_session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or SESSION_ID_RE.fullmatch(session_id) is None:
        raise InvalidRequest("Invalid session id: use 1-64 letters, digits, '-' or '_'.")
    return session_id


# --------------------------------------------------------------------------------------------------


class TutorService:
    def __init__(
        self,
        store: SessionStoreAPI,
        tutor: Tutor,
        *,
        root_dir: Path,
        config: ServiceConfig | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.tutor = tutor
        self.root_dir = Path(root_dir)
        self.config = config or ServiceConfig()
        #: When the learner last paused each session themselves (monotonic seconds; in memory only,
        #: so a restart always gets a recap).
        self._paused_by_learner: dict[str, float] = {}
        self.log = logger or logging.getLogger("tutornb")
        self._limiter = RateLimiter(self.config.rate_limit_per_minute, self.config.rate_limit_burst)
        self._connections: dict[str, dict[int, ChatConnection]] = {}
        self._appends = AppendBatcher(store, self.log)
        self._turns = TurnRunner(
            store,
            lambda: self.tutor,
            root_dir=self.root_dir,
            broadcast=self._broadcast,
            logger=self.log,
            max_concurrent=self.config.max_concurrent_turns,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Learner message ids whose tutor turn is queued or running (a retry must not start a
        #: second one).
        self._pending_replies: set[str] = set()
        self._closed = False
        self._search_pool: ThreadPoolExecutor | None = None
        #: A store repaired at open is told to the learner once, in the first session they open.
        self._recovery_to_tell = bool(store.stats().recovered)

    @classmethod
    def open(
        cls,
        *,
        root_dir: Path,
        store_dir: Path | None = None,
        tutor: str = "course",
        tutor_options: dict[str, Any] | None = None,
        config: ServiceConfig | None = None,
        quota_bytes: int | None = None,
        logger: logging.Logger | None = None,
    ) -> TutorService:
        from tutornb.store.sessions import SessionStore
        from tutornb.tutors import load_tutor

        root = Path(root_dir).expanduser().resolve()
        folder = resolve_store_dir(root, explicit=store_dir)
        store: SessionStoreAPI = SessionStore(folder, quota_bytes=quota_bytes)
        try:
            tutor_obj = load_tutor(tutor, root_dir=root, options=dict(tutor_options or {}))
        except BaseException:
            store.close()
            raise
        return cls(store, tutor_obj, root_dir=root, config=config, logger=logger)

    def close(self) -> None:
        """Stops pending tutor turns and closes the store. Acknowledged messages are already
        durable; sessions still open in a socket are paused, as if their last socket had closed
        (an unanswered message is answered when the learner resends it)."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._search_pool is not None:
            self._search_pool.shutdown(wait=True, cancel_futures=True)
        for session_id in list(self._connections):
            self._pause_if_active(session_id)
        self._connections.clear()
        self.store.close()

    async def drain(self) -> None:
        """Waits until every background tutor turn has finished (for shutdown, tests and
        scripts)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ----------------------------------------------------------------------------------------------
    # REST-shaped calls

    def status(self, owner: str | None = None) -> dict[str, Any]:
        """The store's figures; ``owner``'s alone when given (a server shared by several users),
        with that owner's quota when one is set."""
        stats = self.store.stats()
        if owner is not None:
            mine = self.store.owner_stats(owner)
            quota = self.config.owner_quota_bytes or stats.quota_bytes
            stats = mine.model_copy(update={"quota_bytes": quota, "recovered": stats.recovered})
        folder = getattr(self.store, "path", None)
        if isinstance(folder, Path):
            shown = display_path(folder, self.root_dir)
        elif Path(stats.path).is_absolute():
            shown = display_path(Path(stats.path), self.root_dir)
        else:
            shown = stats.path
        body: dict[str, Any] = {
            "version": __version__,
            "store": {
                "path": shown,
                "sessions": stats.sessions,
                "messages": stats.messages,
                "bytes": stats.bytes,
                "quota_bytes": stats.quota_bytes,
            },
            "tutor": {"name": self.tutor.name, "model": self.tutor.model},
        }
        if stats.recovered:
            body["recovered"] = [self._scrub(line) for line in stats.recovered]
        return body

    def create_session(self, owner: str, body: Mapping[str, Any] | None) -> Session:
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise InvalidRequest("The body must be a JSON object.")
        try:
            request = CreateSessionRequest.model_validate(dict(body))
        except ValidationError as exc:
            raise InvalidRequest("Invalid session.", errors=frames.validation_errors(exc)) from None
        self._check_owner_quota(owner, 1024)
        return self.store.create_session(owner, request.context, request.title)

    def current_session(
        self, owner: str, notebook_path: str, statuses: str = "active,paused"
    ) -> SessionSummary | None:
        """The notebook's most recent session in one of ``statuses`` that holds a conversation.

        A session whose first message was refused holds nothing to come back to, so it is passed over
        (the panel's resume offer does the same).
        """
        page = self.list_sessions(owner, {"notebook_path": notebook_path, "status": statuses, "limit": "20"})
        return next((found for found in page.sessions if found.message_count > 0), None)

    async def continue_or_start(
        self, owner: str, context: CourseContext, *, session_id: str | None = None
    ) -> Session:
        """The session a headless turn goes to: the notebook's current one (or ``session_id``), resumed
        when paused, else a new one for ``context``."""
        current: SessionSummary | None = None
        if context.notebook_path:
            current = self.current_session(owner, context.notebook_path)
        elif session_id is not None:
            try:
                known = self.get_session(owner, session_id)
            except SessionNotFound:
                known = None
            current = known if known is not None and known.status is not Status.CLOSED else None
        if current is None:
            return self.store.create_session(owner, context)
        if current.status is Status.PAUSED:
            return await self.change_status(owner, current.id, "resume")
        return self.store.get_session(current.id, owner=owner)

    def list_sessions(self, owner: str, params: Mapping[str, str]) -> SessionPage:
        return self.store.list_sessions(queryparams.session_query(params, owner))

    async def find_sessions(self, owner: str, params: Mapping[str, str]) -> SessionPage:
        """:meth:`list_sessions` for the server: a full-text search (``q``) runs on a worker thread,
        so a search through a big store does not hold up every other request on the event loop
        (the store takes its lock per session, see ``SessionStore.list_sessions``)."""
        if not params.get("q"):
            return self.list_sessions(owner, params)
        if self._search_pool is None:
            self._search_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tutornb-search")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._search_pool, self.list_sessions, owner, dict(params))

    def get_session(self, owner: str, session_id: str) -> SessionDetail:
        return self.store.get_detail(check_session_id(session_id), owner=owner)

    def get_messages(
        self, owner: str, session_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[Message]:
        self.store.get_session(check_session_id(session_id), owner=owner)
        if after_seq < 0:
            raise InvalidRequest("'after_seq' must be 0 or more.")
        if limit is not None and not 1 <= limit <= 1000:
            raise InvalidRequest("'limit' must be an integer from 1 to 1000.")
        return self.store.messages(session_id, after_seq=after_seq, limit=limit)

    def list_messages(self, owner: str, session_id: str, params: Mapping[str, str]) -> list[Message]:
        """:meth:`get_messages` with its query string parsed here, so transports need not."""
        after_seq = queryparams.integer(params, "after_seq", 0, 0, 2**53)
        limit = None
        if params.get("limit") is not None:
            limit = queryparams.integer(params, "limit", 0, 1, 1000)
        return self.get_messages(owner, session_id, after_seq=after_seq, limit=limit)

    async def change_status(self, owner: str, session_id: str, action: StatusAction) -> Session:
        session = await self._apply_status(owner, session_id, action)
        if action == "resume" and self._recap_due(session.id):
            # Waiting for the "where we left off" turn keeps every transport deterministic; its
            # failure is reported as an error frame and does not undo the resume.
            await self._turn(session.id, "resume", reraise=False)
            session = self.store.get_session(session.id, owner=owner)
        return session

    async def delete_session(self, owner: str, session_id: str) -> None:
        self.store.get_session(check_session_id(session_id), owner=owner)
        self.store.delete_session(session_id)
        self._limiter.forget(session_id)
        self._turns.forget(session_id)
        connections = self._connections.pop(session_id, {})
        gone = frames.error_frame(SessionNotFound(session_id))
        for conn in list(connections.values()):
            await self._send(conn, gone)

    def export_session(self, owner: str, session_id: str, fmt: str) -> ExportFile:
        from tutornb.export import FORMATS, render_export

        if fmt not in FORMATS:  # before the lookup: a bad format is the caller's error whatever the id
            raise InvalidRequest("'format' must be json, markdown or ipynb.")
        self.store.get_session(check_session_id(session_id), owner=owner)
        # export_filename builds the name from safe characters only: never a path, never request input.
        filename, media_type, body = render_export(self.store.export_session(session_id), fmt)
        return ExportFile(filename=filename, media_type=media_type, body=body)

    def import_session(self, owner: str, body: bytes | str | Mapping[str, Any]) -> Session:
        from tutornb.export import parse_import

        document = parse_import(body)  # every malformed document becomes InvalidRequest there
        self._check_owner_quota(owner, len(body) if isinstance(body, (bytes, str)) else 0)
        try:
            return self.store.import_session(document, owner=owner)
        except OverflowError:
            # A time whose UTC form leaves datetime's range (year 9999 at a negative offset): the
            # store's transaction is abandoned before anything is written.
            raise InvalidRequest(
                "This is not a tutornb session export.",
                errors=[{"loc": ["body"], "msg": "a date is out of range", "type": "date_range"}],
            ) from None

    def expire_idle(self) -> list[str]:
        """Closes sessions idle past ``session_expiry_days``; connected sockets learn it by a state
        frame."""
        closed = self.store.expire_idle(self.config.session_expiry_days)
        for session_id in closed:
            if session_id in self._connections:
                self._spawn(self._broadcast_state_of(session_id))
        return closed

    # ----------------------------------------------------------------------------------------------
    # Chat

    async def connect(self, owner: str, session_id: str, sink: FrameSink) -> ChatConnection:
        check_session_id(session_id)
        self._check_connection_caps(owner, session_id)
        detail = self.store.get_detail(session_id, owner=owner)
        if is_expired(detail.status, detail.last_active_at, utcnow(), self.config.session_expiry_days):
            self.store.set_status(session_id, Status.CLOSED)
            detail = self.store.get_detail(session_id, owner=owner)
        conn = ChatConnection(owner, session_id, sink)
        self._connections.setdefault(session_id, {})[conn.id] = conn
        await self._send(conn, frames.session_frame(detail))
        await self._tell_recovery(detail)
        self._answer_unanswered(detail)
        return conn

    def _check_connection_caps(self, owner: str, session_id: str) -> None:
        per_session = self.config.max_sockets_per_session
        if per_session and len(self._connections.get(session_id, {})) >= per_session:
            raise RateLimited(
                f"This session already has {per_session} chat connections open; close a tab and try again."
            )
        per_owner = self.config.max_sockets_per_owner
        if per_owner:
            mine = sum(
                1 for peers in self._connections.values() for conn in peers.values() if conn.owner == owner
            )
            if mine >= per_owner:
                raise RateLimited(
                    f"You already have {per_owner} chat connections open; close some tabs and try again."
                )

    async def _tell_recovery(self, detail: SessionDetail) -> None:
        """After a repair the learner deserves to know, once: silently reset history is what we never do."""
        if not self._recovery_to_tell or not accepts_messages(detail.status):
            return
        self._recovery_to_tell = False
        notice = NewMessage(
            role=Role.SYSTEM,
            text=(
                "tutornb found a damaged file in its store when it started and repaired it from its "
                "backup and journal (the damaged copy is kept beside it as `*.corrupt`). Everything you "
                "sent before is here; if something looks missing, `tutornb doctor` explains what was found."
            ),
        )
        try:
            stored = self.store.append_message(detail.id, notice).message
        except TutorNBError as exc:
            self.log.warning("tutornb: could not record the recovery notice (%s)", exc.code)
            return
        await self._broadcast(detail.id, frames.message_frame(stored))

    def _answer_unanswered(self, detail: SessionDetail) -> None:
        """A learner message acknowledged just before a crash or a failed turn still deserves its answer.

        The ack promised the message is kept; when the transcript ends with it and no turn is running for
        it, the tutor answers it now, as if it had just arrived.
        """
        if not accepts_messages(detail.status) or not detail.messages:
            return
        last = detail.messages[-1]
        if last.role is Role.LEARNER and self._needs_reply(detail.id, last):
            self._spawn_turn(detail.id, "message", learner=last)

    async def disconnect(self, conn: ChatConnection) -> None:
        conn.closed = True
        if self._closed:
            return  # shut down: close() already paused what was open
        peers = self._connections.get(conn.session_id)
        if peers is None:
            return
        peers.pop(conn.id, None)
        if peers:
            return
        del self._connections[conn.session_id]
        self._turns.forget(conn.session_id)
        self._pause_if_active(conn.session_id, conn.owner)

    def _pause_if_active(self, session_id: str, owner: str | None = None) -> None:
        """A session nobody watches any more (last socket gone, server stopping) waits paused."""
        try:
            if self.store.get_session(session_id, owner=owner).status is Status.ACTIVE:
                self.store.set_status(session_id, Status.PAUSED)
        except TutorNBError as exc:
            # Deleted meanwhile, or the store is failing: nothing to pause, nobody to tell.
            self.log.debug("tutornb: auto-pause skipped (%s)", exc.code)

    async def receive(self, conn: ChatConnection, raw: str | bytes | Mapping[str, Any]) -> None:
        client_id: str | None = None
        try:
            frame = frames.decode(raw)
            client_id = frames.client_id_of(frame)
            await self._dispatch(conn, frame)
        except TutorNBError as exc:
            await self._send(conn, frames.error_frame(exc, client_id))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must cost one error frame, never the socket or the server
            self.log.error("tutornb: unexpected error while handling a chat frame", exc_info=exc)
            await self._send(conn, frames.error_frame(exc, client_id))

    async def ask(
        self, owner: str, session_id: str, text: str, work: LearnerWork | Mapping[str, Any] | None = None
    ) -> Message:
        """A headless turn (``%tutor ask``): the durable reply. ``work`` is the learner's last run,
        validated like a frame's."""
        check_session_id(session_id)
        self._check_text(text)
        checked = self._check_work(work)
        learner, created = await self._accept_learner(
            owner, session_id, text, f"ask-{uuid.uuid4().hex}", checked
        )
        if created:
            await self._broadcast(session_id, frames.message_frame(learner))
        reply = await self._turn(session_id, "message", learner=learner)
        if reply is None:
            raise TutorUnavailable("The tutor had no answer; ask again.")
        return reply

    async def start(self, owner: str, session_id: str) -> Message | None:
        """The tutor's opening (a greeting with the module's objectives) for a session with no
        messages yet; ``None`` when the session already has a conversation. Streams to sockets."""
        session = self.store.get_session(check_session_id(session_id), owner=owner)
        if session.message_count or not accepts_messages(session.status):
            return None
        return await self._turn(session_id, "start")

    def connections(self, session_id: str) -> int:
        """How many sockets/panels are attached to a session (for ``/status`` and tests)."""
        return len(self._connections.get(session_id, {}))

    # ----------------------------------------------------------------------------------------------
    # Frame handling

    async def _dispatch(self, conn: ChatConnection, frame: dict[str, Any]) -> None:
        text = frame.get("text")
        if isinstance(text, str) and len(text) > self.config.max_message_chars:
            raise PayloadTooLarge(f"Messages are limited to {self.config.max_message_chars} characters.")
        try:
            parsed = CLIENT_FRAME.validate_python(frame)
        except ValidationError as exc:
            raise InvalidRequest("Invalid frame.", errors=frames.validation_errors(exc)) from None
        if isinstance(parsed, MessageFrame):
            with self._turns.priority.urgent():
                await self._on_message(conn, parsed)
        elif isinstance(parsed, AnswerFrame):
            with self._turns.priority.urgent():
                await self._on_answer(conn, parsed)
        elif isinstance(parsed, StopFrame):
            # Nothing streaming (the turn just ended) is not an error: the stop came too late.
            self._turns.stop(conn.session_id)
        else:
            await self._on_control(conn, parsed)

    async def _on_message(self, conn: ChatConnection, frame: MessageFrame) -> None:
        self._check_text(frame.text)
        await self._learner_turn(conn, frame.text, frame.client_id, "message", work=frame.work)

    async def _on_answer(self, conn: ChatConnection, frame: AnswerFrame) -> None:
        prompt = self._find_quiz(conn.owner, conn.session_id, frame.question_id)
        if prompt is None:
            raise InvalidRequest("There is no such question in this session.")
        if frame.choice >= len(prompt.choices):
            raise InvalidRequest("That choice does not exist for this question.")
        letter = chr(ord("A") + frame.choice) if frame.choice < 26 else str(frame.choice + 1)
        text = f"{letter}. {prompt.choices[frame.choice]}"
        client_id = frame.client_id or f"answer-{uuid.uuid4().hex}"
        answer = QuizAnswerInput(question_id=frame.question_id, choice=frame.choice)
        await self._learner_turn(conn, text, client_id, "answer", answer)

    async def _learner_turn(
        self,
        conn: ChatConnection,
        text: str,
        client_id: str,
        kind: TurnKind,
        answer: QuizAnswerInput | None = None,
        work: LearnerWork | None = None,
    ) -> None:
        """Store, ack the sender, show everyone, then queue the tutor's turn (message or answer alike)."""
        learner, created = await self._accept_learner(conn.owner, conn.session_id, text, client_id, work)
        await self._send(conn, frames.ack_frame(client_id, learner))
        if created:
            await self._broadcast(conn.session_id, frames.message_frame(learner))
        # A resend after a failed or cut-off tutor turn is the retry: same stored message, a fresh turn.
        if created or self._needs_reply(conn.session_id, learner, retry=True):
            self._spawn_turn(conn.session_id, kind, learner=learner, answer=answer)

    async def _on_control(self, conn: ChatConnection, frame: ControlFrame) -> None:
        session = await self._apply_status(conn.owner, conn.session_id, frame.type)
        if frame.type == "resume" and self._recap_due(session.id):
            self._spawn_turn(session.id, "resume")

    def _check_text(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("A message needs some text.")
        if len(text) > self.config.max_message_chars:
            raise PayloadTooLarge(f"Messages are limited to {self.config.max_message_chars} characters.")

    @staticmethod
    def _check_work(work: LearnerWork | Mapping[str, Any] | None) -> LearnerWork | None:
        """The learner's work as a frame would carry it; sizes and types checked by the model."""
        if work is None or isinstance(work, LearnerWork):
            return work
        try:
            return LearnerWork.model_validate(dict(work) if isinstance(work, Mapping) else work)
        except ValidationError as exc:
            raise InvalidRequest("Invalid work.", errors=frames.validation_errors(exc)) from None

    async def _accept_learner(
        self,
        owner: str,
        session_id: str,
        text: str,
        client_id: str,
        work: LearnerWork | None = None,
    ) -> tuple[Message, bool]:
        """Stores a learner message (idempotent on client_id) after the status and rate checks.

        A resend of an already stored message is acknowledged again even when the session is paused
        or the bucket is empty: what was acknowledged once is never refused later.
        """
        session = self.store.get_session(session_id, owner=owner)
        active = accepts_messages(session.status)
        if not active or not self._limiter.try_acquire(session_id):
            stored = self.store.find_client_message(session_id, client_id)
            if stored is not None:
                return stored, False
            if not active:
                raise InvalidSessionState(
                    f"This session is {session.status.value}; resume it before sending messages."
                )
            raise RateLimited("Too many messages at once; wait a moment and send again.")
        if self.config.owner_quota_bytes:
            # A resend of a stored message is acknowledged again, quota or not.
            stored = self.store.find_client_message(session_id, client_id)
            if stored is not None:
                return stored, False
            self._check_owner_quota(owner, 2 * len(text.encode("utf-8", "surrogatepass")) + 512)
        message = NewMessage(
            role=Role.LEARNER, text=text, html=render_markdown(text), client_id=client_id, work=work
        )
        result = await self._appends.append(session_id, message)
        return result.message, result.created

    def _check_owner_quota(self, owner: str, adding: int) -> None:
        """One owner may not take more than ``owner_quota_bytes`` of a shared store."""
        quota = self.config.owner_quota_bytes
        if not quota:
            return
        used = self.store.owner_stats(owner).bytes
        if used + adding > quota:
            raise QuotaExceeded(
                f"Your sessions use {used // 1024} KiB of your {quota // 1024} KiB; "
                "export and delete old sessions to make room."
            )

    def _find_quiz(self, owner: str, session_id: str, question_id: str) -> QuizPrompt | None:
        self.store.get_session(session_id, owner=owner)
        for message in reversed(self.store.messages(session_id)):
            if message.quiz is not None and message.quiz.question_id == question_id:
                return message.quiz
        return None

    def _needs_reply(self, session_id: str, learner: Message, *, retry: bool = False) -> bool:
        """No tutor message answers it yet; with ``retry`` (the learner resent it), a reply that was
        cut off mid-stream does not count as an answer either."""
        if learner.id in self._pending_replies:
            return False
        later = self.store.messages(session_id, after_seq=learner.seq)
        return not any(m.role is Role.TUTOR and not (retry and m.interrupted == "cut_off") for m in later)

    async def _apply_status(self, owner: str, session_id: str, action: str) -> Session:
        if action not in ("pause", "resume", "close"):
            raise InvalidRequest("The action must be pause, resume or close.")
        session = self.store.get_session(check_session_id(session_id), owner=owner)
        # The store checks the transition (lifecycle) inside the same commit.
        updated = self.store.set_status(session.id, status_for_action(action))
        if action == "pause":
            self._paused_by_learner[session.id] = time.monotonic()
        await self._broadcast(session_id, frames.state_frame(updated))
        return updated

    def _recap_due(self, session_id: str) -> bool:
        """Whether a resume gets the "where we left off" recap (see ``recap_after_seconds``)."""
        paused_at = self._paused_by_learner.pop(session_id, None)
        return paused_at is None or time.monotonic() - paused_at >= self.config.recap_after_seconds

    # ----------------------------------------------------------------------------------------------
    # Tutor turns

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, TutorNBError):
                self.log.warning("tutornb: background turn ended with %s", exc.code)
            else:  # a bug outside the turn's own catch-all (turns.py): logged once, with its traceback
                self.log.error("tutornb: background task failed", exc_info=exc)

    def _spawn_turn(
        self,
        session_id: str,
        kind: TurnKind,
        *,
        learner: Message | None = None,
        answer: QuizAnswerInput | None = None,
    ) -> None:
        if learner is not None:
            self._pending_replies.add(learner.id)  # now: the task starts only at the next tick
        self._spawn(self._turn(session_id, kind, learner=learner, answer=answer, reraise=False))

    async def _turn(
        self,
        session_id: str,
        kind: TurnKind,
        *,
        learner: Message | None = None,
        answer: QuizAnswerInput | None = None,
        reraise: bool = True,
    ) -> Message | None:
        """One tutor turn (tutornb.turns); a failure becomes an ``error`` frame to the session's
        connections, then is raised to a caller that waits for the reply (``reraise``) or ends
        the turn with ``None`` (background turns, resumes: the frame was the whole answer)."""
        if learner is not None:
            # Also for awaited turns (``ask``): a socket connecting meanwhile must not answer it twice.
            self._pending_replies.add(learner.id)
        try:
            return await self._turns.run(session_id, kind, learner, answer)
        except TutorNBError as exc:
            if not isinstance(exc, SessionNotFound):
                self.log.info("tutornb: tutor turn failed (%s)", exc.code)
                client_id = learner.client_id if learner else None
                await self._broadcast(session_id, frames.error_frame(exc, client_id))
            if reraise:
                raise
            return None
        finally:
            if learner is not None:
                self._pending_replies.discard(learner.id)

    # ----------------------------------------------------------------------------------------------
    # Fan-out

    async def _send(self, conn: ChatConnection, frame: dict[str, Any]) -> None:
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

    async def _broadcast(self, session_id: str, frame: dict[str, Any]) -> None:
        for conn in list(self._connections.get(session_id, {}).values()):
            await self._send(conn, frame)

    async def _broadcast_state_of(self, session_id: str) -> None:
        try:
            session = self.store.get_session(session_id)
        except TutorNBError:
            return
        await self._broadcast(session_id, frames.state_frame(session))

    def _scrub(self, text: str) -> str:
        """Recovery notes come from the store and may name files: show them relative to the root."""
        for base, label in ((self.root_dir, "<root>"), (Path.home(), "~")):
            for form in {str(base), str(base.resolve())}:
                if form and form != "/":
                    text = text.replace(form, label)
        return text
