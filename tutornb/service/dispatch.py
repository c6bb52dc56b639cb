"""A client's chat frame, turned into the service's work: the same for a socket and a comm panel.

A message or a quiz answer is stored (:mod:`tutornb.service.intake`), acknowledged to its sender, shown to
every connection of the session, and only then is the tutor's turn queued (:mod:`tutornb.service.turn_queue`):
acknowledgements never wait for a tutor. A ``stop`` cuts the streaming reply short; ``pause``,
``resume`` and ``close`` go through the service's one status change. Any error becomes one
``error`` frame to the sender, never a closed socket.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from tutornb import frames
from tutornb.errors import InvalidRequest, TutorNBError
from tutornb.models import (
    CLIENT_FRAME,
    AnswerFrame,
    ControlFrame,
    LearnerWork,
    MessageFrame,
    Session,
    StopFrame,
)
from tutornb.service.connections import ChatConnection, Connections
from tutornb.service.intake import LearnerIntake
from tutornb.service.turn_queue import TurnQueue
from tutornb.service.turns import TurnRunner
from tutornb.tutors.base import QuizAnswerInput, TurnKind

#: The service's status change (owner, session id, action) and its "is a recap due" question.
ApplyStatus = Callable[[str, str, str], Awaitable[Session]]
RecapDue = Callable[[str], bool]


class FrameDispatcher:
    def __init__(
        self,
        *,
        intake: LearnerIntake,
        connections: Connections,
        turn_queue: TurnQueue,
        turns: TurnRunner,
        apply_status: ApplyStatus,
        recap_due: RecapDue,
        logger: logging.Logger,
    ) -> None:
        self._intake = intake
        self._connections = connections
        self._turn_queue = turn_queue
        self._turns = turns
        self._apply_status = apply_status
        self._recap_due = recap_due
        self.log = logger

    async def receive(self, conn: ChatConnection, raw: str | bytes | Mapping[str, Any]) -> None:
        client_id: str | None = None
        try:
            frame = frames.decode(raw)
            client_id = frames.client_id_of(frame)
            await self._dispatch(conn, frame)
        except TutorNBError as exc:
            await self._connections.send(conn, frames.error_frame(exc, client_id))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must cost one error frame, never the socket or the server
            self.log.error("tutornb: unexpected error while handling a chat frame", exc_info=exc)
            await self._connections.send(conn, frames.error_frame(exc, client_id))

    async def _dispatch(self, conn: ChatConnection, frame: dict[str, Any]) -> None:
        # Before validation: an oversized message is refused as too large, not as a malformed frame.
        self._intake.check_length(frame.get("text"))
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
        self._intake.check_text(frame.text)
        await self._learner_turn(conn, frame.text, frame.client_id, "message", work=frame.work)

    async def _on_answer(self, conn: ChatConnection, frame: AnswerFrame) -> None:
        prompt = self._intake.find_quiz(conn.owner, conn.session_id, frame.question_id)
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
        learner, created = await self._intake.accept(conn.owner, conn.session_id, text, client_id, work)
        await self._connections.send(conn, frames.ack_frame(client_id, learner))
        if created:
            await self._connections.broadcast(conn.session_id, frames.message_frame(learner))
        # A resend after a failed or cut-off tutor turn is the retry: same stored message, a fresh turn.
        if created or self._turn_queue.needs_reply(conn.session_id, learner, retry=True):
            self._turn_queue.spawn_turn(conn.session_id, kind, learner=learner, answer=answer)

    async def _on_control(self, conn: ChatConnection, frame: ControlFrame) -> None:
        session = await self._apply_status(conn.owner, conn.session_id, frame.type)
        if frame.type == "resume" and self._recap_due(session.id):
            self._turn_queue.spawn_turn(session.id, "resume")
