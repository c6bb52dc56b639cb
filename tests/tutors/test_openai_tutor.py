"""The openai tutor against a real loopback HTTP server speaking streaming Chat Completions."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tutor_helpers import DICTS, LISTS, TRACEBACK, Driver, cell_source

from tests.support.live_server import free_port
from tutornb.errors import TutorUnavailable
from tutornb.models import LearnerWork, Phase, Role
from tutornb.store.api import NewMessage
from tutornb.store.sessions import SessionStore
from tutornb.tutors.base import ErrorEvent, StateUpdate, TextDelta
from tutornb.tutors.openai import create_openai_tutor

KEY = "sk-test-secret-0123456789"
Script = Callable[[BaseHTTPRequestHandler], None]


def chunk(text: str) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def stream(*texts: str, tail: bytes = b"data: [DONE]\n\n") -> Script:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        role = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        handler.wfile.write(f"data: {json.dumps(role)}\n\n".encode())
        for text in texts:
            handler.wfile.write(chunk(text))
            handler.wfile.flush()
        handler.wfile.write(tail)

    return respond


def status(code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Script:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    return respond


def stall(seconds: float) -> Script:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        stream("too late")(handler)

    return respond


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout case) closes the pipe mid-write: expected


class ChatServer:
    """Answers each POST with the next scripted response (the last one repeats) and records it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[Script] = [stream("ok")]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                index = min(len(server.requests), len(server.script)) - 1
                server.script[index](self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    yield server
    server.stop()


def make_driver(course_root: Path, store: SessionStore, base_url: str, **options: Any) -> Driver:
    tutor = create_openai_tutor(
        root_dir=course_root,
        options={"base_url": base_url, "api_key": KEY, "model": "tiny-model", **options},
    )
    return Driver.start(tutor, store, course_root, LISTS)


def test_streams_a_grounded_answer_with_the_course_in_the_prompt(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [stream("Use ", "`enumerate`", " [cell 10].")]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        # When the learner asks a question the course covers
        result = await driver.say("How do I loop over a list and get the index of each item?")
        # Then the streamed deltas are passed on as they come and reassemble the reply
        assert result.deltas == ["Use ", "`enumerate`", " [cell 10]."]
        assert result.text == "Use `enumerate` [cell 10]."
        # And the request is a streaming Chat Completions call with the key as a bearer token
        (request,) = chat_server.requests
        assert request["path"] == "/v1/chat/completions"
        assert request["headers"]["Authorization"] == f"Bearer {KEY}"
        body = request["body"]
        assert body["model"] == "tiny-model"
        assert body["stream"] is True
        # And the system prompt carries pedagogy, course, module, objectives, passages and state
        system = body["messages"][0]
        assert system["role"] == "system"
        prompt = system["content"]
        assert "Do not hand over solutions" in prompt
        assert "Course: Python foundations (python-foundations)" in prompt
        assert "Module: Lists & loops (lists-and-loops)" in prompt
        assert "- Loop over a list with for, range and enumerate" in prompt
        assert "Learner state:\n- Phase: intake" in prompt
        # And the passages come as data in the user role, just before the question
        data = body["messages"][-2]
        assert data["role"] == "user"
        assert "[cell 10] 01_lists_and_loops.ipynb: Counting with range and enumerate" in data["content"]
        assert "use `enumerate(items)`" in data["content"]
        assert body["messages"][-1] == {
            "role": "user",
            "content": (
                "The learner wrote:\n```\nHow do I loop over a list and get the index of each item?\n```"
            ),
        }
        # And the passages given to the model are cited, the session moves to learning
        assert result.citations[0].cell_index == 9
        assert result.session.phase is Phase.LEARNING
        action = result.action("model_answer")
        assert action.data["model"] == "tiny-model"
        assert action.data["covered"] is True

    asyncio.run(scenario())


def test_history_is_trimmed_to_the_token_budget(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [stream("Sure.")]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url, max_history_tokens=300)
        # Given ten earlier messages of 400 characters (about 104 tokens each)
        for i in range(10):
            role = Role.LEARNER if i % 2 == 0 else Role.TUTOR
            store.append_message(driver.session_id, NewMessage(role=role, text=f"OLD-{i} " + "x" * 393))
        # When the learner asks a new question
        result = await driver.say("What is a list comprehension?")
        # Then only the newest messages that fit 300 tokens are sent, oldest first, question last
        messages = chat_server.requests[0]["body"]["messages"][1:]
        del messages[-2]  # the turn's data (course passages), not history
        contents = [m["content"] for m in messages]
        assert contents[-1] == "The learner wrote:\n```\nWhat is a list comprehension?\n```"
        assert [c.removeprefix("The learner wrote:\n```\n")[:5] for c in contents[:-1]] == ["OLD-8", "OLD-9"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        assert result.action("model_answer").data["history_dropped"] == 8

    asyncio.run(scenario())


def test_quizzes_and_plans_stay_with_the_course_engine(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        await driver.say("plan")
        # When the learner takes a quiz question with the model-backed tutor
        started = await driver.say("next")
        started = await driver.say("quiz me")
        graded = await driver.answer(started.quiz.question_id, 0)
        # Then the structured engine serves and grades it, without a model call
        assert started.session.phase is Phase.QUIZZING
        assert graded.action("quiz_graded").data["correct"] is False
        assert graded.session.state.misconceptions
        assert chat_server.requests == []

    asyncio.run(scenario())


def test_uncovered_question_tells_the_model_there_is_no_material(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [stream("The course does not cover that.")]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        result = await driver.say("How do I train a neural network with PyTorch?")
        prompt = "\n".join(m["content"] for m in chat_server.requests[0]["body"]["messages"])
        # Then the prompt says nothing was found and lists the module's topics; nothing is cited
        assert "Course material for this question: none found." in prompt
        assert "Indexing and slicing" in prompt
        assert result.citations == []
        assert result.action("model_answer").data["covered"] is False

    asyncio.run(scenario())


def test_pasted_traceback_goes_to_the_model_with_the_course_section_on_it(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [stream("That's a KeyError: use `person.get('age')`.")]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        # When the learner pastes a traceback
        result = await driver.say(TRACEBACK)
        # Then the model answers it, with the course's section on missing keys in its prompt
        assert result.text == "That's a KeyError: use `person.get('age')`."
        prompt = "\n".join(m["content"] for m in chat_server.requests[0]["body"]["messages"])
        assert "Course material for this question (cite these cells):" in prompt
        section = result.citations[0]
        assert section.notebook_path == DICTS
        assert "KeyError" in cell_source(course_root, DICTS, section.cell_index)
        assert f"[cell {section.cell_index + 1}] 02_dictionaries.ipynb: {section.heading}" in prompt
        action = result.action("model_answer")
        assert action.data["intent"] == "traceback"
        assert action.data["covered"] is True

    asyncio.run(scenario())


FAILURES: dict[str, tuple[list[Script], str, int]] = {
    "unauthorized": (
        [status(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})],
        "TUTOR_AUTH_FAILED",
        1,
    ),
    "rate-limited-twice": (
        [status(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})],
        "TUTOR_RATE_LIMITED",
        2,
    ),
    "server-error": ([status(500, {"error": {"message": "boom"}})], "TUTOR_UNAVAILABLE", 1),
    "timeout": ([stall(3.0)], "TUTOR_TIMEOUT", 1),
    "malformed-chunk": ([stream(tail=b"data: {not json\n\n")], "TUTOR_BAD_RESPONSE", 1),
    "no-completion-chunks": ([stream(tail=b"event: ping\n\n")], "TUTOR_BAD_RESPONSE", 1),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_model_service_failures_become_one_clear_error(
    case: str, course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    script, code, requests = FAILURES[case]
    chat_server.script = script

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url, timeout=0.5)
        # When the model service fails in this way
        result = await driver.say("What is a list comprehension?")
        # Then the turn ends with exactly one error event with its code, and no state change
        errors = result.errors
        assert [e.code for e in errors] == [code]
        assert isinstance(result.events[-1], ErrorEvent)
        assert not result.updates
        message = errors[0].message
        assert KEY not in message
        assert "Traceback" not in message
        assert "saved" in message
        assert len(chat_server.requests) == requests
        # And the learner's message is stored, with no tutor reply, ready for a retry
        stored = store.messages(driver.session_id)
        assert [m.role for m in stored] == [Role.LEARNER]

    asyncio.run(scenario())


def test_refused_connection_is_reported_without_the_key(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        # Given a base URL where nothing listens
        driver = make_driver(course_root, store, f"http://127.0.0.1:{free_port()}/v1")
        result = await driver.say("What is a list comprehension?")
        # Then one TUTOR_UNAVAILABLE error names the host, not the key
        (error,) = result.errors
        assert error.code == "TUTOR_UNAVAILABLE"
        assert "Could not connect" in error.message
        assert "127.0.0.1" in error.message
        assert KEY not in error.message

    asyncio.run(scenario())


def test_retry_after_is_honoured_once_then_the_answer_streams(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [
        status(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}),
        stream("Here ", "it is."),
    ]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        result = await driver.say("What is a list comprehension?")
        # Then the tutor waited as asked, retried once, and streamed the answer
        assert len(chat_server.requests) == 2
        assert result.errors == []
        assert result.text == "Here it is."

    asyncio.run(scenario())


def test_a_failed_turn_can_be_retried_with_the_stored_message(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [stream("Partly ", tail=b"data: {broken\n\n"), stream("All good.")]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        # Given a reply that breaks off after one delta
        failed = await driver.say("What is a list comprehension?")
        assert failed.deltas == ["Partly "]
        assert [e.code for e in failed.errors] == ["TUTOR_BAD_RESPONSE"]
        # When the stored learner message is sent to the tutor again
        (learner,) = store.messages(driver.session_id)
        retried = await driver.run("message", learner=learner)
        # Then the second attempt answers normally
        assert retried.text == "All good."
        assert [type(e) for e in retried.events].count(StateUpdate) == 1
        assert all(not isinstance(e, ErrorEvent) for e in retried.events)
        assert [e for e in retried.events if isinstance(e, TextDelta)]

    asyncio.run(scenario())


def test_invalid_options_are_refused_by_name_without_values() -> None:
    # When the configuration has an unknown option and a bad URL
    with pytest.raises(TutorUnavailable) as caught:
        create_openai_tutor(root_dir=Path("."), options={"base_url": "ftp://x", "api_key": KEY, "colour": 1})
    # Then the error names the options but never echoes the key
    assert "base_url" in caught.value.message
    assert "colour" in caught.value.message
    assert KEY not in caught.value.message


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    tutor = create_openai_tutor(root_dir=Path("."), options={"model": "m"})
    assert tutor.client.api_key == "sk-from-env"
    assert tutor.model == "m"


def test_the_prompt_carries_memory_work_language_and_policy(
    course_root: Path, store: SessionStore, chat_server: ChatServer
) -> None:
    chat_server.script = [stream("Here is how.")]

    async def scenario() -> None:
        driver = make_driver(course_root, store, chat_server.url)
        await driver.say("How do I loop over a list?")

        def system() -> str:
            return str(chat_server.requests[-1]["body"]["messages"][0]["content"])

        def data() -> str:
            return str(chat_server.requests[-1]["body"]["messages"][-2]["content"])

        # A follow-up: the previous question is named and the section that answers it is shown
        await driver.say("what about for dicts?")
        assert "follows up on their previous question" in system()
        assert "The learner's previous question:\n```\nHow do I loop over a list?\n```" in data()
        dict_loop = cell_source(course_root, DICTS, 9).splitlines()[2][:50]
        assert dict_loop in data().replace("`", "")
        # The learner's own work: their cell, its error and the diagnosis in their terms
        work = LearnerWork(
            cell_index=4,
            code='ages = {"ann": 31}\nages["bo"]',
            error=(
                "Traceback (most recent call last):\n  Cell In[5], line 2\n    ages[\"bo\"]\nKeyError: 'bo'"
            ),
        )
        await driver.say("why does this fail?", work=work)
        prompt = data()
        assert "The learner's last executed cell (cell 5):" in prompt
        assert 'ages["bo"]' in prompt
        assert "KeyError: 'bo'" in prompt
        assert "diagnosis of the error (KeyError):\n```\nThe key `'bo'` is not in `ages`" in prompt
        assert 'ages["bo"]' not in system()
        # Another language is named
        await driver.say("¿Cómo funciona enumerate en un bucle?")
        assert "The learner wrote in Spanish" in system()
        # The policy decides whether the model may show an exercise's solution
        await driver.say("give me the solution to exercise 2")
        assert "you must NOT show the full solution now" in system()

    asyncio.run(scenario())
