"""tutornb's test harness as a pytest plugin (``pytest_plugins`` in the repository's root
``conftest.py``, the way jupyter_server ships ``jupyter_server.pytest_plugin``).

- Test-wide isolation: no test reads or writes the developer's real Jupyter, IPython or tutornb
  state. The variables are set when the plugin is imported, before any Jupyter module reads them,
  and are inherited by every kernel, server and browser subprocess the tests start.
- ``chromium_path``: Debian's chromium for every browser test (a failure in CI when missing).
- The in-process server's fixtures (``store_dir``, ``service``, ``api``, ``raw_fetch``, ``chat``) for
  the suites that star-import pytest-jupyter's server fixtures (``tests/server``, ``tests/security``),
  and the undoing, after every test, of what the extension exports into ``os.environ`` for kernels.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tornado.httpclient import HTTPResponse

from tests.support import browser
from tests.support.server_helpers import Chat, Fetch
from tutornb.paths import (
    EXCHANGE_DIR_ENV,
    KERNEL_TOKEN_ENV,
    ROOT_DIR_ENV,
    SERVER_URL_ENV,
    STORE_DIR_ENV,
    TUTOR_ENV,
    TUTOR_OPTIONS_ENV,
)

if TYPE_CHECKING:
    from tutornb.service import TutorService

_ISOLATED = Path(tempfile.mkdtemp(prefix="tutornb-tests-"))
for _name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
    _dir = _ISOLATED / _name.lower()
    _dir.mkdir()
    os.environ[_name] = str(_dir)
# Kernels started by nbval write their sessions here, never into the repository's notebooks/ folder.
os.environ.setdefault("TUTORNB_STORE_DIR", str(_ISOLATED / "store"))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, which every browser test drives through playwright (never a downloaded
    build). Missing: a failure in CI (a skipped browser test must not look green), a skip elsewhere."""
    path = browser.chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if browser.IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# --------------------------------------------------------------------------------------------------
# The in-process server (pytest-jupyter's ``jp_*`` fixtures, where a suite's conftest imports them)

API = ("tutornb", "api")


@pytest.fixture(autouse=True)
def _restore_tutornb_environ() -> Iterator[None]:
    """The extension exports its root and store into os.environ (for kernels); undo it per test."""
    names = (
        ROOT_DIR_ENV,
        STORE_DIR_ENV,
        TUTOR_ENV,
        TUTOR_OPTIONS_ENV,
        EXCHANGE_DIR_ENV,
        KERNEL_TOKEN_ENV,
        SERVER_URL_ENV,
    )
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
def service(jp_serverapp: Any) -> TutorService:
    """The extension's service, opened as the first tutornb request would open it."""
    from tutornb.server.lifetime import service_opener
    from tutornb.service import TutorService

    found = service_opener(jp_serverapp.web_app.settings).get()
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
