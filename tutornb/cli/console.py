"""The ``tutornb`` console script: the parser of every command family and the one error policy.

The families live beside this module: ``sessions`` (browse, export, import), ``maintenance`` (check,
compact and clean the store), ``lab`` (JupyterLab on the course) and ``instructor`` (course check and
init, progress and class reports). Every failure is one line on stderr and a non-zero exit status,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tutornb.cli.common import EXIT_FAILED, CLIError
from tutornb.cli.instructor import add_instructor_commands
from tutornb.cli.lab import add_lab_command
from tutornb.cli.maintenance import add_maintenance_commands
from tutornb.cli.sessions import add_session_commands
from tutornb.errors import TutorNBError


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

    add_session_commands(sub, common)
    add_maintenance_commands(sub, common)
    add_lab_command(sub, common)

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
