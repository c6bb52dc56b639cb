"""Which citations may be stored and shown: the one rule, applied wherever a message is built.

A citation names a notebook of the course and a cell in it; the panel turns it into a link that
opens that notebook. Only what that can mean is kept: a relative, normalised path to an ``.ipynb``
inside the server root (no ``/etc/passwd``, no ``../``, no ``javascript:``, no backslashes or
control characters) and a non-negative cell index. Anything else (an imported file's, a tutor's)
is dropped, and the import counts what it dropped.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

MAX_CITATION_PATH = 1024
#: ``scheme:`` at the start (a URL, or a Windows drive such as ``C:``).
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def citation_path_is_valid(path: object) -> bool:
    if not isinstance(path, str) or not path or len(path) > MAX_CITATION_PATH:
        return False
    if path.startswith("/") or _SCHEME.match(path) or _CONTROL.search(path):
        return False
    if posixpath.normpath(path) != path or path.split("/", 1)[0] == "..":
        return False
    return path.endswith(".ipynb") and not path.rsplit("/", 1)[-1].startswith(".")


def citation_is_valid(citation: object) -> bool:
    """A stored or incoming citation (a mapping, or a model with the same fields) that may be kept."""
    if isinstance(citation, Mapping):
        fields: Mapping[str, Any] = citation
    elif hasattr(citation, "notebook_path") and hasattr(citation, "cell_index"):
        fields = {"notebook_path": citation.notebook_path, "cell_index": citation.cell_index}
        fields["heading"] = getattr(citation, "heading", "")
    else:
        return False
    index = fields.get("cell_index")
    heading = fields.get("heading", "")
    return (
        citation_path_is_valid(fields.get("notebook_path"))
        and isinstance(index, int)
        and not isinstance(index, bool)
        and index >= 0
        and isinstance(heading, str)
    )


def invalid_citations(messages: object) -> int:
    """How many citations of raw ``messages`` (as in an export's JSON) the rule drops."""
    if not isinstance(messages, list):
        return 0
    dropped = 0
    for message in messages:
        cited = message.get("citations") if isinstance(message, Mapping) else None
        if isinstance(cited, list):
            dropped += sum(1 for c in cited if not citation_is_valid(c))
    return dropped
