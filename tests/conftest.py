"""Test-wide isolation: no test reads or writes the developer's real Jupyter, IPython or tutornb state.

The variables are set at import time, before any Jupyter module reads them, and are inherited by every
kernel, server and browser subprocess the tests start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_ISOLATED = Path(tempfile.mkdtemp(prefix="tutornb-tests-"))
for _name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
    _dir = _ISOLATED / _name.lower()
    _dir.mkdir()
    os.environ[_name] = str(_dir)
# Kernels started by nbval write their sessions here, never into the repository's notebooks/ folder.
os.environ.setdefault("TUTORNB_STORE_DIR", str(_ISOLATED / "store"))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

# Notebooks under tests/fixtures are test material (some raise on purpose), not notebooks for nbval.
collect_ignore = ["fixtures"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, which every browser test drives through playwright (never a downloaded
    build). Missing: a failure in CI (a skipped browser test must not look green), a skip elsewhere."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
