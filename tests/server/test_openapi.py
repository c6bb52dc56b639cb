"""tutornb/server/openapi.yaml agrees with the route table, and real responses fit its schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tornado.web import RequestHandler
from tornado.websocket import WebSocketHandler

import tutornb.server
from tests.support.server_helpers import Fetch, create_session
from tutornb.server.app import ROUTES
from tutornb.service import TutorService

SPEC_PATH = Path(tutornb.server.__file__).parent / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
BASE = "urn:tutornb-openapi"
REGISTRY = Registry().with_resource(BASE, Resource(contents=SPEC, specification=DRAFT202012))
HTTP_METHODS = ("get", "post", "put", "delete", "patch", "head")


def implemented_methods(handler: type[Any]) -> set[str]:
    """The HTTP methods a handler really answers (the socket answers GET, the upgrade)."""
    if issubclass(handler, WebSocketHandler):
        return {"get"}
    return {name for name in HTTP_METHODS if getattr(handler, name) is not getattr(RequestHandler, name)}


def test_the_document_is_openapi_3_1_with_every_route_and_nothing_else() -> None:
    # Given the route table and the OpenAPI document
    assert SPEC["openapi"].startswith("3.1")
    routed = {(template, method) for template, handler in ROUTES for method in implemented_methods(handler)}
    documented = {
        (path, method) for path, item in SPEC["paths"].items() for method in item if method in HTTP_METHODS
    }
    # Then every handler path + method is documented, and every documented one is served
    assert routed == documented


def test_every_schema_reference_resolves() -> None:
    # Given every $ref in the document
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SPEC)
    # Then each points at something that exists
    resolver = REGISTRY.resolver(base_uri=BASE)
    assert refs
    for ref in refs:
        resolver.lookup(ref)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def schema_pointer(template: str, method: str, status: int, media: str) -> str:
    """A JSON pointer into the document, so the schema's own ``#/components/...`` refs resolve."""
    responses = SPEC["paths"][template][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {template} does not document {status}"
    pointer = f"#/paths/{_escape(template)}/{method}/responses/{status}"
    ref = responses[str(status)].get("$ref")
    if ref:
        pointer = ref
    return f"{pointer}/content/{_escape(media)}/schema"


def check(template: str, method: str, status: int, body: Any, media: str = "application/json") -> None:
    validator = Draft202012Validator(
        {"$ref": BASE + schema_pointer(template, method, status, media)},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    where = f"{method.upper()} {template} {status}"
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].path)}"


async def test_real_responses_fit_the_documented_schemas(
    api: Fetch, service: TutorService, chat: Any
) -> None:
    # Given a running server; When every operation is exercised; Then each body fits its schema
    code, body, _ = await api("status")
    check("/status", "get", code, body)
    code, session, _ = await api(
        "sessions", method="POST", body={"context": {"course_id": "py101"}, "title": "t"}
    )
    check("/sessions", "post", code, session)
    sid = session["id"]
    await service.ask(session["owner"], sid, "What is a list?")
    code, body, _ = await api("sessions", params={"limit": "5"})
    check("/sessions", "get", code, body)
    code, body, _ = await api("sessions", sid)
    check("/sessions/{session_id}", "get", code, body)
    code, body, _ = await api("sessions", sid, "messages")
    check("/sessions/{session_id}/messages", "get", code, body)
    for action in ("pause", "resume", "close"):
        code, body, _ = await api("sessions", sid, action, method="PUT")
        check(f"/sessions/{{session_id}}/{action}", "put", code, body)
    code, body, _ = await api("sessions", sid, "pause", method="PUT")
    check("/sessions/{session_id}/pause", "put", code, body)
    code, _, resp = await api("sessions", sid, "export", params={"format": "json"})
    exported = json.loads(resp.body)
    check("/sessions/{session_id}/export", "get", code, exported)
    code, body, _ = await api("sessions", "import", method="POST", raw_body=resp.body)
    check("/sessions/import", "post", code, body)
    code, body, _ = await api("sessions", "import", method="POST", raw_body=b"{}")
    check("/sessions/import", "post", code, body)
    code, body, _ = await api("sessions", params={"limit": "0"})
    check("/sessions", "get", code, body)
    code, body, _ = await api("sessions", "missing_id")
    check("/sessions/{session_id}", "get", code, body)
    code, body, _ = await api("sessions", "bad.id", "messages")
    check("/sessions/{session_id}/messages", "get", code, body)
    code, body, _ = await api("sessions", method="POST", raw_body=b"x" * (1024 * 1024 + 1))
    check("/sessions", "post", code, body)
    code, body, _ = await api("status", headers={"Authorization": ""})
    check("/status", "get", code, body)
    code, _, resp = await api("sessions", sid, method="DELETE")
    assert code == 204
    assert "204" in SPEC["paths"]["/sessions/{session_id}"]["delete"]["responses"]


@pytest.mark.parametrize("kind", ["ClientFrame", "ServerFrame"])
def test_frame_schemas_are_valid_json_schema(kind: str) -> None:
    # Given the frame schemas the socket documents
    schema = SPEC["components"]["schemas"][kind]
    # Then they are valid JSON Schema
    Draft202012Validator.check_schema(schema)


async def test_socket_frames_fit_the_documented_frame_schema(
    api: Fetch, chat: Any, service: TutorService
) -> None:
    # Given a chat on a session
    session = await create_session(api)
    ws = await chat(session["id"])
    await ws.send({"type": "message", "client_id": "s-1", "text": "What is a list?"})
    await ws.until("message", lambda f: f["message"]["role"] == "tutor")
    await ws.send("not json")
    await ws.until("error")
    await ws.send({"type": "pause"})
    await ws.until("state")
    ws.close()
    # Then every frame the server sent fits ServerFrame
    validator = Draft202012Validator(
        {"$ref": BASE + "#/components/schemas/ServerFrame"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    kinds = set()
    for frame in ws.seen:
        errors = list(validator.iter_errors(frame))
        assert not errors, (frame["type"], errors[0].message)
        kinds.add(frame["type"])
    assert kinds >= {"session", "ack", "delta", "message", "error", "state"}
