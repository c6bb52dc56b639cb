"""``POST /tutornb/api/kernel/ask``: a kernel's ``%tutor ask``, answered by the server's tutor.

The kernel must not hold the model's API key or decide the tutoring policy (its environment and
its code are the learner's: any cell can print or change them). So the server keeps both, and the
kernels it starts get only a token (``TUTORNB_KERNEL_TOKEN``, random per server start) that lets
them do exactly one thing: ask the server's tutor a question, as the server's learner, for the
notebook they name, under the server's policy. The token is not the Jupyter token and grants no
other route; a browser cannot send it cross-site (a custom header needs a CORS preflight the server
does not grant), so no XSRF check applies.

Only a personal server has a route for its kernels: on a server shared by several users (a custom
identity provider) a kernel's request could not say whose it is, and is refused.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from tutornb.paths import KERNEL_TOKEN_HEADER, default_owner
from tutornb.server.base import OWNER_MODE_SETTING, TutorNBMixin, is_shared

KERNEL_TOKEN_SETTING = "tutornb_kernel_token"  # noqa: S105 - a settings key
MAX_ASK_BYTES = 256 * 1024


def loopback_url(serverapp: Any) -> str | None:
    """The server's own URL as a kernel on this machine reaches it (none over a Unix socket)."""
    if getattr(serverapp, "sock", ""):
        return None
    scheme = "https" if getattr(serverapp, "certfile", "") else "http"
    ip = str(getattr(serverapp, "ip", "") or "")
    host = "[::1]" if ":" in ip else "127.0.0.1"
    return f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}"


class _KernelUser(User):
    """The server's learner, as named by the kernel token (which this server gave its kernels)."""


def _personal_server(handler: web.RequestHandler) -> bool:
    """One learner's server: jupyter-server's own identities, or a JupyterHub single-user server
    (whose owner is ``JUPYTERHUB_USER``, the one user its kernels run as)."""
    shared = is_shared(handler.settings, str(handler.settings.get(OWNER_MODE_SETTING, "auto")))
    return not shared or bool(os.environ.get("JUPYTERHUB_USER"))


class _KernelIdentity:
    """The server's identity provider, plus: a request carrying the kernel token is the server's
    learner (on a personal server only). jupyter-server's own authentication then applies to this
    route as to every other."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def get_user(self, handler: web.RequestHandler) -> Any:
        expected = handler.settings.get(KERNEL_TOKEN_SETTING)
        given = handler.request.headers.get(KERNEL_TOKEN_HEADER)
        if given is not None:
            valid = isinstance(expected, str) and hmac.compare_digest(given.encode(), expected.encode())
            if valid and _personal_server(handler):
                return _KernelUser(username=default_owner(), name="tutornb kernel")
            return None
        return self._inner.get_user(handler)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _KernelAuthorizer:
    """The server's authorizer, except for the kernel token's user: the token is this route's
    permission (a hub's authorizer reads hub scopes a kernel's request does not carry)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if isinstance(user, _KernelUser):
            return resource == getattr(handler, "auth_resource", None) == "tutornb"
        return bool(self._inner.is_authorized(handler, user, action, resource))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class KernelAskHandler(TutorNBMixin, ExtensionHandlerMixin, APIHandler):  # type: ignore[misc]
    @property
    def identity_provider(self) -> Any:
        return _KernelIdentity(super().identity_provider)

    @property
    def authorizer(self) -> Any:
        return _KernelAuthorizer(super().authorizer)

    def check_xsrf_cookie(self) -> None:
        """A kernel's request carries no cookie (see the module docstring); a browser's does and
        is checked as everywhere else."""
        if self.request.headers.get(KERNEL_TOKEN_HEADER) is None:
            super().check_xsrf_cookie()

    @web.authenticated
    @authorized
    async def post(self) -> None:
        if len(self.request.body or b"") > MAX_ASK_BYTES:
            raise web.HTTPError(413)
        # The body's model loads with the service, on first use (the server starts light).
        from tutornb.server.kernelask_body import parse_kernel_ask

        ask = parse_kernel_ask(self.request.body or b"{}")
        owner = self.owner
        answer = await self.service.ask_in_notebook(
            owner, ask.context, ask.text, ask.work, session_id=ask.session_id
        )
        body: dict[str, Any] = {
            "session_id": answer.session_id,
            "message": answer.reply.model_dump(mode="json"),
        }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))
