"""What ``%tutor`` shows as text: the history table, a tutor reply as Markdown or plain text, and
whether a question goes with the learner's last run (one place for each, so the magic stays the
command dispatcher)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

from tutornb.citations import cell_label, format_sources
from tutornb.models import LearnerWork, Message, SessionSummary
from tutornb.plaintext import clip

HISTORY_COLUMNS = ("ID", "STATUS", "PHASE", "MSGS", "LAST ACTIVE (UTC)", "COURSE / MODULE", "TITLE")
TITLE_WIDTH = 40


def _fmt_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def history_table(sessions: Sequence[SessionSummary]) -> str:
    """A plain-text table with fixed columns (same input, same text: scripts and nbval can compare
    it).
    """
    rows = [HISTORY_COLUMNS]
    for s in sessions:
        where = " / ".join(x for x in (s.context.course_id, s.context.module_id) if x) or "-"
        rows.append(
            (
                s.id,
                s.status.value,
                s.phase.value,
                str(s.message_count),
                _fmt_time(s.last_active_at),
                where,
                clip(" ".join((s.title or "-").split()), TITLE_WIDTH),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HISTORY_COLUMNS))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


#: A question about the learner's own run ("my code", "this error", "why does it fail").
_ABOUT_MY_WORK = re.compile(
    r"\b(?:my|this|that|the\s+last)\s+(?:code|cell|line|error|exception|traceback|output|result"
    r"|function|loop|program)\b|\b(?:error|exception|traceback|fails?|failed|failing|crash(?:es|ed)?"
    r"|broken|wrong|doesn'?t\s+work|not\s+working)\b",
    re.IGNORECASE,
)


def wants_work(question: str, work: LearnerWork | None, choice: bool | None = None) -> bool:
    """Whether ``%tutor ask`` attaches the learner's last run.

    ``--work`` / ``--no-work`` decide when given. Otherwise it goes with the question when the last
    run failed (a learner who just hit an error and asks is almost always asking about it), or when
    the question is about their own code ("my loop", "this error", "why is it wrong").
    """
    if work is None or choice is False:
        return False
    if choice is True:
        return True
    return work.error is not None or _ABOUT_MY_WORK.search(question) is not None


def message_markdown(message: Message, work: LearnerWork | None = None) -> str:
    """A tutor message as Markdown for rich display: the reply, quiz choices, sources."""
    parts = [message.text.rstrip()]
    if message.quiz is not None:
        quiz = message.quiz
        if quiz.question not in message.text:
            parts.append(quiz.question)
        parts.append("\n".join(f"- **{chr(65 + i)})** {choice}" for i, choice in enumerate(quiz.choices)))
    if message.citations:
        parts.append(f"*{format_sources(message.citations)}*")
    if work is not None:
        parts.append(f"*{work_note(work)}*")
    return "\n\n".join(parts)


def work_note(work: LearnerWork) -> str:
    where = cell_label(work.cell_index) if work.cell_index is not None else "your last cell"
    return f"Asked with your last run ({where}{', and its error' if work.error else ''})."


def message_text(message: Message) -> str:
    """A tutor message as plain text: its Markdown, then the quiz choices and the cited cells."""
    lines = [message.text.rstrip()]
    if message.quiz is not None:
        quiz = message.quiz
        if quiz.question not in message.text:
            lines.append(quiz.question)
        lines.extend(f"  {chr(65 + i)}) {choice}" for i, choice in enumerate(quiz.choices))
    if message.citations:
        lines.append(format_sources(message.citations))
    return "\n".join(lines)
