"""The tutoring policy in force for a notebook: server configuration over course over defaults.

A course states its policy in a notebook's ``metadata.tutornb.policy`` or, for every notebook of a
folder, in a course file (:data:`COURSE_FILE`) beside them; the notebook's own wins over the folder's.
The server's ``TutorNBApp.policy`` (a partial mapping, e.g. ``{"solutions": "never"}``) overrides
both field by field: on a hub the admin's configuration is not the learner's to edit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tutornb.course.metadata import TutoringPolicy

#: The course file: ``{"course_id"?: str, "course_title"?: str, "policy": {...}}``.
COURSE_FILE = "tutornb-course.json"
_MAX_COURSE_FILE = 256 * 1024


class PolicyError(ValueError):
    """A course file or a policy override that does not fit :class:`TutoringPolicy`."""


def read_course_file(folder: Path) -> dict[str, Any] | None:
    """The course file of ``folder`` as a mapping, ``None`` when there is none. Raises
    :class:`PolicyError` with a one-line reason when it is unreadable. Never follows a symlink."""
    path = folder / COURSE_FILE
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or not path.is_file():
        raise PolicyError(f"{COURSE_FILE} is not a regular file")
    if path.stat().st_size > _MAX_COURSE_FILE:
        raise PolicyError(f"{COURSE_FILE} is larger than {_MAX_COURSE_FILE // 1024} KiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PolicyError(f"{COURSE_FILE} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{COURSE_FILE} must hold a JSON object")
    return data


def course_file_policy(folder: Path) -> TutoringPolicy | None:
    """The ``policy`` of the course file in ``folder``, if any (see :func:`read_course_file`)."""
    data = read_course_file(folder)
    if data is None or data.get("policy") is None:
        return None
    try:
        return TutoringPolicy.model_validate(data["policy"])
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PolicyError(f"{COURSE_FILE}: policy.{where}: {first['msg']}") from None


def effective_policy(
    *,
    notebook: TutoringPolicy | None = None,
    course_file: TutoringPolicy | None = None,
    override: Mapping[str, Any] | None = None,
) -> TutoringPolicy:
    """The policy in force: ``override`` (server configuration) field by field over the notebook's
    policy, or else the course file's, or else the defaults. Raises :class:`PolicyError` when the
    override does not fit."""
    base = notebook or course_file or TutoringPolicy()
    if not override:
        return base
    merged = {**base.model_dump(), **dict(override)}
    try:
        return TutoringPolicy.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PolicyError(f"TutorNBApp.policy: {where}: {first['msg']}") from None
