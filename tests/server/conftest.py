"""A real jupyter-server (pytest-jupyter) with tutornb on, its store under the test's root dir.

The in-process fixtures built on it (``store_dir``, ``service``, ``api``, ``raw_fetch``, ``chat``)
come from the harness plugin, ``tests.support.plugin``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures for this folder only)


@pytest.fixture
def tutornb_config() -> dict[str, Any]:
    """Extra ``TutorNBApp`` traits for one test (override in a module or parametrize)."""
    return {}


@pytest.fixture
def jp_server_config(store_dir: Path, tutornb_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"tutornb": True}},
        # Servers run inside the test process here: leave pytest's garbage collector alone.
        "TutorNBApp": {"store_dir": str(store_dir), "freeze_gc": False, **tutornb_config},
    }
