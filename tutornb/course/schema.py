"""The published JSON Schema of ``metadata.tutornb``, committed as ``schema.json`` beside this file.

Editors and CI jobs outside Python validate course notebooks against the committed file; a test
keeps it equal to :func:`tutornb.course.metadata.course_metadata_schema` (generated from the pydantic
models), so the file can never drift from what tutornb reads. Regenerate it with
``python -m tutornb.course.schema``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tutornb.course.metadata import course_metadata_schema

SCHEMA_FILE = Path(__file__).with_name("schema.json")


def render_schema() -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline (stable diffs)."""
    return json.dumps(course_metadata_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def published_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


if __name__ == "__main__":  # pragma: no cover - a maintainer's regeneration step
    SCHEMA_FILE.write_text(render_schema(), encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_FILE}\n")
