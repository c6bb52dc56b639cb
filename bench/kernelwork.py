"""What capturing the learner's last run costs each cell (``tutornb.kernel.lastrun``'s post_run_cell hook).

``python -m bench.kernelwork --cells 400`` runs the same small cells in IPython's shell without the
hook, then with it (cell ids mapped through a saved 200-cell notebook, as under JupyterLab), for a
passing and a failing cell, and prints the median time per cell, and the hook's own time measured by
calling it alone on the cell's result (a failing cell's time is mostly IPython's coloured traceback,
whose noise is larger than the hook).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from tutornb.kernel.lastrun import WorkTracker

PASSING = "total = sum(range(50))\n"
FAILING = "letters = 'abc'\nletters[0] = 'z'\n"


def _notebook(folder: Path, cells: int) -> tuple[Path, list[str]]:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    ids = [f"cell-{i:04d}" for i in range(cells)]
    for cell_id in ids:
        cell = nbformat.v4.new_code_cell("x = 1")  # type: ignore[no-untyped-call]
        cell["id"] = cell_id
        notebook.cells.append(cell)
    path = folder / "lesson.ipynb"
    nbformat.write(notebook, str(path))  # type: ignore[no-untyped-call]
    return path, ids


def _per_cell(shell: InteractiveShell, code: str, cells: int, ids: list[str]) -> float:
    times = []
    with capture_output():
        for i in range(cells):
            start = time.perf_counter()
            shell.run_cell(code, store_history=True, cell_id=ids[i % len(ids)])
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, ids = _notebook(Path(tmp), 200)
        os.environ["JPY_SESSION_NAME"] = str(path)
        shell = InteractiveShell.instance()
        tracker = WorkTracker(lambda: path)
        print(f"{'cell':8} {'without hook µs':>16} {'with hook µs':>13} {'hook µs':>8}")
        for label, code in (("passing", PASSING), ("failing", FAILING)):
            _per_cell(shell, code, 50, ids)  # warm up
            without = _per_cell(shell, code, args.cells, ids)
            tracker.install(shell)
            with_hook = _per_cell(shell, code, args.cells, ids)
            tracker.uninstall(shell)
            result = shell.last_execution_result
            start = time.perf_counter()
            for _ in range(args.cells):
                tracker.post_run_cell(result)
            hook = (time.perf_counter() - start) / args.cells * 1e6
            print(f"{label:8} {without:16.0f} {with_hook:13.0f} {hook:8.0f}")
        last = tracker.last
        print(f"last captured: cell_index={last.cell_index if last else None}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
