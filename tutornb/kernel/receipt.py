"""The AI-use receipt a learner attaches to a submission (``%tutor receipt``, then ``--confirm``).

Per exercise of the notebook: how many hints the tutor gave, whether it showed the solution, and
how many of the notebook's code cells in that exercise hold code the tutor wrote (a code block of a
tutor reply found in the cell). It is built from the learner's own sessions for this notebook, shown
to them first, and written into the notebook's metadata under :data:`RECEIPT_KEY`, where nbgrader's
tools (which read and keep notebook metadata) and any nbformat reader find it.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tutornb.atomicfile import replace_file
from tutornb.course.metadata import notebook_course_metadata
from tutornb.instructor.notebooks import (
    NotebookReadError,
    cell_source,
    headings,
    normalize_heading,
    read_notebook,
)
from tutornb.models import Role
from tutornb.store.api import SessionQuery, SessionStoreAPI

RECEIPT_KEY = "tutornb_ai_use"
RECEIPT_FORMAT = "tutornb.ai-use-receipt"
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
#: Shorter snippets (``x = 1``) say nothing about where a cell's code came from.
MIN_SNIPPET = 12


class ExerciseUse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exercise: str
    hints: int
    solution_shown: bool
    cells_with_tutor_code: int


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = RECEIPT_FORMAT
    version: int = 1
    generated_at: datetime
    learner: str
    notebook: str
    sessions: int
    tutor_messages: int
    exercises: list[ExerciseUse]


def _squash(text: str) -> str:
    return "".join(text.split())


def _sections(document: dict[str, Any], names: list[str]) -> dict[str, list[str]]:
    """The code cells under each exercise heading (up to the next heading of its level or above)."""
    found = headings(document)
    cells = document.get("cells", [])
    sections: dict[str, list[str]] = {}
    for position, heading in enumerate(found):
        if heading.text not in names:
            continue
        end = next(
            (
                h.cell_index
                for h in found[position + 1 :]
                if h.level <= heading.level and h.cell_index > heading.cell_index
            ),
            len(cells),
        )
        sections[heading.text] = [
            cell_source(c) for c in cells[heading.cell_index + 1 : end] if c.get("cell_type") == "code"
        ]
    return sections


def build_receipt(store: SessionStoreAPI, owner: str, notebook: Path, notebook_path: str) -> Receipt:
    document = read_notebook(notebook)
    declared = [normalize_heading(e.heading) for e in notebook_course_metadata(document).metadata.exercises]
    hints: Counter[str] = Counter()
    shown: set[str] = set()
    snippets: list[str] = []
    sessions = tutor_messages = 0
    page = store.list_sessions(SessionQuery(owner=owner, notebook_path=notebook_path, limit=200))
    for summary in page.sessions:
        export = store.export_session(summary.id)
        sessions += 1
        for action in export.actions:
            exercise = normalize_heading(str(action.data.get("exercise") or ""))
            if not exercise:
                continue
            if action.action == "hint_given":
                hints[exercise] += 1
            elif action.action == "solution_shown":
                shown.add(exercise)
        for message in export.messages:
            if message.role is Role.TUTOR:
                tutor_messages += 1
                snippets += [_squash(block) for block in _FENCE.findall(message.text)]
    snippets = [s for s in snippets if len(s) >= MIN_SNIPPET]
    names = list(dict.fromkeys([*declared, *hints, *shown]))
    sections = _sections(document, names)
    return Receipt(
        generated_at=datetime.now(timezone.utc),
        learner=owner,
        notebook=notebook.name,
        sessions=sessions,
        tutor_messages=tutor_messages,
        exercises=[
            ExerciseUse(
                exercise=name,
                hints=hints[name],
                solution_shown=name in shown,
                cells_with_tutor_code=sum(
                    1 for code in sections.get(name, []) if any(s in _squash(code) for s in snippets)
                ),
            )
            for name in names
        ],
    )


def receipt_text(receipt: Receipt) -> str:
    lines = [
        f"AI-use receipt for {receipt.notebook} ({receipt.learner}): {receipt.sessions} tutor session(s), "
        f"{receipt.tutor_messages} tutor replies.",
    ]
    if not receipt.exercises:
        lines.append("This notebook names no exercises; only the totals above are recorded.")
    for use in receipt.exercises:
        solution = "SHOWN" if use.solution_shown else "not shown"
        lines.append(
            f"- {use.exercise}: {use.hints} hint(s); solution {solution}; "
            f"{use.cells_with_tutor_code} code cell(s) with code from the tutor"
        )
    return "\n".join(lines)


def attach_receipt(notebook: Path, receipt: Receipt) -> None:
    """Writes ``receipt`` into the notebook's metadata (atomically; everything else kept)."""
    document = read_notebook(notebook)
    metadata = document.setdefault("metadata", {})
    metadata[RECEIPT_KEY] = receipt.model_dump(mode="json")
    replace_file(notebook, (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


class ReceiptFlow:
    """``%tutor receipt`` shows the receipt; ``%tutor receipt --confirm`` writes exactly the one
    last shown (a receipt that changed since is shown again instead)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._shown: str | None = None

    def __call__(
        self,
        args: list[str],
        call: Callable[[Callable[[Any], Any]], Any],
        notebook: Path | None,
        rel: str | None,
    ) -> None:
        if args not in ([], ["--confirm"]):
            print("tutornb: usage: %tutor receipt [--confirm]", file=sys.stderr)
            return
        if notebook is None or rel is None:
            print("tutornb: this kernel does not know its notebook; open it in JupyterLab", file=sys.stderr)
            return
        try:
            receipt: Receipt = call(lambda service: build_receipt(service.store, self.owner, notebook, rel))
        except (NotebookReadError, OSError, ValueError) as exc:
            print(f"tutornb: {notebook.name}: {exc}", file=sys.stderr)
            return
        content = receipt.model_dump_json(exclude={"generated_at"})
        if args != ["--confirm"] or content != self._shown:
            self._shown = content
            print(receipt_text(receipt))
            again = "This differs from the receipt you saw last (or you saw none). " if args else ""
            print(
                f"{again}Nothing is added yet: run `%tutor receipt --confirm` "
                "to add exactly this to the notebook."
            )
            return
        try:
            attach_receipt(notebook, receipt)
        except (NotebookReadError, OSError, ValueError) as exc:
            print(f"tutornb: {notebook.name}: could not add the receipt ({exc})", file=sys.stderr)
            return
        self._shown = None
        print(
            f"Added the AI-use receipt to {notebook.name}'s metadata ({RECEIPT_KEY}). In JupyterLab, "
            "reload the notebook from disk (File > Reload Notebook from Disk) before saving, so the "
            "saved file keeps it."
        )
