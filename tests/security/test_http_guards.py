"""Browser-side attacks on the API: forged writes without the XSRF token, sockets opened from
foreign origins, file names injected into downloads, and one named user reaching for another's
sessions."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from tests.support.header_identity import HeaderIdentityProvider
from tests.support.security_helpers import Http, json_of, login_cookie
from tutornb.paths import default_owner
from tutornb.service import TutorService

OpenSocket = Callable[..., Awaitable[WebSocketClientConnection]]


async def login(http: Http, jp_http_port: int) -> dict[str, str]:
    """Headers of a browser that logged in with the token once and now only has its cookie."""
    host = f"127.0.0.1:{jp_http_port}"
    resp = await http("tutornb/api/status", headers={"Host": host})
    assert resp.code == 200
    return {"Cookie": login_cookie(resp), "Host": host}


# --------------------------------------------------------------------------------------------------
# XSRF


async def test_cookie_writes_without_the_xsrf_token_are_refused(
    http: Http, service: TutorService, jp_http_port: int
) -> None:
    # Given a session and a browser holding only the login cookie
    browser_cookie = await login(http, jp_http_port)
    sid = service.create_session(default_owner(), {}).id
    writes = [
        ("POST", "tutornb/api/sessions", b"{}"),
        ("POST", "tutornb/api/sessions/import", b"{}"),
        ("PUT", f"tutornb/api/sessions/{sid}/pause", b""),
        ("PUT", f"tutornb/api/sessions/{sid}/close", b""),
        ("DELETE", f"tutornb/api/sessions/{sid}", None),
    ]
    count = service.store.stats().sessions
    for method, path, body in writes:
        # When a page (e.g. a cross-site form) sends a write with the cookie but no XSRF token
        resp = await http(path, method, body=body, headers=browser_cookie, auth=False)
        # Then jupyter-server refuses it, and nothing changed
        assert resp.code == 403, (method, path)
        # And a forged token that does not match the cookie is no better
        forged = {**browser_cookie, "X-XSRFToken": secrets.token_hex(16)}
        resp = await http(path, method, body=body, headers=forged, auth=False)
        assert resp.code == 403, (method, path)
    assert service.store.stats().sessions == count
    assert service.store.get_session(sid).status.value == "active"

    # And reads with the cookie alone still work (GET is not a write)
    resp = await http(f"tutornb/api/sessions/{sid}", headers=browser_cookie, auth=False)
    assert resp.code == 200

    # And the same writes with the matching XSRF cookie + header (what the panel sends) go through
    xsrf = secrets.token_hex(16)
    good = {
        **browser_cookie,
        "Cookie": f"{browser_cookie['Cookie']}; _xsrf={xsrf}",
        "X-XSRFToken": xsrf,
    }
    for method, path, body in writes:
        resp = await http(path, method, body=body, headers=good, auth=False)
        assert resp.code != 403, (method, path, resp.code)
    # ...but not from a foreign origin, even with a valid XSRF pair
    evil = {**good, "Origin": "http://evil.example"}
    resp = await http("tutornb/api/sessions", "POST", body=b"{}", headers=evil, auth=False)
    assert resp.code in (403, 404)
    assert json_of(resp) is None or "id" not in json_of(resp)


# --------------------------------------------------------------------------------------------------
# Origin of the chat socket

#: jupyter-server compares the Origin's host:port with the Host (the scheme cannot differ on one
#: port), as for its own kernel sockets.
FOREIGN_ORIGINS = [
    "http://evil.example",
    "null",
    "http://127.0.0.1.evil.example",
    "http://evil.example:{port}",
    "http://127.0.0.1:1",
    "http://localhost.evil.example:{port}",
    "file://",
]


async def test_cookie_socket_is_refused_from_every_foreign_origin(
    http: Http,
    open_socket: OpenSocket,
    service: TutorService,
    jp_http_port: int,
) -> None:
    # Given a session and a browser holding only the login cookie
    browser_cookie = await login(http, jp_http_port)
    sid = service.create_session(default_owner(), {}).id
    for origin in FOREIGN_ORIGINS:
        # When a page on another origin opens the chat socket with that cookie
        headers = {**browser_cookie, "Origin": origin.format(port=jp_http_port)}
        # Then the handshake is refused before the session is even looked up
        with pytest.raises(HTTPClientError) as refused:
            await open_socket(sid, headers=headers, auth=False)
        assert refused.value.code == 403, origin
    # And a foreign origin cannot probe for ids: a missing session also answers 403, not 404
    with pytest.raises(HTTPClientError) as refused:
        await open_socket("no-such-session", headers={**browser_cookie, "Origin": "http://evil"}, auth=False)
    assert refused.value.code == 403
    # And the server's own origin connects with the same cookie (the refusal is about the origin)
    same = {**browser_cookie, "Origin": f"http://127.0.0.1:{jp_http_port}"}
    ws = await open_socket(sid, headers=same, auth=False)
    assert '"type": "session"' in str(await ws.read_message())
    ws.close()
    # And token-authenticated scripts are exempt by design, like jupyter-server's own sockets
    ws = await open_socket(sid, headers={"Origin": "http://evil.example"})
    assert '"type": "session"' in str(await ws.read_message())
    ws.close()


# --------------------------------------------------------------------------------------------------
# Download names

HOSTILE_TITLES = [
    '../../.bashrc"; filename=evil.sh',
    "..\\..\\Windows\\evil.bat",
    "report\r\nSet-Cookie: pwned=1",
    '"><script>alert(1)</script>',
    "/etc/passwd",
    "%2e%2e%2fevil",
    "\u202egnp.exe",
    "C:\\evil",
    ".htaccess",
    "a" * 200,
]
#: The server's name: fixed prefix, an optional lowercase slug of the title (the contract's
#: "tutornb-lists-and-loops-<id>.md"), the session id, and the format's extension.
_DISPOSITION = re.compile(
    r'^attachment; filename="tutornb-(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?[A-Za-z0-9_-]{1,64}'
    r'\.(?P<ext>json|md|ipynb)"$'
)


async def test_export_file_names_are_chosen_by_the_server(http: Http, service: TutorService) -> None:
    for index, title in enumerate(HOSTILE_TITLES):
        # Given a session whose title and course context are attacker-chosen
        body = {
            "title": title,
            "context": {
                "course_title": title,
                "module_title": title,
                "course_id": title[:100],
                "module_id": title[:100],
                "notebook_path": f"{title[:100]}.ipynb",
            },
        }
        sid = service.create_session(default_owner(), body).id
        for fmt, ext in (("json", "json"), ("markdown", "md"), ("ipynb", "ipynb")):
            # When it is exported, with a client-supplied name in the query that must be ignored
            resp = await http(
                f"tutornb/api/sessions/{sid}/export?format={fmt}"
                "&filename=qqinjected.sh&name=qqinjected.sh&download=qqinjected.sh"
            )
            assert resp.code == 200, (index, fmt)
            # Then the attachment's name is the server's: one header line, a fixed prefix, a
            # slug of [a-z0-9-] at most, this session's id and the format's own extension
            disposition = resp.headers["Content-Disposition"]
            match = _DISPOSITION.fullmatch(disposition)
            assert match is not None, disposition
            assert disposition.endswith(f'-{sid}.{ext}"')
            assert match.group("ext") == ext
            assert "qqinjected" not in disposition
            assert len(resp.headers.get_list("Content-Disposition")) == 1
            # (a CR/LF in the title cannot smuggle a header)
            assert not any("pwned" in c for c in resp.headers.get_list("Set-Cookie"))
    # And an unknown format is a clear 400, never a file
    resp = await http(f"tutornb/api/sessions/{sid}/export?format=../../etc/passwd")
    assert resp.code == 400
    assert "Content-Disposition" not in resp.headers


# --------------------------------------------------------------------------------------------------
# Named users


@pytest.mark.parametrize("extra_server_config", [{"identity_provider_class": HeaderIdentityProvider}])
async def test_another_named_users_session_is_invisible_and_untouchable(
    http: Http, open_socket: OpenSocket, service: TutorService
) -> None:
    alice = {"X-Test-User": "alice"}
    bob = {"X-Test-User": "bob"}
    # Given alice's session with a message only she wrote
    resp = await http(
        "tutornb/api/sessions",
        "POST",
        json_body={"title": "alice-secret-title", "context": {"course_id": "alice-course"}},
        headers=alice,
        auth=False,
    )
    assert resp.code == 201
    sid = json_of(resp)["id"]
    ws = await open_socket(sid, headers=alice, auth=False)
    await ws.read_message()
    await ws.write_message('{"type":"message","client_id":"a-1","text":"plugh-xyzzy secret"}')
    while '"type": "ack"' not in str(await ws.read_message()):
        pass
    ws.close()

    # When bob searches and filters his history in every way that could match it
    for query in (
        "",
        "?q=plugh",
        "?q=alice-secret",
        "?course_id=alice-course",
        "?status=active,paused,closed",
        "?limit=200",
    ):
        resp = await http(f"tutornb/api/sessions{query}", headers=bob, auth=False)
        # Then alice's session never appears
        assert resp.code == 200, query
        page = json_of(resp)
        assert page["total"] == 0, query
        assert sid not in resp.body.decode(), query

    # And every session route answers 404 SESSION_NOT_FOUND, exactly as for a missing id
    for method, tail in [
        ("GET", ""),
        ("GET", "/messages"),
        ("GET", "/messages?after_seq=0"),
        ("GET", "/export?format=json"),
        ("GET", "/export?format=markdown"),
        ("PUT", "/pause"),
        ("PUT", "/resume"),
        ("PUT", "/close"),
        ("DELETE", ""),
    ]:
        resp = await http(f"tutornb/api/sessions/{sid}{tail}", method, headers=bob, auth=False)
        missing = await http(f"tutornb/api/sessions/AAAAAAAAAAAAAAAA{tail}", method, headers=bob, auth=False)
        assert resp.code == 404, (method, tail)
        assert json_of(resp) == json_of(missing) or json_of(resp)["code"] == "SESSION_NOT_FOUND"
        assert b"plugh" not in (resp.body or b"")
    with pytest.raises(HTTPClientError) as refused:
        await open_socket(sid, headers=bob, auth=False)
    assert refused.value.code == 404

    # And alice's session is untouched
    detail = service.get_session("alice", sid)
    assert detail.status.value == "paused"  # auto-paused when her socket closed, nothing else
    assert [m.text for m in detail.messages if m.role.value == "learner"] == ["plugh-xyzzy secret"]
