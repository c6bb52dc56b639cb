"""What every ``tutornb`` subcommand shares: exit codes, the one-line error, and opening the store.

Its own module so every command family of this package (``sessions``, ``maintenance``, ``lab``,
``instructor``) uses it without importing the others.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutornb.store import SessionStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A failure worth one line to the user."""


def store_dir(args: argparse.Namespace) -> Path:
    from tutornb.paths import resolve_store_dir

    return resolve_store_dir(explicit=getattr(args, "store", None))


def store_exists(folder: Path) -> bool:
    from tutornb.store.files import SNAPSHOT
    from tutornb.store.migrate import V1_FILE

    return (folder / SNAPSHOT).exists() or (folder / V1_FILE).exists()


def open_store(args: argparse.Namespace) -> SessionStore:
    from tutornb.store import SessionStore

    folder = store_dir(args)
    if not store_exists(folder):
        raise CLIError(f"no tutornb store at {folder} (use --store DIR)")
    return SessionStore(folder, background_compaction=False)
