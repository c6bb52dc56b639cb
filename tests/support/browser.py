"""Debian's chromium, the one browser every browser test and benchmark drives through playwright
(never a downloaded build), and the flags it runs with here."""

from __future__ import annotations

import os
import shutil

#: ``CI=true``: a missing browser (or kernel, or hub) fails a test instead of skipping it.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's chromium on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
