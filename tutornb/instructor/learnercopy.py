"""``tutornb course learner-copy SRC DEST``: the course as learners get it when the tutornb-hub
service holds the solutions (every exercise's ``solution`` removed; hints, expected results and the
policy stay, the learner's tutor needs them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tutornb.atomicfile import replace_file
from tutornb.instructor.notebooks import read_notebook


def learner_copy(notebook: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(notebook)
    meta = copied.get("metadata", {}).get("tutornb")
    if isinstance(meta, dict):
        for exercise in meta.get("exercises") or []:
            if isinstance(exercise, dict):
                exercise.pop("solution", None)
    return copied


def write_learner_copies(notebooks: list[Path], destination: Path) -> list[Path]:
    """Each notebook's learner copy in ``destination`` (same file names); the paths written."""
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        target = destination / path.name
        if target.resolve() == path.resolve():
            raise ValueError(f"{path}: the copy would replace the instructor's notebook")
        text = json.dumps(learner_copy(read_notebook(path)), indent=1, ensure_ascii=False) + "\n"
        replace_file(target, text.encode("utf-8"))
        written.append(target)
    return written
