"""One rule each, made in the service: the session-id check, and the learner-facing text of a model
failure (the endpoint's address goes to the server log, never to a learner's screen).

The model tutor is the real OpenAI-protocol tutor against real loopback endpoints: a port where
nothing listens, and the harness's model server answering HTTP 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_server import free_port
from tests.support.model_server import ModelServer, failure
from tutornb.errors import InvalidRequest, TutorUnavailable
from tutornb.models import is_valid_session_id
from tutornb.service import ServiceConfig, TutorService, check_session_id
from tutornb.store import SessionStore
from tutornb.tutors import load_tutor

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
OWNER = "ada"
CONTEXT = {"context": {"course_id": "python-foundations", "notebook_path": "01_lists_and_loops.ipynb"}}
QUESTION = "What is a list comprehension?"


@pytest.mark.parametrize(
    "candidate",
    ["abc", "A-b_9", "x" * 64, "", "x" * 65, "../etc", "a b", "a/b", "é", None, 7, ["abc"]],
)
def test_the_service_checks_a_session_id_by_the_models_rule(candidate: Any) -> None:
    if is_valid_session_id(candidate):
        assert check_session_id(candidate) == candidate
    else:
        with pytest.raises(InvalidRequest):
            check_session_id(candidate)


def _model_service(tmp_path: Path, base_url: str) -> TutorService:
    tutor = load_tutor(
        "openai",
        root_dir=NOTEBOOKS,
        options={"base_url": base_url, "model": "tiny", "timeout": 5, "max_retry_after": 0},
    )
    store = SessionStore(tmp_path / ".tutornb", background_compaction=False)
    return TutorService(store, tutor, root_dir=NOTEBOOKS, config=ServiceConfig())


@pytest.fixture
def model() -> Iterator[ModelServer]:
    with ModelServer(scripted=True) as server:
        yield server


def _ask_and_fail(service: TutorService) -> tuple[str, list[dict[str, Any]]]:
    """``%tutor ask``'s path and a socket's view of the same failed turn."""
    frames: list[dict[str, Any]] = []

    async def sink(frame: dict[str, Any]) -> None:
        frames.append(frame)

    async def scenario() -> str:
        session = service.create_session(OWNER, CONTEXT)
        await service.connect(OWNER, session.id, sink)
        with pytest.raises(TutorUnavailable) as failed:
            await service.ask(OWNER, session.id, QUESTION)
        return failed.value.message

    try:
        return asyncio.run(scenario()), frames
    finally:
        service.close()


@pytest.mark.parametrize("endpoint", ["refused", "http-500"])
def test_a_model_failure_reads_the_same_everywhere_without_the_address(
    tmp_path: Path, model: ModelServer, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a model tutor whose endpoint refuses connections, or answers 500
    if endpoint == "refused":
        port = free_port()
    else:
        port = model.port
        model.scripts.put(failure(500))
    service = _model_service(tmp_path, f"http://127.0.0.1:{port}/v1")
    # When the learner asks (the magic's path) while a panel is connected
    with caplog.at_level(logging.WARNING, logger="tutornb"):
        asked, frames = _ask_and_fail(service)
    # Then the error the magic prints and the error frame every panel shows are the same safe text
    (error,) = [f for f in frames if f["type"] == "error"]
    assert error["message"] == asked
    assert error["code"] == "TUTOR_UNAVAILABLE"
    assert "127.0.0.1" not in asked
    assert str(port) not in asked
    assert "model service" in asked
    assert "saved" in asked or "again" in asked
    # And the address is in the server's log, for whoever runs the service
    logged = [r.getMessage() for r in caplog.records if "tutor turn failed" in r.getMessage()]
    assert any(f"127.0.0.1:{port}" in line for line in logged), logged
