"""The relay from a kernel to the ``tutornb-hub`` service (``/tutornb/api/hub/<path>``).

A kernel holds a random relay key (:mod:`tutornb.hublink`), not the hub token; the relay checks the
key and forwards the call to the service with the token, streaming the answer back (a model reply
arrives as it is written). Only the service's learner routes are relayed: reports, solutions, the
policy and the model.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

import httpx
from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web

from tutornb.hublink import HubLink

HUB_LINK_SETTING = "tutornb_hub_link"
_RELAYED = re.compile(
    r"(courses/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}/)?"
    r"(reports|reports/mine|policy|exercises/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}/solution|v1/chat/completions)"
)


class HubRelayHandler(web.RequestHandler):
    """Authenticated by the relay key alone (kernels have no other credential for their server)."""

    _client: httpx.AsyncClient | None = None

    def check_xsrf_cookie(self) -> None:
        """Key-authenticated, never by cookie: no cross-site request can carry the key."""

    def _error(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"code": code, "message": message}))

    def _link(self) -> HubLink | None:
        link: HubLink | None = self.settings.get(HUB_LINK_SETTING)
        if link is None:
            return None
        given = self.request.headers.get("Authorization", "")
        expected = f"Bearer {link.relay_key}"
        return link if hmac.compare_digest(given.encode(), expected.encode()) else None

    # jupyter-server's identity is not asked: the relay key is this route's authentication (kernels
    # have no other credential for their server), checked first in _relay.
    @allow_unauthenticated
    async def get(self, path: str) -> None:
        await self._relay("GET", path)

    @allow_unauthenticated
    async def post(self, path: str) -> None:
        await self._relay("POST", path)

    async def _relay(self, method: str, path: str) -> None:
        link = self._link()
        if link is None:
            self._error(403, "FORBIDDEN", "the hub relay needs this server's relay key")
            return
        if not _RELAYED.fullmatch(path):
            self._error(404, "NOT_FOUND", "not a relayed route")
            return
        if HubRelayHandler._client is None:
            HubRelayHandler._client = httpx.AsyncClient(timeout=httpx.Timeout(300, connect=10))
        client = HubRelayHandler._client
        headers = {"Authorization": f"token {link.token}", "Content-Type": "application/json"}
        request = client.build_request(
            method, link.service_url + path, content=self.request.body or None, headers=headers
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError:
            self._error(502, "HUB_SERVICE_UNAVAILABLE", "the course's tutornb service could not be reached")
            return
        try:
            self.set_status(response.status_code)
            self.set_header("Content-Type", response.headers.get("Content-Type", "application/json"))
            async for piece in response.aiter_bytes():
                self.write(piece)
                await self.flush()
        finally:
            await response.aclose()
        self.finish()


def relay_routes(name: str) -> list[tuple[str, Any]]:
    return [(rf"/{name}/api/hub/(?P<path>.*)", HubRelayHandler)]
