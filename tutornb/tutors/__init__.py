"""Tutors, found by name through the ``tutornb.tutors`` entry-point group.

``course`` (offline, grounded in the course notebooks) and ``openai`` (any OpenAI-compatible Chat
Completions endpoint) ship with tutornb; a third-party package adds its own tutor by declaring an
entry point in that group, and a deployment picks it by name in its configuration.
"""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from tutornb.errors import TutorNBError, TutorUnavailable
from tutornb.tutors.base import Tutor

ENTRY_POINT_GROUP = "tutornb.tutors"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)  # the first distribution on sys.path wins, as for imports
    return found


def available_tutors() -> list[str]:
    """Names of every installed tutor, sorted."""
    return sorted(_entry_points())


def load_tutor(name: str, *, root_dir: Path, options: dict[str, Any] | None = None) -> Tutor:
    """Creates the tutor registered under ``name``, passing it the server root and its options.

    Raises :class:`~tutornb.errors.TutorUnavailable` with a message naming the known tutors when the
    name is unknown, and when the tutor cannot be imported or refuses its options.
    """
    known = _entry_points()
    entry = known.get(name) if isinstance(name, str) else None
    if entry is None:
        shown = repr(name) if isinstance(name, str) and _NAME_RE.fullmatch(name) else "this name"
        listing = ", ".join(sorted(known)) or "none installed"
        raise TutorUnavailable(f"No tutor is registered as {shown}. Known tutors: {listing}.")
    try:
        factory = entry.load()
    except Exception as exc:
        raise TutorUnavailable(f"The tutor {name!r} could not be loaded ({type(exc).__name__}).") from None
    try:
        tutor = factory(root_dir=Path(root_dir), options=dict(options or {}))
    except TutorNBError:
        raise
    except Exception as exc:
        raise TutorUnavailable(f"The tutor {name!r} could not be created ({type(exc).__name__}).") from None
    if not isinstance(tutor, Tutor):
        raise TutorUnavailable(f"The tutor {name!r} does not implement the tutor protocol.")
    return tutor


__all__ = ["ENTRY_POINT_GROUP", "Tutor", "available_tutors", "load_tutor"]
