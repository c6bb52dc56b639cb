"""The ``openai`` tutor: any OpenAI-compatible Chat Completions endpoint, streamed over SSE.

Free-form questions, tracebacks and exercise help go to the model, with the pedagogy, the course and
module, the retrieved passages (cited by cell) and the learner's state in the system prompt. Plans,
quizzes, grading and resume summaries stay with the structured course engine, so a score never
depends on a model's judgement and a quiz works the same with either tutor.

Every failure of the model service (refused connection, 401, 429 after one honoured Retry-After,
5xx, timeout, malformed stream) ends the turn with one clear error event: no traceback, no key, and
the learner's message stays stored for a retry.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from tutornb.errors import TutorUnavailable
from tutornb.models import Phase
from tutornb.tutors import answering, errorcourse, explain, hints
from tutornb.tutors import quiz as quizzes
from tutornb.tutors.base import ErrorEvent, Interrupted, TextDelta, TutorEvent, TutorTurn
from tutornb.tutors.course import DEFAULT_PLAN_TTL, CourseEngine
from tutornb.tutors.intents import Intent, Reading
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.prompt import ModelContext, build_prompt
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import Hit
from tutornb.tutors.terms import tokenize

log = logging.getLogger("tutornb.tutors.openai")


class OpenAIOptions(BaseModel):
    """The tutor's configuration (``TutorNB.tutor_options``); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.openai.com/v1"
    model: str = Field("gpt-4o-mini", min_length=1, max_length=200)
    api_key: SecretStr | None = None
    timeout: float = Field(60.0, gt=0, le=600)
    max_history_tokens: int = Field(3000, ge=50, le=1_000_000)
    temperature: float = Field(0.3, ge=0, le=2)
    #: Longest Retry-After honoured on a 429 before giving up, in seconds.
    max_retry_after: float = Field(30.0, ge=0, le=600)
    max_passages: int = Field(5, ge=1, le=10)
    plan_ttl_hours: float = Field(DEFAULT_PLAN_TTL.total_seconds() / 3600, gt=0)
    #: The server's tutoring-policy override (``TutorNBApp.policy``), a partial mapping.
    policy: dict[str, Any] | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")


class ModelServiceError(Exception):
    """A failure of the model service, already phrased for the learner."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -------------------------------------------------------------------------------------------------
# HTTP + SSE


def _where(base_url: str) -> str:
    """Host and port only: never the URL's user info or query (which could carry credentials)."""
    parts = urlsplit(base_url)
    host = parts.hostname or "the model service"
    return f"{host}:{parts.port}" if parts.port else host


def parse_retry_after(value: str | None, *, default: float = 1.0) -> float:
    if not value:
        return default
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(when.timestamp() - time.time(), 0.0)


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` payloads of a server-sent event stream (multi-line data joined by newlines)."""
    buffer: list[str] = []
    async for line in lines:
        if line == "":
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer:
        yield "\n".join(buffer)


#: Failures that break a stream off (the connection, the clock); a malformed chunk stays an error.
_CUT_CODES = frozenset({"TUTOR_CUT_OFF", "TUTOR_UNAVAILABLE", "TUTOR_TIMEOUT"})


def _finish_reason_of(data: str) -> str | None:
    """The chunk's ``finish_reason`` (set on the last chunk of a complete answer), if any."""
    try:
        chunk = json.loads(data)
        reason = chunk["choices"][0].get("finish_reason")
    except (ValueError, LookupError, TypeError, AttributeError):
        return None
    return reason if isinstance(reason, str) and reason else None


def _content_of(chunk: Any) -> str:
    """The text of one streamed chunk; ValueError when it is not a completion chunk."""
    if not isinstance(chunk, dict):
        raise ValueError("chunk is not an object")
    if "error" in chunk:
        raise LookupError("error")
    choices = chunk.get("choices")
    if choices is None:
        raise ValueError("no choices")
    if not isinstance(choices, list):
        raise ValueError("choices is not a list")
    text = ""
    for choice in choices:
        if not isinstance(choice, dict):
            raise ValueError("choice is not an object")
        delta = choice.get("delta") or choice.get("message") or {}
        if not isinstance(delta, dict):
            raise ValueError("delta is not an object")
        content = delta.get("content")
        if content is None:
            continue
        if not isinstance(content, str):
            raise ValueError("content is not text")
        text += content
    return text


class ChatCompletionsClient:
    """One streaming Chat Completions call; failures become learner-facing errors."""

    def __init__(self, options: OpenAIOptions, api_key: str | None) -> None:
        self.options = options
        self.api_key = api_key
        self.url = options.base_url + "/chat/completions"
        self.where = _where(options.base_url)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _status_error(self, status: int, retried: bool) -> ModelServiceError:
        if status in {401, 403}:
            return ModelServiceError(
                "TUTOR_AUTH_FAILED",
                f"The model service refused the API key (HTTP {status}). Check the tutor's api_key "
                "setting or OPENAI_API_KEY. Your message is saved.",
            )
        if status == 429:
            return ModelServiceError(
                "TUTOR_RATE_LIMITED",
                "The model service is rate limiting requests (HTTP 429)"
                + (" even after waiting as it asked" if retried else "")
                + ". Your message is saved: send it again in a minute.",
            )
        if status >= 500:
            return ModelServiceError(
                "TUTOR_UNAVAILABLE",
                f"The model service at {self.where} failed (HTTP {status}). Your message is saved: "
                "try again shortly.",
            )
        return ModelServiceError(
            "TUTOR_REQUEST_FAILED",
            f"The model service rejected the request (HTTP {status}). Check the tutor's base_url "
            "and model settings. Your message is saved.",
        )

    async def stream(self, payload: dict[str, Any]) -> AsyncIterator[str]:
        """Yields text deltas; raises :class:`ModelServiceError`."""
        timeout = httpx.Timeout(self.options.timeout)
        retried = False
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                while True:
                    async with client.stream(
                        "POST", self.url, json=payload, headers=self._headers()
                    ) as response:
                        if response.status_code == 429 and not retried:
                            delay = parse_retry_after(response.headers.get("retry-after"))
                            if delay <= min(self.options.max_retry_after, self.options.timeout):
                                retried = True
                                await response.aclose()
                                await asyncio.sleep(delay)
                                continue
                        if response.status_code != 200:
                            raise self._status_error(response.status_code, retried)
                        async for text in self._read(response):
                            yield text
                        return
        except ModelServiceError:
            raise
        except httpx.TimeoutException:
            raise ModelServiceError(
                "TUTOR_TIMEOUT",
                f"The model service at {self.where} did not answer within "
                f"{self.options.timeout:g} s. Your message is saved: try again.",
            ) from None
        except httpx.ConnectError:
            raise ModelServiceError(
                "TUTOR_UNAVAILABLE",
                f"Could not connect to the model service at {self.where} (connection refused or "
                "host unreachable). Your message is saved: try again when it is running.",
            ) from None
        except httpx.HTTPError as exc:
            raise ModelServiceError(
                "TUTOR_UNAVAILABLE",
                f"The connection to the model service at {self.where} failed "
                f"({type(exc).__name__}). Your message is saved: try again.",
            ) from None

    async def _read(self, response: httpx.Response) -> AsyncIterator[str]:
        content_type = response.headers.get("content-type", "")
        if "application/json" in content_type:
            # A server that ignored "stream": true answers with one JSON document.
            body = await response.aread()
            yield self._parse(body.decode("utf-8", "replace"))
            return
        received = False
        spoke = False
        done = False
        finish: str | None = None
        async for data in sse_data(response.aiter_lines()):
            if data.strip() == "[DONE]":
                done = True
                break
            text = self._parse(data)
            finish = _finish_reason_of(data) or finish
            received = True
            if text:
                spoke = True
                yield text
        if not done and not received:
            raise self._malformed()
        if spoke and ((not done and finish is None) or finish == "length"):
            # The stream ended without its end marker and without a finish reason (the connection
            # closed mid-answer), or the model ran out of tokens: what came is only part of a reply.
            raise ModelServiceError(
                "TUTOR_CUT_OFF",
                f"The model service at {self.where} stopped mid-answer. Send your message again to retry.",
            )

    def _parse(self, data: str) -> str:
        try:
            return _content_of(json.loads(data))
        except LookupError:
            raise ModelServiceError(
                "TUTOR_UNAVAILABLE",
                f"The model service at {self.where} reported an error in its reply. Your message "
                "is saved: try again.",
            ) from None
        except ValueError:
            raise self._malformed() from None

    def _malformed(self) -> ModelServiceError:
        return ModelServiceError(
            "TUTOR_BAD_RESPONSE",
            f"The model service at {self.where} sent a reply that is not a valid Chat Completions "
            "stream. Your message is saved: try again, or check the tutor's base_url.",
        )


# -------------------------------------------------------------------------------------------------
# The tutor


_MODEL_INTENTS = {Intent.QUESTION, Intent.TRACEBACK, Intent.HINT, Intent.SOLUTION}


class OpenAITutor:
    """Entry point ``openai``: a model writes the explanations, the course engine runs the rest."""

    name = "openai"

    def __init__(self, *, root_dir: Path, options: OpenAIOptions, api_key: str | None) -> None:
        self.root_dir = root_dir
        self.options = options
        self.model: str | None = options.model
        self.engine = CourseEngine(
            root_dir=root_dir, plan_ttl=timedelta(hours=options.plan_ttl_hours), policy=options.policy
        )
        self.client = ChatCompletionsClient(options, api_key)
        self._secret = api_key

    def _for_model(self, turn: TutorTurn, lesson: Lesson | None, reply: Reply) -> Reading | None:
        """The reading of a message the model should answer, or None for the course engine."""
        if turn.kind != "message" or lesson is None:
            return None
        reading = self.engine.read(turn, lesson, reply.state)
        if reading.intent not in _MODEL_INTENTS:
            return None
        if reply.phase is Phase.QUIZZING and quizzes.is_running(reply.state.quiz):
            return None  # the quiz stays honest: the engine reminds and gives pointers, not answers
        open_q = lesson.open_question(reply.state)
        if reading.intent in {Intent.HINT, Intent.SOLUTION} and (
            open_q is not None or not lesson.module.exercises()
        ):
            return None
        if (
            reading.intent is Intent.QUESTION
            and not tokenize(reading.text)
            and self.engine.work(turn) is None
        ):
            return None
        return reading

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        try:
            material = await self.engine.material(turn)
            lesson = self.engine.lesson(turn, material)
            probe = self.engine.new_reply(turn)
            reading = self._for_model(turn, lesson, probe)
            if reading is None or lesson is None:
                for event in self.engine.compose(turn, material).events():
                    yield event
                return
            chosen, context = self._passages(turn, lesson, reading)
        except Exception:  # the one catch-all of the preparation: logged with its traceback
            log.error("openai tutor failed to prepare a turn", exc_info=True)
            yield ErrorEvent("TUTOR_FAILED", "The tutor could not answer this time; try again.")
            return
        async for event in self._model_turn(turn, lesson, probe, reading, chosen, context):
            yield event

    def _passages(self, turn: TutorTurn, lesson: Lesson, reading: Reading) -> tuple[list[Hit], ModelContext]:
        """The passages the model gets, chosen by the same retrieval as the course tutor's (with
        the conversation so far and the learner's work), and what else it is told. No passages:
        the course does not cover the message."""
        limit = self.options.max_passages
        work = self.engine.work(turn)
        if reading.intent in {Intent.HINT, Intent.SOLUTION}:
            exercises = lesson.module.exercises()
            exercise = hints.pick_exercise(reading.text, exercises, lesson)
            spec = lesson.module.exercise_spec(exercise)
            attempts = hints.attempts_on(lesson, exercise, exercises)
            mode = (
                lesson.policy.graded_solutions
                if spec is not None and spec.graded
                else lesson.policy.solutions
            )
            allowed = mode == "on_request" or (
                mode == "after_attempts" and attempts >= lesson.policy.attempts
            )
            related = hints.exercise_section(lesson, exercise)
            chosen = [
                Hit(exercise, 1.0, 1.0, ()),
                *([related] if related and related.passage != exercise else []),
            ]
            return chosen[:limit], ModelContext(
                work=work, exercise=exercise.heading, solution_allowed=allowed
            )
        if reading.intent is Intent.TRACEBACK:
            error = errorcourse.learner_error(reading.text, work)
            if error is not None:
                sections = answering.error_sections(lesson, error, reading.text, limit=limit)
                return sections, ModelContext(work=work, diagnosis=error.diagnosis)
        found = self.engine.find(lesson, reading.text, work, limit=limit + 2)
        context = ModelContext(
            follow_up_of=lesson.memory.last_question if found.follow_up else None,
            work=work,
            language=found.language,
        )
        if not found.covered and not found.near:
            return [], context
        # The model reads faster than a learner: every passage near the question in words or in
        # meaning goes in, the best first.
        nearby = [
            h for h in found.hits[1:] if answering.is_covered([h], lenient=True) or answering.is_near([h])
        ]
        return explain.with_section(lesson, [found.hits[0], *nearby][:limit]), context

    async def _model_turn(
        self,
        turn: TutorTurn,
        lesson: Lesson,
        reply: Reply,
        reading: Reading,
        chosen: list[Hit],
        context: ModelContext,
    ) -> AsyncIterator[TutorEvent]:
        covered = bool(chosen)
        prompt = build_prompt(
            reply,
            lesson,
            query=reading.text,
            history=turn.history,
            hits=chosen,
            covered=covered,
            max_history_tokens=self.options.max_history_tokens,
            context=context,
        )
        payload = {
            "model": self.options.model,
            "messages": prompt.messages,
            "stream": True,
            "temperature": self.options.temperature,
        }
        received: list[str] = []
        try:
            async for text in self.client.stream(payload):
                received.append(text)
                yield TextDelta(text)
        except ModelServiceError as exc:
            log.warning("openai tutor: %s", exc.code)
            if exc.code in _CUT_CODES and "".join(received).strip():
                # Part of an answer is worth keeping: stored marked "cut off", offered for retry.
                yield Interrupted()
                return
            yield ErrorEvent(exc.code, self._scrub(exc.message))
            return
        except Exception as exc:
            log.error("openai tutor: unexpected %s", type(exc).__name__)
            yield ErrorEvent("TUTOR_UNAVAILABLE", "The model service failed; try again.")
            return
        if not "".join(received).strip():
            yield ErrorEvent(
                "TUTOR_BAD_RESPONSE",
                "The model service sent an empty reply. Your message is saved: try again.",
            )
            return
        reply.move(Phase.LEARNING, "A question for the model: answering it is learning.")
        for hit in prompt.passages:
            reply.cite(hit.passage)
        if prompt.passages:
            reply.state.topic = prompt.passages[0].passage.heading
        reply.act(
            "model_answer",
            "Free-form help goes to the model with the pedagogy, the course context, the "
            "retrieved passages and the learner's state in its prompt.",
            model=self.options.model,
            intent=reading.intent.value,
            covered=covered,
            passages=[
                {"notebook_path": h.passage.notebook_path, "cell_index": h.passage.cell_index}
                for h in prompt.passages
            ],
            history_kept=prompt.history_kept,
            history_dropped=prompt.history_dropped,
        )
        for event in reply.trailing_events():
            yield event

    def _scrub(self, message: str) -> str:
        if self._secret and self._secret in message:
            message = message.replace(self._secret, "***")
        return message


def create_openai_tutor(*, root_dir: Path, options: dict[str, Any] | None = None) -> OpenAITutor:
    """Entry point ``tutornb.tutors: openai``. The API key comes from ``options["api_key"]``, else
    ``$OPENAI_API_KEY``; an endpoint without authentication (a local server) needs neither."""
    try:
        parsed = OpenAIOptions.model_validate(options or {})
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in err["loc"]) or "options" for err in exc.errors()})
        raise TutorUnavailable("The openai tutor's options are invalid: " + ", ".join(names) + ".") from None
    key = parsed.api_key.get_secret_value() if parsed.api_key else os.environ.get("OPENAI_API_KEY")
    return OpenAITutor(root_dir=Path(root_dir), options=parsed, api_key=key or None)
