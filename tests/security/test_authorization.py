"""Who may call what: the authorizer matrix over every tutornb route, method and the socket; 403
without credentials in both of jupyter-server's unauthenticated-access modes; and a route-table
check that no tutornb handler method escapes ``@web.authenticated`` + ``@authorized``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.routing import PathMatches
from tornado.websocket import WebSocketClientConnection, WebSocketHandler

from tests.support.security_helpers import OPERATIONS, Http, json_of
from tutornb.models import CourseContext
from tutornb.paths import default_owner
from tutornb.server.app import route_table
from tutornb.server.storeguard import StoreGuardHandler
from tutornb.service import TutorService

Grant = Callable[[list[str], list[str]], None]
OpenSocket = Callable[..., Awaitable[WebSocketClientConnection]]

ACTION_OF = {"GET": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "write"}
ALL_ACTIONS = ["read", "write", "execute"]


def _new_session(service: TutorService) -> str:
    """Made through the service, so creating test data never passes through the authorizer."""
    return service.create_session(default_owner(), {"context": CourseContext().model_dump()}).id


def _store_state(service: TutorService) -> tuple[int, int, list[tuple[str, str]]]:
    stats = service.store.stats()
    page = service.list_sessions(default_owner(), {"limit": "200"})
    return stats.sessions, stats.messages, sorted((s.id, s.status.value) for s in page.sessions)


async def _paused(service: TutorService, sid: str) -> None:
    for _ in range(500):
        if service.store.get_session(sid).status.value == "paused":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the session was not auto-paused")


# --------------------------------------------------------------------------------------------------
# The authorizer matrix


@pytest.fixture
def jp_server_auth_resources(jp_server_auth_core_resources: dict[str, str]) -> dict[str, str]:
    """pytest-jupyter's test authorizer checks each call's resource against this URL map: every
    tutornb route (the catch-all included) must ask for resource ``tutornb``."""
    tutornb = {pattern: "tutornb" for pattern, _ in route_table("tutornb")}
    return {**jp_server_auth_core_resources, **tutornb}


@pytest.fixture
def extra_server_config(jp_server_authorizer: type[Any]) -> dict[str, Any]:
    return {"authorizer_class": jp_server_authorizer}


@pytest.fixture
def permissions(jp_server_authorizer: type[Any]) -> Iterator[Grant]:
    saved = dict(jp_server_authorizer.permissions)

    def grant(actions: list[str], resources: list[str]) -> None:
        jp_server_authorizer.permissions = {"actions": actions, "resources": resources}

    yield grant
    jp_server_authorizer.permissions = saved


#: name -> (allowed actions, allowed resources, expected to be allowed?) for an action ``needed``.
POLICIES: dict[str, Callable[[str], tuple[list[str], list[str], bool]]] = {
    "everything on tutornb": lambda needed: (ALL_ACTIONS, ["tutornb"], True),
    "only the needed action": lambda needed: ([needed], ["tutornb"], True),
    "every action but the needed one": lambda needed: (
        [a for a in ALL_ACTIONS if a != needed],
        ["tutornb"],
        False,
    ),
    "everything but on other resources": lambda needed: (
        ALL_ACTIONS,
        ["contents", "kernels", "sessions", "api"],
        False,
    ),
    "nothing": lambda needed: ([], [], False),
}


async def test_authorizer_matrix_over_every_route_method_and_the_socket(
    http: Http,
    open_socket: OpenSocket,
    service: TutorService,
    permissions: Grant,
) -> None:
    refused = allowed = 0
    for policy_name, policy in POLICIES.items():
        for method, template in OPERATIONS:
            # Given a fresh session and an authorizer granting some actions on some resources
            sid = _new_session(service)
            actions, resources, expect_allowed = policy(ACTION_OF[method])
            permissions(actions, resources)
            before = _store_state(service)
            # When the route is called with a valid token
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            resp = await http(f"tutornb/api/{template.format(sid=sid)}", method, body=body)
            case = (policy_name, method, template, resp.code)
            # Then the authorizer decides: denied -> 403 with nothing changed, allowed -> not 403.
            # (pytest-jupyter's authorizer also asserts the action and resource it is asked for:
            # a wrong mapping would surface as a 500.)
            assert resp.code != 500, case
            if expect_allowed:
                assert resp.code != 403, case
                allowed += 1
            else:
                assert resp.code == 403, case
                assert json_of(resp)["code"] == "FORBIDDEN", case
                assert _store_state(service) == before, case
                refused += 1

        # And the chat socket asks for "execute" on tutornb
        sid = _new_session(service)
        actions, resources, expect_allowed = policy("execute")
        permissions(actions, resources)
        if expect_allowed:
            ws = await open_socket(sid)
            frame = await ws.read_message()
            assert frame is not None, policy_name
            assert '"type": "session"' in str(frame), policy_name
            ws.close()
            await _paused(service, sid)  # the last socket closing pauses it: let that settle
            allowed += 1
        else:
            with pytest.raises(HTTPClientError) as denied:
                await open_socket(sid)
            assert denied.value.code == 403, policy_name
            refused += 1
    assert (allowed, refused) == (2 * (len(OPERATIONS) + 1), 3 * (len(OPERATIONS) + 1))


async def test_read_only_grant_reads_but_cannot_change_anything(
    http: Http,
    open_socket: OpenSocket,
    service: TutorService,
    permissions: Grant,
) -> None:
    # Given a user who may only read tutornb
    sid = _new_session(service)
    permissions(["read"], ["tutornb"])
    before = _store_state(service)
    # When they read, then try every write and the socket
    for template in ("status", "sessions", "sessions/{sid}", "sessions/{sid}/messages"):
        resp = await http(f"tutornb/api/{template.format(sid=sid)}")
        assert resp.code == 200, template
    for method, template in OPERATIONS:
        if method == "GET":
            continue
        resp = await http(f"tutornb/api/{template.format(sid=sid)}", method, body=b"{}")
        # Then every write is refused and nothing changed
        assert resp.code == 403, (method, template)
    with pytest.raises(HTTPClientError) as denied:
        await open_socket(sid)
    assert denied.value.code == 403
    assert _store_state(service) == before


# --------------------------------------------------------------------------------------------------
# No credentials at all


@pytest.mark.parametrize(
    "extra_server_config",
    [{"allow_unauthenticated_access": True}, {"allow_unauthenticated_access": False}],
    ids=["unauthenticated-access-allowed", "unauthenticated-access-forbidden"],
)
async def test_every_route_and_the_socket_answer_403_without_credentials(
    http: Http, open_socket: OpenSocket, service: TutorService, extra_server_config: dict[str, Any]
) -> None:
    # Given a server in either unauthenticated-access mode, and a session
    sid = _new_session(service)
    before = _store_state(service)
    for method, template in OPERATIONS:
        # When a route is called with neither token nor cookie
        resp = await http(f"tutornb/api/{template.format(sid=sid)}", method, auth=False)
        # Then it answers 403 and reveals nothing
        assert resp.code == 403, (extra_server_config, method, template)
        assert sid.encode() not in (resp.body or b"")
    # And so does the socket handshake
    with pytest.raises(HTTPClientError) as refused:
        await open_socket(sid, auth=False)
    assert refused.value.code == 403
    # And a wrong token is no better than none
    resp = await http(f"tutornb/api/sessions/{sid}", headers={"Authorization": "token wrong"})
    assert resp.code == 403
    # And the CORS preflight, which jupyter-server answers for every API handler without
    # authentication by design, carries no data
    resp = await http(f"tutornb/api/sessions/{sid}", "OPTIONS", auth=False)
    assert not resp.body
    assert _store_state(service) == before


# --------------------------------------------------------------------------------------------------
# The route table

_AUTHENTICATED = web.authenticated(lambda self: None).__code__
_AUTHORIZED = authorized(lambda self: None).__code__
_WS_AUTHENTICATED = ws_authenticated(lambda self: None).__code__
_VERBS = [verb.lower() for verb in web.RequestHandler.SUPPORTED_METHODS]


def _wrappers(function: Any) -> list[Any]:
    """The chain of decorator code objects around a method, outermost first."""
    chain = []
    while hasattr(function, "__wrapped__"):
        chain.append(function.__code__)
        function = function.__wrapped__
    return chain


def unguarded_methods(handler: type[Any]) -> list[str]:
    """Every HTTP verb a handler implements without the required guard.

    REST handlers: ``@web.authenticated`` outermost, then ``@authorized`` (authentication must
    run first). Socket handlers: ``@ws_authenticated`` on ``get`` (the authorizer check is inside
    it, and the matrix above proves it). Verbs left to tornado's default answer 405 and need
    nothing. jupyter-server's own CORS preflight (``APIHandler.options``) is allowed
    unauthenticated by jupyter-server for every API and returns no data; it is accepted only if it
    is that exact, unmodified method.
    """
    problems = []
    for verb in _VERBS:
        method = getattr(handler, verb, None)
        if method is None or method is web.RequestHandler._unimplemented_method:
            continue
        if verb == "options" and method is APIHandler.options:
            continue
        chain = _wrappers(method)
        if issubclass(handler, WebSocketHandler):
            ok = verb == "get" and chain[:1] == [_WS_AUTHENTICATED]
        else:
            ok = chain[:2] == [_AUTHENTICATED, _AUTHORIZED]
        if not ok:
            problems.append(f"{handler.__name__}.{verb}")
    return problems


def _routes(router: Any) -> Iterator[tuple[str, type[Any]]]:
    for rule in getattr(router, "rules", []):
        target = rule.target
        if isinstance(target, type) and issubclass(target, web.RequestHandler):
            matcher = rule.matcher
            pattern = matcher.regex.pattern if isinstance(matcher, PathMatches) else repr(matcher)
            yield pattern, target
        else:
            yield from _routes(target)


def test_every_tutornb_handler_method_in_the_live_app_is_guarded(jp_serverapp: Any) -> None:
    # Given the running server's whole route table
    routes = list(_routes(jp_serverapp.web_app.default_router))
    ours = [(p, h) for p, h in routes if h.__module__.startswith("tutornb")]
    # Then tutornb serves exactly its documented routes plus the catch-all...
    # (plus the guard that keeps jupyter-server's file routes out of the store folder)
    expected = {h for _, h in route_table("tutornb")} | {StoreGuardHandler}
    assert {h for _, h in ours} == expected
    assert len(ours) == len(route_table("tutornb")) + 1
    for pattern, handler in routes:
        if re.search(r"/tutornb/api", pattern):
            assert handler.__module__.startswith("tutornb"), (pattern, handler)
    # ...and no method of any of them escapes the guards
    problems = sorted({p for _, h in ours for p in unguarded_methods(h)})
    assert problems == []


def test_the_route_check_catches_a_missing_or_misordered_guard() -> None:
    # Given handlers with a bare method, reversed decorators, and only one of the two
    class Bare(APIHandler):
        async def get(self) -> None: ...

    class Reversed(APIHandler):
        @authorized
        @web.authenticated
        async def post(self) -> None: ...

    class HalfGuarded(APIHandler):
        @web.authenticated
        async def delete(self) -> None: ...

    class BareSocket(WebSocketHandler):
        async def get(self, *args: Any, **kwargs: Any) -> None: ...

    class Good(APIHandler):
        @web.authenticated
        @authorized
        async def put(self) -> None: ...

    # Then the check names each unguarded method, and passes the good one
    assert unguarded_methods(Bare) == ["Bare.get"]
    assert unguarded_methods(Reversed) == ["Reversed.post"]
    assert unguarded_methods(HalfGuarded) == ["HalfGuarded.delete"]
    assert unguarded_methods(BareSocket) == ["BareSocket.get"]
    assert unguarded_methods(Good) == []
