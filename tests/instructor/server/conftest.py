"""A real jupyter-server per test (pytest-jupyter), for the instructor's server traits."""

from __future__ import annotations

from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures for this folder only)
