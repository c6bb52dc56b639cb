"""The server hands its store and tutor down to the kernels it starts, through their environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tutornb.paths import STORE_DIR_ENV, tutor_from_environment
from tutornb.service import TutorService


@pytest.fixture
def tutornb_config() -> dict[str, Any]:
    return {"tutor": "course", "tutor_options": {"plan_ttl_hours": 2}}


def test_kernels_inherit_the_servers_store_and_tutor(service: TutorService, store_dir: Path) -> None:
    # Given a server configured with a tutor and options (the `service` fixture started it)
    # When a kernel reads what it inherited
    name, options = tutor_from_environment()
    # Then it uses the server's store and the server's tutor with the same options
    assert Path(os.environ[STORE_DIR_ENV]) == store_dir.resolve()
    assert name == "course"
    assert options == {"plan_ttl_hours": 2}


def test_unreadable_tutor_options_fall_back_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given options that are not a JSON object
    monkeypatch.setenv("TUTORNB_TUTOR", "course")
    for bad in ("not json", "[1, 2]"):
        monkeypatch.setenv("TUTORNB_TUTOR_OPTIONS", bad)
        # When a kernel reads them / Then the tutor still opens, with no options
        assert tutor_from_environment() == ("course", {})
