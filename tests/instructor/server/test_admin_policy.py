"""The admin's policy in a system config folder is not overridden by the learner's own config.

A real jupyter-server (pytest-jupyter) whose system config folder (``/etc/jupyter`` here stands in
a temporary folder: the test must not write the machine's) sets ``TutorNBApp.policy``, while the
learner's configuration (what ``~/.jupyter`` would hold) sets a permissive one: the tutor runs
under the admin's fields, and the learner's only where the admin said nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tutornb.server.lifetime import service_opener

ADMIN = {"solutions": "never", "instructions": "Follow the course's style."}
LEARNER = {"solutions": "on_request", "hints": False}


@pytest.fixture
def system_config(jp_system_config_path: Path) -> Path:
    """pytest-jupyter's stand-in for /etc/jupyter (it points jupyter_core's system path there)."""
    jp_system_config_path.mkdir(parents=True, exist_ok=True)
    admin = jp_system_config_path / "jupyter_server_config.json"
    admin.write_text(json.dumps({"TutorNBApp": {"policy": ADMIN}}))
    return admin


@pytest.fixture
def jp_server_config(jp_root_dir: Path, system_config: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"tutornb": True}},
        "TutorNBApp": {"store_dir": str(jp_root_dir / ".tutornb"), "freeze_gc": False, "policy": LEARNER},
    }


async def test_the_system_policy_wins_over_the_learners(jp_serverapp: Any, jp_fetch: Any) -> None:
    # Given a server whose system config and learner config both set a policy
    response = await jp_fetch("tutornb", "api", "status")
    assert response.code == 200
    # Then the tutor runs under the admin's fields, the learner's only where the admin set none
    service = service_opener(jp_serverapp.web_app.settings).get()
    assert service.tutor.engine.policy == {
        "solutions": "never",
        "hints": False,
        "instructions": ADMIN["instructions"],
    }
