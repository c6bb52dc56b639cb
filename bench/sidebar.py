"""Sidebar benchmark: from opening a course notebook to a Tutor sidebar the learner can type into.

Run: ``python -m bench.sidebar [--runs N]``. It starts ``jupyter lab`` (the browser tests' harness: a
temporary copy of ``notebooks/``, its own HOME, token and Jupyter folders) and Debian's chromium, opens
``00_start_here.ipynb`` with the Tutor sidebar open, then N times opens another course notebook from the
file browser (a double click, as a learner does; the three others in turn), and closes it again.

Times are taken in the page (``performance.now()``), from the double click to the first moment the
sidebar shows the opened notebook's course and module with its input enabled and its status
``online`` (the learner can type and send): the notebook's model loading, the sidebar following it, the
chat mounting and its REST look-up of resumable sessions and WebSocket. No kernel or ``%tutor`` is
involved. It prints p50 / p95 / max. Target: ≤ 1000 ms p50 (issue 19).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.figures import p50_p95_max
from tests.support.browser import CHROMIUM_ARGS
from tests.support.lab import Lab, start_lab

NOTEBOOKS = {
    "01_lists_and_loops.ipynb": "Lists & loops",
    "02_dictionaries.ipynb": "Dictionaries",
    "03_functions.ipynb": "Functions",
}

#: Resolves with ``performance.now()`` once the sidebar is interactive on the module ``title``.
SIDEBAR_READY = """
(title) => new Promise((resolve) => {
  const ready = () => {
    const root = document.querySelector('[data-tutornb="sidebar"]');
    const context = root && root.querySelector('[data-tutornb="context"]');
    const input = root && root.querySelector('[data-tutornb="input"]');
    const status = root && root.querySelector('[data-tutornb="status"]');
    return !!context && context.textContent.includes(title) && !!input && !input.disabled
      && !!status && status.dataset.state === 'online';
  };
  const check = () => {
    if (!ready()) return false;
    observer.disconnect();
    resolve(performance.now());
    return true;
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  const frame = () => { if (!check()) requestAnimationFrame(frame); };
  frame();
})
"""


def _open_and_time(lab: Lab, notebook: str, title: str) -> float:
    page = lab.page
    page.evaluate(
        "(title) => { window.__bench_ready = (" + SIDEBAR_READY + ")(title);"
        " document.addEventListener('dblclick', () => { window.__bench_t0 = performance.now(); },"
        " { capture: true, once: true }); }",
        title,
    )
    page.locator(".jp-DirListing-item", has_text=notebook).dblclick()
    ready = float(page.evaluate("() => window.__bench_ready"))
    return ready - float(page.evaluate("() => window.__bench_t0"))


def _close_current(lab: Lab, notebook: str) -> None:
    """Closes the notebook's tab, discarding changes (opening marks a notebook dirty: its kernel info)."""
    tab = lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=notebook)
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    discard = lab.page.locator(".jp-Dialog button", has_text="Discard")
    while tab.count():
        if discard.count():
            discard.click()
        lab.page.wait_for_timeout(50)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=12, help="notebook openings measured (default 12)")
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="tutornb-bench-sidebar-"))
    server = start_lab(base)
    times: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            lab = Lab(page, server)
            print(f"jupyter lab on port {server.port}", file=sys.stderr, flush=True)
            lab.open_notebook("00_start_here.ipynb")
            page.locator(".jp-SideBar .lm-TabBar-tab", has_text="Tutor").click()
            page.evaluate("(" + SIDEBAR_READY + ")('Start here')")
            order = list(NOTEBOOKS.items())
            for run in range(args.runs):
                notebook, title = order[run % len(order)]
                ms = _open_and_time(lab, notebook, title)
                times.append(ms)
                print(f"run {run + 1}: {notebook} {ms:.0f} ms", flush=True)
                _close_current(lab, notebook)
                page.evaluate("(" + SIDEBAR_READY + ")('Start here')")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    print(f"\n### Opening a course notebook → interactive Tutor sidebar ({args.runs} openings)\n")
    print(f"load average: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| measure (ms) | p50 / p95 / max | first run |")
    print("|---|---|---|")
    label = "double click → sidebar input enabled, online (target ≤ 1000 p50)"
    print(f"| {label} | {p50_p95_max(times)} | {times[0]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
