"""Start-up benchmark: from running ``%tutor`` to a panel the learner can type into, in a real browser.

Run: ``python -m bench.startup [--runs N] [--notebook NAME]``. It starts ``jupyter lab`` (the browser
tests' harness: a temporary copy of ``notebooks/``, its own HOME, token and Jupyter folders) and
Debian's chromium, opens the notebook, then N times: restarts the kernel (a fresh process, as for a
learner who just opened the notebook), runs the ``%load_ext tutornb`` cell, then the ``%tutor`` cell.

Times are taken in the page (``performance.now()``), from the Shift+Enter that runs a cell:

- ``%load_ext tutornb``: until the cell has finished (the extension's import cost);
- ``%tutor`` → first paint: until the panel is in the cell's output;
- ``%tutor`` → interactive: until the panel's input is enabled and its status says ``online`` (the
  learner can type and send);
- both cells: ``%load_ext`` plus ``%tutor`` → interactive, what a learner waits in total.

It prints p50 / p95 / max over the runs (the first run, which also loads the panel's code into the
page, is shown on its own too). Target: ``%tutor`` → interactive ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.figures import p50_p95_max
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.lab import Lab, start_lab

REPO = Path(__file__).resolve().parents[1]

#: Page-side probe: resolves with ``performance.now()`` at the first moment ``ready(cell)`` holds, the
#: cell being the notebook's ``index``-th; checked on every DOM change and every animation frame.
WAIT_FOR = """
([index, what]) => new Promise((resolve) => {
  const cells = () => document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
  let busy = false;  // the prompt showed [*]: a count seen after that is this run's
  const checks = {
    done: (cell) => {
      const prompt = cell.querySelector('.jp-InputPrompt').textContent;
      busy = busy || prompt.includes('*');
      return busy && /\\[\\d+\\]/.test(prompt);
    },
    painted: (cell) => !!cell.querySelector('[data-tutornb="panel"]:not([data-bench-stale])'),
    interactive: (cell) => {
      const panel = cell.querySelector('[data-tutornb="panel"]:not([data-bench-stale])');
      if (!panel) return false;
      const input = panel.querySelector('[data-tutornb="input"]');
      const status = panel.querySelector('[data-tutornb="status"]');
      return !!input && !input.disabled && !!status && status.dataset.state === 'online';
    },
  };
  const check = () => {
    const cell = cells()[index];
    if (cell && checks[what](cell)) {
      observer.disconnect();
      resolve(performance.now());
      return true;
    }
    return false;
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  const frame = () => { if (!check()) requestAnimationFrame(frame); };
  frame();
})
"""


def _run_cell(lab: Lab, index: int, targets: list[str]) -> dict[str, float]:
    """Runs cell ``index`` and returns the ms from the keystroke to each of ``targets``."""
    page = lab.page
    cell = lab.cells().nth(index)
    cell.scroll_into_view_if_needed()
    # Every panel already on the page is an earlier run's: only a new one counts.
    page.evaluate(
        "() => document.querySelectorAll('[data-tutornb=\"panel\"]')"
        ".forEach((p) => { p.dataset.benchStale = '1'; })"
    )
    cell.locator(".jp-InputArea-editor").click()
    promises = ", ".join(f"window.__bench_{t} = waitFor([{index}, '{t}'])" for t in targets)
    page.evaluate(
        f"() => {{ const waitFor = {WAIT_FOR}; {promises}; window.__bench_t0 = performance.now(); }}"
    )
    page.keyboard.press("Shift+Enter")
    results: dict[str, float] = {}
    for target in targets:
        at = page.evaluate(f"() => window.__bench_{target}")
        results[target] = float(at) - float(page.evaluate("() => window.__bench_t0"))
    return results


def _restart_kernel(lab: Lab, notebook: str) -> None:
    with lab.server.api() as api:
        sessions = [s for s in api.get("api/sessions").json() if s.get("path") == notebook]
        kernel_id = sessions[0]["kernel"]["id"]
        api.post(f"api/kernels/{kernel_id}/restart").raise_for_status()
    # The restart reply comes once the new process answers; give the page a moment to see it.
    lab.page.wait_for_timeout(500)
    lab.wait_for_idle_kernel(notebook)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="kernel restarts measured (default 10)")
    parser.add_argument("--notebook", default="01_lists_and_loops.ipynb")
    args = parser.parse_args()

    chromium = chromium_path()
    if chromium is None:
        print("Debian's chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="tutornb-bench-startup-"))
    server = start_lab(base)
    runs: list[dict[str, float]] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            lab = Lab(page, server)
            print(f"jupyter lab on port {server.port}; opening {args.notebook}", file=sys.stderr, flush=True)
            lab.open_notebook(args.notebook)
            load_index = lab.cell_index("%load_ext tutornb")
            tutor_index = lab.cell_index("%tutor")
            for run in range(args.runs):
                if run:
                    _restart_kernel(lab, args.notebook)
                load = _run_cell(lab, load_index, ["done"])
                tutor = _run_cell(lab, tutor_index, ["painted", "interactive", "done"])
                figures = {
                    "load_ext": load["done"],
                    "cell_done": tutor["done"],
                    "painted": tutor["painted"],
                    "interactive": tutor["interactive"],
                    "both": load["done"] + tutor["interactive"],
                }
                runs.append(figures)
                shown = ", ".join(f"{name} {ms:.0f} ms" for name, ms in figures.items())
                print(f"run {run + 1}: {shown}", flush=True)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    print(f"\n### `%tutor` start-up, JupyterLab + chromium ({args.runs} kernel restarts, {args.notebook})\n")
    print(f"load average: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| measure (ms) | p50 / p95 / max | first run |")
    print("|---|---|---|")
    labels = {
        "load_ext": "`%load_ext tutornb` cell",
        "cell_done": "`%tutor` cell finished (kernel side)",
        "painted": "`%tutor` → panel painted",
        "interactive": "`%tutor` → input enabled, online (target ≤ 1500)",
        "both": "`%load_ext` + `%tutor` → interactive",
    }
    for key, label in labels.items():
        values = [run[key] for run in runs]
        print(f"| {label} | {p50_p95_max(values)} | {values[0]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
