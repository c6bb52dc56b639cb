"""The instructor's sub-commands of the ``tutornb`` console script: ``course check``, ``course
init``, ``progress`` and ``class-report``. ``tutornb.cli`` adds them to its parser; failures are one
line on stderr like every other sub-command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutornb.cli.common import EXIT_FAILED, EXIT_OK, CLIError


def cmd_course_check(args: argparse.Namespace) -> int:
    import json

    from tutornb.errors import TutorNBError
    from tutornb.instructor.check import check_course
    from tutornb.instructor.notebooks import NotebookReadError, find_notebooks
    from tutornb.termsafe import term_safe

    try:
        notebooks = find_notebooks(Path(p) for p in args.paths)
    except NotebookReadError as exc:
        raise CLIError(str(exc)) from None
    if not notebooks:
        raise CLIError("no notebooks found")
    findings = check_course(notebooks)
    if args.policy:
        from tutornb.instructor.policycheck import check_policies

        try:
            options = json.loads(args.tutor_options) if args.tutor_options else {}
        except ValueError:
            raise CLIError("--tutor-options must be a JSON object") from None
        if not isinstance(options, dict):
            raise CLIError("--tutor-options must be a JSON object")
        try:
            leaks, replayed = check_policies(notebooks, args.tutor, options)
        except TutorNBError as exc:
            raise CLIError(f"--policy: {exc.message}") from None
        findings += leaks
        print(f"policy: replayed {replayed} attempts to get a withheld solution", file=sys.stderr)
    problems = [f for f in findings if not f.warning]
    warnings = [f for f in findings if f.warning]
    for finding in problems:
        print(term_safe(finding.line()))
    for finding in warnings:
        print(f"warning: {term_safe(finding.line())}", file=sys.stderr)
    count = len(notebooks)
    print(
        f"{count} notebook{'s' if count != 1 else ''} checked: {len(problems)} problem"
        f"{'s' if len(problems) != 1 else ''}, {len(warnings)} warning{'s' if len(warnings) != 1 else ''}",
        file=sys.stderr,
    )
    return EXIT_FAILED if problems else EXIT_OK


def cmd_course_init(args: argparse.Namespace) -> int:
    from tutornb.instructor.init import folder_course, init_notebook
    from tutornb.instructor.notebooks import NotebookReadError, find_notebooks
    from tutornb.termsafe import term_safe

    course_id = args.course_id.strip()
    if not course_id or len(course_id) > 200:
        raise CLIError("--course-id must be 1-200 characters")
    try:
        notebooks = find_notebooks(Path(p) for p in args.paths)
    except NotebookReadError as exc:
        raise CLIError(str(exc)) from None
    failed = 0
    for path in notebooks:
        chosen_id, chosen_title = course_id, args.course_title.strip()
        kept = folder_course(path.parent)
        if kept and kept[0] != course_id:
            print(f"{path}: this folder's course is {kept[0]!r}; a draft keeps it (not {course_id!r})")
            chosen_id, chosen_title = kept[0], kept[1] or chosen_title
        try:
            result = init_notebook(path, chosen_id, chosen_title)
        except (NotebookReadError, ValueError, OSError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"tutornb: {term_safe(path)}: {term_safe(detail)}", file=sys.stderr)
            failed += 1
            continue
        except (TypeError, AttributeError, KeyError, RecursionError) as exc:
            # A shape no rule foresaw: this notebook is skipped, the others still get their draft.
            print(f"tutornb: {term_safe(path)}: cannot be read ({type(exc).__name__})", file=sys.stderr)
            failed += 1
            continue
        if result.added:
            print(
                f"{term_safe(path)}: added a draft metadata.tutornb "
                f"({result.objectives} objectives from its headings)"
            )
        else:
            print(f"{term_safe(path)}: already has metadata.tutornb; left unchanged")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_course_learner_copy(args: argparse.Namespace) -> int:
    from tutornb.instructor.learnercopy import write_learner_copies
    from tutornb.instructor.notebooks import NotebookReadError, find_notebooks

    try:
        notebooks = find_notebooks([Path(args.source)])
        written = write_learner_copies(notebooks, Path(args.destination))
    except (NotebookReadError, ValueError, OSError) as exc:
        raise CLIError(str(exc)) from None
    print(f"Wrote {len(written)} learner copies (without solutions) to {args.destination}")
    return EXIT_OK


def _confirmed(question: str) -> bool:
    """An interactive yes; without a terminal the learner must have said ``--yes``."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def cmd_progress(args: argparse.Namespace) -> int:
    from tutornb.atomicfile import replace_file
    from tutornb.cli.common import open_store
    from tutornb.instructor.reports.build import ReportError, build_report
    from tutornb.instructor.reports.exchange import (
        ShareError,
        preview_text,
        render_report,
        share_report,
    )

    store = open_store(args)
    try:
        report = build_report(
            store,
            learner=args.learner,
            owner=args.learner,
            course_id=args.course,
            include_questions=args.include_questions,
        )
    except ReportError as exc:
        raise CLIError(str(exc)) from None
    finally:
        store.close()
    target = Path(args.output)
    print(preview_text(report))
    where = f"into the folder {target}" if target.is_dir() else f"to {target}"
    if not args.yes and not _confirmed(f"Write this report {where}?"):
        raise CLIError(f"nothing written: confirm with --yes (or answer y) to write {where}")
    if target.is_dir():  # an exchange folder: named, and readable, as %tutor share does
        try:
            target = share_report(report, target)
        except ShareError as exc:
            raise CLIError(str(exc)) from None
    else:  # a file of the learner's own: the mode their umask gives new files
        replace_file(target, render_report(report))
    print(f"Wrote {target}")
    return EXIT_OK


def cmd_class_report(args: argparse.Namespace) -> int:
    import json

    from tutornb.atomicfile import replace_file
    from tutornb.instructor.reports.classview import class_view
    from tutornb.instructor.reports.collect import CollectError, cap_view, collect
    from tutornb.instructor.reports.html import render_class_page
    from tutornb.instructor.reports.objectives import objective_texts
    from tutornb.termsafe import term_safe

    try:
        found = collect((Path(p) for p in args.reports), args.course, progress=not args.quiet)
    except CollectError as exc:
        raise CLIError(str(exc)) from None
    for line in [p.line() for p in found.unreadable] + [p.line() for p in found.not_counted]:
        print(f"tutornb: {term_safe(line)}", file=sys.stderr)
    for other, count in sorted(found.other_courses.items()):
        print(
            f"tutornb: warning: skipped {count} report{'s' if count != 1 else ''} of course "
            f"{term_safe(other or '-')} (this class view is of {term_safe(found.course_id or '-')}; "
            "choose with --course)",
            file=sys.stderr,
        )
    if not found.reports:
        course = f" for course {term_safe(repr(found.course_id))}" if found.course_id else ""
        raise CLIError(f"no readable progress report{course}; nothing written")
    texts = objective_texts(Path(args.material)) if args.material else None
    view, rows_left_out = cap_view(class_view(found.reports, found.course_id, texts))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    document = json.dumps(view.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    replace_file(out / "class.json", document.encode("utf-8"))
    page = render_class_page(view, unreadable=len(found.unreadable) + len(found.not_counted))
    replace_file(out / "index.html", page.encode("utf-8"))
    counts = [f"{view.learners} learners"]
    counts += [f"{len(found.unreadable)} unreadable"] if found.unreadable else []
    counts += [f"{len(found.not_counted)} not counted"] if found.not_counted else []
    skipped = sum(found.other_courses.values())
    counts += [f"{skipped} of other courses skipped"] if skipped else []
    counts += [f"{found.files_over_cap} files over the cap not read"] if found.files_over_cap else []
    counts += [f"{rows_left_out} table rows over the page cap left out"] if rows_left_out else []
    print(
        f"Read {len(found.reports)} reports ({', '.join(counts)}); "
        f"wrote {term_safe(out / 'class.json')} and {term_safe(out / 'index.html')}"
    )
    return EXIT_OK


def add_instructor_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    course = sub.add_parser("course", help="check a course's notebooks or draft their metadata")
    course_sub = course.add_subparsers(dest="course_command", metavar="ACTION")
    course_sub.required = True
    p = course_sub.add_parser("check", help="check metadata.tutornb of notebooks and course folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--policy",
        action="store_true",
        help="also replay 'just give me the answer' attempts against each withheld solution",
    )
    p.add_argument("--tutor", default="course", help="the tutor to replay against (with --policy)")
    p.add_argument("--tutor-options", metavar="JSON", help="its options, e.g. the model's base_url")
    p.set_defaults(func=cmd_course_check)
    p = course_sub.add_parser("init", help="add a draft metadata.tutornb to notebooks that lack it")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--course-id", required=True)
    p.add_argument("--course-title", required=True)
    p.set_defaults(func=cmd_course_init)
    p = course_sub.add_parser(
        "learner-copy", help="copies of a course's notebooks without solutions (for the hub service)"
    )
    p.add_argument("source", metavar="COURSE_DIR")
    p.add_argument("destination", metavar="DEST_DIR")
    p.set_defaults(func=cmd_course_learner_copy)

    p = sub.add_parser("progress", parents=[common], help="write your progress report (to share by choice)")
    p.add_argument("--course", help="course id (needed when the store holds several courses)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.json", help="report file, or a folder")
    p.add_argument(
        "--include-questions",
        action="store_true",
        help="include the text of your questions the material did not cover (default: only their count)",
    )
    p.add_argument("--learner", help="whose sessions to report (default: the store's one learner)")
    p.add_argument("--yes", action="store_true", help="write without asking (the preview is still printed)")
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser(
        "class-report", help="the class view of shared progress reports (class.json, index.html)"
    )
    p.add_argument("reports", nargs="+", metavar="REPORTS_OR_DIR")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    p.add_argument("--course", help="course id (needed when the reports are of several courses)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--material", metavar="COURSE_DIR", help="the course's notebooks (objectives in words)")
    p.set_defaults(func=cmd_class_report)
