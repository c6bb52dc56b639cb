"""A real jupyter-server (pytest-jupyter) with tutornb on, its store under the test's root dir."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures for this folder only)
from tornado.httpclient import HTTPResponse

from tutornb.paths import (
    KERNEL_TOKEN_ENV,
    ROOT_DIR_ENV,
    SERVER_URL_ENV,
    STORE_DIR_ENV,
    TUTOR_ENV,
    TUTOR_OPTIONS_ENV,
)
from tutornb.service import TutorService

from .server_helpers import Chat, Fetch

API = ("tutornb", "api")


@pytest.fixture(autouse=True)
def _restore_tutornb_environ() -> Iterator[None]:
    """The extension exports its root and store into os.environ (for kernels); undo it per test."""
    names = (ROOT_DIR_ENV, STORE_DIR_ENV, TUTOR_ENV, TUTOR_OPTIONS_ENV, KERNEL_TOKEN_ENV, SERVER_URL_ENV)
    saved = {name: os.environ.get(name) for name in names}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def store_dir(jp_root_dir: Path) -> Path:
    return jp_root_dir / ".tutornb"


@pytest.fixture
def tutornb_config() -> dict[str, Any]:
    """Extra ``TutorNBApp`` traits for one test (override in a module or parametrize)."""
    return {}


@pytest.fixture
def jp_server_config(store_dir: Path, tutornb_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"tutornb": True}},
        # Servers run inside the test process here: leave pytest's garbage collector alone.
        "TutorNBApp": {"store_dir": str(store_dir), "freeze_gc": False, **tutornb_config},
    }


@pytest.fixture
def service(jp_serverapp: Any) -> TutorService:
    found = jp_serverapp.web_app.settings["tutornb_service"]
    assert isinstance(found, TutorService)
    return found


@pytest.fixture
def api(jp_fetch: Any) -> Fetch:
    """``await api("sessions", method="POST", body={...})`` → (status, JSON or None, response)."""

    async def call(
        *parts: str,
        method: str = "GET",
        body: Any = None,
        raw_body: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, HTTPResponse]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        resp = await jp_fetch(*API, *parts, params=params, headers=headers, **kwargs)
        data = None
        if resp.body and resp.headers.get("Content-Type", "").startswith("application/json"):
            data = json.loads(resp.body)
        return resp.code, data, resp

    return call


@pytest.fixture
def raw_fetch(http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str]) -> Any:
    """A request on an exact, already-encoded path under ``tutornb/api`` (for traversal ids)."""

    async def call(
        encoded_path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> HTTPResponse:
        url = jp_base_url.rstrip("/") + "/tutornb/api/" + encoded_path
        body = b"" if method in ("POST", "PUT") else None
        merged = {**jp_auth_header, **(headers or {})}
        return await http_server_client.fetch(
            url, method=method, body=body, headers=merged, raise_error=False
        )

    return call


@pytest.fixture
def chat(jp_ws_fetch: Any) -> Callable[..., Awaitable[Chat]]:
    async def open_chat(session_id: str, **kwargs: Any) -> Chat:
        ws = await jp_ws_fetch(*API, "sessions", session_id, "chat", **kwargs)
        return Chat(ws)

    return open_chat
