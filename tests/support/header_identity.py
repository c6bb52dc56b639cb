"""An identity provider that names the user from a request header (a stand-in for JupyterHub's),
for live servers shared by several users. Requests without the header fall back to the token."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import IdentityProvider, User

USER_HEADER = "X-Test-User"


class HeaderIdentityProvider(IdentityProvider):
    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        name = handler.request.headers.get(USER_HEADER)
        if name:
            return User(username=name, name=name, display_name=name)
        return await ensure_async(super().get_user(handler))  # type: ignore[no-any-return]

    def is_token_authenticated(self, handler: Any) -> bool:
        if handler.request.headers.get(USER_HEADER) is not None:
            return True
        return bool(super().is_token_authenticated(handler))
