"""Authentication, origin, ownership and path-traversal protection of every tutornb route."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.utils import JupyterServerAuthWarning
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect
from traitlets.config import Config

from tutornb.server.app import ROUTES, route_table
from tutornb.service import TutorService

from .server_helpers import Chat, Fetch, create_session

#: (method, path under tutornb/api) for every REST operation; ``{sid}`` is filled per test.
OPERATIONS = [
    ("GET", "status"),
    ("GET", "sessions"),
    ("POST", "sessions"),
    ("POST", "sessions/import"),
    ("POST", "kernel/ask"),
    ("GET", "sessions/{sid}"),
    ("DELETE", "sessions/{sid}"),
    ("GET", "sessions/{sid}/messages"),
    ("PUT", "sessions/{sid}/pause"),
    ("PUT", "sessions/{sid}/resume"),
    ("PUT", "sessions/{sid}/close"),
    ("GET", "sessions/{sid}/export"),
    ("GET", "no/such/route"),
]


def test_operations_cover_every_route() -> None:
    # Given the route table
    # Then the unauthenticated sweep below touches every route (the socket is tested separately)
    swept = {path.replace("{sid}", "{session_id}") for _, path in OPERATIONS}
    routes = {template.lstrip("/") for template, _ in ROUTES if not template.endswith("/chat")}
    assert routes <= swept


async def test_every_route_answers_403_without_credentials(
    raw_fetch: Any, api: Fetch, jp_root_dir: Path
) -> None:
    # Given an existing session
    session = await create_session(api)
    for method, path in OPERATIONS:
        # When a route is called without a token or cookie
        resp = await raw_fetch(path.format(sid=session["id"]), method=method, headers={"Authorization": ""})
        # Then jupyter-server's authentication refuses it with 403, before any tutornb logic
        assert resp.code == 403, (method, path)
    # And nothing changed
    code, detail, _ = await api("sessions", session["id"])
    assert code == 200
    assert detail["status"] == "active"


async def test_socket_answers_403_without_credentials(api: Fetch, chat: Any) -> None:
    # Given a session
    session = await create_session(api)
    # When a socket is opened without credentials
    # Then the handshake is refused with 403
    with pytest.raises(HTTPClientError) as refused:
        await chat(session["id"], headers={"Authorization": ""})
    assert refused.value.code == 403


def _login_cookie(response: Any) -> str:
    for header in response.headers.get_list("Set-Cookie"):
        name_value = header.split(";", 1)[0]
        if name_value.startswith("username-"):
            return name_value
    raise AssertionError("no login cookie was set")


async def test_cookie_socket_from_a_foreign_origin_is_refused(
    api: Fetch, chat: Any, jp_http_port: int
) -> None:
    # Given a browser that logged in with the token and holds the login cookie
    session = await create_session(api)
    _, _, resp = await api("status")
    cookie = _login_cookie(resp)
    # (the cookie is named after the host it was set for: talk to the socket on that same host)
    host = f"127.0.0.1:{jp_http_port}"
    cookie_only = {"Authorization": "", "Cookie": cookie, "Host": host}
    # When a page on another origin opens the chat socket with that cookie
    # Then the handshake is refused
    with pytest.raises(HTTPClientError) as refused:
        await chat(session["id"], headers={**cookie_only, "Origin": "http://evil.example"})
    assert refused.value.code == 403
    # And the same cookie from the server's own origin connects (the refusal is about the origin)
    same_origin = await chat(session["id"], headers={**cookie_only, "Origin": f"http://{host}"})
    assert (await same_origin.until("session"))["session"]["id"] == session["id"]
    same_origin.close()
    # And a token-authenticated script is exempt from the origin check, as in jupyter-server
    script = await chat(session["id"], headers={"Origin": "http://evil.example"})
    assert (await script.until("session"))["session"]["id"] == session["id"]
    script.close()


TRAVERSAL_IDS = [
    "..",
    "...",
    "..%2F..%2Fetc%2Fpasswd",
    "..%2f..%2f..%2fvictim.txt",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fvictim.txt",
    ".%2e",
    "%2E%2E%5C%2E%2E%5Cvictim.txt",
    "..%5c..%5cvictim.txt",
    "%252e%252e%252fvictim.txt",
    "..%252f..%252fvictim.txt",
    "%c0%ae%c0%ae%c0%afvictim.txt",
    "%e0%80%ae%e0%80%ae",
    "..%00",
    "victim.txt%00",
    "%00",
    "%2Fetc%2Fpasswd",
    "%2Ftmp",
    "~root",
    "~%2F.ssh",
    ".tutornb",
    "..%3B",
    "a%20b",
    "%0d%0aSet-Cookie:%20x=1",
    "sessions.json",
    "x" * 65,
    "%3Cscript%3E",
    "%22%3E%3Cimg%20src%3Dx%3E",
    "id%3Fformat%3Djson",
    "id%23frag",
    "%E2%80%AE..",
    "%EF%BC%8E%EF%BC%8E%EF%BC%8Fvictim.txt",
    "C:%5CWindows",
    "file:%2F%2F%2Fetc%2Fpasswd",
    "..%2F.tutornb%2Fsessions",
]


def _snapshot(folder: Path, skip: Path) -> dict[str, str]:
    """Every file outside the store with a hash of its bytes: 'touched' = any difference."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and skip not in path.parents:
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


async def test_traversal_style_ids_are_refused_and_touch_no_file(
    api: Fetch,
    raw_fetch: Any,
    jp_root_dir: Path,
    store_dir: Path,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    # Given victim files inside and above the server root, and one real session
    assert len(TRAVERSAL_IDS) >= 30
    (jp_root_dir / "victim.txt").write_text("keep me")
    (jp_root_dir.parent / "victim.txt").write_text("keep me too")
    session = await create_session(api)
    top = jp_root_dir.parent
    before = _snapshot(top, store_dir)
    for sid in TRAVERSAL_IDS:
        for method, path in OPERATIONS:
            if "{sid}" not in path:
                continue
            # When a session route is called with a traversal-style id
            resp = await raw_fetch(path.format(sid=sid), method=method)
            # Then it is refused with a JSON 400/404
            assert resp.code in (400, 404), (sid, method, path, resp.code)
            assert resp.headers["Content-Type"].startswith("application/json")
        # And the chat socket refuses the id at the handshake
        url = f"ws://localhost:{jp_http_port}{jp_base_url}tutornb/api/sessions/{sid}/chat"
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(HTTPRequest(url, headers=jp_auth_header))
        assert refused.value.code in (400, 404), sid
    # And no file outside the store was created, changed or removed; the real session survives
    assert _snapshot(top, store_dir) == before
    code, _, _ = await api("sessions", session["id"])
    assert code == 200


class HeaderIdentityProvider(IdentityProvider):
    """Names the user from a request header: a stand-in for JupyterHub's identity provider."""

    def get_user(self, handler: Any) -> User | None:
        name = handler.request.headers.get("X-Test-User")
        return User(username=name, name=name, display_name=name) if name else None

    def is_token_authenticated(self, handler: Any) -> bool:
        return handler.request.headers.get("X-Test-User") is not None


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "jpserver_extensions": {"tutornb": True},
                "identity_provider_class": HeaderIdentityProvider,
            }
        }
    ],
)
async def test_named_users_never_see_each_others_sessions(
    api: Fetch, chat: Any, store_dir: Path, jp_serverapp: Any
) -> None:
    alice = {"X-Test-User": "alice"}
    bob = {"X-Test-User": "bob"}
    # Given a session of alice's on a server shared by named users
    code, session, _ = await api("sessions", method="POST", body={"title": "alice's"}, headers=alice)
    assert code == 201
    sid = session["id"]
    assert session["owner"] == "alice"
    # When bob lists, restores, reads, changes, exports, deletes or opens it
    code, page, _ = await api("sessions", headers=bob)
    # Then it is absent from his history and every call answers 404 SESSION_NOT_FOUND
    assert code == 200
    assert page["total"] == 0
    for method, tail in [
        ("GET", ()),
        ("GET", ("messages",)),
        ("PUT", ("pause",)),
        ("PUT", ("close",)),
        ("GET", ("export",)),
        ("DELETE", ()),
    ]:
        code, body, _ = await api("sessions", sid, *tail, method=method, headers=bob)
        assert code == 404, (method, tail)
        assert body["code"] == "SESSION_NOT_FOUND"
    with pytest.raises(HTTPClientError) as refused:
        await chat(sid, headers=bob)
    assert refused.value.code == 404
    # And alice still has it, unchanged
    code, detail, _ = await api("sessions", sid, headers=alice)
    assert code == 200
    assert detail["status"] == "active"
    ws: Chat = await chat(sid, headers=alice)
    assert (await ws.until("session"))["session"]["owner"] == "alice"
    ws.close()


async def test_single_user_server_maps_every_browser_to_one_owner(api: Fetch, jp_fetch: Any) -> None:
    # Given a personal server (built-in identity provider: a new anonymous user per token request)
    session = await create_session(api)
    # When another browser (no cookie, new anonymous identity) lists the history
    code, page, _ = await api("sessions")
    # Then it sees the same sessions: there is one person on this server
    assert code == 200
    assert [s["id"] for s in page["sessions"]] == [session["id"]]
    from tutornb.paths import default_owner

    assert session["owner"] == default_owner()


def test_extension_with_unauthenticated_access_off_raises_no_auth_warning(
    jp_configurable_serverapp: Any, store_dir: Path
) -> None:
    # Given a server that forbids unauthenticated access, with tutornb enabled
    config = Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"tutornb": True},
                "allow_unauthenticated_access": False,
            },
            "TutorNBApp": {"store_dir": str(store_dir), "freeze_gc": False},
        }
    )
    # When it starts
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=config)
    # Then no auth warning was raised and tutornb is serving
    auth = [w for w in caught if issubclass(w.category, JupyterServerAuthWarning)]
    assert auth == [], [str(w.message) for w in auth]
    assert isinstance(app.web_app.settings.get("tutornb_service"), TutorService)
    # And jupyter-server's own check finds every tutornb method decorated
    for pattern, handler in route_table("tutornb"):
        assert app.web_app._check_handler_auth(pattern, handler) == [], handler.__name__
