"""Tutor turns on the service's behalf: awaited or in the background, one reply per learner message.

The service acknowledges a learner message without waiting for the tutor, so most turns run as
background tasks; this keeps those tasks (for :meth:`drain` and shutdown), turns a failed turn into
an ``error`` frame for the session's connections, and remembers which learner messages have a turn
queued or running, so a retry or a socket connecting meanwhile never starts a second one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from tutornb import frames
from tutornb.errors import SessionNotFound, TutorNBError
from tutornb.models import Message, Role
from tutornb.service.turns import TurnRunner
from tutornb.store.api import SessionStoreAPI
from tutornb.tutors.base import QuizAnswerInput, TurnKind

Broadcast = Callable[[str, dict[str, Any]], Awaitable[None]]


class TurnQueue:
    def __init__(
        self, store: SessionStoreAPI, turns: TurnRunner, broadcast: Broadcast, logger: logging.Logger
    ) -> None:
        self.store = store
        self._turns = turns
        self._broadcast = broadcast
        self.log = logger
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Learner message ids whose tutor turn is queued or running (a retry must not start a
        #: second one).
        self._pending: set[str] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Runs ``coro`` in the background, kept until it ends (see :meth:`drain`)."""
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

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def drain(self) -> None:
        """Waits until every background task has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def spawn_turn(
        self,
        session_id: str,
        kind: TurnKind,
        *,
        learner: Message | None = None,
        answer: QuizAnswerInput | None = None,
    ) -> None:
        if learner is not None:
            self._pending.add(learner.id)  # now: the task starts only at the next tick
        self.spawn(self.turn(session_id, kind, learner=learner, answer=answer, reraise=False))

    async def turn(
        self,
        session_id: str,
        kind: TurnKind,
        *,
        learner: Message | None = None,
        answer: QuizAnswerInput | None = None,
        reraise: bool = True,
    ) -> Message | None:
        """One tutor turn (tutornb.service.turns); a failure becomes an ``error`` frame to the session's
        connections, then is raised to a caller that waits for the reply (``reraise``) or ends
        the turn with ``None`` (background turns, resumes: the frame was the whole answer)."""
        if learner is not None:
            # Also for awaited turns (``ask``): a socket connecting meanwhile must not answer it twice.
            self._pending.add(learner.id)
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
                self._pending.discard(learner.id)

    def needs_reply(self, session_id: str, learner: Message, *, retry: bool = False) -> bool:
        """No tutor message answers it yet; with ``retry`` (the learner resent it), a reply that was
        cut off mid-stream does not count as an answer either."""
        if learner.id in self._pending:
            return False
        later = self.store.messages(session_id, after_seq=learner.seq)
        return not any(m.role is Role.TUTOR and not (retry and m.interrupted == "cut_off") for m in later)
