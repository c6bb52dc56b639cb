"""The session commands of the ``tutornb`` console script: ``sessions``, ``show``, ``export``, ``import``."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from tutornb.cli.common import EXIT_OK, CLIError, open_store, store_dir, store_exists
from tutornb.export import FORMATS, render_export, render_markdown
from tutornb.models import SessionExport


def _ago(moment: datetime) -> str:
    seconds = max(0, int((datetime.now(timezone.utc) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def cmd_sessions(args: argparse.Namespace) -> int:
    from tutornb import queryparams

    # The same parser as the REST listing (its message names the parameter and what it accepts).
    filters = {"q": args.q, "course_id": args.course, "module_id": args.module, "status": args.status}
    params = {key: value for key, value in filters.items() if value}
    query = queryparams.session_query({**params, "limit": str(args.limit)})
    if not store_exists(store_dir(args)):
        print("No sessions yet.")
        return EXIT_OK
    store = open_store(args)
    try:
        page = store.list_sessions(query)
    finally:
        store.close()
    if not page.sessions:
        print("No matching sessions.")
        return EXIT_OK
    print(f"{'ID':<18} {'STATUS':<7} {'PHASE':<10} {'MSGS':>5}  {'ACTIVE':<9} TITLE")
    for s in page.sessions:
        print(
            f"{s.id:<18} {s.status.value:<7} {s.phase.value:<10} {s.message_count:>5}  "
            f"{_ago(s.last_active_at):<9} {s.title}"
        )
    more = f" (showing {len(page.sessions)})" if page.total > len(page.sessions) else ""
    print(f"{page.total} session{'s' if page.total != 1 else ''}{more}")
    return EXIT_OK


def _export_document(args: argparse.Namespace) -> SessionExport:
    """Any owner's session: the CLI is the store's administrator."""
    store = open_store(args)
    try:
        return store.export_session(args.id)
    finally:
        store.close()


def cmd_show(args: argparse.Namespace) -> int:
    sys.stdout.write(render_markdown(_export_document(args)))
    return EXIT_OK


def _write_private(target: Path, body: bytes) -> None:
    """An export is a transcript: private (0600) like the store it came from, whatever the umask,
    and never written through a symlink planted at its name."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def cmd_export(args: argparse.Namespace) -> int:
    filename, _, body = render_export(_export_document(args), args.format)
    if args.output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return EXIT_OK
    target = Path(args.output)
    if target.is_dir():
        target = target / filename
    _write_private(target, body)
    print(f"Exported to {target}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from tutornb.paths import default_owner
    from tutornb.service import TutorService

    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {args.file}: {exc.strerror}") from None
    folder = store_dir(args)
    # Through the service, like the REST import: one place validates and re-derives an import.
    service = TutorService.open(root_dir=folder.parent, store_dir=folder)
    try:
        session = service.import_session(args.owner or default_owner(), body)
    finally:
        service.close()
    print(f"Imported session {session.id} ({session.message_count} messages): {session.title}")
    return EXIT_OK


def add_session_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Adds ``sessions``, ``show``, ``export`` and ``import`` to the parser."""
    p = sub.add_parser("sessions", parents=[common], help="list sessions, newest first")
    p.add_argument("--q", help="case-insensitive text in titles and messages")
    p.add_argument("--course", help="course id")
    p.add_argument("--module", help="module id")
    p.add_argument("--status", help="active, paused, closed (comma-separated)")
    p.add_argument("--limit", type=int, default=30, help="at most N sessions (1-200)")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("show", parents=[common], help="print a session's transcript")
    p.add_argument("id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", parents=[common], help="export a session")
    p.add_argument("id")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("-o", "--output", help="file or folder (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", parents=[common], help="import a JSON export")
    p.add_argument("file")
    p.add_argument("--owner", help="owner of the imported session (default: you)")
    p.set_defaults(func=cmd_import)
