"""TutorService: the one place where session logic lives.

Every transport (REST handlers, the chat WebSocket, the widget's kernel comm, the ``%tutor`` magic,
the CLI) translates its input into calls on this class and sends back the frames it produces.
Keeping validation, lifecycle, idempotency, rate limiting and tutor turns here means every transport
behaves the same, and the transports stay thin enough to review at a glance.

Ordering promises (docs/architecture.md, "Chat frames"): a learner message is acknowledged only
once it is durable; the sender gets its ``ack`` before anyone gets the ``message`` frame; tutor
turns on one session are serialized by a per-session lock, while acknowledgements never wait for a
tutor turn.

The service is the facade; its parts in this package each do one job: ``connections`` (who is
attached, fan-out), ``dispatch`` (a client's chat frame), ``intake`` (a learner message made durable),
``turn_queue`` (tutor turns, one reply per message) and ``turns`` (one turn).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from tutornb import frames, queryparams
from tutornb.errors import (
    InvalidRequest,
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
    CourseContext,
    CreateSessionRequest,
    LearnerWork,
    Message,
    Role,
    Session,
    SessionDetail,
    SessionPage,
    SessionSummary,
    Status,
    is_valid_session_id,
    utcnow,
)
from tutornb.paths import display_path, resolve_store_dir
from tutornb.service.config import ServiceConfig
from tutornb.service.connections import ChatConnection, Connections, FrameSink, Liveness
from tutornb.service.dispatch import FrameDispatcher
from tutornb.service.intake import LearnerIntake
from tutornb.service.turn_queue import TurnQueue
from tutornb.service.turns import TurnRunner
from tutornb.store.api import NewMessage, SessionStoreAPI
from tutornb.tutors.base import Tutor
from tutornb.version import __version__

StatusAction = Literal["pause", "resume", "close"]


@dataclass(frozen=True)
class NotebookAnswer:
    """What :meth:`TutorService.ask_in_notebook` did: the session asked in, the tutor's reply, and
    the notebook's paused session a new one was started beside (``None`` when there is none)."""

    session_id: str
    reply: Message
    kept_paused: SessionSummary | None


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    body: bytes


# --------------------------------------------------------------------------------------------------
# Small pure helpers


def check_session_id(session_id: object) -> str:
    if not is_valid_session_id(session_id):
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
        self._connections = Connections(
            self.log,
            max_per_session=self.config.max_sockets_per_session,
            max_per_owner=self.config.max_sockets_per_owner,
        )
        self._intake = LearnerIntake(store, self.config, self.log)
        self._turns = TurnRunner(
            store,
            lambda: self.tutor,
            root_dir=self.root_dir,
            broadcast=self._connections.broadcast,
            logger=self.log,
            max_concurrent=self.config.max_concurrent_turns,
        )
        self._turn_queue = TurnQueue(store, self._turns, self._connections.broadcast, self.log)
        self._dispatcher = FrameDispatcher(
            intake=self._intake,
            connections=self._connections,
            turn_queue=self._turn_queue,
            turns=self._turns,
            apply_status=self._apply_status,
            recap_due=self._recap_due,
            logger=self.log,
        )
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
        self._turn_queue.cancel_all()
        if self._search_pool is not None:
            self._search_pool.shutdown(wait=True, cancel_futures=True)
        for session_id in self._connections.session_ids():
            self._pause_if_active(session_id)
        self._connections.clear()
        self.store.close()

    async def drain(self) -> None:
        """Waits until every background tutor turn has finished (for shutdown, tests and
        scripts)."""
        await self._turn_queue.drain()

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
        self._intake.check_owner_quota(owner, 1024)
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
        """The session a headless turn goes to: the notebook's active one (or ``session_id`` while it is
        active), else a new one for ``context``. A paused session is never reopened here: pausing was
        the learner's choice (or the panel's when it closed), and only an explicit resume undoes it."""
        current: SessionSummary | None = None
        if context.notebook_path:
            current = self.current_session(owner, context.notebook_path, "active")
        elif session_id is not None:
            try:
                known = self.get_session(owner, session_id)
            except SessionNotFound:
                known = None
            current = known if known is not None and known.status is Status.ACTIVE else None
        if current is None:
            return self.store.create_session(owner, context)
        return self.store.get_session(current.id, owner=owner)

    async def ask_in_notebook(
        self,
        owner: str,
        context: CourseContext,
        text: str,
        work: LearnerWork | Mapping[str, Any] | None = None,
        *,
        session_id: str | None = None,
    ) -> NotebookAnswer:
        """A headless question for a notebook (``%tutor ask`` in a kernel, or through the server's
        kernel route): asked in the session :meth:`continue_or_start` picks, answered durably. When
        that is a new session beside a paused one, the paused one is named (kept, never reopened)."""
        paused: SessionSummary | None = None
        if context.notebook_path:
            paused = self.current_session(owner, context.notebook_path, "paused")
        elif session_id is not None:
            try:
                known = self.get_session(owner, session_id)
            except SessionNotFound:
                known = None
            paused = known if known is not None and known.status is Status.PAUSED else None
        session = await self.continue_or_start(owner, context, session_id=session_id)
        fresh = session.message_count == 0
        message = await self.ask(owner, session.id, text, work)
        return NotebookAnswer(session.id, message, paused if fresh else None)

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
            await self._turn_queue.turn(session.id, "resume", reraise=False)
            session = self.store.get_session(session.id, owner=owner)
        return session

    async def delete_session(self, owner: str, session_id: str) -> None:
        self.store.get_session(check_session_id(session_id), owner=owner)
        self.store.delete_session(session_id)
        self._intake.forget(session_id)
        self._turns.forget(session_id)
        gone = frames.error_frame(SessionNotFound(session_id))
        for conn in self._connections.drop_session(session_id):
            await self._connections.send(conn, gone)

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
        self._intake.check_owner_quota(owner, len(body) if isinstance(body, (bytes, str)) else 0)
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
            if self._connections.watched(session_id):
                self._turn_queue.spawn(self._broadcast_state_of(session_id))
        return closed

    # ----------------------------------------------------------------------------------------------
    # Chat

    async def connect(
        self, owner: str, session_id: str, sink: FrameSink, liveness: Liveness | None = None
    ) -> ChatConnection:
        check_session_id(session_id)
        await self._connections.make_room(owner, session_id)
        self._connections.check_caps(owner, session_id)
        detail = self.store.get_detail(session_id, owner=owner)
        if is_expired(detail.status, detail.last_active_at, utcnow(), self.config.session_expiry_days):
            self.store.set_status(session_id, Status.CLOSED)
            detail = self.store.get_detail(session_id, owner=owner)
        conn = self._connections.attach(owner, session_id, sink, liveness)
        await self._connections.send(conn, frames.session_frame(detail))
        await self._tell_recovery(detail)
        self._answer_unanswered(detail)
        return conn

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
        await self._connections.broadcast(detail.id, frames.message_frame(stored))

    def _answer_unanswered(self, detail: SessionDetail) -> None:
        """A learner message acknowledged just before a crash or a failed turn still deserves its answer.

        The ack promised the message is kept; when the transcript ends with it and no turn is running for
        it, the tutor answers it now, as if it had just arrived.
        """
        if not accepts_messages(detail.status) or not detail.messages:
            return
        last = detail.messages[-1]
        if last.role is Role.LEARNER and self._turn_queue.needs_reply(detail.id, last):
            self._turn_queue.spawn_turn(detail.id, "message", learner=last)

    async def disconnect(self, conn: ChatConnection) -> None:
        conn.closed = True
        if self._closed:
            return  # shut down: close() already paused what was open
        if not self._connections.detach(conn):
            return
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
        """One frame from a chat client (tutornb.service.dispatch); errors go back to it as an error frame."""
        await self._dispatcher.receive(conn, raw)

    async def ask(
        self, owner: str, session_id: str, text: str, work: LearnerWork | Mapping[str, Any] | None = None
    ) -> Message:
        """A headless turn (``%tutor ask``): the durable reply. ``work`` is the learner's last run,
        validated like a frame's."""
        check_session_id(session_id)
        self._intake.check_text(text)
        checked = self._intake.check_work(work)
        learner, created = await self._intake.accept(
            owner, session_id, text, f"ask-{uuid.uuid4().hex}", checked
        )
        if created:
            await self._connections.broadcast(session_id, frames.message_frame(learner))
        reply = await self._turn_queue.turn(session_id, "message", learner=learner)
        if reply is None:
            raise TutorUnavailable("The tutor had no answer; ask again.")
        return reply

    async def start(self, owner: str, session_id: str) -> Message | None:
        """The tutor's opening (a greeting with the module's objectives) for a session with no
        messages yet; ``None`` when the session already has a conversation. Streams to sockets."""
        session = self.store.get_session(check_session_id(session_id), owner=owner)
        if session.message_count or not accepts_messages(session.status):
            return None
        return await self._turn_queue.turn(session_id, "start")

    def connections(self, session_id: str) -> int:
        """How many sockets/panels are attached to a session (for ``/status`` and tests)."""
        return self._connections.count(session_id)

    # ----------------------------------------------------------------------------------------------
    # Status changes

    async def _apply_status(self, owner: str, session_id: str, action: str) -> Session:
        if action not in ("pause", "resume", "close"):
            raise InvalidRequest("The action must be pause, resume or close.")
        session = self.store.get_session(check_session_id(session_id), owner=owner)
        # The store checks the transition (lifecycle) inside the same commit.
        updated = self.store.set_status(session.id, status_for_action(action))
        if action == "pause":
            self._paused_by_learner[session.id] = time.monotonic()
        await self._connections.broadcast(session_id, frames.state_frame(updated))
        return updated

    def _recap_due(self, session_id: str) -> bool:
        """Whether a resume gets the "where we left off" recap (see ``recap_after_seconds``)."""
        paused_at = self._paused_by_learner.pop(session_id, None)
        return paused_at is None or time.monotonic() - paused_at >= self.config.recap_after_seconds

    async def _broadcast_state_of(self, session_id: str) -> None:
        try:
            session = self.store.get_session(session_id)
        except TutorNBError:
            return
        await self._connections.broadcast(session_id, frames.state_frame(session))

    def _scrub(self, text: str) -> str:
        """Recovery notes come from the store and may name files: show them relative to the root."""
        for base, label in ((self.root_dir, "<root>"), (Path.home(), "~")):
            for form in {str(base), str(base.resolve())}:
                if form and form != "/":
                    text = text.replace(form, label)
        return text
