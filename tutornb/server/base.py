"""What every tutornb handler shares: the service accessor, the owner of a request, and JSON errors.

Errors are mapped in one place (:func:`error_payload`), so a domain error raised anywhere in the
service reaches the client as ``{code, message}`` with its HTTP status, and tornado/jupyter-server
errors (403, 404, 405) get the same shape. Nothing from an exception's text is used unless it is a
domain error written for users, and log lines name only the error class and the handler: no
traceback, path or token.
"""

from __future__ import annotations

import json
from http.client import responses
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from tornado import web

from tutornb.errors import TutorNBError
from tutornb.paths import default_owner
from tutornb.server.lifetime import service_opener

if TYPE_CHECKING:
    from tutornb.service import TutorService

OWNER_MODE_SETTING = "tutornb_owner_mode"

#: jupyter-server's own identity providers: one person's server, where every browser is that person.
_BUILTIN_PROVIDERS: tuple[type[Any], ...] = (
    IdentityProvider,
    PasswordIdentityProvider,
    LegacyIdentityProvider,
)

_HTTP_CODES = {
    400: "INVALID_REQUEST",
    401: "FORBIDDEN",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    507: "QUOTA_EXCEEDED",
}


def error_payload(status: int, exc: BaseException | None) -> tuple[int, dict[str, Any]]:
    """The one mapping from an exception (or a bare status) to the wire error ``{code,
    message}``."""
    if isinstance(exc, TutorNBError):
        return exc.http_status, exc.to_dict()
    if isinstance(exc, web.HTTPError):
        status = exc.status_code
    code = _HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "HTTP_ERROR")
    if status >= 500:
        return status, {"code": code, "message": "The server could not complete this request."}
    return status, {"code": code, "message": responses.get(status, "Error")}


def allowed_methods(handler: type[web.RequestHandler]) -> list[str]:
    """The methods a handler implements (for ``Allow`` on 405 answers)."""
    names = ("GET", "POST", "PUT", "DELETE", "PATCH")
    return [
        name
        for name in names
        if getattr(handler, name.lower()) is not getattr(web.RequestHandler, name.lower())
    ]


def is_shared(settings: dict[str, Any], mode: str) -> bool:
    """Whether several users share this server (sessions are owned by usernames): then every
    figure and limit a user sees is their own."""
    if mode == "single":
        return False
    if mode == "auto":
        provider = settings.get("identity_provider")
        return provider is not None and type(provider) not in _BUILTIN_PROVIDERS
    return True


def owner_for(handler: web.RequestHandler, mode: str) -> str:
    """Whose sessions a request may see.

    ``auto``: with jupyter-server's built-in identity providers the server belongs to one person and
    each browser gets a random anonymous user, so everyone maps to :func:`default_owner` (the same
    owner the kernels use). A custom or hub identity provider names real users: owner = username.
    """
    user = handler.current_user
    if not is_shared(handler.settings, mode):
        return default_owner()
    username = getattr(user, "username", None)
    if not isinstance(username, str) or not username:
        raise web.HTTPError(403)
    return username


class TutorNBMixin:
    """Service accessor, owner and JSON error pages for REST and socket handlers alike."""

    auth_resource = "tutornb"

    async def service_ready(self) -> None:
        """Waits for the service to be open (the first authenticated request opens it off the
        event loop; see :mod:`.lifetime`)."""
        handler = cast(web.RequestHandler, self)
        await service_opener(handler.settings).opened()

    @property
    def service(self) -> TutorService:
        """The service, opened by the first request that needs it (see :mod:`.lifetime`)."""
        handler = cast(web.RequestHandler, self)
        return service_opener(handler.settings).get()

    @property
    def owner(self) -> str:
        handler = cast(web.RequestHandler, self)
        return owner_for(handler, str(handler.settings.get(OWNER_MODE_SETTING, "auto")))

    @property
    def shared(self) -> bool:
        handler = cast(web.RequestHandler, self)
        return is_shared(handler.settings, str(handler.settings.get(OWNER_MODE_SETTING, "auto")))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], TutorNBError):
            status_code = exc_info[1].http_status
        super().send_error(status_code, **kwargs)  # type: ignore[misc]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        handler = cast(web.RequestHandler, self)
        exc_info = kwargs.get("exc_info")
        _, body = error_payload(status_code, exc_info[1] if exc_info else None)
        if status_code == 405:
            handler.set_header("Allow", ", ".join(allowed_methods(type(handler))))
        handler.set_header("Content-Type", "application/json")
        handler.finish(json.dumps(body))

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handler = cast(web.RequestHandler, self)
        name = type(self).__name__
        method = handler.request.method
        if isinstance(value, TutorNBError):
            handler.log.debug("tutornb: %s %s -> %s", method, name, value.code)  # type: ignore[attr-defined]
        elif isinstance(value, web.HTTPError):
            handler.log.warning("tutornb: %s %s -> %d", method, name, value.status_code)  # type: ignore[attr-defined]
        else:
            handler.log.error(  # type: ignore[attr-defined]
                "tutornb: unexpected error in %s %s", method, name, exc_info=(typ, value, tb)
            )
