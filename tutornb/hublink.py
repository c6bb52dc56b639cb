"""The single-user server's link to the ``tutornb-hub`` service (``TutorNBApp.hub_service_url``).

The server holds the hub token the spawner gave it (``JUPYTERHUB_API_TOKEN``) and calls the service
with it: the model (the openai tutor's base URL becomes the service's, the token its key), report
uploads (:mod:`tutornb.instructor.reports.hubshare`) and solution requests. Kernels never get
that token: they get a relay on their own server
(``/tutornb/api/hub/...``, see :mod:`tutornb.server.hubrelay`) and a random key good for that relay
only, so ``%tutor share`` and ``%tutor ask`` work in a kernel while ``os.environ`` there holds
neither the hub token nor the model's key. Without a configured service nothing here applies.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from tutornb.course.ids import is_valid_id

#: The relay's URL and key, handed to kernels (never the hub token).
RELAY_URL_ENV = "TUTORNB_HUB_RELAY_URL"
RELAY_KEY_ENV = "TUTORNB_HUB_RELAY_KEY"
#: What the spawner gives the server and no kernel may inherit.
HUB_TOKEN_ENVS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")


@dataclass(frozen=True)
class HubLink:
    service_url: str
    token: str
    relay_key: str
    course_id: str

    @classmethod
    def create(cls, service_url: str, course_id: str) -> HubLink | None:
        token = os.environ.get("JUPYTERHUB_API_TOKEN") or os.environ.get("JPY_API_TOKEN") or ""
        if not service_url or not token:
            return None
        return cls(service_url.rstrip("/") + "/", token, secrets.token_urlsafe(32), course_id)

    def model_base(self, root: str) -> str:
        course = f"courses/{self.course_id}/" if self.course_id else ""
        return f"{root.rstrip('/')}/{course}v1"

    def server_tutor_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The openai tutor's options in the server: the service as its endpoint, the token as key."""
        return {**options, "base_url": self.model_base(self.service_url), "api_key": self.token}

    def kernel_tutor_options(self, options: dict[str, Any], relay_url: str) -> dict[str, Any]:
        return {**options, "base_url": self.model_base(relay_url), "api_key": self.relay_key}


#: The server's own link (set by the server extension); kernels use the relay instead.
_server_link: HubLink | None = None


def use_server_link(link: HubLink | None) -> None:
    global _server_link
    _server_link = link


def hub_solution(course_id: str | None, exercise_id: str) -> str | None:
    """The exercise's solution from the hub service, if there is one and the service allows it now
    (each request counts as an attempt there). ``None`` without a service, or on any failure: the
    tutor then says the course has no solution to show, never more."""
    if not course_id or not is_valid_id(course_id) or not is_valid_id(exercise_id):
        return None
    path = f"courses/{course_id}/exercises/{exercise_id}/solution"
    if _server_link is not None:
        url, auth = _server_link.service_url + path, f"token {_server_link.token}"
    elif relay_configured():
        url, auth = os.environ[RELAY_URL_ENV].rstrip("/") + "/" + path, f"Bearer {os.environ[RELAY_KEY_ENV]}"
    else:
        return None
    try:
        # Short: the turn waits on it (the service is on the hub's own network).
        response = httpx.post(url, headers={"Authorization": auth}, timeout=5)
        answer = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return None
    solution = answer.get("solution") if isinstance(answer, dict) and answer.get("allowed") else None
    return solution if isinstance(solution, str) and solution else None


def scrub_kernel_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in HUB_TOKEN_ENVS}


def keep_token_from_kernels(kernel_manager: Any) -> None:
    """Every kernel the server starts gets its environment without the hub token (and a restart
    reuses that environment)."""
    original: Callable[..., Coroutine[Any, Any, str]] = kernel_manager.start_kernel

    async def start_kernel(*args: Any, **kwargs: Any) -> str:
        kwargs["env"] = scrub_kernel_env(dict(kwargs.get("env") or os.environ))
        return await original(*args, **kwargs)

    kernel_manager.start_kernel = start_kernel


def relay_configured() -> bool:
    return bool(os.environ.get(RELAY_URL_ENV) and os.environ.get(RELAY_KEY_ENV))
