"""Small helpers shared by the security tests (a uniquely named module: test folders are not
packages)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPResponse

from tutornb.render import ALLOWED_TAGS

Http = Callable[..., Awaitable[HTTPResponse]]


#: (method, path under tutornb/api) for every REST operation; ``{sid}`` is a fresh session's id.
OPERATIONS: list[tuple[str, str]] = [
    ("GET", "status"),
    ("GET", "sessions"),
    ("POST", "sessions"),
    ("POST", "sessions/import"),
    ("POST", "kernel/ask"),
    ("GET", "sessions/{sid}"),
    ("DELETE", "sessions/{sid}"),
    ("GET", "sessions/{sid}/messages"),
    ("PUT", "sessions/{sid}/pause"),
    ("PUT", "sessions/{sid}/resume"),
    ("PUT", "sessions/{sid}/close"),
    ("GET", "sessions/{sid}/export"),
    # The JSON 404 catch-all is a route like any other: every verb it implements is guarded too.
    ("GET", "no/such/route"),
    ("POST", "no/such/route"),
    ("PUT", "no/such/route"),
    ("PATCH", "no/such/route"),
    ("DELETE", "no/such/route"),
]


def login_cookie(response: HTTPResponse) -> str:
    """The ``username-…`` login cookie jupyter-server set on ``response`` (a token login)."""
    for header in response.headers.get_list("Set-Cookie"):
        name_value = header.split(";", 1)[0]
        if name_value.startswith("username-"):
            return name_value
    raise AssertionError("no login cookie was set")


def tree_snapshot(folder: Path, skip: Path | None = None) -> dict[str, tuple[str, int, int]]:
    """Every file under ``folder`` (outside ``skip``) with its hash, mtime and mode: any
    difference means a file was created, changed, removed or re-permissioned."""
    out: dict[str, tuple[str, int, int]] = {}
    for path in sorted(folder.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(folder))] = (digest, st.st_mtime_ns, st.st_mode)
        elif path.is_dir():
            out[str(path.relative_to(folder)) + "/"] = ("dir", 0, path.stat().st_mode)
    return out


def json_of(response: HTTPResponse) -> Any:
    if response.body and response.headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(response.body)
    return None


# --------------------------------------------------------------------------------------------------
# HTML that reaches the page


#: Tags the server's sanitizer may emit (tutornb.render's allowlist itself, never a copy).
SAFE_TAGS = frozenset(ALLOWED_TAGS)
#: Attributes that must never reach the page, whatever the tag.
FORBIDDEN_ATTRIBUTES = frozenset(
    {"id", "name", "style", "form", "formaction", "action", "srcdoc", "xlink:href", "background"}
)
SAFE_SCHEMES = ("http:", "https:", "mailto:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def html_problems(html: str) -> list[str]:
    """Everything dangerous in sanitized HTML: unknown tags, event handlers, clobbering names,
    styles, ``data-*`` (JupyterLab's command linker) and URLs that are not http(s)/mailto."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    problems = []
    for tag, attrs in parser.elements:
        if tag not in SAFE_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in FORBIDDEN_ATTRIBUTES or name.startswith("data-"):
                problems.append(f"<{tag} {name}>")
            if name in ("href", "src"):
                compact = "".join(c for c in (value or "") if c > " " and c != "\x7f").lower()
                if not compact.startswith(SAFE_SCHEMES):
                    problems.append(f"<{tag} {name}={value!r}>")
    return problems
