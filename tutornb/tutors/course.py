"""The offline ``course`` tutor: grounded in the course notebooks, deterministic, through every
phase.

It follows the teaching loop (intake → planning → learning → quizzing → analyzing → next
topic or completed). Each turn is composed in full from the stored state and the course index, then
streamed line by line; the turn's single phase change always goes from the stored phase to one the
phase machine allows, so the service can persist it as one step.

The work is split by phase: ``planning`` / ``plans`` (study plans and their steps), ``answering``
(questions, errors, "I'm lost", honest refusals), ``hints`` (the hint ladder under the course
policy), ``quizzing`` (quiz and analysis) and ``status`` (intake, progress, resume). This module
routes a turn to them; :class:`CourseEngine` is also the surface the model-backed tutor uses.

The tutor only says what the notebooks say (quoted with their cells) plus Python's own facts about
built-in exceptions; when the material does not cover a question it says so instead of guessing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from tutornb.errors import TutorUnavailable
from tutornb.models import LearnerWork, Phase, TutorState
from tutornb.tutors import answering, errorcourse, hints, planning, quizzing, status
from tutornb.tutors import quiz as quizzes
from tutornb.tutors.answering import MIN_COVERAGE, MIN_SCORE, Found
from tutornb.tutors.base import ErrorEvent, TutorEvent, TutorTurn
from tutornb.tutors.intents import Intent, Reading, read_message
from tutornb.tutors.lesson import Lesson, lesson_for
from tutornb.tutors.material import Material, load_material
from tutornb.tutors.plans import DEFAULT_PLAN_TTL, PLAN_CACHE_VERSION
from tutornb.tutors.reply import Reply

__all__ = [
    "DEFAULT_PLAN_TTL",
    "MIN_COVERAGE",
    "MIN_SCORE",
    "PLAN_CACHE_VERSION",
    "CourseEngine",
    "CourseTutor",
    "create_course_tutor",
]

log = logging.getLogger("tutornb.tutors.course")

#: Intents that keep the quiz honest while a question is open: reminded, not answered.
_QUIZ_GUARDED = {Intent.QUESTION, Intent.NEXT, Intent.GREETING, Intent.QUIZ, Intent.PLAN, Intent.LOST}


class CourseEngine:
    """Composes the course tutor's replies; the model-backed tutor uses it for retrieval, plans,
    quizzes and everything it does not send to the model."""

    def __init__(
        self,
        *,
        root_dir: Path,
        plan_ttl: timedelta = DEFAULT_PLAN_TTL,
        policy: dict[str, Any] | None = None,
    ) -> None:
        self.root_dir = root_dir
        self.plan_ttl = plan_ttl
        #: The server's policy override (``TutorNBApp.policy``), passed as the tutor option.
        self.policy = policy

    async def material(self, turn: TutorTurn) -> Material:
        # Reading notebooks is file I/O: keep it off the event loop the server shares with every
        # socket.
        return await asyncio.to_thread(load_material, turn.root_dir, turn.session.context.notebook_path)

    def lesson(self, turn: TutorTurn, material: Material) -> Lesson | None:
        return lesson_for(material, turn, policy_override=self.policy, plan_ttl=self.plan_ttl)

    def new_reply(self, turn: TutorTurn) -> Reply:
        state = turn.session.state.model_copy(deep=True)
        return Reply(
            turn.session.phase,
            turn.session.phase,
            state,
            state.model_dump(mode="json"),
            plan_cache=turn.plan_cache,
        )

    @staticmethod
    def work(turn: TutorTurn) -> LearnerWork | None:
        """The learner's own last cell (and its error) attached to the message being answered."""
        return turn.learner_message.work if turn.learner_message is not None else None

    def read(self, turn: TutorTurn, lesson: Lesson, state: TutorState) -> Reading:
        text = turn.learner_message.text if turn.learner_message else status.last_learner_text(turn.history)
        reading = read_message(text or "", open_question=lesson.open_question(state))
        work = self.work(turn)
        if reading.intent is Intent.QUESTION and work is not None and work.error:
            # "why does this fail?" with the failing cell attached: it is about that error.
            return Reading(Intent.TRACEBACK, reading.text)
        if reading.intent is Intent.QUESTION and errorcourse.inline_error(reading.text) is not None:
            # "my code ... gives TypeError: ...": an error named in a question is explained as one.
            return Reading(Intent.TRACEBACK, reading.text)
        return reading

    def find(self, lesson: Lesson, text: str, work: LearnerWork | None = None, *, limit: int = 4) -> Found:
        """The passages for a message, read with the conversation so far (both tutors use it)."""
        return answering.find(lesson, text, limit=limit, work=work)

    # -- dispatch ------------------------------------------------------------------------------------

    def compose(self, turn: TutorTurn, material: Material, reading: Reading | None = None) -> Reply:
        reply = self.new_reply(turn)
        lesson = self.lesson(turn, material)
        if lesson is None:
            status.no_material(reply, turn)
            return reply
        if turn.kind == "resume" or (turn.kind == "start" and (turn.history or reply.phase != Phase.INTAKE)):
            status.resume(reply, turn, lesson)
        elif turn.kind == "start":
            status.greet(reply, lesson)
        elif turn.kind == "answer" and turn.answer is not None:
            quizzing.answer(reply, lesson, turn.answer.question_id, turn.answer.choice)
        else:
            self.handle(reply, lesson, reading or self.read(turn, lesson, reply.state), self.work(turn))
        return reply

    def handle(self, reply: Reply, lesson: Lesson, reading: Reading, work: LearnerWork | None = None) -> None:
        phase, intent = reply.phase, reading.intent
        if intent is Intent.TRACEBACK:
            answering.explain_traceback(reply, lesson, reading.text, work)
        elif intent is Intent.ANSWER and reading.choice is not None:
            open_q = lesson.open_question(reply.state)
            quizzing.answer(reply, lesson, open_q.id if open_q else "", reading.choice)
        elif intent is Intent.STOP_QUIZ:
            quizzing.stop_quiz(reply, lesson)
        elif phase is Phase.QUIZZING and quizzes.is_running(reply.state.quiz) and intent in _QUIZ_GUARDED:
            quizzing.remind_open_question(reply, lesson)
        elif intent is Intent.QUIZ:
            quizzing.quiz(reply, lesson)
        elif intent is Intent.NEXT:
            planning.next_step(reply, lesson)
        elif intent in {Intent.HINT, Intent.SOLUTION, Intent.CHECK}:
            hints.exercise_help(reply, lesson, reading)
        elif intent is Intent.LOST:
            answering.orientation(reply, lesson)
        elif intent is Intent.PLAN:
            planning.plan(reply, lesson)
        elif intent is Intent.OBJECTIVES:
            status.objectives(reply, lesson)
        elif intent is Intent.PROGRESS:
            status.progress(reply, lesson)
        elif intent is Intent.GREETING:
            if phase is Phase.INTAKE:
                status.greet(reply, lesson)
            else:
                status.resume(reply, None, lesson, greeting=True)
        else:
            answering.answer_question(reply, lesson, reading.text, work=work)


class CourseTutor:
    """The default, offline tutor (entry point ``course``)."""

    name = "course"
    model: str | None = None

    def __init__(
        self, *, root_dir: Path, plan_ttl: timedelta = DEFAULT_PLAN_TTL, policy: dict[str, Any] | None = None
    ) -> None:
        self.root_dir = root_dir
        self.engine = CourseEngine(root_dir=root_dir, plan_ttl=plan_ttl, policy=policy)

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        try:
            material = await self.engine.material(turn)
            reply = self.engine.compose(turn, material)
        except Exception:  # the one catch-all: a tutor must not raise; the message stays stored
            log.error("course tutor failed on a %s turn", turn.kind, exc_info=True)
            yield ErrorEvent(
                "TUTOR_FAILED",
                "The tutor could not answer this time. Your message is saved; try again.",
            )
            return
        for event in reply.events():
            yield event


def create_course_tutor(*, root_dir: Path, options: dict[str, Any] | None = None) -> CourseTutor:
    """Entry point ``tutornb.tutors: course``. Options: ``plan_ttl_hours`` (default 168) and
    ``policy`` (the server's tutoring-policy override, a partial mapping)."""
    options = options or {}
    hours = options.get("plan_ttl_hours", DEFAULT_PLAN_TTL.total_seconds() / 3600)
    if not isinstance(hours, (int, float)) or hours <= 0:
        raise TutorUnavailable("The course tutor's plan_ttl_hours must be a positive number.")
    policy = options.get("policy")
    if policy is not None and not isinstance(policy, dict):
        raise TutorUnavailable("The course tutor's policy must be a mapping.")
    return CourseTutor(root_dir=Path(root_dir), plan_ttl=timedelta(hours=float(hours)), policy=policy)
