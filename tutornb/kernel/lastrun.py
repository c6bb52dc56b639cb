"""The learner's own last run, captured in the kernel with IPython's ``post_run_cell`` event.

When a learner asks "why does this fail?", the tutor should see the cell they ran and the error it
raised, not a guess. The kernel knows both: after every cell IPython reports the raw code, the
execution result (with its exception object) and, under JupyterLab / recent ipykernel, the cell's
``cell_id``. This module keeps the last such run as a :class:`~tutornb.models.LearnerWork` — the
very shape a chat frame carries — for the panel (its ``last_work`` trait) and ``%tutor ask``.

What it keeps is deliberately small and plain: the code (capped), the cell's index when the saved
notebook says where that cell is, and the error as a three-line traceback of the learner's own line
(``Cell In[N], line L`` / the line / ``Type: message``) with ANSI colours stripped. Cells that only
drive the tutor itself (``%tutor …``, ``tutornb.chat()``) are not the learner's work and are skipped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tutornb.kernel.context import SESSION_NAME_ENV
from tutornb.models import LearnerWork
from tutornb.plaintext import clip, strip_ansi

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

log = logging.getLogger("tutornb.kernel.lastrun")

#: A captured cell is cut here: well inside LearnerWork's limit, so a frame carrying it (plus the
#: question) stays under the chat socket's 64 KiB frame limit even for non-ASCII code.
CODE_MAX = 8_000
#: The error text is a short description, not a log: the tutor needs the type, message and line.
ERROR_MAX = 2_000
MESSAGE_MAX = 1_000
LINE_MAX = 300
_TRUNCATED = "\n# … (cell truncated)"

#: Lines that drive tutornb rather than being the learner's work (any mix of these, and blanks or
#: comments, makes a "tutor cell").
_TUTOR_LINE = re.compile(
    r"^\s*(?:%+tutor\b.*|%+(?:re)?load_ext\s+tutornb\b.*|import\s+tutornb\b.*|from\s+tutornb\b.*"
    r"|(?:\w+\s*=\s*)?tutornb\.chat\(.*)$"
)

WorkListener = Callable[[LearnerWork | None], None]


def is_tutor_cell(code: str) -> bool:
    """True for a cell whose lines only drive tutornb (blank lines and comments aside)."""
    lines = [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and all(_TUTOR_LINE.match(line) for line in lines)


def _cell_frame(tb: TracebackType | None) -> traceback.FrameSummary | None:
    """The deepest frame of the cell itself.

    IPython runs a cell with ``exec`` from its own ``run_code``: the traceback starts in IPython,
    the next frame is the cell's ``<module>``, and every later frame with the cell's file name is
    the cell too (a function it defines). Frames in libraries are not the learner's line.
    """
    frames = traceback.extract_tb(tb)
    ipython_dir = str(Path(_ipython_file()).parent)
    start = 0
    while start < len(frames) and frames[start].filename.startswith(ipython_dir):
        start += 1
    if start >= len(frames):
        return None
    cell_file = frames[start].filename
    return [f for f in frames[start:] if f.filename == cell_file][-1]


def _ipython_file() -> str:
    import IPython

    return str(IPython.__file__)


def describe_error(exc: BaseException, code: str, execution_count: int | None = None) -> str:
    """``Cell In[N], line L`` / the learner's line / ``Type: message``: what went wrong, where.

    The first two lines are omitted when the line is unknown. The layout is IPython's own, so a
    tutor that reads pasted tracebacks reads this too.
    """
    label = f"Cell In[{execution_count}]" if execution_count else "Cell In[]"
    lineno: int | None = None
    line_text: str | None = None
    if isinstance(exc, SyntaxError):
        lineno = exc.lineno
        line_text = exc.text
        message = exc.msg or ""
    else:
        frame = _cell_frame(exc.__traceback__)
        if frame is not None:
            lineno = frame.lineno
            line_text = frame.line
        message = str(exc)
    if lineno is not None and not line_text:
        lines = code.splitlines()
        if 0 < lineno <= len(lines):
            line_text = lines[lineno - 1]
    head = type(exc).__qualname__
    summary = f"{head}: {clip(strip_ansi(message).strip(), MESSAGE_MAX)}" if message else head
    parts = []
    if lineno is not None:
        parts.append(f"{label}, line {lineno}")
        if line_text and line_text.strip():
            parts.append("    " + clip(strip_ansi(line_text).strip(), LINE_MAX))
    parts.append(summary)
    return clip("\n".join(parts), ERROR_MAX)


class NotebookCellIndex:
    """Maps a cell id to its index in the saved notebook file (re-read only when the file changes).

    A cell added since the last save is not in the file: its index is then unknown and omitted,
    never guessed.
    """

    def __init__(self, notebook_file: Callable[[], Path | None]) -> None:
        self._notebook_file = notebook_file
        self._resolved_for: str | None = None
        self._path: Path | None = None
        self._stamp: tuple[int, int] | None = None
        self._ids: dict[str, int] = {}

    def index_of(self, cell_id: str | None) -> int | None:
        if not cell_id:
            return None
        # Finding the notebook may ask the server: once, unless jupyter-server renamed it since.
        key = os.environ.get(SESSION_NAME_ENV, "")
        if self._resolved_for != key:
            self._resolved_for = key
            self._path, self._stamp = None, None
            try:
                self._path = self._notebook_file()
            except Exception as exc:
                log.debug("tutornb: no notebook for cell indexes (%s)", type(exc).__name__)
        if self._path is None:
            return None
        try:
            stat = self._path.stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._ids = self._read_ids(self._path)
            self._stamp = stamp
        return self._ids.get(cell_id)

    @staticmethod
    def _read_ids(path: Path) -> dict[str, int]:
        try:
            with path.open(encoding="utf-8") as handle:
                notebook: Any = json.load(handle)
        except (OSError, ValueError):
            return {}
        cells = notebook.get("cells") if isinstance(notebook, dict) else None
        ids: dict[str, int] = {}
        for index, cell in enumerate(cells if isinstance(cells, list) else []):
            if isinstance(cell, dict) and isinstance(cell.get("id"), str):
                ids.setdefault(cell["id"], index)
        return ids


class WorkTracker:
    """Keeps the learner's last run and tells listeners (panels) after each one."""

    def __init__(self, notebook_file: Callable[[], Path | None] | None = None) -> None:
        if notebook_file is None:
            from tutornb.kernel.context import find_notebook

            notebook_file = find_notebook
        self._cells = NotebookCellIndex(notebook_file)
        self._lock = threading.Lock()
        self._last: LearnerWork | None = None
        self._listeners: list[WorkListener] = []

    @property
    def last(self) -> LearnerWork | None:
        with self._lock:
            return self._last

    @property
    def last_failed(self) -> bool:
        last = self.last
        return last is not None and last.error is not None

    def subscribe(self, listener: WorkListener) -> Callable[[], None]:
        """Calls ``listener`` after each captured run; returns the unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def install(self, shell: InteractiveShell) -> None:
        """Listens to ``shell``'s ``post_run_cell`` (idempotent)."""
        events: Any = shell.events
        if self.post_run_cell not in events.callbacks["post_run_cell"]:
            events.register("post_run_cell", self.post_run_cell)

    def uninstall(self, shell: InteractiveShell) -> None:
        events: Any = shell.events
        if self.post_run_cell in events.callbacks["post_run_cell"]:
            events.unregister("post_run_cell", self.post_run_cell)

    def post_run_cell(self, result: ExecutionResult) -> None:
        """IPython's event: never raises (a tutor bug must not break the learner's cell)."""
        try:
            work = self.capture(result)
        except Exception as exc:
            log.debug("tutornb: could not capture the last run (%s)", type(exc).__name__)
            return
        if work is None:
            return
        with self._lock:
            self._last = work
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(work)
            except Exception as exc:
                log.debug("tutornb: a work listener failed (%s)", type(exc).__name__)

    def capture(self, result: ExecutionResult) -> LearnerWork | None:
        """The run as :class:`LearnerWork`, or ``None`` for runs that are not the learner's work."""
        info: Any = result.info
        code = str(getattr(info, "raw_cell", "") or "")
        if getattr(info, "silent", False) or not code.strip() or is_tutor_cell(code):
            return None
        error: BaseException | None = result.error_before_exec or result.error_in_exec
        described = describe_error(error, code, result.execution_count) if error is not None else None
        if len(code) > CODE_MAX:
            code = code[: CODE_MAX - len(_TRUNCATED)] + _TRUNCATED
        cell_id = getattr(info, "cell_id", None)
        return LearnerWork(
            cell_index=self._cells.index_of(cell_id if isinstance(cell_id, str) else None),
            code=code,
            error=described,
        )


_tracker: WorkTracker | None = None
_tracker_lock = threading.Lock()


def work_tracker(shell: InteractiveShell | None = None) -> WorkTracker:
    """The kernel's tracker, listening to ``shell`` (or the running IPython, if any)."""
    global _tracker
    with _tracker_lock:
        if _tracker is None:
            _tracker = WorkTracker()
        tracker = _tracker
    if shell is None:
        try:
            from IPython.core.getipython import get_ipython
        except ImportError:  # pragma: no cover - IPython ships with every kernel
            return tracker
        shell = get_ipython()  # type: ignore[no-untyped-call]
    if shell is not None:
        tracker.install(shell)
    return tracker


def reset_work_tracker() -> None:
    """Forgets the tracker and its last run (tests switch notebooks between cases)."""
    global _tracker
    with _tracker_lock:
        tracker, _tracker = _tracker, None
    if tracker is None:
        return
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()  # type: ignore[no-untyped-call]
    if shell is not None:
        tracker.uninstall(shell)


def last_work_dict(work: LearnerWork | None) -> dict[str, Any] | None:
    """The JSON shape the panel's ``last_work`` trait and chat frames carry (absent keys omitted)."""
    return None if work is None else work.model_dump(mode="json", exclude_none=True)
