"""The instructor's sub-commands of the ``tutornb`` console script: ``course check``, ``course
init``, ``progress`` and ``class-report``. ``tutornb.cli`` adds them to its parser; failures are one
line on stderr like every other sub-command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutornb.cli import EXIT_FAILED, EXIT_OK, CLIError


def cmd_course_check(args: argparse.Namespace) -> int:
    from tutornb.course.check import check_course
    from tutornb.course.notebooks import NotebookReadError, find_notebooks

    try:
        notebooks = find_notebooks(Path(p) for p in args.paths)
    except NotebookReadError as exc:
        raise CLIError(str(exc)) from None
    if not notebooks:
        raise CLIError("no notebooks found")
    findings = check_course(notebooks)
    problems = [f for f in findings if not f.warning]
    warnings = [f for f in findings if f.warning]
    for finding in problems:
        print(finding.line())
    for finding in warnings:
        print(f"warning: {finding.line()}", file=sys.stderr)
    count = len(notebooks)
    print(
        f"{count} notebook{'s' if count != 1 else ''} checked: {len(problems)} problem"
        f"{'s' if len(problems) != 1 else ''}, {len(warnings)} warning{'s' if len(warnings) != 1 else ''}",
        file=sys.stderr,
    )
    return EXIT_FAILED if problems else EXIT_OK


def cmd_course_init(args: argparse.Namespace) -> int:
    from tutornb.course.init import init_notebook
    from tutornb.course.notebooks import NotebookReadError, find_notebooks

    course_id = args.course_id.strip()
    if not course_id or len(course_id) > 200:
        raise CLIError("--course-id must be 1-200 characters")
    try:
        notebooks = find_notebooks(Path(p) for p in args.paths)
    except NotebookReadError as exc:
        raise CLIError(str(exc)) from None
    failed = 0
    for path in notebooks:
        try:
            result = init_notebook(path, course_id, args.course_title.strip())
        except (NotebookReadError, ValueError, OSError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"tutornb: {path}: {detail}", file=sys.stderr)
            failed += 1
            continue
        if result.added:
            print(
                f"{path}: added a draft metadata.tutornb ({result.objectives} objectives from its headings)"
            )
        else:
            print(f"{path}: already has metadata.tutornb; left unchanged")
    return EXIT_FAILED if failed else EXIT_OK


def add_instructor_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    course = sub.add_parser("course", help="check a course's notebooks or draft their metadata")
    course_sub = course.add_subparsers(dest="course_command", metavar="ACTION")
    course_sub.required = True
    p = course_sub.add_parser("check", help="check metadata.tutornb of notebooks and course folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_course_check)
    p = course_sub.add_parser("init", help="add a draft metadata.tutornb to notebooks that lack it")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--course-id", required=True)
    p.add_argument("--course-title", required=True)
    p.set_defaults(func=cmd_course_init)
