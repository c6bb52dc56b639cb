"""The ``tutornb`` console script: browse, export and import sessions, check and compact the store,
and
start JupyterLab on the course.

Every failure is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from tutornb.cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    CLIError,
    open_store,
    store_dir,
    store_exists,
)
from tutornb.errors import TutorNBError
from tutornb.export import FORMATS, render_export, render_markdown
from tutornb.models import SessionExport
from tutornb.paths import STORE_DIR_ENV


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


def cmd_doctor(args: argparse.Namespace) -> int:
    from tutornb.store.doctor import check_store, repair_store

    folder = store_dir(args)
    if not folder.is_dir():
        raise CLIError(f"no tutornb store at {folder} (use --store DIR)")
    print(f"Store: {folder}")
    findings = check_store(folder)
    for finding in findings:
        print(f"  {finding}")
    problems = [f for f in findings if f.level in {"warning", "error"}]
    if not args.repair:
        if problems:
            print("Problems found; run `tutornb doctor --repair` to fix them.")
        else:
            print("The store is healthy.")
        return EXIT_FAILED if any(f.level == "error" for f in findings) else EXIT_OK
    print("Repairing:")
    for finding in repair_store(folder):
        print(f"  {finding}")
    after = check_store(folder)
    remaining = [f for f in after if f.level == "error"]
    for finding in remaining:
        print(f"  still: {finding}")
    print("The store is healthy." if not remaining else "Some problems remain.")
    return EXIT_OK if not remaining else EXIT_FAILED


def cmd_compact(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        before = store.stats().bytes
        store.compact()
        after = store.stats().bytes
    finally:
        store.close()
    print(f"Compacted: {before} -> {after} bytes")
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    if args.older_than is None and args.max_sessions is None:
        raise CLIError("give --older-than DAYS or --max-sessions N")
    if args.older_than is not None and args.older_than < 0:
        raise CLIError("--older-than must be 0 or more")
    store = open_store(args)
    try:
        removed = store.cleanup(older_than_days=args.older_than, max_sessions=args.max_sessions)
    finally:
        store.close()
    print(f"Deleted {len(removed)} session{'s' if len(removed) != 1 else ''}.")
    for sid in removed:
        print(f"  {sid}")
    return EXIT_OK


def course_folder() -> Path:
    """The repository's ``notebooks/`` course when installed from a checkout, else the current
    folder."""
    candidate = Path(__file__).resolve().parent.parent / "notebooks"
    return candidate if candidate.is_dir() else Path.cwd()


def lab_command(port: int | None, extra: Sequence[str] = ()) -> list[str]:
    # This interpreter's JupyterLab, never the first ``jupyter`` on PATH: that may belong to another
    # environment (without tutornb), e.g. when ``.venv/bin/tutornb lab`` runs without activating.
    command = [sys.executable, "-m", "jupyterlab"]
    command += [f"--ServerApp.root_dir={course_folder()}", "--ServerApp.ip=127.0.0.1"]
    if port is not None:
        command.append(f"--ServerApp.port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra)


def base_jupyter_data() -> list[str]:
    """The base Python's Jupyter data folder, when this is a virtual environment that sees its packages.

    In a ``--system-site-packages`` environment, ``python -m jupyterlab`` imports JupyterLab and
    ipywidgets from the base Python, but Jupyter looks for their data (the labextensions, among
    them the widget manager that draws the panel) only under the environment's own prefix: without
    this the panel shows as plain text.
    """
    if sys.prefix == sys.base_prefix:
        return []
    base = str(Path(sys.base_prefix))
    if not any(entry.startswith(base) and entry.endswith("site-packages") for entry in sys.path):
        return []
    data = Path(sys.base_prefix) / "share" / "jupyter"
    return [str(data)] if data.is_dir() else []


def with_base_jupyter_data(jupyter_path: str | None) -> str:
    """``JUPYTER_PATH`` extended by :func:`base_jupyter_data` (last: the environment's own data wins)."""
    parts = [part for part in (jupyter_path or "").split(os.pathsep) if part]
    return os.pathsep.join(parts + [data for data in base_jupyter_data() if data not in parts])


def cmd_lab(args: argparse.Namespace) -> int:
    extra = [arg for arg in args.jupyter_args if arg != "--"]
    if args.no_browser:
        extra.append("--no-browser")
    command = lab_command(args.port, extra)
    if args.dry_run:
        print(" ".join(command))
        return EXIT_OK
    if getattr(args, "store", None):
        # The server extension reads this, and exports it to the kernels it starts.
        os.environ[STORE_DIR_ENV] = str(store_dir(args))
    if base_jupyter_data():
        os.environ["JUPYTER_PATH"] = with_base_jupyter_data(os.environ.get("JUPYTER_PATH"))
    try:
        # Become jupyter lab rather than wrapping it: signals (Ctrl+C, a supervisor's SIGTERM) then reach
        # the server itself, and no orphaned server outlives a killed wrapper.
        os.execvp(command[0], command)  # noqa: S606 - a fixed argv, no shell
    except FileNotFoundError:
        raise CLIError("JupyterLab is not installed (pip install jupyterlab)") from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store", metavar="DIR", default=argparse.SUPPRESS, help="store folder (default: .tutornb)"
    )
    parser = argparse.ArgumentParser(
        prog="tutornb", description="Tutoring sessions kept by tutornb.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

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

    p = sub.add_parser("doctor", parents=[common], help="check the store; --repair fixes it")
    p.add_argument("--repair", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("compact", parents=[common], help="rewrite the snapshot now")
    p.set_defaults(func=cmd_compact)

    p = sub.add_parser("cleanup", parents=[common], help="delete old sessions (closed first)")
    p.add_argument("--older-than", type=float, metavar="DAYS")
    p.add_argument("--max-sessions", type=int, metavar="N")
    p.set_defaults(func=cmd_cleanup)

    p = sub.add_parser("lab", parents=[common], help="start JupyterLab on the course notebooks")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--dry-run", action="store_true", help="print the command instead")
    p.set_defaults(jupyter_args=[])
    p.set_defaults(func=cmd_lab)

    from tutornb.instructor_cli import add_instructor_commands

    add_instructor_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from tutornb.termsafe import term_safe

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if args.command != "lab":
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        # Everything tutornb does not know goes on to jupyter lab (e.g. --ServerApp.token=...).
        args.jupyter_args = unknown
    try:
        return int(args.func(args))
    except (CLIError, TutorNBError) as exc:
        print(f"tutornb: {term_safe(exc)}", file=sys.stderr)
    except OSError as exc:
        from tutornb.store.files import describe_os_error

        print(f"tutornb: {describe_os_error(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: still no traceback
        print(f"tutornb: unexpected {type(exc).__name__}", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
