"""Regression tests for issue #11 (hardening), each against a real ``jupyter server`` subprocess.

One live server per module (its store in ``<root>/.tutornb``); tests that need another
configuration (a symlinked store, several users) start their own, also once per module.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

from tests.support.big_store import NEEDLE, build_big_store
from tests.support.chat_client import LiveTab, all_messages, open_socket, read_until
from tests.support.live_server import HERE, LiveServer
from tests.support.model_server import PARTIAL, ModelServer
from tutornb import frames
from tutornb.paths import default_owner
from tutornb.render import render_markdown
from tutornb.store import SessionStore

REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LISTS = "course/01_lists_and_loops.ipynb"

HOSTILE_HTML = (
    '<img src="/logout"><div class="jp-LabShell">Your Jupyter session expired. Sign in</div>'
    "<script>alert(1)</script>"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("hardening") / "server")
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _export_document(server: LiveServer, title: str = "Hardening") -> dict[str, Any]:
    """A JSON export of a fresh session, with two messages added as a file's author would."""
    with server.client() as client:
        created = client.post("sessions", json={"title": title, "context": {"module_id": "m1"}})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        exported = client.get(f"sessions/{sid}/export", params={"format": "json"})
        assert exported.status_code == 200
        document: dict[str, Any] = exported.json()
        client.delete(f"sessions/{sid}")
    stamp = document["session"]["created_at"]
    document["messages"] = [
        {"id": "m-1", "seq": 1, "role": "learner", "text": "What is a **list**?", "created_at": stamp},
        {"id": "m-2", "seq": 2, "role": "tutor", "text": "A list holds `items`.", "created_at": stamp},
    ]
    return document


# --------------------------------------------------------------------------------------------------
# 1. Imported html is never trusted


def test_import_renders_html_from_text_and_ignores_the_files_html(server: LiveServer) -> None:
    # Given an export whose messages carry hostile html next to harmless text
    document = _export_document(server)
    for message in document["messages"]:
        message["html"] = HOSTILE_HTML
    # When it is imported
    with server.client() as client:
        imported = client.post("sessions/import", json=document)
        assert imported.status_code == 201, imported.text
        sid = imported.json()["id"]
        restored = client.get(f"sessions/{sid}").json()
    # Then the stored html is the server's own rendering of each text, over REST and the socket
    assert [m["html"] for m in restored["messages"]] == [
        render_markdown(m["text"]) for m in document["messages"]
    ]
    ws = open_socket(server, sid)  # open_socket reads the session frame itself; read it again
    ws.close()
    for message in restored["messages"]:
        for needle in ("/logout", "jp-LabShell", "<script", "Sign in"):
            assert needle not in (message["html"] or "")


# --------------------------------------------------------------------------------------------------
# 5. Non-finite numbers


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_import_refuses_non_finite_numbers_and_stores_nothing(server: LiveServer, literal: str) -> None:
    # Given an export whose tutor state holds a non-finite mastery figure, as JSON text
    document = _export_document(server, title=f"nonfinite {literal}")
    document["session"]["state"]["mastery"] = {"lists": 0.5}
    body = json.dumps(document).replace("0.5", literal)
    assert literal in body
    with server.client() as client:
        before = client.get("sessions", params={"q": f"nonfinite {literal}"}).json()["total"]
        # When it is imported
        answer = client.post("sessions/import", content=body, headers={"Content-Type": "application/json"})
        after = client.get("sessions", params={"q": f"nonfinite {literal}"}).json()["total"]
    # Then it is a 400 INVALID_REQUEST and no session was stored
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST"
    assert after == before


def test_import_refuses_non_finite_numbers_given_as_strings(server: LiveServer) -> None:
    document = _export_document(server)
    document["session"]["state"]["mastery"] = {"lists": "NaN"}
    with server.client() as client:
        answer = client.post("sessions/import", json=document)
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST"


# --------------------------------------------------------------------------------------------------
# 4. A symlinked store folder is still guarded


@pytest.fixture(scope="module")
def symlinked_store_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("symlinked-store")
    outside = base / "elsewhere"
    outside.mkdir(mode=0o700)
    (outside / "notes.txt").write_bytes(b"precious\n")
    # The store refuses to open in a linked folder (tests/store/test_symlink_safety.py), so the
    # journal here is one left from before the link was planted: the guard must still cover it.
    (outside / "journal.jsonl").write_bytes(b'{"stored": "before"}\n')
    (outside / "journal.jsonl").chmod(0o600)
    live = LiveServer(base / "server", extra_args=["--ContentsManager.allow_hidden=True"])
    (live.root / ".tutornb").symlink_to(outside, target_is_directory=True)
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "api/contents/.tutornb/journal.jsonl"),
        ("GET", "api/contents/.tutornb/journal.jsonl"),
        ("GET", "files/.tutornb/journal.jsonl"),
        ("DELETE", "api/contents/.tutornb/journal.jsonl"),
    ],
)
def test_store_guard_covers_a_symlinked_store_folder(
    symlinked_store_server: LiveServer, method: str, path: str
) -> None:
    # Given <root>/.tutornb -> a folder outside the root, and hidden files allowed
    live = symlinked_store_server
    target = live.root / ".tutornb" / "journal.jsonl"
    before = target.read_bytes()
    # When jupyter-server's own file routes are asked for the store's journal
    import httpx

    body = {"type": "file", "format": "text", "content": "overwritten"}
    with httpx.Client(base_url=live.url, headers=live.auth, timeout=30) as client:
        answer = client.request(method, path, json=body if method == "PUT" else None)
    # Then they answer 404 and the journal is untouched
    assert answer.status_code == 404, answer.text
    assert target.read_bytes() == before


# --------------------------------------------------------------------------------------------------
# Exports are private


def test_cli_export_writes_0600_whatever_the_umask(server: LiveServer, tmp_path: Path) -> None:
    # Given a stored session
    with server.client() as client:
        sid = client.post("sessions", json={"title": "private export"}).json()["id"]
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    # When the CLI exports it under a permissive umask
    command = [sys.executable, "-m", "tutornb.cli", "export", sid, "--store", str(server.store_dir)]
    done = subprocess.run(
        [*command, "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
        env={**os.environ, "HOME": str(server.home)},
    )
    # Then the file holds the export and only its owner may read it
    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text(encoding="utf-8"))["session"]["id"] == sid
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# --------------------------------------------------------------------------------------------------
# 8. Bodies are checked as they arrive


def _raw_request(server: LiveServer, head: str, body_part: bytes, timeout: float = 10.0) -> bytes:
    """Sends a request head and only part of its body, then reads whatever the server answers
    (b"" if it answers nothing before ``timeout``)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        with contextlib.suppress(OSError):
            sock.sendall(body_part)
        answer = b""
        with contextlib.suppress(TimeoutError, OSError):
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer


def _head(server: LiveServer, path: str, length: int | None, *, auth: bool) -> str:
    lines = [f"POST /tutornb/api/{path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines.append("Content-Type: application/json")
    if length is None:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {length}")
    if auth:
        lines.append(f"Authorization: token {server.token}")
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.mark.parametrize("path", ["sessions/import", "sessions"])
def test_unauthenticated_body_is_refused_before_it_is_read(server: LiveServer, path: str) -> None:
    # Given an unauthenticated upload announcing 400 MiB, of which only 1 MiB is ever sent
    head = _head(server, path, 400 * 1024 * 1024, auth=False)
    # When the server is asked
    answer = _raw_request(server, head, b"x" * (1024 * 1024))
    # Then it answers 403 at once, without waiting for (and buffering) the rest
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def test_small_unauthenticated_bodies_always_get_their_403(server: LiveServer) -> None:
    # Given clients without credentials posting small bodies (already in flight with the headers)
    # When they ask many times
    with httpx.Client(base_url=server.api_url, timeout=10) as anonymous:
        answers = [anonymous.post("sessions", json={"title": "x" * 2000}) for _ in range(40)]
    # Then every one gets a JSON 403, never a reset connection (the CI run saw one before the fix)
    assert {answer.status_code for answer in answers} == {403}
    assert all(answer.json()["code"] == "FORBIDDEN" for answer in answers)


def test_declared_oversize_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    head = _head(server, "sessions/import", 400 * 1024 * 1024, auth=True)
    answer = _raw_request(server, head, b"x" * 65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"PAYLOAD_TOO_LARGE" in answer or b"Content-Length" in answer


def test_chunked_body_growing_past_the_limit_is_refused_as_it_arrives(server: LiveServer) -> None:
    # Given a chunked upload with no announced length that passes 1 MiB and never ends
    head = _head(server, "sessions/import", None, auth=True)
    piece = b"x" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    # When 6 MiB of it has been sent (bodies up to 4 MiB are read to their end, then refused)
    answer = _raw_request(server, head, chunk * 96)
    # Then the server answered 413 without waiting for the end of the body
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_small_bodies_still_work(server: LiveServer) -> None:
    with server.client() as client:
        created = client.post("sessions", json={"title": "small body"})
        assert created.status_code == 201
        exported = client.get(f"sessions/{created.json()['id']}/export").content
        again = client.post("sessions/import", content=exported)
    assert again.status_code == 201
    assert again.json()["title"] == "small body"


# --------------------------------------------------------------------------------------------------
# 2. Sockets that stop reading, and caps on sockets


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("limited") / "server",
        tutornb={
            "max_socket_pending_bytes": 64 * 1024,
            "max_sockets_per_session": 3,
            "max_sockets_per_owner": 5,
            "rate_limit_per_minute": 0,
        },
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _new_session(server: LiveServer, title: str) -> str:
    with server.client() as client:
        created = client.post("sessions", json={"title": title})
        assert created.status_code == 201
        return str(created.json()["id"])


def _close_frame(ws: websocket.WebSocket, timeout: float = 30.0) -> tuple[int, str] | None:
    """Reads until the server's close frame: (code, reason); None if the stream ended without one."""
    ws.settimeout(timeout)
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode("utf-8", "replace")


def test_a_socket_that_stops_reading_is_closed_with_1008(limited: LiveServer) -> None:
    # Given a socket with a tiny receive buffer that sends long messages and never reads
    sid = _new_session(limited, "slow reader")
    ws = websocket.create_connection(
        limited.ws_url(sid),
        header=[f"Authorization: token {limited.token}"],
        sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)],
        timeout=30,
    )
    text = "slow " * 3000
    # When it sends enough for its acks and echoes to pass the server's 64 KiB queue limit
    for n in range(60):
        ws.send(json.dumps({"type": "message", "client_id": f"slow-{n}", "text": text}))
    time.sleep(1.0)
    # Then (once it reads again) the server has closed it with 1008 and says why
    closed = _close_frame(ws)
    ws.close()
    assert closed is not None, "the stream ended without a close frame"
    assert closed[0] == 1008
    assert "SLOW_CONSUMER" in closed[1]
    assert "closed a chat socket that stopped reading" in limited.log_text()
    # And the server is fine: a new socket on the same session gets its restore payload
    fresh = open_socket(limited, sid)
    fresh.close()


def test_sockets_per_session_and_per_owner_are_capped(limited: LiveServer) -> None:
    first, second = _new_session(limited, "cap one"), _new_session(limited, "cap two")
    opened = [LiveTab(limited, first) for _ in range(3)]
    try:
        # Given 3 live tabs (the cap) on one session; When a fourth connects
        over = websocket.create_connection(
            limited.ws_url(first), header=[f"Authorization: token {limited.token}"], timeout=10
        )
        error = json.loads(over.recv())
        # Then it gets RATE_LIMITED and a 1008 close
        assert error["type"] == "error"
        assert error["code"] == "RATE_LIMITED"
        assert _close_frame(over) == (1008, "RATE_LIMITED")
        over.close()
        # Given 2 more on another session (the owner's cap of 5); When a sixth connects
        opened += [LiveTab(limited, second) for _ in range(2)]
        sixth = websocket.create_connection(
            limited.ws_url(second), header=[f"Authorization: token {limited.token}"], timeout=10
        )
        # Then it is refused too, and no live tab was evicted for it
        assert json.loads(sixth.recv())["code"] == "RATE_LIMITED"
        sixth.close()
        assert all(tab.open for tab in opened)
        # And once one closes, a new one is welcome
        opened.pop().close()
        deadline = time.monotonic() + 10
        while True:
            try:
                opened.append(LiveTab(limited, second))
                break
            except AssertionError:
                assert time.monotonic() < deadline, "a freed slot was never given back"
                time.sleep(0.2)
    finally:
        for ws in opened:
            ws.close()


# --------------------------------------------------------------------------------------------------
# 6. Several users on one server


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("shared") / "server",
        server={"identity_provider_class": "header_identity.HeaderIdentityProvider"},
        tutornb={"owner_mode": "user", "owner_quota_bytes": 64 * 1024},
        python_path=[HERE],
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _as(live: LiveServer, user: str) -> httpx.Client:
    return httpx.Client(base_url=live.api_url, headers={"X-Test-User": user}, timeout=30)


def _import_body(live: LiveServer, user: str, session_id: str, words: int = 10) -> dict[str, Any]:
    with _as(live, "template-maker") as client:  # not the importer: their quota may be full
        sid = client.post("sessions", json={"title": f"{user} template"}).json()["id"]
        document: dict[str, Any] = client.get(f"sessions/{sid}/export").json()
        client.delete(f"sessions/{sid}")
    stamp = document["session"]["created_at"]
    document["session"]["id"] = session_id
    document["messages"] = [
        {"id": "x1", "seq": 1, "role": "learner", "text": "word " * words, "created_at": stamp}
    ]
    return document


def test_import_always_gets_a_new_id_so_ids_of_others_cannot_be_probed(shared: LiveServer) -> None:
    # Given alice's session
    with _as(shared, "alice") as alice:
        alices = alice.post("sessions", json={"title": "alice's"}).json()["id"]
    # When bob imports one document naming alice's id and one naming an unused id
    with _as(shared, "bob") as bob:
        taken = bob.post("sessions/import", json=_import_body(shared, "bob", alices)).json()
        free = bob.post("sessions/import", json=_import_body(shared, "bob", "never-used-id")).json()
    # Then both get fresh ids: the answer is the same whether or not the id exists
    assert taken["id"] != alices
    assert free["id"] != "never-used-id"
    assert taken["owner"] == free["owner"] == "bob"


def test_status_shows_only_the_callers_sessions(shared: LiveServer) -> None:
    # Given carol with two sessions (one message) and dave with none
    with _as(shared, "carol") as carol:
        carol.post("sessions/import", json=_import_body(shared, "carol", "c1"))
        carol.post("sessions", json={"title": "carol two"})
        carols = carol.get("status").json()["store"]
    with _as(shared, "dave") as dave:
        daves = dave.get("status").json()["store"]
    # Then each sees their own figures only
    assert (carols["sessions"], carols["messages"]) == (2, 1)
    assert carols["bytes"] > 0
    assert (daves["sessions"], daves["messages"], daves["bytes"]) == (0, 0, 0)
    assert daves["quota_bytes"] == 64 * 1024


def test_one_user_cannot_fill_the_store_for_the_others(shared: LiveServer) -> None:
    # Given erin filling her own quota with imports
    answers = []
    with _as(shared, "erin") as erin:
        for n in range(40):
            answer = erin.post("sessions/import", json=_import_body(shared, "erin", f"e{n}", words=1000))
            answers.append(answer.status_code)
            if answer.status_code != 201:
                assert answer.status_code == 507
                assert answer.json()["code"] == "QUOTA_EXCEEDED"
                break
    assert answers[-1] == 507, answers
    # Then frank still creates and imports sessions
    with _as(shared, "frank") as frank:
        assert frank.post("sessions", json={"title": "frank's"}).status_code == 201
        assert frank.post("sessions/import", json=_import_body(shared, "frank", "f1")).status_code == 201


# --------------------------------------------------------------------------------------------------
# 7. A search through a big store does not hold up other requests


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("big-store") / "server", tutornb={"quota_bytes": 10**9})
    build_big_store(live.store_dir, default_owner(), megabytes=15)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def test_status_is_answered_while_a_cold_search_runs(big: LiveServer) -> None:
    # Given a search that must look inside every transcript of a cold 15 MB store
    finished: dict[str, float] = {}

    def search() -> None:
        with big.client(timeout=120) as client:
            answer = client.get("sessions", params={"q": NEEDLE, "limit": 5})
        finished["search"] = time.monotonic()
        finished["total"] = answer.json()["total"]

    searcher = threading.Thread(target=search)
    searcher.start()
    time.sleep(0.1)
    # When /status is asked while it runs
    with big.client(timeout=120) as client:
        status = client.get("status")
    finished["status"] = time.monotonic()
    searcher.join(120)
    # Then /status did not wait for the search to end (the search runs off the event loop)
    assert status.status_code == 200
    assert finished["total"] > 100
    assert finished["status"] < finished["search"], "the search held up /status"


# --------------------------------------------------------------------------------------------------
# Cut-off and stopped replies (a model-backed tutor against a real loopback model server)


@pytest.fixture(scope="module")
def model_backed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with ModelServer() as model:
        live = LiveServer(
            tmp_path_factory.mktemp("model-backed") / "server",
            tutornb={
                "tutor": "openai",
                "tutor_options": {"base_url": model.url, "api_key": "sk-test", "model": "tiny"},
            },
        )
        shutil.copytree(REPO_NOTEBOOKS, live.root / "course")
        live.start()
        try:
            yield live
        finally:
            live.stop()


def _course_session(live: LiveServer) -> str:
    with live.client() as client:
        created = client.post("sessions", json={"context": {"notebook_path": LISTS}})
        assert created.status_code == 201
        return str(created.json()["id"])


def _until_tutor_message(ws: websocket.WebSocket) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    frames = read_until(
        ws, lambda got: bool(got) and got[-1]["type"] in ("message", "error") and _is_tutor(got[-1])
    )
    return frames, frames[-1]


def _is_tutor(frame: dict[str, Any]) -> bool:
    return frame["type"] == "error" or frame["message"]["role"] == "tutor"


def test_a_reply_cut_off_mid_stream_is_stored_marked_and_a_resend_retries(model_backed: LiveServer) -> None:
    # Given a model whose stream breaks off after two deltas
    sid = _course_session(model_backed)
    ws = open_socket(model_backed, sid)
    question = {"type": "message", "client_id": "cut-1", "text": "What is a list comprehension? cut"}
    ws.send(json.dumps(question))
    # When the tutor's reply is stored
    frames, last = _until_tutor_message(ws)
    # Then it holds what came, marked cut off, and no error hid it
    assert last["type"] == "message", last
    reply = last["message"]
    assert reply["interrupted"] == "cut_off"
    assert reply["text"] == "".join(PARTIAL)
    assert [f["text"] for f in frames if f["type"] == "delta"]
    # And a resend of the same message is the retry: a new tutor turn, not just an ack
    ws.send(json.dumps(question))
    _, again = _until_tutor_message(ws)
    ws.close()
    assert again["type"] == "message"
    assert again["message"]["id"] != reply["id"]
    stored = all_messages(model_backed, sid)
    assert [m.get("interrupted") for m in stored if m["role"] == "tutor"][:1] == ["cut_off"]
    with model_backed.client() as client:
        markdown = client.get(f"sessions/{sid}/export", params={"format": "markdown"}).text
    assert "(cut off" in markdown


def test_a_stop_frame_ends_the_streaming_turn_and_keeps_what_was_said(model_backed: LiveServer) -> None:
    # Given a reply streaming slowly
    sid = _course_session(model_backed)
    ws = open_socket(model_backed, sid)
    ws.send(
        json.dumps({"type": "message", "client_id": "slow-1", "text": "What is a list comprehension? slow"})
    )
    read_until(ws, lambda got: sum(f["type"] == "delta" for f in got) >= 2)
    # When the learner sends {"type": "stop"}
    ws.send(json.dumps({"type": "stop"}))
    _, last = _until_tutor_message(ws)
    ws.close()
    # Then the turn ends at once with the text so far, stored and marked stopped
    assert last["type"] == "message", last
    reply = last["message"]
    assert reply["interrupted"] == "stopped"
    assert reply["text"].startswith("word0 ")
    assert "word299" not in reply["text"]
    stored = [m for m in all_messages(model_backed, sid) if m["role"] == "tutor"]
    assert [(m["id"], m["interrupted"]) for m in stored] == [(reply["id"], "stopped")]


def test_a_stop_frame_with_nothing_streaming_is_harmless(model_backed: LiveServer) -> None:
    sid = _course_session(model_backed)
    ws = open_socket(model_backed, sid)
    ws.send(json.dumps({"type": "stop"}))
    ws.send(json.dumps({"type": "pause"}))
    (state,) = read_until(ws, lambda got: bool(got))
    ws.close()
    assert state["type"] == "state"
    assert state["session"]["status"] == "paused"


# --------------------------------------------------------------------------------------------------
# Shutdown pauses what was active


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_shutdown_pauses_its_active_sessions(tmp_path: Path, sig: signal.Signals) -> None:
    # Given a server with a learner connected to an active session
    live = LiveServer(tmp_path / "server")
    live.start()
    try:
        sid = _new_session(live, "shutdown")
        ws = open_socket(live, sid)
        with live.client() as client:
            assert client.get(f"sessions/{sid}").json()["status"] == "active"
        # When the server is told to stop (the hub sends SIGTERM)
        assert live.process is not None
        live.process.send_signal(sig)
        live.process.wait(30)
        ws.close()
    finally:
        live.stop()
    # Then the session waits paused in the store
    store = SessionStore(live.store_dir)
    try:
        assert store.get_session(sid).status.value == "paused"
    finally:
        store.close()


def test_a_long_restore_payload_over_the_limit_does_not_close_a_reading_socket(limited: LiveServer) -> None:
    # Given a session whose transcript is several times the 64 KiB queue limit
    document = _export_document(limited, title="long transcript")
    stamp = document["session"]["created_at"]
    document["messages"] = [
        {"id": f"l{n}", "seq": n, "role": "learner", "text": "long " * 2000, "created_at": stamp}
        for n in range(1, 31)
    ]
    with limited.client() as client:
        imported = client.post("sessions/import", json=document)
        assert imported.status_code == 201, imported.text
        sid = imported.json()["id"]
    # When a client that reads opens it and sends a message
    ws = open_socket(limited, sid)
    ws.send(json.dumps({"type": "message", "client_id": "after-long", "text": "still here?"}))
    frames = read_until(ws, lambda got: any(f["type"] == "ack" for f in got))
    ws.close()
    # Then it got its restore payload and its ack: the socket was not taken for a slow one
    assert frames[-1]["client_id"] == "after-long"


def test_a_frame_never_carries_a_non_finite_number() -> None:
    # Given a frame holding NaN and infinities (a value that reached the store before the import
    # check existed); When it is encoded for the socket; Then it is strict JSON, with nulls
    frame = {"type": "state", "session": {"state": {"mastery": {"a": float("nan"), "b": [float("inf")]}}}}
    text = frames.encode(frame)
    assert "NaN" not in text
    assert "Infinity" not in text
    assert json.loads(text)["session"]["state"]["mastery"] == {"a": None, "b": [None]}
