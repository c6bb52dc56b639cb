"""The server hands its store down to the kernels it starts, through their environment, and keeps
its tutor's options and policy to itself (kernels ask it through a token instead)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tutornb.paths import KERNEL_TOKEN_ENV, STORE_DIR_ENV, tutor_from_environment
from tutornb.service import TutorService


@pytest.fixture
def tutornb_config() -> dict[str, Any]:
    return {"tutor": "course", "tutor_options": {"plan_ttl_hours": 2}}


def test_kernels_inherit_the_servers_store_but_not_its_tutor_options(
    service: TutorService, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a learner's own tutor options in the environment the server starts with
    # (the `service` fixture started it: they are gone by now)
    # When a kernel reads what it inherited
    name, options = tutor_from_environment()
    # Then it uses the server's store, and none of the server's tutor options: a kernel without the
    # server's route tutors with the course tutor as its learner set it up
    assert Path(os.environ[STORE_DIR_ENV]) == store_dir.resolve()
    assert (name, options) == ("course", {})
    assert os.environ[KERNEL_TOKEN_ENV]


def test_unreadable_tutor_options_fall_back_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given options that are not a JSON object
    monkeypatch.setenv("TUTORNB_TUTOR", "course")
    for bad in ("not json", "[1, 2]"):
        monkeypatch.setenv("TUTORNB_TUTOR_OPTIONS", bad)
        # When a kernel reads them / Then the tutor still opens, with no options
        assert tutor_from_environment() == ("course", {})
