"""A copy of the repository's sample course, for the instructor tools to check, break and share."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

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
