"""A tutor whose output is hostile: it echoes the learner's text back as its reply, as a citation
heading and path, and as a quiz question with the text as a choice.

It stands for a model that was steered into repeating an attack, and reaches the server the way a
third-party tutor does: through the ``tutornb.tutors`` entry-point group (``live_server`` installs
it). Everything it emits must reach the page as inert text or sanitized HTML.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tutornb.models import Citation, QuizPrompt
from tutornb.tutors.base import CitationEvent, QuizEvent, TextDelta, TutorEvent, TutorTurn


class EchoTutor:
    name = "hostile-echo"
    model: str | None = None

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        learner = turn.learner_message
        if learner is None:
            yield TextDelta("Welcome back.")
            return
        text = learner.text
        middle = len(text) // 2
        # Two deltas that split the payload: the page must not rebuild markup across them.
        yield TextDelta("You said: " + text[:middle])
        yield TextDelta(text[middle:])
        # A citation's path must be a notebook inside the root (anything else is dropped, see
        # tests/security/test_imported_citations.py): the payload rides in its heading.
        yield CitationEvent(Citation(notebook_path="payloads.ipynb", cell_index=0, heading=text[:300]))
        yield QuizEvent(
            QuizPrompt(
                question_id=text[:100] or "q",
                number=1,
                total=1,
                question=text,
                choices=[text, "a plain choice"],
            )
        )


def create_echo_tutor(*, root_dir: Path, options: dict[str, Any] | None = None) -> EchoTutor:
    return EchoTutor()
