"""Small helpers shared by the security tests (a uniquely named module: test folders are not
packages)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPResponse

Http = Callable[..., Awaitable[HTTPResponse]]


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
