"""Finding and reading a course's notebooks for the instructor tools.

A PATH on the command line is a notebook or a course folder; a folder means every ``.ipynb`` below
it, except checkpoints and hidden folders. Symlinks are never followed: a course folder that links
elsewhere must not make the checker or ``course init`` read or rewrite files outside it.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from tutornb.saferead import NotARegularFile, TooLarge, read_limited

#: Larger notebooks are refused rather than read (a course notebook is a few hundred KiB).
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024

_MARKDOWN = MarkdownIt("commonmark")


class NotebookReadError(ValueError):
    """A notebook that cannot be read: the message is one line for the instructor."""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    cell_index: int


def _skipped(path: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in path.parts)


def _walk(folder: Path) -> Iterator[Path]:
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.suffix == ".ipynb" and entry.is_file():
            yield entry


def find_notebooks(paths: Iterable[Path]) -> list[Path]:
    """The notebooks named by ``paths`` (files as given, folders searched), each once, in order.
    A path that does not exist or is not a notebook raises :class:`NotebookReadError`."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_symlink():
            raise NotebookReadError(f"{path}: is a symbolic link; give the real path")
        if path.is_dir():
            found.update(dict.fromkeys(p for p in _walk(path) if not _skipped(p.relative_to(path))))
        elif path.is_file() and path.suffix == ".ipynb":
            found[path] = None
        elif path.exists():
            raise NotebookReadError(f"{path}: not a notebook (.ipynb) or a folder")
        else:
            raise NotebookReadError(f"{path}: no such file or folder")
    return list(found)


def read_notebook(path: Path) -> dict[str, Any]:
    """The notebook as parsed JSON (kept as-is, so a rewrite changes only what it means to), with
    the shape every reader relies on checked: an object with a ``metadata`` object and a list of
    cells, each an object whose ``cell_type`` is text and whose ``source`` is text or a list of text."""
    try:
        raw, _ = read_limited(path, MAX_NOTEBOOK_BYTES)
        document = json.loads(raw)
    except NotARegularFile:
        raise NotebookReadError("notebook: not a regular file") from None
    except TooLarge:
        raise NotebookReadError("notebook: larger than 50 MiB") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotebookReadError("notebook: is a symbolic link; not followed") from None
        raise NotebookReadError(f"notebook: cannot be read ({exc.strerror or type(exc).__name__})") from None
    except RecursionError:
        raise NotebookReadError("notebook: nested too deeply to be a notebook") from None
    except ValueError:
        raise NotebookReadError("notebook: not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise NotebookReadError("notebook: not a Jupyter notebook (no cells)")
    _check_shape(document)
    return document


def _check_shape(document: dict[str, Any]) -> None:
    if not isinstance(document.setdefault("metadata", {}), dict):
        raise NotebookReadError("metadata: not an object")
    for index, cell in enumerate(document["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookReadError(f"cells.{index}: not a cell (an object with a cell_type)")
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
            isinstance(source, list) and all(isinstance(line, str) for line in source)
        ):
            raise NotebookReadError(f"cells.{index}.source: not text or a list of text")


def cell_source(cell: object) -> str:
    if not isinstance(cell, dict):
        return ""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def headings(document: dict[str, Any]) -> list[Heading]:
    """Every Markdown heading of the notebook, parsed as Markdown (a ``#`` in a code fence is not
    a heading)."""
    found: list[Heading] = []
    for index, cell in enumerate(document.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        tokens = _MARKDOWN.parse(cell_source(cell))
        for position, token in enumerate(tokens):
            if token.type == "heading_open" and position + 1 < len(tokens):
                text = normalize_heading(tokens[position + 1].content)
                if text:
                    found.append(Heading(int(token.tag[1:]), text, index))
    return found


def normalize_heading(text: str) -> str:
    """Headings compare without surrounding ``#``, emphasis marks or repeated spaces."""
    return " ".join(text.replace("*", "").replace("`", "").strip().strip("#").split())
