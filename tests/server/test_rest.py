"""Every REST route and status code of docs/architecture.md, on a real jupyter-server with tutornb enabled."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.support.server_helpers import Fetch, create_session
from tutornb.server.lifetime import service_opener
from tutornb.service import TutorService

CONTEXT = {
    "course_id": "py101",
    "course_title": "Python foundations",
    "module_id": "lists",
    "module_title": "Lists & loops",
    "notebook_path": "course/lists.ipynb",
}


async def test_status_reports_store_and_tutor_without_absolute_paths(api: Fetch, jp_root_dir: Path) -> None:
    # Given a running server with tutornb
    # When the status is requested
    code, body, _ = await api("status")
    # Then it names the version, the tutor and the store, relative to the root
    assert code == 200
    assert set(body) >= {"version", "store", "tutor"}
    assert body["store"]["path"] == "<root>/.tutornb"
    assert body["store"]["quota_bytes"] > 0
    assert body["tutor"]["name"]
    assert str(jp_root_dir) not in json.dumps(body)


async def test_create_session_with_context_and_restore_it(api: Fetch) -> None:
    # Given a notebook's course context
    # When a session is created
    code, session, resp = await api("sessions", method="POST", body={"context": CONTEXT})
    # Then it is active, in intake, with that context, and restorable by id
    assert code == 201
    assert session["status"] == "active"
    assert session["phase"] == "intake"
    assert session["context"]["module_title"] == "Lists & loops"
    assert resp.headers["Location"].endswith("/tutornb/api/sessions/" + session["id"])
    code, detail, _ = await api("sessions", session["id"])
    assert code == 200
    assert detail["id"] == session["id"]
    assert detail["messages"] == []
    assert "state" in detail


async def test_create_session_without_body_or_context(api: Fetch) -> None:
    # Given a notebook without tutornb metadata
    # When a session is created with no body at all
    code, session, _ = await api("sessions", method="POST")
    # Then it still gets a session
    assert code == 201
    assert session["status"] == "active"


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'"text"',
        b'{"context": "nope"}',
        b'{"context": {"course_id": 5}}',
        b'{"unknown": 1}',
        b'{"title": "' + b"x" * 300 + b'"}',
        b"\xff\xfe",
    ],
)
async def test_create_session_refuses_bad_bodies(api: Fetch, raw: bytes) -> None:
    # Given a malformed body
    # When it is posted
    code, body, _ = await api("sessions", method="POST", raw_body=raw)
    # Then the answer is 400 INVALID_REQUEST with a message and nothing was created
    assert code == 400
    assert body["code"] == "INVALID_REQUEST"
    assert body["message"]
    _, page, _ = await api("sessions")
    assert page["total"] == 0


async def test_list_filters_search_and_paginates(api: Fetch) -> None:
    # Given five sessions in two modules
    ids = []
    for i in range(5):
        module = "lists" if i % 2 == 0 else "dicts"
        session = await create_session(
            api, course_id="py101", module_id=module, notebook_path=f"nb{i}.ipynb", title=f"T{i}"
        )
        ids.append(session["id"])
    # When filtering by module
    code, page, _ = await api("sessions", params={"module_id": "lists"})
    # Then only that module's sessions come back, counted
    assert code == 200
    assert page["total"] == 3
    assert {s["context"]["module_id"] for s in page["sessions"]} == {"lists"}
    # When paging two at a time, every session is seen once, newest activity first
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        code, page, _ = await api("sessions", params=params)
        assert code == 200
        assert page["total"] == 5
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert seen[0] == ids[-1]
    # When searching a title, case-insensitively
    code, page, _ = await api("sessions", params={"q": "t3"})
    assert [s["id"] for s in page["sessions"]] == [ids[3]]
    # And a word found nowhere leaves nothing
    code, page, _ = await api("sessions", params={"q": "zebra-unicorn"})
    assert page["sessions"] == []
    assert page["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"status": "sleeping"},
        {"status": "active,,closed"},
    ],
)
async def test_list_refuses_bad_parameters(api: Fetch, params: dict[str, str]) -> None:
    # Given an out-of-range or unknown parameter value
    # When listing
    code, body, _ = await api("sessions", params=params)
    # Then 400 INVALID_REQUEST
    assert code == 400
    assert body["code"] == "INVALID_REQUEST"


async def test_status_filter_and_lifecycle_codes(api: Fetch) -> None:
    # Given an active session
    session = await create_session(api, module_id="lists")
    sid = session["id"]
    # When it is paused, then paused again
    code, paused, _ = await api("sessions", sid, "pause", method="PUT")
    assert code == 200
    assert paused["status"] == "paused"
    code, body, _ = await api("sessions", sid, "pause", method="PUT")
    # Then the second pause is an invalid transition
    assert code == 400
    assert body["code"] == "INVALID_SESSION_STATE"
    # And the status filter sees it as paused
    _, page, _ = await api("sessions", params={"status": "paused"})
    assert [s["id"] for s in page["sessions"]] == [sid]
    _, page, _ = await api("sessions", params={"status": "active"})
    assert page["sessions"] == []
    # When resumed, it is active again; resuming an active session is refused
    code, resumed, _ = await api("sessions", sid, "resume", method="PUT")
    assert code == 200
    assert resumed["status"] == "active"
    code, body, _ = await api("sessions", sid, "resume", method="PUT")
    assert code == 400
    assert body["code"] == "INVALID_SESSION_STATE"
    # When closed, every further transition is refused
    code, closed, _ = await api("sessions", sid, "close", method="PUT")
    assert code == 200
    assert closed["status"] == "closed"
    for action in ("pause", "resume", "close"):
        code, body, _ = await api("sessions", sid, action, method="PUT")
        assert code == 400
        assert body["code"] == "INVALID_SESSION_STATE"


async def test_unknown_session_answers_404_on_every_session_route(api: Fetch) -> None:
    # Given an id that was never created
    missing = "no_such_session_123"
    calls = [
        ("GET", ()),
        ("DELETE", ()),
        ("GET", ("messages",)),
        ("PUT", ("pause",)),
        ("PUT", ("resume",)),
        ("PUT", ("close",)),
        ("GET", ("export",)),
    ]
    for method, tail in calls:
        # When any session route is called with it
        code, body, _ = await api("sessions", missing, *tail, method=method)
        # Then the answer is 404 SESSION_NOT_FOUND
        assert code == 404, (method, tail)
        assert body["code"] == "SESSION_NOT_FOUND"


async def test_messages_after_seq(api: Fetch, service: TutorService) -> None:
    # Given a session with a learner message and the tutor's reply
    session = await create_session(api, module_id="lists")
    await service.ask(session["owner"], session["id"], "What is a list?")
    # When reading messages after seq 1
    code, body, _ = await api("sessions", session["id"], "messages", params={"after_seq": "1"})
    # Then only the reply comes back
    assert code == 200
    assert [m["seq"] for m in body["messages"]] == [2]
    assert body["messages"][0]["role"] == "tutor"
    code, body, _ = await api("sessions", session["id"], "messages", params={"limit": "1"})
    assert [m["seq"] for m in body["messages"]] == [1]
    for bad in ({"after_seq": "-1"}, {"after_seq": "x"}, {"limit": "0"}):
        code, body, _ = await api("sessions", session["id"], "messages", params=bad)
        assert code == 400
        assert body["code"] == "INVALID_REQUEST"


async def test_delete_answers_204_then_404(api: Fetch) -> None:
    # Given a session
    session = await create_session(api)
    # When it is deleted
    code, body, resp = await api("sessions", session["id"], method="DELETE")
    # Then 204 with no body, and it is gone
    assert code == 204
    assert not resp.body
    code, body, _ = await api("sessions", session["id"])
    assert code == 404
    assert body["code"] == "SESSION_NOT_FOUND"


async def test_export_formats_are_attachments_with_server_chosen_names(
    api: Fetch, service: TutorService
) -> None:
    # Given a session with a conversation
    session = await create_session(api, module_title="Lists & loops", title="../../etc/passwd")
    await service.ask(session["owner"], session["id"], "How do I loop over a list?")
    for fmt, suffix in (("json", ".json"), ("markdown", ".md"), ("ipynb", ".ipynb")):
        # When exporting in each format
        code, _, resp = await api("sessions", session["id"], "export", params={"format": fmt})
        # Then the body is an attachment whose name the server chose (never the title)
        assert code == 200
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment; filename=")
        filename = disposition.split("filename=", 1)[1].strip('"')
        assert filename.endswith(suffix)
        assert "/" not in filename
        assert ".." not in filename
        assert resp.body
    code, body, _ = await api("sessions", session["id"], "export", params={"format": "pdf"})
    assert code == 400
    assert body["code"] == "INVALID_REQUEST"


async def test_export_import_round_trip_is_equal(api: Fetch, service: TutorService) -> None:
    # Given a session with messages
    session = await create_session(api, **CONTEXT)
    await service.ask(session["owner"], session["id"], "What is a list?")
    await service.ask(session["owner"], session["id"], "And a loop?")
    code, _, resp = await api("sessions", session["id"], "export", params={"format": "json"})
    assert code == 200
    exported = json.loads(resp.body)
    # When the export is imported
    code, imported, _ = await api("sessions", "import", method="POST", raw_body=resp.body)
    # Then a session with the same context, title and transcript exists
    assert code == 201
    code, original, _ = await api("sessions", session["id"])
    code, copy, _ = await api("sessions", imported["id"])
    assert copy["context"] == original["context"]
    assert copy["title"] == original["title"]
    assert copy["message_count"] == original["message_count"] == len(exported["messages"])

    def transcript(detail: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(m["seq"], m["role"], m["text"]) for m in detail["messages"]]

    assert transcript(copy) == transcript(original)


@pytest.mark.parametrize(
    "raw",
    [b"", b"{}", b"not json", b'{"format": "tutornb.session"}', b'{"session": 1, "messages": []}'],
)
async def test_import_refuses_documents_that_do_not_fit(api: Fetch, raw: bytes) -> None:
    # Given something that is not a tutornb export
    # When it is imported
    code, body, _ = await api("sessions", "import", method="POST", raw_body=raw)
    # Then 400 INVALID_REQUEST and nothing was created
    assert code == 400
    assert body["code"] == "INVALID_REQUEST"
    _, page, _ = await api("sessions")
    assert page["total"] == 0


async def test_bodies_over_one_mib_answer_413(api: Fetch) -> None:
    # Given a body just over 1 MiB
    big = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
    for parts in (("sessions",), ("sessions", "import")):
        # When it is posted
        code, body, _ = await api(*parts, method="POST", raw_body=big)
        # Then 413 PAYLOAD_TOO_LARGE
        assert code == 413
        assert body["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ("nope",)),
        ("GET", ("sessions", "x", "nope")),
        ("POST", ("sessions", "x", "y", "z")),
        ("DELETE", ("status", "extra")),
        ("GET", ()),
        ("PUT", ("v2",)),
    ],
)
async def test_unknown_paths_answer_json_404(api: Fetch, method: str, path: tuple[str, ...]) -> None:
    # Given a path under tutornb/api that is no route
    # When it is requested
    code, body, resp = await api(*path, method=method)
    # Then the answer is a JSON 404 NOT_FOUND, never an HTML page
    assert code == 404
    assert resp.headers["Content-Type"].startswith("application/json")
    assert body["code"] == "NOT_FOUND"


async def test_unsupported_methods_answer_405_with_allow(api: Fetch) -> None:
    # Given routes that do not implement PATCH / POST
    for parts, method, allowed in [
        (("sessions",), "PATCH", "GET, POST"),
        (("status",), "POST", "GET"),
        (("sessions", "abc"), "PUT", "GET, DELETE"),
    ]:
        # When such a method is used
        code, body, resp = await api(*parts, method=method)
        # Then 405 JSON with the methods that do exist
        assert code == 405
        assert body["code"] == "METHOD_NOT_ALLOWED"
        assert resp.headers["Allow"] == allowed


async def test_a_cursor_that_is_not_one_is_refused(api: Fetch) -> None:
    # Given a cursor no listing ever produced
    # When listing with it
    code, body, _ = await api("sessions", params={"cursor": "not-a-cursor!"})
    # Then 400 INVALID_REQUEST
    assert code == 400
    assert body["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("tutornb_config", [{"quota_bytes": 30_000}])
async def test_a_full_store_answers_507_and_acknowledges_nothing(api: Fetch, chat: Any) -> None:
    # Given a store with a 30 kB quota, filled with sessions until it refuses one
    first = await create_session(api, title="the first one")
    for _ in range(300):
        code, body, _ = await api("sessions", method="POST", body={"title": "x" * 150})
        if code != 201:
            break
    # Then the refusal is 507 QUOTA_EXCEEDED
    assert code == 507
    assert body["code"] == "QUOTA_EXCEEDED"
    # And a chat message is refused with an error frame, never acknowledged nor stored
    ws = await chat(first["id"])
    await ws.until("session")
    await ws.send({"type": "message", "client_id": "q-1", "text": "hello"})
    error = await ws.until("error")
    assert error["code"] == "QUOTA_EXCEEDED"
    assert error["client_id"] == "q-1"
    assert not [f for f in ws.seen if f["type"] == "ack"]
    _, detail, _ = await api("sessions", first["id"])
    assert detail["messages"] == []
    ws.close()


async def test_start_greets_a_new_session_once(api: Fetch, service: TutorService) -> None:
    # Given a new session
    session = await create_session(api, module_title="Lists & loops")
    # When the tutor is asked to open it, twice
    first = await service.start(session["owner"], session["id"])
    second = await service.start(session["owner"], session["id"])
    # Then one opening message is stored, the second call does nothing
    assert first is not None
    assert first.role.value == "tutor"
    assert second is None
    _, detail, _ = await api("sessions", session["id"])
    assert [m["role"] for m in detail["messages"]] == ["tutor"]


@pytest.mark.parametrize(
    ("tutornb_config", "reason"),
    [
        ({"tutor": "no-such-tutor"}, "TUTOR_UNAVAILABLE"),
        ({"store_dir": "/dev/null/store"}, "NotADirectoryError"),
    ],
)
async def test_a_tutornb_that_cannot_start_answers_503_json(
    api: Fetch, jp_serverapp: Any, reason: str
) -> None:
    # Given a server whose tutornb cannot start (unknown tutor, store folder impossible): it finds
    # out when the first tutornb request opens the service
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    collect = Collect(level=logging.DEBUG)
    logger = logging.getLogger("TutorNBApp")
    logger.addHandler(collect)
    try:
        # When its routes are called
        for parts in (("status",), ("sessions",), ("sessions", "abc")):
            code, body, _ = await api(*parts)
            # Then they answer 503 with a code naming the cause, never a traceback or a path
            assert code == 503
            assert body["code"] == "STORE_UNAVAILABLE"
            assert reason in body["message"]
            assert "/dev/null" not in body["message"]
        # And the unknown paths stay JSON 404s
        code, body, _ = await api("nope")
        assert code == 404
    finally:
        logger.removeHandler(collect)
    assert service_opener(jp_serverapp.web_app.settings).error == reason
    # And what it logged meanwhile has no traceback and no path
    log = "\n".join(lines)
    assert "STORE_UNAVAILABLE" in log
    assert "Traceback" not in log
    assert "/dev/null" not in log
