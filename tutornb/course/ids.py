"""The one rule for ids that name folders and hub groups (course ids, exercise ids)."""

from __future__ import annotations

import re

#: Letters, digits, ``.``, ``_`` and ``-``, not starting with a dot: safe as a file name and in a
#: hub group name (``instructors-<course_id>``).
_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def is_valid_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def checked_course_id(value: str) -> str:
    if not is_valid_id(value):
        raise ValueError(f"not a valid course id: {value[:100]!r}")
    return value
