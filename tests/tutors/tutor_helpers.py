"""A driver that plays the service's part for tutor tests (store the learner message, run the turn,
persist what the tutor decided) so each test can look at the tutor's events one by one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutornb.lifecycle import check_phase_change
from tutornb.models import ActionLogEntry, CourseContext, LearnerWork, Role, Session
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


@dataclass
class Driver:
    """Runs turns the way the service does, against the real store."""

    tutor: Tutor
    store: SessionStore
    root: Path
    session_id: str
    turns: list[TurnResult] = field(default_factory=list)

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
            NewMessage(role=Role.LEARNER, text=text, client_id=uuid.uuid4().hex),
        )
        learner = stored.message if work is None else stored.message.model_copy(update={"work": work})
        return await self.run("message", learner=learner)

    async def answer(self, question_id: str, choice: int) -> TurnResult:
        return await self.run("answer", answer=QuizAnswerInput(question_id, choice))

    async def run(self, kind: TurnKind, *, learner: Any = None, answer: Any = None) -> TurnResult:
        before = self.session
        turn = TutorTurn(
            kind=kind,
            session=before,
            history=self.store.messages(self.session_id),
            root_dir=self.root,
            plan_cache=self.store,
            learner_message=learner,
            answer=answer,
        )
        events = [event async for event in self.tutor.respond(turn)]
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        updates = [e for e in events if isinstance(e, StateUpdate)]
        assert len(updates) <= 1, "one state update per turn"
        if text and not any(isinstance(e, ErrorEvent) for e in events):
            self.store.append_message(
                self.session_id,
                NewMessage(
                    role=Role.TUTOR,
                    text=text,
                    citations=tuple(e.citation for e in events if isinstance(e, CitationEvent)),
                ),
            )
        actions = [
            ActionLogEntry(action=e.action, data=e.data, reasoning=e.reasoning)
            for e in events
            if isinstance(e, ActionEvent)
        ]
        if updates and updates[0].phase is not None:
            # The service persists one phase change per turn: it must be a legal one.
            check_phase_change(before.phase, updates[0].phase)
        if updates or actions:
            update = updates[0] if updates else None
            self.store.update_tutor_state(
                self.session_id,
                state=update.state if update else None,
                phase=update.phase if update else None,
                current_question_number=update.current_question_number if update else None,
                actions=actions,
            )
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
