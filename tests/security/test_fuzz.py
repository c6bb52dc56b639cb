"""Schemathesis against ``tutornb/server/openapi.yaml`` on a live server: no server error, every
response as documented, and a stateful create → message → pause → resume → export chain.

Reduced here (``TUTORNB_FUZZ_CASES`` cases per operation, default 25); ``bench/fuzz.py`` runs 200.
"""

from __future__ import annotations

import copy
import json
import os

from schemathesis.core import NOT_SET

from tests.support.fuzz_api import FuzzReport, _judge, fuzz_operations, load_schema, stateful_chains
from tests.support.live_server import LiveServer

CASES = int(os.environ.get("TUTORNB_FUZZ_CASES", "25"))
CHAINS = int(os.environ.get("TUTORNB_FUZZ_CHAINS", "5"))


def test_no_server_error_and_every_response_as_documented(hostile_server: LiveServer) -> None:
    # When every REST operation gets generated positive and negative cases
    report = fuzz_operations(hostile_server, CASES, seed=1)
    # Then every operation was exercised, nothing failed a check, no 5xx, no unhandled error
    assert len(report.cases) == 12  # the documented operations, POST /kernel/ask included
    assert min(report.cases.values()) >= CASES
    assert [(f.operation, f.check, f.status) for f in report.failures] == [], [
        f.detail[:600] for f in report.failures
    ]
    assert not [code for code in report.statuses if code >= 500]
    # (the cases reached the API, not only its error paths)
    assert report.statuses[200] > 0
    assert report.statuses[201] > 0
    assert hostile_server.unhandled() == []


def test_stateful_chain_create_message_pause_resume_export(hostile_server: LiveServer) -> None:
    # When sessions go through create -> message (socket) -> pause -> resume -> export and the
    # reads in between, with generated bodies and parameters
    report = stateful_chains(hostile_server, CHAINS, seed=2)
    # Then every response fits the document
    assert report.chains == CHAINS
    assert [(f.operation, f.check, f.status, f.detail[:300]) for f in report.failures] == []
    assert report.statuses[200] >= 4 * CHAINS
    assert hostile_server.unhandled() == []


def test_the_checks_do_catch_a_response_that_breaks_the_document(
    hostile_server: LiveServer,
) -> None:
    # Given a real /status answer with a required field removed
    schema = load_schema(hostile_server)
    operation = schema["/status"]["GET"]
    case = operation.Case()
    real = case.call(headers=dict(hostile_server.auth), timeout=30)
    body = real.json()
    del body["version"]
    broken = copy.copy(real)
    broken.content = json.dumps(body).encode()
    broken.content_size = len(broken.content)
    broken._deserialized = NOT_SET
    # When it is judged like every fuzzed response
    report = FuzzReport()
    _judge(operation, case, broken, report)
    # Then the schema check flags it
    assert [f.check for f in report.failures] == ["response_schema_conformance"]


def test_what_the_fuzzer_found_stays_fixed(hostile_server: LiveServer) -> None:
    with hostile_server.client() as client:
        # A JSON null body is a wrong type, not a missing body
        json_type = {"Content-Type": "application/json"}
        resp = client.post("sessions", content=b"null", headers=json_type)
        assert resp.status_code == 400
        assert resp.json()["code"] == "INVALID_REQUEST"
        # An import cannot bring a negative question number (it would break the response schema)
        session_id = client.post("sessions", json={"title": "export me"}).json()["id"]
        document = client.get(f"sessions/{session_id}/export").json()
        document["session"]["current_question_number"] = -1
        resp = client.post("sessions/import", json=document)
        assert resp.status_code == 400
        assert resp.json()["errors"][0]["loc"] == ["session", "current_question_number"]
        # The documented bounds are the server's: after_seq up to 2^53, status may be empty
        path = f"sessions/{session_id}/messages"
        assert client.get(path, params={"after_seq": 2**53}).status_code == 200
        assert client.get(path, params={"after_seq": 2**53 + 1}).status_code == 400
        assert client.get("sessions", params={"status": ""}).status_code == 200
        assert client.get("sessions", params={"status": "active , paused"}).status_code == 200
        assert client.get("sessions", params={"status": "active,,paused"}).status_code == 400
        # Length limits hold on the value as sent (control characters included)
        padded = "x" + "\x03" * 1100
        assert client.get("sessions", params={"q": padded}).status_code == 400
        assert client.get("sessions", params={"cursor": "\x18" * 600}).status_code == 400
        export = client.get(f"sessions/{session_id}/export", params={"format": "json\x03"})
        assert export.status_code == 400
