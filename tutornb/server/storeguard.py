"""Keeps jupyter-server's own file routes (``/files``, ``/api/contents``, ``/view``, ``/nbconvert``
…) away from the store folder.

The default store is ``<root>/.tutornb``, inside the folder jupyter-server serves. Being hidden,
it is refused by those routes by default; but a deployment that sets
``ContentsManager.allow_hidden = True`` (common, to see dotfiles) would serve every transcript at
``/files/.tutornb/journal.jsonl`` and let the contents API overwrite, rename or delete the store.
So, whatever the contents manager allows:

- a request whose URL path names the store folder answers 404 (``/files`` is served from disk by a
  static handler that only asks the contents manager whether hidden files are allowed);
- the contents manager refuses (404) every operation whose API path names the store, including
  paths that arrive in a request body (``copy_from``, a rename's new ``path``), and reports such
  paths as hidden and absent;
- the folder is left out of directory listings.

The store is recognised under every name it has below the root: as configured (``<root>/.tutornb``
even when that is a symlink to a folder elsewhere, since jupyter-server follows it) and as resolved.
Another symlink placed inside the root that points into the store is not recognised: whoever can
create one can read the store directly anyway.

Paths are compared the way a file system might resolve them: percent-decoded (repeatedly),
``.``/``..`` collapsed, backslashes as separators, case-folded, trailing dots and spaces dropped.
"""

from __future__ import annotations

import functools
import inspect
import os
import posixpath
import unicodedata
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import httputil, web
from tornado.routing import Matcher, Rule

_NOT_FOUND = "file or directory does not exist"
#: Contents-manager methods and the names of their API-path arguments.
_PATH_METHODS: dict[str, tuple[str, ...]] = {
    "get": ("path",),
    "save": ("path",),
    "update": ("path",),
    "delete": ("path",),
    "delete_file": ("path",),
    "rename": ("old_path", "new_path"),
    "rename_file": ("old_path", "new_path"),
    "new": ("path",),
    "new_untitled": ("path",),
    "copy": ("from_path", "to_path"),
    "create_checkpoint": ("path",),
    "list_checkpoints": ("path",),
    "restore_checkpoint": ("path",),
    "delete_checkpoint": ("path",),
    "trust_notebook": ("path",),
    "get_kernel_path": ("path",),
}
#: Predicates answered for store paths without asking the file system: hidden, and absent.
_PREDICATES: dict[str, bool] = {
    "is_hidden": True,
    "exists": False,
    "file_exists": False,
    "dir_exists": False,
}


def _segment_key(segment: str) -> str:
    return unicodedata.normalize("NFC", segment).rstrip(". ").casefold()


def _decodings(path: str) -> list[str]:
    """The path as given and as each further percent-decoding would read it."""
    forms = [path]
    for _ in range(3):
        decoded = urllib.parse.unquote(forms[-1], errors="replace")
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms


class StorePathMatcher(Matcher):
    """Matches any request whose path contains one of the store's root-relative paths as whole
    segments.

    Requests under ``exempt_prefix`` (tutornb's own API, whose handlers never touch files and
    answer every path with JSON) are left to their routes.
    """

    def __init__(
        self,
        store_parts: tuple[str, ...],
        exempt_prefix: str | None = None,
        *,
        aliases: tuple[tuple[str, ...], ...] = (),
    ) -> None:
        keyed = (tuple(_segment_key(p) for p in parts) for parts in (store_parts, *aliases) if parts)
        self.names = tuple(dict.fromkeys(keyed))
        self.exempt_prefix = exempt_prefix

    def names_store(self, path: str) -> bool:
        for form in _decodings(path):
            normalized = posixpath.normpath(form.replace("\\", "/"))
            segments = [_segment_key(s) for s in normalized.split("/") if s]
            for parts in self.names:
                size = len(parts)
                for start in range(len(segments) - size + 1):
                    if tuple(segments[start : start + size]) == parts:
                        return True
        return False

    def match(self, request: httputil.HTTPServerRequest) -> dict[str, Any] | None:
        path = request.path or ""
        if self.exempt_prefix and path.startswith(self.exempt_prefix):
            return None
        return {} if self.names_store(path) else None


class StoreGuardHandler(APIHandler):
    """404 for every verb; authenticated and authorized like the contents API it stands in for."""

    auth_resource = "contents"

    @web.authenticated
    @authorized
    def get(self, *args: Any, **kwargs: Any) -> None:
        raise web.HTTPError(404, _NOT_FOUND)

    @web.authenticated
    @authorized
    def head(self, *args: Any, **kwargs: Any) -> None:
        raise web.HTTPError(404, _NOT_FOUND)

    @web.authenticated
    @authorized
    def post(self, *args: Any, **kwargs: Any) -> None:
        raise web.HTTPError(404, _NOT_FOUND)

    @web.authenticated
    @authorized
    def put(self, *args: Any, **kwargs: Any) -> None:
        raise web.HTTPError(404, _NOT_FOUND)

    @web.authenticated
    @authorized
    def patch(self, *args: Any, **kwargs: Any) -> None:
        raise web.HTTPError(404, _NOT_FOUND)

    @web.authenticated
    @authorized
    def delete(self, *args: Any, **kwargs: Any) -> None:
        raise web.HTTPError(404, _NOT_FOUND)


def _refusing(original: Callable[..., Any], names: tuple[str, ...], matcher: StorePathMatcher) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:
            bound = {}
        paths = [bound.get(name) for name in names]
        model = bound.get("model")
        if isinstance(model, dict):
            paths.append(model.get("path"))
        if any(isinstance(p, str) and matcher.names_store(p) for p in paths):
            raise web.HTTPError(404, _NOT_FOUND)
        return original(*args, **kwargs)

    return guarded


def _answering(original: Callable[..., Any], answer: bool, matcher: StorePathMatcher) -> Any:
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def guarded_async(path: str = "", *args: Any, **kwargs: Any) -> Any:
            if isinstance(path, str) and matcher.names_store(path):
                return answer
            return await original(path, *args, **kwargs)

        return guarded_async

    @functools.wraps(original)
    def guarded(path: str = "", *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str) and matcher.names_store(path):
            return answer
        return original(path, *args, **kwargs)

    return guarded


def guard_contents_manager(contents_manager: Any, names: list[tuple[str, ...]]) -> None:
    """Wraps the manager's path-taking methods on this instance (its class is left alone)."""
    matcher = StorePathMatcher(names[0], aliases=tuple(names[1:]))
    for name, arguments in _PATH_METHODS.items():
        original = getattr(contents_manager, name, None)
        if callable(original):
            setattr(contents_manager, name, _refusing(original, arguments, matcher))
    for name, answer in _PREDICATES.items():
        original = getattr(contents_manager, name, None)
        if callable(original):
            setattr(contents_manager, name, _answering(original, answer, matcher))
    hide_globs = getattr(contents_manager, "hide_globs", None)
    if isinstance(hide_globs, list):
        extra = [parts[-1] for parts in names if parts[-1] not in hide_globs]
        contents_manager.hide_globs = [*hide_globs, *dict.fromkeys(extra)]


def store_names_under(root: Path, store_dir: Path) -> list[tuple[str, ...]]:
    """Every root-relative path by which jupyter-server could reach the store: the configured one
    (not resolved: a ``.tutornb`` symlink to a folder outside the root is still served through its
    name) and the resolved one."""
    literal_root = Path(os.path.normpath(root.expanduser().absolute()))
    literal_store = Path(os.path.normpath(store_dir.expanduser().absolute()))
    names: list[tuple[str, ...]] = []
    for base, target in (
        (literal_root, literal_store),
        (root.resolve(), store_dir.resolve()),
        (literal_root, store_dir.resolve()),
    ):
        try:
            parts = target.relative_to(base).parts
        except ValueError:
            continue  # not below the root under this name
        if parts and parts not in names:
            names.append(parts)
    return names


def install_store_guard(serverapp: Any, root: Path, store_dir: Path) -> bool:
    """Guards ``store_dir`` under every name it has inside the served ``root``; True when a guard
    was added. Pass the store as configured, not resolved (see :func:`store_names_under`)."""
    names = store_names_under(root, store_dir)
    if not names:
        return False  # outside the root (jupyter-server cannot reach it), or the root itself
    # First rule of the application's router: checked before any core or extension route.
    api_prefix = url_path_join(serverapp.base_url, "tutornb", "api")
    matcher = StorePathMatcher(names[0], exempt_prefix=api_prefix, aliases=tuple(names[1:]))
    serverapp.web_app.default_router.rules.insert(0, Rule(matcher, StoreGuardHandler))
    contents_manager = getattr(serverapp, "contents_manager", None)
    if contents_manager is not None:
        guard_contents_manager(contents_manager, names)
    return True
