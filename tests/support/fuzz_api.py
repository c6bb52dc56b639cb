"""Schemathesis (v4, Python API) against ``tutornb/server/openapi.yaml`` on a live server, shared by
``test_fuzz.py`` and ``bench/fuzz.py``.

Every REST operation is fuzzed with positive and negative cases; every response goes through
schemathesis's checks: no 5xx, status codes, content types, headers and bodies as documented,
schema-violating requests refused and schema-valid ones accepted. A stateful chain then walks
sessions through create → message (over the chat socket) → pause → resume → export with generated
parameters, validating every response the same way.

Where the document cannot say what the server rightly refuses, the acceptance check has narrow,
named exceptions (``ACCEPTED_REFUSALS``); everything else is a failure. The chat socket's GET is not
fuzzed over plain HTTP (it only speaks WebSocket; its frames are fuzzed by ``test_hostile.py``).
"""

from __future__ import annotations

import json
import random
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from tests.support.chat_client import open_socket, read_until
from tests.support.live_server import LiveServer

OPENAPI = Path(__file__).resolve().parents[2] / "tutornb" / "server" / "openapi.yaml"
NOT_FUZZED = {"chatSocket"}
#: Checks whose failure is always a failure.
STRICT_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
#: Request-acceptance checks, judged with ``ACCEPTED_REFUSALS``.
ACCEPTANCE_CHECKS = ("negative_data_rejection", "positive_data_acceptance")


@dataclass
class FuzzFailure:
    operation: str
    check: str
    status: int
    detail: str


@dataclass
class FuzzReport:
    cases: Counter[str] = field(default_factory=Counter)
    failures: list[FuzzFailure] = field(default_factory=list)
    refusals_by_design: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    chains: int = 0

    @property
    def total(self) -> int:
        return sum(self.cases.values())


def load_schema(server: LiveServer) -> Any:
    schema = schemathesis.openapi.from_path(OPENAPI)
    schema.config.update(base_url=server.api_url.rstrip("/"), headers=dict(server.auth))

    class TokenAuth:
        """The document declares both of jupyter-server's token carriers (header, ``?token=``);
        cases carry the real token in the header and no made-up query token (which jupyter-server
        would prefer, turning every case into a test of its 403)."""

        def get(self, case: Any, context: Any) -> str:
            return server.token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"token {data}"}
            if case.query and "token" in case.query:
                case.query = {k: v for k, v in case.query.items() if k != "token"}

    schema.auth()(TokenAuth)
    return schema


def _checks(names: tuple[str, ...]) -> list[Any]:
    load_all_checks()
    by_name = {check.__name__: check for check in CHECKS.get_all()}
    return [by_name[name] for name in names]


def _error_code(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def accepted_refusal(operation_id: str, check: str, case: Any, response: Any) -> str | None:
    """Why a refusal the acceptance checks flag is right by contract (None: it is a failure).

    - ``INVALID_SESSION_STATE``: docs/architecture.md fixes 400 for a lifecycle transition the session's
      current status forbids (pausing a closed session); the document lists it. A schema cannot
      know the session's status.
    - ``listSessions`` with a ``cursor``: cursors are opaque tokens from ``next_cursor``; a
      made-up one is refused (400) rather than silently restarting the listing.
    - ``importSession``: an import is validated against the server's session model, which the
      document's ``SessionExport`` (written for the export) describes only loosely: a schema-valid
      ``plan`` without its ``topic`` is refused, and values the model coerces (``1.0`` for an
      integer) are accepted. Responses are still checked strictly.
    - ``kernelAsk``: the learner's ``work`` is validated strictly (a cell index ``1871.0`` is not
      guessed into ``1871``), as the chat frames validate it.
    """
    code = _error_code(response)
    if check == "positive_data_acceptance" and response.status_code == 400:
        if code == "INVALID_SESSION_STATE":
            return "lifecycle"
        if operation_id == "listSessions" and (case.query or {}).get("cursor") is not None:
            return "opaque-cursor"
    if operation_id == "importSession":
        return "import-model"
    if operation_id == "kernelAsk" and code == "INVALID_REQUEST" and _inexact_work(case.body):
        return "strict-work"
    return None


def _inexact_work(body: Any) -> bool:
    work = body.get("work") if isinstance(body, dict) else None
    index = work.get("cell_index") if isinstance(work, dict) else None
    return isinstance(index, float)


def _judge(operation: Any, case: Any, response: Any, report: FuzzReport) -> None:
    label = operation.label
    operation_id = operation.definition.raw.get("operationId", label)
    report.cases[label] += 1
    report.statuses[response.status_code] += 1
    for names in (STRICT_CHECKS, ACCEPTANCE_CHECKS):
        for check in _checks(names):
            try:
                case.validate_response(response, checks=[check], headers=dict(case.headers or {}))
            except BaseException as exc:  # schemathesis raises FailureGroup (an exception group)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                reason = None
                if names is ACCEPTANCE_CHECKS:
                    reason = accepted_refusal(operation_id, check.__name__, case, response)
                if reason is not None:
                    report.refusals_by_design[reason] += 1
                    continue
                report.failures.append(
                    FuzzFailure(label, check.__name__, response.status_code, str(exc)[:2000])
                )


def _real_session(server: LiveServer, index: int) -> str:
    """A session with one exchanged message, so generated cases also reach existing sessions."""
    with server.client() as client:
        created = client.post("sessions", json={"title": f"fuzz target {index}"})
    created.raise_for_status()
    session_id = str(created.json()["id"])
    ws = open_socket(server, session_id)
    try:
        frame = {"type": "message", "client_id": f"fuzz-{index}", "text": "What is a list?"}
        ws.send(json.dumps(frame))
        read_until(ws, _has_tutor_reply)
    finally:
        ws.close()
    return session_id


def fuzz_operations(
    server: LiveServer, cases_per_operation: int, seed: int = 0, schema: Any = None
) -> FuzzReport:
    """``cases_per_operation`` generated cases for every REST operation: a quarter positive, a
    quarter positive on a real session (for operations on one), half negative."""
    schema = schema if schema is not None else load_schema(server)
    report = FuzzReport()
    negative = max(1, cases_per_operation // 2)
    for index, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        if operation.definition.raw.get("operationId") in NOT_FUZZED:
            continue
        positive = cases_per_operation - negative
        passes: list[tuple[GenerationMode, int, dict[str, Any] | None]] = []
        if "{session_id}" in operation.path:
            on_real = positive // 2
            passes.append((GenerationMode.POSITIVE, on_real, {"session_id": _real_session(server, index)}))
            positive -= on_real
        passes += [
            (GenerationMode.POSITIVE, positive, None),
            (GenerationMode.NEGATIVE, negative, None),
        ]
        for mode, count, path_parameters in passes:
            if count <= 0:
                continue
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @settings(
                max_examples=count,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(headers=dict(server.auth), timeout=30)
                _judge(case.operation, case, response, report)

            # Each pass gets its own reproducible stream of examples.
            stream = zlib.crc32(f"{seed}:{operation.label}:{mode.value}:{path_parameters}".encode())
            hypothesis.seed(stream)(run)()
    return report


# --------------------------------------------------------------------------------------------------
# The stateful chain


def _operation(schema: Any, path: str, method: str) -> Any:
    return schema[path][method]


def _call_checked(
    schema: Any,
    server: LiveServer,
    report: FuzzReport,
    path: str,
    method: str,
    **parts: Any,
) -> Any:
    operation = _operation(schema, path, method)
    case = operation.Case(**parts)
    response = case.call(headers=dict(server.auth), timeout=30)
    _judge(operation, case, response, report)
    return response


def _has_tutor_reply(frames: list[dict[str, Any]]) -> bool:
    return any(f["type"] == "message" and f["message"]["role"] == "tutor" for f in frames)


def _random_text(rng: random.Random) -> str:
    """Printable text from across the BMP (surrogates excluded), never blank."""
    size = rng.randrange(1, 300)
    chars = [chr(rng.choice([rng.randrange(0x21, 0x7F), rng.randrange(0xA1, 0xD7FF)])) for _ in range(size)]
    return "".join(chars)


def stateful_chains(server: LiveServer, chains: int, seed: int = 0) -> FuzzReport:
    """Walks ``chains`` sessions through create → message → pause → resume → export (with
    generated bodies and parameters), plus the reads and writes in between, checking every
    response against the document."""
    schema = load_schema(server)
    report = FuzzReport()
    rng = random.Random(seed)
    create_bodies = _operation(schema, "/sessions", "POST").as_strategy(
        generation_mode=GenerationMode.POSITIVE
    )
    bodies: list[Any] = []

    @settings(max_examples=max(chains, 1), deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=create_bodies)
    def collect(case: Any) -> None:
        bodies.append(case.body)

    hypothesis.seed(seed)(collect)()
    for index in range(chains):
        body = bodies[index % len(bodies)] if bodies else {}
        created = _call_checked(schema, server, report, "/sessions", "POST", body=body)
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        params = {"session_id": session_id}
        # message, over the chat socket (acknowledged, then answered by the tutor)
        ws = open_socket(server, session_id)
        try:
            text = _random_text(rng) if rng.random() < 0.5 else f"What is a list? #{index}"
            client_id = f"chain-{uuid.uuid4().hex}"
            ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
            read_until(ws, lambda frames: any(f["type"] == "ack" for f in frames))
            read_until(ws, _has_tutor_reply)
        finally:
            ws.close()
        steps: list[tuple[str, str, dict[str, Any]]] = [
            ("/sessions/{session_id}/pause", "PUT", {}),
            ("/sessions/{session_id}", "GET", {}),
            ("/sessions/{session_id}/resume", "PUT", {}),
            ("/sessions/{session_id}/messages", "GET", {"query": {"after_seq": rng.randrange(3)}}),
            ("/sessions/{session_id}/export", "GET",
             {"query": {"format": rng.choice(["json", "markdown", "ipynb"])}}),
            ("/sessions", "GET", {"query": {"q": text[:20], "limit": rng.randrange(1, 201)}}),
        ]  # fmt: skip
        if rng.random() < 0.3:
            steps.append(("/sessions/{session_id}/close", "PUT", {}))
            steps.append(("/sessions/{session_id}/resume", "PUT", {}))  # refused: closed is final
        if rng.random() < 0.2:
            steps.append(("/sessions/{session_id}", "DELETE", {}))
            steps.append(("/sessions/{session_id}", "GET", {}))  # 404 after the delete
        for path, method, extra in steps:
            _call_checked(schema, server, report, path, method, path_parameters=params, **extra)
        report.chains += 1
    return report
