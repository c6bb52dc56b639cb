"""The chat socket with the real offline course tutor over the sample course notebooks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.server_helpers import Fetch, eventually
from tutornb.models import Status
from tutornb.service import TutorService

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MODULE = "01_lists_and_loops.ipynb"


@pytest.fixture
def course_context(jp_root_dir: Path) -> dict[str, Any]:
    """The sample course copied under the server root; the context a notebook's panel sends."""
    shutil.copytree(NOTEBOOKS, jp_root_dir / "course", ignore=shutil.ignore_patterns(".*"))
    meta = json.loads((jp_root_dir / "course" / MODULE).read_text())["metadata"]["tutornb"]
    context = {k: meta[k] for k in ("course_id", "course_title", "module_id", "module_title")}
    context["notebook_path"] = f"course/{MODULE}"
    return context


def is_tutor(frame: dict[str, Any]) -> bool:
    return bool(frame["message"]["role"] == "tutor")


async def test_grounded_answer_quiz_and_answer_frames_with_the_course_tutor(
    api: Fetch, chat: Any, course_context: dict[str, Any], service: TutorService
) -> None:
    # Given a session of the "Lists & loops" notebook and a socket on it
    code, session, _ = await api("sessions", method="POST", body={"context": course_context})
    assert code == 201
    ws = await chat(session["id"])
    await ws.until("session")
    # When the learner asks a question the notebook covers
    await ws.send({"type": "message", "client_id": "q-1", "text": "How do I loop over a list?"})
    await ws.until("ack")
    reply = await ws.until("message", is_tutor)
    # Then the answer streams and cites a cell of that notebook
    assert any(f["type"] == "delta" for f in ws.seen)
    citations = reply["message"]["citations"]
    assert citations
    assert citations[0]["notebook_path"] == f"course/{MODULE}"
    # When the learner asks for a quiz
    await ws.send({"type": "message", "client_id": "q-2", "text": "quiz me"})
    quiz_frame = await ws.until("message", lambda f: is_tutor(f) and f["message"]["quiz"])
    prompt = quiz_frame["message"]["quiz"]
    state = await ws.until("state")
    assert state["session"]["phase"] == "quizzing"
    # And answers it by clicking a choice (an answer frame)
    await ws.send({"type": "answer", "question_id": prompt["question_id"], "choice": 0})
    ack = await ws.until("ack")
    graded = await ws.until("message", is_tutor)
    # Then the choice is stored as the learner's message and the tutor grades it
    assert ack["message"]["text"].startswith("A. ")
    assert "A)" in graded["message"]["text"]
    await service.drain()
    stored = service.store.get_session(session["id"])
    assert stored.state.quiz is not None
    assert [a.question_id for a in stored.state.quiz.answers] == [prompt["question_id"]]
    ws.close()


async def test_a_restarted_service_continues_the_session_from_the_store(
    api: Fetch,
    chat: Any,
    course_context: dict[str, Any],
    store_dir: Path,
    jp_root_dir: Path,
    service: TutorService,
) -> None:
    # Given a session in the middle of a quiz, served by the running server
    _, session, _ = await api("sessions", method="POST", body={"context": course_context})
    ws = await chat(session["id"])
    await ws.until("session")
    await ws.send({"type": "message", "client_id": "r-1", "text": "quiz me"})
    await ws.until("message", is_tutor)
    await ws.send({"type": "message", "client_id": "r-2", "text": "go"})
    first = await ws.until("message", lambda f: is_tutor(f) and f["message"]["quiz"])
    ws.close()
    await eventually(lambda: service.store.get_session(session["id"]).status is Status.PAUSED)
    # When another process's service (a restarted server, or the kernel) opens the same store
    other = TutorService.open(root_dir=jp_root_dir, store_dir=store_dir)
    try:
        restored = other.get_session(session["owner"], session["id"])
        # Then it sees the transcript and the quiz state
        assert [m.role.value for m in restored.messages] == ["learner", "tutor"] * 2
        assert restored.state.quiz is not None
        assert restored.state.quiz.open_question_id == first["message"]["quiz"]["question_id"]
        # And a resume turn (the session was auto-paused) picks up where it stopped
        resumed = await other.change_status(session["owner"], session["id"], "resume")
        assert resumed.status.value == "active"
        last = other.store.messages(session["id"])[-1]
        assert last.role.value == "tutor"
        assert last.seq == 5
    finally:
        other.close()
