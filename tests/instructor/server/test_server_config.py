"""``TutorNBApp.policy`` and ``TutorNBApp.exchange_dir`` on a real jupyter-server: the admin's
policy reaches the tutor (its ``policy`` option) and the kernels; a policy that does not fit stops
tutornb with a clear code instead of tutoring under a policy nobody set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tutornb.paths import EXCHANGE_DIR_ENV, KERNEL_TOKEN_ENV, TUTOR_ENV, TUTOR_OPTIONS_ENV


@pytest.fixture
def policy() -> dict[str, Any]:
    return {"solutions": "never", "hints": False}


@pytest.fixture
def jp_server_config(jp_root_dir: Path, policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"tutornb": True}},
        "TutorNBApp": {
            "store_dir": str(jp_root_dir / ".tutornb"),
            "freeze_gc": False,
            "policy": policy,
            "exchange_dir": str(jp_root_dir / "exchange"),
            "tutor_options": {"plan_ttl_hours": 2},
        },
    }


async def test_policy_stays_in_the_server_and_the_exchange_reaches_kernels(
    jp_serverapp: Any, jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a server configured with a policy override and an exchange folder
    response = await jp_fetch("tutornb", "api", "status")
    assert response.code == 200
    # Then kernels it starts learn the exchange folder and a token to ask the server's tutor with,
    # but never the tutor's options or the policy (their environment is the learner's)
    assert TUTOR_OPTIONS_ENV not in os.environ
    assert TUTOR_ENV not in os.environ
    assert os.environ[KERNEL_TOKEN_ENV]
    assert os.environ[EXCHANGE_DIR_ENV] == str((jp_root_dir / "exchange").resolve())


@pytest.mark.parametrize("policy", [{"solutions": "sometimes"}])
async def test_a_policy_that_does_not_fit_stops_tutornb(jp_serverapp: Any, jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("tutornb", "api", "status")
    assert caught.value.code == 503
    body = json.loads(caught.value.response.body)
    assert body["code"] == "STORE_UNAVAILABLE"
    assert "INVALID_POLICY" in body["message"]
    # and kernels are never told to tutor under it
    assert "sometimes" not in os.environ.get(TUTOR_OPTIONS_ENV, "")
