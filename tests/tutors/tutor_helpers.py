"""A driver that plays the service's part for tutor tests (store the learner message, run the turn,
persist what the tutor decided) so each test can look at the tutor's events one by one."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tutornb.models import CourseContext, LearnerWork, Role, Session
from tutornb.service.turns import TurnRunner, TutorTurnFailed
from tutornb.store.api import NewMessage
from tutornb.store.sessions import SessionStore
from tutornb.tutors.base import (
    ActionEvent,
    CitationEvent,
    ErrorEvent,
    QuizAnswerInput,
    QuizEvent,
    StateUpdate,
    TextDelta,
    TurnKind,
    Tutor,
    TutorEvent,
    TutorTurn,
)

REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LISTS = "course/01_lists_and_loops.ipynb"
DICTS = "course/02_dictionaries.ipynb"

#: A learner's KeyError as IPython shows it; the course explains missing keys in DICTS.
TRACEBACK = """\
---------------------------------------------------------------------------
KeyError                                  Traceback (most recent call last)
Cell In[7], line 3
      1 person = {"name": "Ann"}
      2 person["city"] = "Lisbon"
----> 3 print(person["age"])

KeyError: 'age'"""


@dataclass
class TurnResult:
    events: list[TutorEvent]
    session: Session

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def deltas(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TextDelta)]

    @property
    def citations(self) -> list[Any]:
        return [e.citation for e in self.events if isinstance(e, CitationEvent)]

    @property
    def quiz(self) -> Any:
        found = [e.prompt for e in self.events if isinstance(e, QuizEvent)]
        return found[-1] if found else None

    @property
    def actions(self) -> list[ActionEvent]:
        return [e for e in self.events if isinstance(e, ActionEvent)]

    def action(self, name: str) -> ActionEvent:
        found = [a for a in self.actions if a.action == name]
        assert found, f"no {name!r} action in {[a.action for a in self.actions]}"
        return found[-1]

    @property
    def errors(self) -> list[ErrorEvent]:
        return [e for e in self.events if isinstance(e, ErrorEvent)]

    @property
    def updates(self) -> list[StateUpdate]:
        return [e for e in self.events if isinstance(e, StateUpdate)]


class _Recorder:
    """The tutor as the TurnRunner sees it, keeping a copy of every event for the test to inspect."""

    def __init__(self, tutor: Tutor) -> None:
        self.tutor = tutor
        self.name = tutor.name
        self.model = tutor.model
        self.events: list[TutorEvent] = []

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        async for event in self.tutor.respond(turn):
            self.events.append(event)
            yield event


@dataclass
class Driver:
    """Runs turns through the service's own TurnRunner, against the real store."""

    tutor: Tutor
    store: SessionStore
    root: Path
    session_id: str
    turns: list[TurnResult] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, tutor: Tutor, store: SessionStore, root: Path, notebook: str) -> Driver:
        session = store.create_session("learner", CourseContext(notebook_path=notebook), title="tutor test")
        return cls(tutor, store, root, session.id)

    @property
    def session(self) -> Session:
        return self.store.get_session(self.session_id)

    async def say(self, text: str, *, work: LearnerWork | None = None) -> TurnResult:
        """The learner sends ``text`` (with their last cell and its error as ``work``, which the
        service puts on the learner message it hands the tutor)."""
        stored = self.store.append_message(
            self.session_id,
            NewMessage(role=Role.LEARNER, text=text, client_id=uuid.uuid4().hex, work=work),
        )
        return await self.run("message", learner=stored.message)

    async def answer(self, question_id: str, choice: int) -> TurnResult:
        return await self.run("answer", answer=QuizAnswerInput(question_id, choice))

    async def run(self, kind: TurnKind, *, learner: Any = None, answer: Any = None) -> TurnResult:
        recorder = _Recorder(self.tutor)

        async def broadcast(session_id: str, frame: dict[str, Any]) -> None:
            self.frames.append(frame)

        runner = TurnRunner(
            self.store,
            lambda: cast(Tutor, recorder),
            root_dir=self.root,
            broadcast=broadcast,
            logger=logging.getLogger("tutornb.tests"),
        )
        actions_before = len(self.store.actions(self.session_id))
        with contextlib.suppress(TutorTurnFailed):  # the error event is in ``events`` for the test
            await runner.run(self.session_id, kind, learner, answer)
        events = recorder.events
        assert len([e for e in events if isinstance(e, StateUpdate)]) <= 1, "one state update per turn"
        refused = [
            a
            for a in self.store.actions(self.session_id)[actions_before:]
            if a.action == "phase_change_refused"
        ]
        # The runner refuses an illegal phase jump and logs it; a tutor under test must never ask for one.
        assert not refused, f"the tutor asked for a forbidden phase change: {refused[0].data}"
        result = TurnResult(events, self.session)
        self.turns.append(result)
        return result


def cell_source(root: Path, notebook: str, cell_index: int) -> str:
    """A cell's source as a reader sees it (no code ticks), to check what a citation points at."""
    import json

    doc = json.loads((root / notebook).read_text(encoding="utf-8"))
    source = doc["cells"][cell_index]["source"]
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.replace("`", "")
