"""Who teaches a course: the members of the hub group ``<prefix><course_id>``
(``instructors-py101`` by default), asked of the hub with the service's own token.

Group membership is the hub admin's to change (``c.JupyterHub.load_groups``, the admin page, or
z2jh's ``hub.loadGroups``), never a learner's. Lookups are cached briefly so a class view or a
burst of uploads does not ask the hub each time.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx


class Membership:
    def __init__(self, api_url: str, api_token: str, prefix: str, cache_seconds: float) -> None:
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/") + "/",
            headers={"Authorization": f"token {api_token}"},
            timeout=10,
        )
        self.prefix = prefix
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def instructors(self, course_id: str) -> frozenset[str]:
        now = time.monotonic()
        cached = self._cache.get(course_id)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        response = await self._client.get(f"groups/{quote(self.prefix + course_id, safe='')}")
        if response.status_code == 404:
            members: frozenset[str] = frozenset()
        else:
            response.raise_for_status()
            members = frozenset(str(u) for u in response.json().get("users", []))
        self._cache[course_id] = (now, members)
        return members

    async def teaches(self, user: str, course_id: str) -> bool:
        return user in await self.instructors(course_id)

    async def aclose(self) -> None:
        await self._client.aclose()
