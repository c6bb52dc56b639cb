"""Security tests: a real jupyter-server (pytest-jupyter, in process) with tutornb on, its store
under the test's root dir; and, for the hostile input, browser and fuzzing tests, one live
``jupyter server`` subprocess per test session whose tutor echoes hostile text."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures for this folder only (pytest refuses pytest_plugins below the top).
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.support.hostile_chat import XssSession, send_payloads
from tests.support.hostile_payloads import xss_payloads
from tests.support.live_server import HERE, LiveServer, install_test_tutor
from tests.support.security_helpers import Http

# The in-process server's plumbing (the store under the root dir, the service, the undoing of what
# the extension exports into os.environ for kernels) comes from the harness plugin.


@pytest.fixture
def extra_server_config() -> dict[str, Any]:
    """More ``ServerApp`` traits for one test (override by parametrizing)."""
    return {}


@pytest.fixture
def jp_server_config(store_dir: Path, extra_server_config: dict[str, Any]) -> dict[str, Any]:
    server = {"jpserver_extensions": {"tutornb": True}, **extra_server_config}
    extra = server.pop("__other__", {})
    # Servers run inside the test process here: leave pytest's garbage collector alone.
    tutornb = {"store_dir": str(store_dir), "freeze_gc": False}
    return {"ServerApp": server, "TutorNBApp": tutornb, **extra}


@pytest.fixture
def http(http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str]) -> Http:
    """A request on an exact, already-encoded path under the base URL; authenticated with the
    token unless ``auth=False``; never raises for an HTTP status."""

    async def call(
        encoded_path: str,
        method: str = "GET",
        *,
        body: bytes | str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> HTTPResponse:
        url = jp_base_url.rstrip("/") + "/" + encoded_path.lstrip("/")
        if json_body is not None:
            body = json.dumps(json_body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        merged = {**(jp_auth_header if auth else {}), **(headers or {})}
        return await http_server_client.fetch(
            url,
            method=method,
            body=body,
            headers=merged,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            raise_error=False,
        )

    return call


@pytest.fixture
def open_socket(
    jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> Callable[..., Awaitable[WebSocketClientConnection]]:
    """Opens ``tutornb/api/sessions/<encoded id>/chat``; raises ``HTTPClientError`` when the
    handshake is refused."""

    async def connect(
        encoded_id: str, headers: dict[str, str] | None = None, auth: bool = True
    ) -> WebSocketClientConnection:
        url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}tutornb/api/sessions/{encoded_id}/chat"
        merged = {**(jp_auth_header if auth else {}), **(headers or {})}
        return await websocket_connect(HTTPRequest(url, headers=merged))

    return connect


# --------------------------------------------------------------------------------------------------
# A live server whose tutor echoes hostile text (one per test session: hostile input, the browser
# check and the fuzzer share it)


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("hostile-server")
    site = base / "site-packages"
    install_test_tutor(site, "hostile-echo", HERE / "hostile_tutor.py", "create_echo_tutor")
    server = LiveServer(base / "server", tutornb={"tutor": "hostile-echo"}, python_path=[site])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def xss_sessions(hostile_server: LiveServer) -> list[XssSession]:
    """Every XSS payload sent once as a learner message through the real socket (and echoed by
    the hostile tutor), at most ``RATE_BURST`` per session so the rate limit never interferes."""
    return send_payloads(hostile_server, xss_payloads())
