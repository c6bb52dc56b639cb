"""A copy of the repository's sample course, for the instructor tools to check, break and share."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tutornb.cli import main

COURSE = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    folder = tmp_path / "course"
    folder.mkdir()
    for notebook in sorted(COURSE.glob("*.ipynb")):
        shutil.copy(notebook, folder / notebook.name)
    return folder


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def save(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def edit_meta(path: Path, change: Any) -> None:
    document = load(path)
    change(document["metadata"]["tutornb"])
    save(path, document)


LISTS_CONTEXT = {
    "course_id": "python-foundations",
    "course_title": "Python foundations",
    "module_id": "lists-and-loops",
    "module_title": "Lists & loops",
    "notebook_path": "01_lists_and_loops.ipynb",
}
#: A quiz with wrong picks (misconceptions), then a question the sample course does not cover.
STRUGGLING = [
    "quiz me",
    "go",
    "a",
    "b",
    "a",
    "a",
    "a",
    "a",
    "How do I train a neural network with tensorflow?",
]


def tutor_sessions(
    course: Path, owner: str, script: list[str], context: dict[str, str] | None = None
) -> Path:
    """Real turns of the offline course tutor on the copied course, stored in ``course/.tutornb``."""
    import asyncio

    from tutornb.service import TutorService

    store_dir = course / ".tutornb"
    service = TutorService.open(root_dir=course, store_dir=store_dir, tutor="course")

    async def run() -> None:
        session = service.create_session(owner, {"context": context or LISTS_CONTEXT})
        for text in script:
            await service.ask(owner, session.id, text)
        await service.drain()

    try:
        asyncio.run(run())
    finally:
        service.close()
    return store_dir


SCRIPT_QUESTION = "Why does <script>alert(1)</script> not run & what about tensorflow?"


def _learner(tmp_path: Path, name: str, script: list[str]) -> Path:
    home = tmp_path / name
    shutil.copytree(COURSE, home, ignore=shutil.ignore_patterns(".tutornb", ".ipynb_checkpoints"))
    return tutor_sessions(home, name, script)


def shared_file(folder: Path, learner: str, course: str = "python-foundations") -> Path:
    """The one report ``learner`` shared into ``folder`` (its name ends in a random suffix)."""
    [found] = folder.glob(f"{course}__{learner}__*.json")
    return found


@pytest.fixture
def exchange(tmp_path: Path) -> Path:
    folder = tmp_path / "exchange"
    folder.mkdir()
    ann = _learner(tmp_path, "ann", STRUGGLING)
    bo = _learner(tmp_path, "bo", [SCRIPT_QUESTION, "quiz me", "go", "b", "b", "a", "a", "a"])
    assert main(["progress", "--store", str(ann), "-o", str(folder), "--yes"]) == 0
    assert main(["progress", "--store", str(bo), "-o", str(folder), "--yes", "--include-questions"]) == 0
    return folder
