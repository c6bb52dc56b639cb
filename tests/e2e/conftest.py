"""Real-browser fixtures: JupyterLab in a subprocess, driven by playwright through Debian's chromium.

- ``lab_server`` (per module): ``jupyter lab`` on a free loopback port with its own token, HOME,
  ``JUPYTER_*`` dirs and IPYTHONDIR, serving a temp copy of ``notebooks/``; the store is the default
  ``<root>/.tutornb`` (``TUTORNB_STORE_DIR`` is unset for it).
- ``browser`` (one for this folder) and ``browser_page`` (per test): a fresh context and page each time;
  ``lab`` wraps that page in :class:`~tests.support.lab.Lab` (open a notebook, wait for the kernel,
  run a cell).

Without chromium the tests skip locally and fail in CI (``CI=true``): a missing browser must never
look like a pass there (``chromium_path``, from the harness plugin ``tests.support.plugin``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import CHROMIUM_ARGS
from tests.support.lab import Lab, LabServer, report_failure, running_lab


@pytest.fixture(scope="module")
def lab_server() -> Iterator[LabServer]:
    with running_lab() as server:
        yield server


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Any]:
    """One chromium for every browser test in this folder (each test gets a fresh context: no
    shared cookies or storage). Not per session: while playwright's sync API is open, the main
    thread counts as running an asyncio loop, and every asyncio test run after these would fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser_page(browser: Any, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        if request.node.stash.get(_FAILED, False):
            report_failure(page, lab_server, request.node.name)
        context.close()


@pytest.fixture
def lab(browser_page: Any, lab_server: LabServer) -> Lab:
    return Lab(browser_page, lab_server)
