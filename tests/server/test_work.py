"""The learner's own work on a message, over the chat WebSocket of a real jupyter-server.

A message frame may carry ``work`` (the learner's last cell and its error). It is validated, stored on
the learner message, given to the tutor, returned on restore, carried by every export and accepted
back on import. Bad work is refused with an error frame and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nbformat
import pytest
from jsonschema import Draft202012Validator

from tests.support.server_helpers import Chat, Fetch, create_session
from tutornb.models import WORK_CODE_MAX, Citation, LearnerWork
from tutornb.service import TutorService
from tutornb.tutors.base import CitationEvent, TextDelta, TutorEvent, TutorTurn

from .test_openapi import BASE, REGISTRY

OpenChat = Callable[..., Awaitable[Chat]]

WORK = {
    "cell_index": 3,
    "code": 'word = "Jupyter"\nword[0] = "j"\n',
    "error": (
        "Cell In[4], line 2\n    word[0] = \"j\"\nTypeError: 'str' object does not support item assignment"
    ),
}


class WorkSeeingTutor:
    """Answers every message and records the work each turn was given."""

    name = "work-seeing"
    model: str | None = None

    def __init__(self) -> None:
        self.seen: list[LearnerWork | None] = []

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        work = turn.work
        self.seen.append(work)
        yield TextDelta("Strings cannot be changed in place." if work else "Noted.")
        yield CitationEvent(Citation(notebook_path="course/strings.ipynb", cell_index=7, heading="Strings"))


@pytest.fixture
def tutor(service: TutorService) -> WorkSeeingTutor:
    found = WorkSeeingTutor()
    service.tutor = found
    return found


def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{BASE}#/components/schemas/{kind}"}, registry=REGISTRY)


def _frame(client_id: str, work: Any) -> dict[str, Any]:
    return {"type": "message", "client_id": client_id, "text": "Why does my cell fail?", "work": work}


async def test_work_is_stored_given_to_the_tutor_restored_exported_and_imported(
    api: Fetch, chat: OpenChat, tutor: WorkSeeingTutor
) -> None:
    # Given a chat on a new session
    session = await create_session(api, module_title="Strings")
    ws = await chat(session["id"])
    await ws.until("session")

    # When the learner asks about their failing cell, with the work attached
    await ws.send(_frame("w-1", WORK))

    # Then the acknowledged (durable) learner message carries the work, and so does its broadcast
    ack = await ws.until("ack")
    assert ack["message"]["work"] == WORK
    echoed = await ws.until("message", lambda f: f["message"]["role"] == "learner")
    assert echoed["message"]["work"] == WORK
    # And the tutor was given exactly that work
    await ws.until("message", lambda f: f["message"]["role"] == "tutor")
    assert tutor.seen == [LearnerWork.model_validate(WORK)]
    ws.close()
    # And the frames, both ways, fit the documented schemas
    for kind, frame in (("ClientFrame", _frame("w-1", WORK)), ("ServerFrame", ack), ("ServerFrame", echoed)):
        errors = list(_validator(kind).iter_errors(frame))
        assert not errors, (kind, errors[0].message)
    assert list(_validator("ClientFrame").iter_errors(_frame("w-2", {"code": "x", "extra": 1})))

    # And the restore payload returns it, over REST and in a new socket's session frame
    code, detail, _ = await api("sessions", session["id"])
    assert code == 200
    assert detail["messages"][0]["work"] == WORK
    assert detail["messages"][1]["work"] is None
    again = await chat(session["id"])
    restored = await again.until("session")
    assert restored["session"]["messages"][0]["work"] == WORK
    again.close()

    # And every export carries it
    _, _, resp = await api("sessions", session["id"], "export", params={"format": "json"})
    exported = json.loads(resp.body)
    assert exported["messages"][0]["work"] == WORK
    _, _, resp = await api("sessions", session["id"], "export", params={"format": "markdown"})
    markdown = resp.body.decode()
    assert "**Attached work** (cell 4):" in markdown
    assert '```python\nword = "Jupyter"\nword[0] = "j"\n```' in markdown
    assert "**Error:**" in markdown
    assert "TypeError: 'str' object does not support item assignment" in markdown
    _, _, resp = await api("sessions", session["id"], "export", params={"format": "ipynb"})
    notebook = nbformat.reads(resp.body.decode(), as_version=4)  # type: ignore[no-untyped-call]
    learner_cell = next(c for c in notebook.cells if c.metadata.get("tutornb", {}).get("role") == "learner")
    assert learner_cell.metadata["tutornb"]["work"] == WORK
    assert 'word[0] = "j"' in learner_cell.source

    # When the JSON export is imported
    code, imported, _ = await api("sessions", "import", method="POST", body=exported)

    # Then the imported session keeps the work on its learner message
    assert code == 201, imported
    code, copy, _ = await api("sessions", imported["id"])
    assert copy["messages"][0]["work"] == WORK


@pytest.mark.parametrize(
    "work",
    [
        {"code": "x" * (WORK_CODE_MAX + 1)},
        {"code": "print(x)", "error": "E" * 20_001},
        {"code": "print(x)", "cell_index": "3"},
        {"code": "print(x)", "cell_index": True},
        {"code": "print(x)", "cell_index": -1},
        {"code": "print(x)", "cell_index": 2.5},
        {"code": ""},
        {"code": 42},
        {"error": "NameError: name 'x' is not defined"},
        {"code": "print(x)", "output": "extra keys are refused"},
        "print(x)",
        [],
    ],
    ids=[
        "code-too-long",
        "error-too-long",
        "index-as-text",
        "index-as-bool",
        "index-negative",
        "index-float",
        "code-empty",
        "code-not-text",
        "code-missing",
        "unknown-key",
        "not-an-object",
        "a-list",
    ],
)
async def test_bad_work_is_refused_with_an_error_frame_and_nothing_is_stored(
    api: Fetch, chat: OpenChat, tutor: WorkSeeingTutor, work: Any
) -> None:
    # Given a chat on a new session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.until("session")

    # When a message arrives with malformed work
    await ws.send(_frame("bad-1", work))

    # Then it is refused with INVALID_REQUEST, echoing the client_id, and the socket stays usable
    error = await ws.until("error")
    assert error["code"] == "INVALID_REQUEST"
    assert error["client_id"] == "bad-1"
    assert "x" * 100 not in json.dumps(error)  # the refused input is not reflected back
    await ws.send({"type": "message", "client_id": "ok-1", "text": "And this?"})
    ack = await ws.until("ack")
    ws.close()

    # And the refused message was never stored: the valid one after it is the first message
    assert ack["message"]["seq"] == 1
    _, detail, _ = await api("sessions", session["id"])
    assert [m["client_id"] for m in detail["messages"] if m["role"] == "learner"] == ["ok-1"]
