"""A real jupyter-server (pytest-jupyter) with tutornb on, its store under the test's root dir.

The in-process fixtures built on it (``store_dir``, ``service``, ``api``, ``raw_fetch``, ``chat``)
come from the harness plugin, ``tests.support.plugin``; the chat tests' scripted tutor
(``scripted``) is here, for ``test_chat.py`` and ``test_chat_lifetime.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures for this folder only)

from tests.support.server_helpers import Chat
from tutornb.models import Citation, Phase
from tutornb.service import TutorService
from tutornb.tutors.base import CitationEvent, ErrorEvent, StateUpdate, TextDelta, TutorEvent, TutorTurn


@pytest.fixture
def tutornb_config() -> dict[str, Any]:
    """Extra ``TutorNBApp`` traits for one test (override in a module or parametrize)."""
    return {}


@pytest.fixture
def jp_server_config(store_dir: Path, tutornb_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"tutornb": True}},
        # Servers run inside the test process here: leave pytest's garbage collector alone.
        "TutorNBApp": {"store_dir": str(store_dir), "freeze_gc": False, **tutornb_config},
    }


OpenChat = Callable[..., Awaitable[Chat]]


class ScriptedTutor:
    """Echoes the learner in three deltas with one citation; can fail or propose a phase."""

    name = "scripted"
    model: str | None = None

    def __init__(self) -> None:
        self.fail = False
        self.phase: Phase | None = None
        self.kinds: list[str] = []
        #: Seconds between deltas (0: the whole reply at once, like the offline tutor).
        self.gap = 0.0

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        self.kinds.append(turn.kind)
        if self.fail:
            yield ErrorEvent("TUTOR_UNAVAILABLE", "The model endpoint refused the connection.")
            return
        said = turn.learner_message.text if turn.learner_message else f"({turn.kind})"
        for part in ("Echo", ": ", said):
            if self.gap:
                await asyncio.sleep(self.gap)
            yield TextDelta(part)
        yield CitationEvent(Citation(notebook_path="course/lists.ipynb", cell_index=2, heading="Lists"))
        if self.phase is not None:
            yield StateUpdate(state=turn.session.state, phase=self.phase)


@pytest.fixture
def scripted(service: TutorService) -> ScriptedTutor:
    tutor = ScriptedTutor()
    service.tutor = tutor
    return tutor


def message(text: str, client_id: str) -> dict[str, Any]:
    return {"type": "message", "client_id": client_id, "text": text}


def is_tutor(frame: dict[str, Any]) -> bool:
    return bool(frame["message"]["role"] == "tutor")
