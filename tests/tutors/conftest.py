"""Fixtures for the tutor tests: a copy of the sample course and the real session store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tutor_helpers import REPO_NOTEBOOKS

from tutornb.store.sessions import SessionStore
from tutornb.tutors.retrieval import clear_indexes


@pytest.fixture
def course_root(tmp_path: Path) -> Iterator[Path]:
    """A server root holding a copy of the sample course under ``course/`` (tests may edit it)."""
    clear_indexes()
    shutil.copytree(REPO_NOTEBOOKS, tmp_path / "root" / "course")
    yield tmp_path / "root"
    clear_indexes()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    opened = SessionStore(tmp_path / "store")
    yield opened
    opened.close()
