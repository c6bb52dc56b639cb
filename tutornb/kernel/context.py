"""Where the kernel is: which notebook runs it, which course and module that notebook belongs to.

The kernel side of tutornb (the chat panel's comm transport and the ``%tutor`` magics) needs the
notebook's ``metadata.tutornb`` to tie a session to its course. jupyter-server tells a kernel its
notebook through ``JPY_SESSION_NAME``; when that is missing or stale (the notebook was renamed) the
server's own sessions API answers, found through the runtime files every jupyter-server writes. A
notebook without tutornb metadata still gets a general context, with a note that says so.

The kernel's process-wide service and its event loop live in :mod:`tutornb.kernel.runtime`.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tutornb.course.metadata import notebook_course_metadata
from tutornb.models import CourseContext, QuizQuestion
from tutornb.paths import resolve_root_dir

if TYPE_CHECKING:
    pass

T = TypeVar("T")

SESSION_NAME_ENV = "JPY_SESSION_NAME"
NO_METADATA_NOTE = "This notebook has no tutornb course metadata: the tutor answers with a general context."
NO_NOTEBOOK_NOTE = (
    "tutornb could not tell which notebook this kernel belongs to: the tutor answers with a general context."
)


@dataclass(frozen=True)
class NotebookContext:
    """A notebook's place in its course, as the kernel sees it.

    ``course`` is what a session stores; ``objectives`` and ``quiz`` are there for display and for
    callers that want them (the tutor reads the notebook itself, server-side). ``note`` is the human
    explanation when something is missing, empty otherwise.
    """

    course: CourseContext
    notebook_file: Path | None = None
    objectives: tuple[str, ...] = ()
    quiz: tuple[QuizQuestion, ...] = ()
    has_metadata: bool = False
    note: str = ""

    @property
    def notebook_path(self) -> str | None:
        return self.course.notebook_path

    def as_dict(self) -> dict[str, Any]:
        """The JSON-able shape the panel syncs: the course context plus the display extras."""
        data: dict[str, Any] = self.course.model_dump(mode="json")
        data["objectives"] = list(self.objectives)
        data["quiz_questions"] = len(self.quiz)
        data["has_metadata"] = self.has_metadata
        data["note"] = self.note
        return data


# --------------------------------------------------------------------------------------------------
# Finding the notebook


def find_notebook(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The notebook file this kernel runs, or ``None`` when nothing says.

    Order: an explicit path (absolute, relative to the server root, or relative to the working
    folder), then ``JPY_SESSION_NAME`` when it names an existing file, then the server's sessions
    API.
    """
    if explicit is not None:
        return _resolve_explicit(Path(explicit))
    from_env = os.environ.get(SESSION_NAME_ENV)
    if from_env:
        candidate = Path(from_env).expanduser()
        if not candidate.is_absolute():
            candidate = resolve_root_dir(start=Path.cwd()) / candidate
        if candidate.is_file():
            return candidate.resolve()
    return _notebook_from_server()


def _resolve_explicit(path: Path) -> Path:
    path = path.expanduser()
    if path.is_absolute():
        return path.resolve()
    root_candidate = resolve_root_dir(start=Path.cwd()) / path
    if root_candidate.exists():
        return root_candidate.resolve()
    return (Path.cwd() / path).resolve()


def _kernel_id() -> str | None:
    """The id jupyter-server gave this kernel, read from its connection file name
    (``kernel-<id>.json``).
    """
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not in a kernel, or no connection file
        return None
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-") : -len(".json")]
    return None


def _server_infos() -> list[dict[str, Any]]:
    """Running jupyter-servers, from the ``jpserver-*.json`` runtime files they write."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:  # pragma: no cover - jupyter_core ships with jupyter-server
        return []
    infos: list[dict[str, Any]] = []
    runtime = Path(jupyter_runtime_dir())
    for info_file in sorted(runtime.glob("jpserver-*.json")):
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and isinstance(info.get("url"), str):
            infos.append(info)
    return infos


def _notebook_from_server(timeout: float = 2.0) -> Path | None:
    """Asks each local jupyter-server which session owns this kernel; the first that knows wins."""
    kernel_id = _kernel_id()
    if kernel_id is None:
        return None
    for info in _server_infos():
        url = urllib.parse.urljoin(info["url"], "api/sessions")
        if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            continue  # only loopback servers: the token must never leave this machine
        request = urllib.request.Request(url)  # noqa: S310 - loopback http only, checked above
        if info.get("token"):
            request.add_header("Authorization", f"token {info['token']}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                sessions = json.load(response)
        except (OSError, ValueError):
            continue
        for session in sessions if isinstance(sessions, list) else []:
            kernel = session.get("kernel") or {}
            if kernel.get("id") == kernel_id and isinstance(session.get("path"), str):
                root = Path(str(info.get("root_dir") or info.get("notebook_dir") or "."))
                found: Path = (root / str(session["path"])).resolve()
                return found
    return None


# --------------------------------------------------------------------------------------------------
# Reading its course metadata


def relative_notebook_path(notebook: Path, root_dir: Path) -> str:
    """The notebook as the server names it (relative, ``/``-separated); its file name when outside
    root.
    """
    try:
        return notebook.resolve().relative_to(root_dir.resolve()).as_posix()
    except ValueError:
        return notebook.name


def _read_notebook_document(notebook: Path) -> dict[str, Any]:
    """The notebook's JSON document, read as plain JSON rather than with ``nbformat.read``.

    ``%tutor`` runs this in a fresh kernel, and importing nbformat there costs seconds: it imports
    jsonschema, whose format checkers compile dozens of grammars at import time. Only the top-level
    ``metadata`` is needed, and it sits in the same place in every nbformat version.
    """
    document = json.loads(notebook.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or ("cells" not in document and "worksheets" not in document):
        raise ValueError("not a notebook document")
    return document


def read_context(notebook: Path, root_dir: Path | None = None) -> NotebookContext:
    """Reads ``metadata.tutornb`` of ``notebook`` (flat ``course_id`` … keys, or ``course: {id,
    title}``).
    """
    root = root_dir if root_dir is not None else resolve_root_dir(start=notebook.parent)
    rel = relative_notebook_path(notebook, root)
    try:
        node = _read_notebook_document(notebook)
    except (OSError, ValueError) as exc:
        reason = "is missing" if isinstance(exc, OSError) else "is not a readable notebook"
        return NotebookContext(
            course=CourseContext(notebook_path=rel),
            notebook_file=notebook,
            note=f"The notebook {rel} {reason}: the tutor answers with a general context.",
        )
    reading = notebook_course_metadata(node)
    if not reading.present:
        return NotebookContext(
            course=CourseContext(notebook_path=rel), notebook_file=notebook, note=NO_METADATA_NOTE
        )
    meta = reading.metadata
    course = CourseContext(
        course_id=meta.course_id,
        course_title=meta.course_title,
        module_id=meta.module_id,
        module_title=meta.module_title,
        notebook_path=rel,
    )
    return NotebookContext(
        course=course,
        notebook_file=notebook,
        objectives=tuple(objective.text for objective in meta.objectives),
        quiz=tuple(meta.quiz),
        has_metadata=True,
    )


def current_context(notebook_path: str | os.PathLike[str] | None = None) -> NotebookContext:
    """The context of this kernel's notebook (or ``notebook_path``); a general one when unknown."""
    notebook = find_notebook(notebook_path)
    if notebook is None:
        return NotebookContext(course=CourseContext(), note=NO_NOTEBOOK_NOTE)
    return read_context(notebook, resolve_root_dir(start=notebook.parent))
