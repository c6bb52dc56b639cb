"""Path traversal: hostile session ids on every id route and the socket, hostile query values, and
hostile notebook paths handed to the tutor. Nothing outside ``.tutornb/`` is ever created, changed,
removed or read."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from tests.support.security_helpers import OPERATIONS, Http, json_of, tree_snapshot
from tutornb.paths import default_owner
from tutornb.service import TutorService

OpenSocket = Callable[..., Awaitable[WebSocketClientConnection]]

#: Hostile ids as the attacker means them (decoded).
RAW_IDS = [
    "..",
    "../..",
    "../../victim.txt",
    "../../../../../../etc/passwd",
    "/etc/passwd",
    "..\\..\\victim.txt",
    "victim.txt",
    ".tutornb",
    ".tutornb/journal.jsonl",
    "../.tutornb/snapshot.jsonl",
    ".",
    "...",
    "....//....//victim.txt",
    "~",
    "~root/.ssh/id_rsa",
    "C:\\Windows\\win.ini",
    "file:///etc/passwd",
    "\x00",
    "victim.txt\x00",
    "..\x00/victim.txt",
    "abc\x00def",
    "a b",
    "a\nb",
    "a\r\nSet-Cookie: x=1",
    "\t",
    "séance",
    "\uff53\uff45\uff53\uff53\uff49\uff4f\uff4e",  # fullwidth "session"
    "\u2024\u2024/victim.txt",
    "\uff0e\uff0e\uff0fvictim.txt",
    "\u202e..",
    "\u200b",
    "\U0001f600",
    "a" * 65,
    "_" * 65,
    "a" * 4000,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "id?format=json",
    "id#frag",
    "id;rm -rf",
    "$(touch pwned)",
    "`touch pwned`",
    "%",
    "%zz",
    "{session_id}",
    "sessions.json",
    "null",
    "*",
    "..;/victim.txt",
    "/",
    "//etc/passwd",
    "\\\\server\\share\\victim.txt",
    ".\\.\\victim.txt",
    "a/../../victim.txt",
]


def encoded_ids() -> list[str]:
    """Each hostile id in the encodings that defeat naive filters: percent-encoded, double-encoded,
    lower-case hex, overlong UTF-8 dots, and raw where a URL can carry it."""
    out: list[str] = []
    for raw in RAW_IDS:
        once = urllib.parse.quote(raw, safe="")
        out.append(once)
        out.append(urllib.parse.quote(once, safe=""))  # double encoding
        if raw.isascii() and raw.isprintable() and not set(raw) & set(" #?%"):
            out.append(raw)  # raw, slashes and dots as they are
    out += [
        "%2e%2e",
        "%2e%2e%2f%2e%2e%2fvictim.txt",
        ".%2e",
        "%2e.",
        "%c0%ae%c0%ae%c0%afvictim.txt",
        "%e0%80%ae%e0%80%ae",
        "%ff%fe",
        "%u002e%u002e",
        "..%252f..%252fvictim.txt",
        "%2E%2E%5C%2E%2E%5Cvictim.txt",
    ]
    return list(dict.fromkeys(out))


#: Every route that takes a session id, with its method (and the export's other format).
ID_ROUTES = [
    *((method, path) for method, path in OPERATIONS if "{sid}" in path),
    ("GET", "sessions/{sid}/export?format=markdown"),
]


def test_the_hostile_id_set_is_large() -> None:
    assert len(RAW_IDS) >= 50
    assert len(encoded_ids()) >= 100


async def test_traversal_ids_are_refused_everywhere_and_touch_no_file(
    http: Http,
    open_socket: OpenSocket,
    service: TutorService,
    jp_root_dir: Path,
    store_dir: Path,
) -> None:
    # Given victim files inside and above the server root, and one real session
    top = jp_root_dir.parent
    (jp_root_dir / "victim.txt").write_text("keep me")
    (top / "victim.txt").write_text("keep me too")
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "sub" / "victim.txt").write_text("and me")
    real = service.create_session(default_owner(), {"title": "real"}).id
    sessions_before = service.store.stats().sessions
    before = tree_snapshot(top, skip=store_dir)
    store_names = sorted(p.name for p in store_dir.rglob("*"))
    checked = 0
    for encoded in encoded_ids():
        for method, template in ID_ROUTES:
            # When an id route is called with a hostile id
            resp = await http(f"tutornb/api/{template.format(sid=encoded)}", method)
            # Then it is refused with a JSON 400/404 that does not echo the id back
            case = (encoded[:40], method, template, resp.code)
            assert resp.code in (400, 404), case
            body = json_of(resp)
            assert body is not None, case
            assert body["code"] in ("INVALID_REQUEST", "SESSION_NOT_FOUND", "NOT_FOUND"), case
            assert "victim" not in json.dumps(body), case
            assert "Content-Disposition" not in resp.headers, case
            checked += 1
        # And the chat socket refuses the id at the handshake
        with pytest.raises(HTTPClientError) as refused:
            await open_socket(encoded)
        assert refused.value.code in (400, 404), encoded[:40]
        checked += 1
    # And no file outside the store was created, changed, removed or re-permissioned; the store
    # holds no new file either, and the real session is intact
    assert tree_snapshot(top, skip=store_dir) == before
    assert sorted(p.name for p in store_dir.rglob("*")) == store_names
    assert service.store.stats().sessions == sessions_before
    assert service.get_session(default_owner(), real).status.value == "active"
    assert checked >= 50 * len(ID_ROUTES)


HOSTILE_QUERIES = [
    "sessions?cursor=..%2F..%2Fetc%2Fpasswd",
    "sessions?cursor=%2Fetc%2Fpasswd",
    "sessions?limit=..%2F1",
    "sessions?status=..%2Factive",
    "sessions?limit=%00",
    "sessions/{sid}/messages?after_seq=..%2F1",
    "sessions/{sid}/messages?limit=-1",
    "sessions/{sid}/export?format=..%2F..%2Fetc%2Fpasswd",
    "sessions/{sid}/export?format=json%00.sh",
    "sessions/{sid}/export?format=%2Fetc%2Fpasswd",
]


async def test_traversal_in_query_values_is_refused(
    http: Http, service: TutorService, jp_root_dir: Path, store_dir: Path
) -> None:
    # Given a session and the tree around the root
    sid = service.create_session(default_owner(), {}).id
    top = jp_root_dir.parent
    before = tree_snapshot(top, skip=store_dir)
    for query in HOSTILE_QUERIES:
        # When a query value carries a path
        resp = await http(f"tutornb/api/{query.format(sid=sid)}")
        # Then it is a clear 400 and nothing is read or written
        assert resp.code == 400, query
        assert json_of(resp)["code"] == "INVALID_REQUEST", query
    # (filters are matched as text: a path-like filter only finds nothing)
    resp = await http("tutornb/api/sessions?notebook_path=..%2F..%2Fetc%2Fpasswd")
    assert resp.code == 200
    assert json_of(resp)["total"] == 0
    assert tree_snapshot(top, skip=store_dir) == before


def _notebook(text: str) -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": f"# Secrets\n\n{text}"},
        {"cell_type": "code", "metadata": {}, "source": "password = 'PLUGHXYZZY'",
         "outputs": [], "execution_count": None},
    ]  # fmt: skip
    metadata = {"tutornb": {"course_id": "secret", "module_id": "vault", "module_title": "Vault"}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


async def test_the_tutor_never_reads_a_notebook_outside_the_root(
    service: TutorService, jp_root_dir: Path, store_dir: Path
) -> None:
    # Given a secret notebook outside the server root, and a symlink inside the root pointing at it
    outside = jp_root_dir.parent / "outside"
    outside.mkdir()
    (outside / "secret.ipynb").write_text(_notebook("The vault password is PLUGHXYZZY."))
    os.symlink(outside, jp_root_dir / "link")
    top = jp_root_dir.parent
    before = tree_snapshot(top, skip=store_dir)
    for notebook_path in (
        "../outside/secret.ipynb",
        str(outside / "secret.ipynb"),
        "link/secret.ipynb",
        "./../outside/secret.ipynb",
        "link/../../outside/secret.ipynb",
    ):
        # When a session claims that notebook as its context and asks about its content
        body = {"context": {"notebook_path": notebook_path, "course_id": "secret"}}
        sid = service.create_session(default_owner(), body).id
        for question in ("What is the vault password?", "PLUGHXYZZY", "Tell me about secrets"):
            reply = await service.ask(default_owner(), sid, question)
            # Then the tutor answers without the notebook's content or a citation of it
            shown = reply.text.replace(question, "")
            assert "PLUGHXYZZY" not in shown, notebook_path
            assert "vault password is" not in shown.lower(), notebook_path
            assert not [c for c in reply.citations if "secret" in c.notebook_path], notebook_path
    assert tree_snapshot(top, skip=store_dir) == before
