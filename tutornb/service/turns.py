"""Tutor turns: run the tutor on a session, stream its text, persist what it decided.

A turn reads the stored transcript and state, streams the tutor's text as ``delta`` frames, then
stores the reply (with its citations and quiz) and the new state, phase and action log in one
``update_tutor_state`` call. A phase change the phase machine forbids is refused and logged as an
action. Failures raise :class:`TutorTurnFailed`; the learner's message is already stored, so a
resend retries. A reply that ends early is stored as far as it got, marked ``interrupted``: ``cut_off``
when the tutor says its stream broke (a resend retries it), ``stopped`` when the learner sent a
``stop`` frame (:meth:`TurnRunner.stop`), which ends the turn at once, even while the tutor waits on
a model.

Scheduling, because turns share the server's event loop with every acknowledgement: turns on one
session run one after another (per-session lock), at most ``max_concurrent`` run at once, and only
one commits at a time, after letting the acknowledgements that arrived meanwhile go first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from tutornb import frames
from tutornb.errors import TutorNBError, TutorUnavailable
from tutornb.lifecycle import refused_phase_change
from tutornb.models import ActionLogEntry, Citation, Message, QuizPrompt, Role, Session, Status
from tutornb.plaintext import without_addresses
from tutornb.render import render_markdown
from tutornb.store.api import NewMessage, SessionStoreAPI
from tutornb.tutors.base import (
    ActionEvent,
    CitationEvent,
    ErrorEvent,
    Interrupted,
    QuizAnswerInput,
    QuizEvent,
    StateUpdate,
    TextDelta,
    TurnKind,
    Tutor,
    TutorEvent,
    TutorTurn,
)

Broadcast = Callable[[str, dict[str, Any]], Awaitable[None]]
STOPPED_BEFORE_ANSWERING = "(Stopped before answering.)"
_ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,40}$")


class TutorTurnFailed(TutorUnavailable):
    """A turn ended in an error event; carries the tutor's own code (e.g. a model's rate limit)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message[:500] or "The tutor could not answer.")
        if _ERROR_CODE.fullmatch(code):
            self.code = code


class DeltaBatcher:
    """Streams a reply's text: the first delta at once, then whatever the tutor produces within
    ``interval`` of the last frame as one frame. A tutor that composes its whole reply in one go
    (the offline tutor) costs a couple of frames instead of dozens; a model streaming over the
    network, whose deltas arrive further apart, is forwarded delta by delta."""

    def __init__(self, send: Callable[[str], Awaitable[None]], interval: float = 0.025) -> None:
        self._send = send
        self._interval = interval
        self._pending: list[str] = []
        self._last: float | None = None

    async def add(self, text: str) -> None:
        self._pending.append(text)
        now = time.monotonic()
        if self._last is None or now - self._last >= self._interval:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._last = time.monotonic()
            await self._send(text)


class AckPriority:
    """Acknowledgements first: the ack path marks itself busy, and turns wait (briefly) until no
    acknowledgement is in progress before their expensive steps. Under a burst of messages every
    sender is acknowledged before the tutor catches up; ``max_wait`` keeps a steady stream of
    messages from starving the tutor."""

    def __init__(self, max_wait: float = 0.25) -> None:
        self.max_wait = max_wait
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def wait_turn(self) -> None:
        await asyncio.sleep(0)  # whatever is ready in the loop (new frames) runs first
        if self._busy:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.max_wait)


class _Outcome:
    """What the tutor said and decided during one turn, collected from its events."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.citations: list[Citation] = []
        self.quiz: QuizPrompt | None = None
        self.update: StateUpdate | None = None
        self.actions: list[ActionLogEntry] = []
        self.interrupted: str | None = None


async def _until(
    events: AsyncIterator[TutorEvent], stop: asyncio.Event
) -> AsyncGenerator[TutorEvent | None, None]:
    """The tutor's events until ``stop`` is set, then one ``None``. Waits on both at once, so a
    stop ends a turn whose tutor is still waiting for a model's next chunk; the tutor's generator
    is then closed (its HTTP stream with it)."""
    iterator = events.__aiter__()
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while True:
            step = asyncio.ensure_future(iterator.__anext__())
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await step
                yield None
                return
            try:
                event = step.result()
            except StopAsyncIteration:
                return
            yield event
            if stop.is_set():
                yield None
                return
    finally:
        stopped.cancel()
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


class TurnRunner:
    def __init__(
        self,
        store: SessionStoreAPI,
        tutor: Callable[[], Tutor],
        *,
        root_dir: Path,
        broadcast: Broadcast,
        logger: logging.Logger,
        max_concurrent: int = 8,
        priority: AckPriority | None = None,
    ) -> None:
        self.store = store
        self._tutor = tutor
        self.root_dir = root_dir
        self._broadcast = broadcast
        self.log = logger
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(max(1, max_concurrent))
        self._writer = asyncio.Lock()
        self.priority = priority or AckPriority()
        #: Set to end the session's streaming turn early (a ``stop`` frame).
        self._stops: dict[str, asyncio.Event] = {}

    def stop(self, session_id: str) -> bool:
        """Ends the session's streaming turn, if one is streaming; True when there was one."""
        stop = self._stops.get(session_id)
        if stop is None:
            return False
        stop.set()
        return True

    def forget(self, session_id: str) -> None:
        lock = self._locks.get(session_id)
        if lock is not None and not lock.locked():
            del self._locks[session_id]

    async def run(
        self,
        session_id: str,
        kind: TurnKind,
        learner: Message | None = None,
        answer: QuizAnswerInput | None = None,
    ) -> Message | None:
        """The durable reply; ``None`` if the tutor had nothing to say or the session is closed."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        async with lock, self._slots:
            await self.priority.wait_turn()
            try:
                session = self.store.get_session(session_id)
                if session.status is Status.CLOSED:
                    return None
                stream_id = f"stream-{uuid.uuid4().hex}"
                outcome = await self._stream(session, kind, learner, answer, stream_id)
                return await self._persist(session, outcome, stream_id)
            except (TutorNBError, asyncio.CancelledError):
                raise
            except Exception as exc:
                # The one catch-all of the tutor path: a tutor that raises (tutors must not) or a bug
                # here costs this turn, logged once with its traceback, and the learner a retry.
                self.log.error("tutornb: tutor turn failed unexpectedly", exc_info=exc)
                raise TutorTurnFailed(
                    "TUTOR_UNAVAILABLE", "The tutor failed; send your message again."
                ) from None

    def _history(self, session_id: str, learner: Message | None) -> list[Message]:
        history = self.store.messages(session_id)
        if learner is None:
            return history
        # The learner message ends the history; later learner messages wait for their own turn.
        kept = [
            m for m in history if m.id != learner.id and not (m.role is Role.LEARNER and m.seq > learner.seq)
        ]
        return [*kept, learner]

    async def _stream(
        self,
        session: Session,
        kind: TurnKind,
        learner: Message | None,
        answer: QuizAnswerInput | None,
        stream_id: str,
    ) -> _Outcome:
        turn = TutorTurn(
            kind=kind,
            session=session,
            history=self._history(session.id, learner),
            root_dir=self.root_dir,
            plan_cache=self.store,
            learner_message=learner,
            answer=answer,
        )

        async def send(text: str) -> None:
            await self._broadcast(session.id, frames.delta_frame(stream_id, text))

        deltas = DeltaBatcher(send)
        outcome = _Outcome()
        failure: ErrorEvent | None = None
        stop = self._stops[session.id] = asyncio.Event()
        try:
            async with contextlib.aclosing(_until(self._tutor().respond(turn), stop)) as events:
                async for event in events:
                    if event is None:
                        outcome.interrupted = "stopped"
                        break
                    if isinstance(event, TextDelta):
                        if event.text:
                            outcome.parts.append(event.text)
                            await deltas.add(event.text)
                    elif isinstance(event, CitationEvent):
                        outcome.citations.append(event.citation)
                    elif isinstance(event, QuizEvent):
                        outcome.quiz = event.prompt
                    elif isinstance(event, StateUpdate):
                        outcome.update = event
                    elif isinstance(event, ActionEvent):
                        outcome.actions.append(
                            ActionLogEntry(action=event.action, data=event.data, reasoning=event.reasoning)
                        )
                    elif isinstance(event, ErrorEvent):
                        failure = event
                        break
                    elif isinstance(event, Interrupted):
                        outcome.interrupted = event.reason
                        break
        finally:
            if self._stops.get(session.id) is stop:
                del self._stops[session.id]
        if failure is not None:
            # The learner's text is made here, once, for every front end (panel, %tutor ask, CLI):
            # a model tutor names its endpoint so that this log can say which one failed.
            shown = without_addresses(failure.message)
            if shown != failure.message:
                self.log.warning("tutornb: tutor turn failed (%s): %s", failure.code, failure.message)
            raise TutorTurnFailed(failure.code, shown)
        await deltas.flush()
        return outcome

    async def _persist(self, session: Session, outcome: _Outcome, stream_id: str) -> Message | None:
        update = outcome.update
        phase = None
        if update is not None and update.phase is not None and update.phase != session.phase:
            refusal = refused_phase_change(session.phase, update.phase)
            if refusal is None:
                phase = update.phase
            else:
                outcome.actions.append(refusal)
        text = "".join(outcome.parts)
        if not text and outcome.quiz is not None:
            text = outcome.quiz.question
        if not text and outcome.interrupted == "stopped":
            # Stored all the same: the learner's message counts as answered (not re-asked on reconnect).
            text = STOPPED_BEFORE_ANSWERING
        reply: Message | None = None
        async with self._writer:
            await self.priority.wait_turn()
            if text:
                reply = self.store.append_message(
                    session.id,
                    NewMessage(
                        role=Role.TUTOR,
                        text=text,
                        html=render_markdown(text),
                        citations=tuple(outcome.citations),
                        quiz=outcome.quiz,
                        interrupted=outcome.interrupted,
                    ),
                ).message
                await self._broadcast(session.id, frames.message_frame(reply, stream_id))
            await self.priority.wait_turn()
            state_changed = update is not None and (
                update.state != session.state
                or (
                    update.current_question_number is not None
                    and update.current_question_number != session.current_question_number
                )
            )
            if state_changed or phase is not None or outcome.actions:
                after = self.store.update_tutor_state(
                    session.id,
                    state=update.state if update is not None else None,
                    phase=phase,
                    current_question_number=(update.current_question_number if update is not None else None),
                    actions=outcome.actions,
                )
                if after.phase != session.phase or after.status != session.status:
                    await self._broadcast(session.id, frames.state_frame(after))
        return reply
