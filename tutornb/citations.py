"""How a citation reads to a person: the one formatter every view uses.

Citations store nbformat's 0-based ``cell_index``; people count cells from 1. The panel (chat.js,
``citationText``), the ``%tutor`` magic, the tutors' own text and every export print the same words
for the same citation, so a learner can match "cell 8" in an export to "cell 8" in the panel.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from tutornb.models import Citation

SEPARATOR = " · "


def cell_label(cell_index: int) -> str:
    """``cell N`` counted from 1 (the stored index counts from 0)."""
    return f"cell {cell_index + 1}"


def format_citation(citation: Citation) -> str:
    """``notebook.ipynb · cell N · Heading`` (the heading only when there is one)."""
    name = PurePosixPath(citation.notebook_path.replace("\\", "/")).name or citation.notebook_path
    parts = [name, cell_label(citation.cell_index)]
    if citation.heading:
        parts.append(citation.heading)
    return SEPARATOR.join(parts)


def format_sources(citations: Iterable[Citation]) -> str:
    """``Sources: a · cell 1; b · cell 3`` (an empty string when there are none)."""
    shown = [format_citation(c) for c in citations]
    return "Sources: " + "; ".join(shown) if shown else ""
