"""A learner's progress report, built from their own store.

Everything comes from what the tutor already keeps: session summaries (phase, module), the tutor
state (mastery per objective) and the action log (``quiz_graded``, ``misconception_found``,
``mastery_updated``, ``not_covered``), which is the record of every decision the tutor made. The
text of an uncovered question is the learner's own message that the tutor answered with
``not_covered``; it is read only when the learner consented to share it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tutornb.instructor.reports.model import (
    MisconceptionCount,
    ModuleProgress,
    ProgressReport,
    QuizResult,
    UncoveredQuestion,
)
from tutornb.models import ActionLogEntry, Message, Role, SessionExport, SessionSummary, utcnow
from tutornb.store.api import SessionQuery, SessionStoreAPI
from tutornb.tutors.quizorder import as_written

#: A gap between two messages longer than this counts as this long: the learner was away.
IDLE_CAP = timedelta(minutes=5)


class ReportError(ValueError):
    """Why no report can be made (one line for the learner)."""


@dataclass
class _Question:
    objective: str | None = None
    text: str | None = None
    options: list[str] = field(default_factory=list)
    choices: list[int] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)


@dataclass
class _Module:
    module_id: str | None
    module_title: str | None
    sessions: list[SessionExport] = field(default_factory=list)
    questions: dict[str, _Question] = field(default_factory=dict)
    misconceptions: dict[tuple[str | None, int | None, str], tuple[str | None, int]] = field(
        default_factory=dict
    )
    uncovered: list[UncoveredQuestion] = field(default_factory=list)
    uncovered_count: int = 0


def _sessions(store: SessionStoreAPI, owner: str | None, course_id: str | None) -> Iterator[SessionSummary]:
    cursor: str | None = None
    while True:
        page = store.list_sessions(SessionQuery(owner=owner, course_id=course_id, limit=200, cursor=cursor))
        yield from page.sessions
        cursor = page.next_cursor
        if cursor is None:
            return


def time_active(messages: list[Message]) -> float:
    """Seconds between the first and last message, each idle gap capped at :data:`IDLE_CAP`."""
    times = sorted(m.created_at for m in messages)
    return sum(min(b - a, IDLE_CAP).total_seconds() for a, b in itertools.pairwise(times))


def _question_text(messages: list[Message], at: datetime) -> str | None:
    """The learner message the tutor was answering when it logged ``at``."""
    asked = [m for m in messages if m.role is Role.LEARNER and m.created_at <= at]
    return asked[-1].text if asked else None


def _read_prompts(module: _Module, export: SessionExport) -> None:
    """The quiz questions and choices as the tutor showed them (its messages carry the prompt)."""
    for message in export.messages:
        if message.quiz is not None:
            question = module.questions.setdefault(message.quiz.question_id, _Question())
            question.text = message.quiz.question[:2_000]
            shown = [choice[:2_000] for choice in message.quiz.choices]
            question.options = as_written(export.session.state, message.quiz.question_id, shown)


def _read_actions(module: _Module, export: SessionExport, include_questions: bool) -> None:
    _read_prompts(module, export)
    last: tuple[str, int] | None = None
    for entry in sorted(export.actions, key=lambda a: a.at):
        data = entry.data
        if entry.action == "quiz_graded" and isinstance(data.get("question_id"), str):
            question = module.questions.setdefault(data["question_id"], _Question())
            choice = data.get("choice")
            question.choices.append(choice if isinstance(choice, int) else -1)
            question.correct.append(bool(data.get("correct")))
            last = (data["question_id"], question.choices[-1])
        elif entry.action == "mastery_updated" and last is not None and data.get("objective"):
            module.questions[last[0]].objective = str(data["objective"])
        elif entry.action == "misconception_found" and isinstance(data.get("text"), str):
            _count_misconception(module, entry, last)
        elif entry.action == "not_covered":
            module.uncovered_count += 1
            text = _question_text(export.messages, entry.at) if include_questions else None
            if text:
                terms = [str(t)[:100] for t in data.get("question_terms", [])][:50]
                module.uncovered.append(UncoveredQuestion(text=text[:2_000], terms=terms))
    if not any(e.action == "quiz_graded" for e in export.actions) and export.session.state.quiz:
        # A tutor that keeps quiz answers in its state but logs no grading: read the state.
        for record in export.session.state.quiz.answers:
            question = module.questions.setdefault(record.question_id, _Question())
            question.choices.append(record.choice)
            question.correct.append(record.correct)


def _count_misconception(module: _Module, entry: ActionLogEntry, last: tuple[str, int] | None) -> None:
    question_id = entry.data.get("question_id")
    question_id = question_id if isinstance(question_id, str) else None
    choice = last[1] if last is not None and last[0] == question_id and last[1] >= 0 else None
    objective = entry.data.get("objective")
    key = (question_id, choice, str(entry.data["text"])[:2_000])
    _, count = module.misconceptions.get(key, (None, 0))
    module.misconceptions[key] = (str(objective) if objective else None, count + 1)


def _choice_text(module: _Module, question_id: str | None, choice: int | None) -> str | None:
    question = module.questions.get(question_id or "")
    if question is None or choice is None or not 0 <= choice < len(question.options):
        return None
    return question.options[choice]


def _module_progress(module: _Module) -> ModuleProgress:
    ordered = sorted(module.sessions, key=lambda e: e.session.last_active_at)
    mastery: dict[str, float] = {}
    for export in ordered:
        mastery.update({k: min(1.0, max(0.0, v)) for k, v in export.session.state.mastery.items()})
    return ModuleProgress(
        module_id=module.module_id,
        module_title=module.module_title,
        sessions=len(ordered),
        phase=ordered[-1].session.phase,
        time_active_seconds=round(sum(time_active(e.messages) for e in ordered), 1),
        mastery=mastery,
        quiz=[
            QuizResult(
                question_id=qid,
                question=q.text,
                objective=q.objective,
                attempts=len(q.correct),
                first_correct=q.correct[0],
                latest_correct=q.correct[-1],
                choices=q.choices,
            )
            for qid, q in module.questions.items()
            if q.correct
        ],
        misconceptions=[
            MisconceptionCount(
                question_id=qid,
                objective=objective,
                choice=choice,
                choice_text=_choice_text(module, qid, choice),
                text=text,
                count=count,
            )
            for (qid, choice, text), (objective, count) in module.misconceptions.items()
        ],
        uncovered_count=module.uncovered_count,
        uncovered=module.uncovered,
    )


def build_report(
    store: SessionStoreAPI,
    *,
    learner: str | None = None,
    owner: str | None = None,
    course_id: str | None = None,
    include_questions: bool = False,
) -> ProgressReport:
    """The report of ``owner``'s sessions in ``course_id``; without a course the store must hold a
    single one. Without an owner (the CLI on a learner's own store) the store must hold one
    learner's sessions, whose name the report then carries unless ``learner`` names it."""
    summaries = list(_sessions(store, owner, course_id))
    owners = sorted({s.owner for s in summaries})
    if owner is None and len(owners) > 1:
        raise ReportError(f"sessions of several learners ({', '.join(owners)}): choose one with --learner")
    learner = learner or (owners[0] if owners else owner) or "learner"
    courses = sorted({s.context.course_id for s in summaries if s.context.course_id})
    if course_id is None and len(courses) > 1:
        raise ReportError(f"sessions of several courses ({', '.join(courses)}): choose one with --course")
    if not summaries:
        where = f"course {course_id!r}" if course_id else "any course"
        raise ReportError(f"no tutoring sessions for {where} yet: nothing to report")
    course = course_id or (courses[0] if courses else None)
    modules: dict[str, _Module] = {}
    title = None
    for summary in sorted(summaries, key=lambda s: s.created_at):
        if course is not None and summary.context.course_id != course:
            continue  # a notebook outside the course is not part of its report
        export = store.export_session(summary.id)
        context = export.session.context
        title = title or context.course_title
        key = context.module_id or context.module_title or ""
        module = modules.setdefault(key, _Module(context.module_id, context.module_title))
        module.sessions.append(export)
        _read_actions(module, export, include_questions)
    return ProgressReport(
        generated_at=utcnow(),
        learner=learner,
        course_id=course,
        course_title=title,
        includes_questions=include_questions,
        modules=[_module_progress(m) for m in modules.values()],
    )
