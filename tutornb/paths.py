"""Where the store lives, whom it belongs to and which tutor answers, decided alike by server, kernels, CLI.

The server extension exports ``TUTORNB_ROOT_DIR``, ``TUTORNB_STORE_DIR`` (and
``TUTORNB_EXCHANGE_DIR``) into its environment, so every kernel it starts (which inherits that
environment) writes to the very same store as the server. It never exports its tutor's options or
policy (a model's API key would be in every kernel): it exports ``TUTORNB_SERVER_URL`` and
``TUTORNB_KERNEL_TOKEN`` instead, and ``%tutor ask`` asks the server's tutor through them. Only a
kernel without a tutornb server reads ``TUTORNB_TUTOR`` / ``TUTORNB_TUTOR_OPTIONS``: the
learner's own configuration.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

STORE_DIR_ENV = "TUTORNB_STORE_DIR"
ROOT_DIR_ENV = "TUTORNB_ROOT_DIR"
STORE_FOLDER = ".tutornb"
TUTOR_ENV = "TUTORNB_TUTOR"
TUTOR_OPTIONS_ENV = "TUTORNB_TUTOR_OPTIONS"
#: The course's exchange folder for shared progress reports (``TutorNBApp.exchange_dir``).
EXCHANGE_DIR_ENV = "TUTORNB_EXCHANGE_DIR"
#: The server's loopback URL and the token its kernels ask its tutor with (``%tutor ask``).
SERVER_URL_ENV = "TUTORNB_SERVER_URL"
KERNEL_TOKEN_ENV = "TUTORNB_KERNEL_TOKEN"  # noqa: S105 - a variable name, not a secret
KERNEL_TOKEN_HEADER = "X-TutorNB-Kernel-Token"  # noqa: S105 - a header name


def resolve_store_dir(
    root_dir: Path | None = None, *, start: Path | None = None, explicit: str | os.PathLike[str] | None = None
) -> Path:
    """The store folder (the one rule for it): ``explicit`` (a trait or ``--store``), else
    ``$TUTORNB_STORE_DIR``, else ``<root>/.tutornb``.

    Without a known root (a kernel outside jupyter-server, the CLI), the nearest existing ``.tutornb``
    above ``start`` is used, so a notebook in a sub-folder finds its course's store; failing that, the
    folder is created next to ``start``.
    """
    explicit = explicit or os.environ.get(STORE_DIR_ENV)
    if explicit:
        return _absolute_unfollowed(Path(explicit))
    if root_dir is None and os.environ.get(ROOT_DIR_ENV):
        root_dir = Path(os.environ[ROOT_DIR_ENV])
    if root_dir is not None:
        return Path(root_dir).expanduser().resolve() / STORE_FOLDER
    here = (start or Path.cwd()).expanduser().resolve()
    for folder in (here, *here.parents):
        if (folder / STORE_FOLDER).is_dir():
            return folder / STORE_FOLDER
    return here / STORE_FOLDER


def _absolute_unfollowed(path: Path) -> Path:
    """``path`` made absolute with its parent folders resolved, but not the store folder itself: a
    store folder that is a symbolic link must reach the store's own check (and be refused there),
    not be silently replaced by wherever it points."""
    absolute = Path(os.path.abspath(path.expanduser()))
    return absolute.parent.resolve() / absolute.name


def display_path(path: Path, root_dir: Path) -> str:
    """A store location fit for ``/status`` and logs: never the absolute layout of the machine."""
    try:
        rel = path.resolve().relative_to(root_dir.resolve())
        return "<root>" if str(rel) == "." else f"<root>/{rel.as_posix()}"
    except (ValueError, OSError):
        pass
    try:
        return f"~/{path.resolve().relative_to(Path.home().resolve()).as_posix()}"
    except (ValueError, OSError, RuntimeError):
        return f"<external>/{path.name}"


def resolve_root_dir(start: Path | None = None) -> Path:
    """The server root as the kernel or CLI sees it: ``$TUTORNB_ROOT_DIR``, else the store's parent."""
    if os.environ.get(ROOT_DIR_ENV):
        return Path(os.environ[ROOT_DIR_ENV]).expanduser().resolve()
    return resolve_store_dir(start=start).parent


def default_owner() -> str:
    """The single user of a personal server: the hub user on JupyterHub, else the OS account.

    Every browser of a single-user server, and every kernel it starts, maps to this owner, so they all
    see the same history.
    """
    hub_user = os.environ.get("JUPYTERHUB_USER")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "learner"


def tutor_from_environment() -> tuple[str, dict[str, Any]]:
    """The tutor name and options the server handed down (``course`` with no options by default).

    Options that are not a JSON object are ignored rather than fatal: a kernel must still open its panel.
    """
    name = os.environ.get(TUTOR_ENV) or "course"
    try:
        options = json.loads(os.environ.get(TUTOR_OPTIONS_ENV) or "{}")
    except ValueError:
        options = {}
    return name, options if isinstance(options, dict) else {}
