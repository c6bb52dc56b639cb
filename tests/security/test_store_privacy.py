"""The store folder is private: jupyter-server's file and contents APIs never serve, list or change
``.tutornb/`` (also when hidden files are allowed), and its files are 0600 in a 0700 folder."""

from __future__ import annotations

import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.websocket import WebSocketClientConnection

from tests.support.security_helpers import Http, json_of
from tutornb.paths import default_owner
from tutornb.service import TutorService

OpenSocket = Callable[..., Awaitable[WebSocketClientConnection]]

#: Ways to name a store file through jupyter-server's own routes.
READS = [
    "files/.tutornb/journal.jsonl",
    "files/.tutornb/snapshot.jsonl",
    "files/./.tutornb/journal.jsonl",
    "files/sub/../.tutornb/journal.jsonl",
    "files/%2Etutornb/journal.jsonl",
    "files/.tutornb%2Fjournal.jsonl",
    "files/.tutornb/",
    "files/.TUTORNB/journal.jsonl",
    "files/.tutornb./journal.jsonl",
    "files/%252Etutornb/journal.jsonl",
    "files/.tutornb\\journal.jsonl",
    "api/contents/.tutornb",
    "api/contents/.tutornb/",
    "api/contents/.tutornb/journal.jsonl",
    "api/contents/.tutornb/journal.jsonl?content=1&format=text",
    "api/contents/.tutornb/snapshot.jsonl?type=file&format=base64",
    "api/contents/%2Etutornb/journal.jsonl",
    "api/contents/sub/../.tutornb/journal.jsonl",
    "api/contents/.tutornb/journal.jsonl/checkpoints",
    "view/.tutornb/journal.jsonl",
    "nbconvert/html/.tutornb/journal.jsonl",
]
#: Writes through the contents API that would corrupt, replace or remove the store.
WRITES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PUT", "api/contents/.tutornb/journal.jsonl",
     {"type": "file", "format": "text", "content": "garbage"}),
    ("PUT", "api/contents/.tutornb/new.txt", {"type": "file", "format": "text", "content": "x"}),
    ("POST", "api/contents/.tutornb", {"type": "file"}),
    ("POST", "api/contents/.tutornb/journal.jsonl/checkpoints", None),
    ("PATCH", "api/contents/.tutornb", {"path": "stolen"}),
    ("PATCH", "api/contents/.tutornb/journal.jsonl", {"path": "stolen.jsonl"}),
    ("POST", "api/contents", {"copy_from": ".tutornb/journal.jsonl"}),
    ("PATCH", "api/contents/notes.txt", {"path": ".tutornb/notes.txt"}),
    ("PATCH", "api/contents/notes.txt", {"path": "sub/../.tutornb/journal.jsonl"}),
    ("POST", "api/contents/.tutornb", {"copy_from": "notes.txt"}),
    ("DELETE", "api/contents/.tutornb/journal.jsonl", None),
    ("DELETE", "api/contents/.tutornb", None),
]  # fmt: skip


def _store_bytes(store_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in store_dir.iterdir() if p.is_file()}


@pytest.mark.parametrize(
    "extra_server_config",
    [
        {},
        {"__other__": {"ContentsManager": {"allow_hidden": True}}},
        {"__other__": {"FileContentsManager": {"allow_hidden": True}}},
    ],
    ids=["hidden-files-refused", "contents-manager-allows-hidden", "file-manager-allows-hidden"],
)
async def test_the_store_is_never_served_listed_or_changed_by_jupyter(
    http: Http, service: TutorService, jp_root_dir: Path, store_dir: Path, jp_serverapp: Any
) -> None:
    # Given a store holding a session with a secret message, and an ordinary file beside it
    sid = service.create_session(default_owner(), {"title": "private"}).id
    await service.ask(default_owner(), sid, "my secret is PLUGHXYZZY")
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "notes.txt").write_text("ordinary")
    assert store_dir.is_dir()
    before = _store_bytes(store_dir)
    for path in READS:
        # When a store file is asked for through /files, /api/contents, /view or /nbconvert
        resp = await http(path)
        # Then it is not found (or redirected to a form that is not), and no byte of the store is
        # in the answer
        assert resp.code in (301, 302, 400, 403, 404), (path, resp.code)
        assert b"PLUGHXYZZY" not in (resp.body or b""), path
        assert b"tutornb.journal" not in (resp.body or b""), path
    for method, path, body in WRITES:
        # When the contents API is asked to write, copy, rename or delete inside the store
        resp = await http(path, method, json_body=body)
        # Then it is refused
        assert resp.code in (400, 403, 404, 405), (method, path, resp.code)
    # And the root listing does not show the store folder
    resp = await http("api/contents")
    assert resp.code == 200
    names = [entry["name"] for entry in json_of(resp)["content"]]
    assert "notes.txt" in names  # (the listing works)
    assert ".tutornb" not in names
    # And the store is exactly as it was, its session intact
    assert _store_bytes(store_dir) == before
    assert not (jp_root_dir / "stolen").exists()
    assert not (jp_root_dir / "stolen.jsonl").exists()
    assert (jp_root_dir / "notes.txt").read_text() == "ordinary"
    assert not list(jp_root_dir.glob("journal*"))
    assert service.get_session(default_owner(), sid).message_count == 2
    # And ordinary files are still served (the guard is about the store only)
    resp = await http("files/notes.txt")
    assert resp.code == 200
    assert resp.body == b"ordinary"


async def test_store_files_are_private_to_the_server_user(
    http: Http, open_socket: OpenSocket, service: TutorService, store_dir: Path
) -> None:
    # Given some traffic: sessions created, chatted in, paused, closed, exported and imported
    resp = await http("tutornb/api/sessions", "POST", json_body={"title": "perm"})
    sid = json_of(resp)["id"]
    ws = await open_socket(sid)
    await ws.read_message()
    await ws.write_message('{"type":"message","client_id":"p-1","text":"What is a list?"}')
    while '"type": "message"' not in str(await ws.read_message()):
        pass
    ws.close()
    export = await http(f"tutornb/api/sessions/{sid}/export")
    assert (await http("tutornb/api/sessions/import", "POST", body=export.body)).code == 201
    assert (await http(f"tutornb/api/sessions/{sid}/close", "PUT")).code in (200, 400)
    service.store.compact()
    # Then the folder (and any folder inside it) is 0700 and every file 0600
    paths = [store_dir, *store_dir.rglob("*")]
    assert len(paths) > 2
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, (path.name, oct(mode))


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/files/.tutornb/journal.jsonl", True),
        ("/a%40b/api/contents/.tutornb", True),
        ("/files/x/../.tutornb/snapshot.jsonl", True),
        ("/files/%2Etutornb/journal.jsonl", True),
        ("/files/%252Etutornb/journal.jsonl", True),
        ("/files/.TutorNB/journal.jsonl", True),
        ("/files/.tutornb. /journal.jsonl", True),
        ("/files/.tutornb%5Cjournal.jsonl", True),
        ("/files/notes.txt", False),
        ("/files/my.tutornb.txt", False),
        ("/files/tutornb/notes.txt", False),
        ("/files/.tutornbx/notes.txt", False),
        ("/tutornb/api/sessions/abc/chat", False),
        ("/api/contents", False),
    ],
)
def test_the_guard_recognises_the_store_in_every_spelling(path: str, named: bool) -> None:
    # Given the guard for a store at <root>/.tutornb
    from tutornb.server.storeguard import StorePathMatcher

    matcher = StorePathMatcher((".tutornb",))
    # Then it names the store however the path is spelled, and nothing else
    assert matcher.names_store(path) is named


def test_the_guard_leaves_tutornb_api_paths_to_their_json_routes() -> None:
    # Given the guard as installed (tutornb's own API exempt: its handlers never touch files)
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    from tutornb.server.storeguard import StorePathMatcher

    matcher = StorePathMatcher((".tutornb",), exempt_prefix="/base/tutornb/api")

    def matches(path: str) -> bool:
        request = HTTPServerRequest(
            start_line=RequestStartLine("GET", path, "HTTP/1.1"),
            headers=HTTPHeaders({"Host": "127.0.0.1"}),
        )
        return matcher.match(request) is not None

    # Then an id spelled like the store still reaches tutornb (which refuses it as an id)...
    assert not matches("/base/tutornb/api/sessions/.tutornb")
    assert not matches("/base/tutornb/api/../../files/.tutornb/journal.jsonl")
    # ...and every other route naming the store is guarded
    assert matches("/base/files/.tutornb/journal.jsonl")
    assert matches("/base/tutornb/.tutornb")
