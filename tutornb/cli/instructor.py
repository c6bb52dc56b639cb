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
    from tutornb.instructor.init import folder_course, init_notebook
    from tutornb.instructor.notebooks import NotebookReadError, find_notebooks

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
    from tutornb.instructor.reports.build import ReportError, build_report, learner_file_stem
    from tutornb.instructor.reports.exchange import REPORT_MODE, preview_text, render_report

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
    if target.is_dir():
        target = target / f"{learner_file_stem(report.learner, report.course_id)}.json"
    print(preview_text(report))
    if not args.yes and not _confirmed(f"Write this report to {target}?"):
        raise CLIError(f"nothing written: confirm with --yes (or answer y) to write {target}")
    replace_file(target, render_report(report), mode=REPORT_MODE)
    print(f"Wrote {target}")
    return EXIT_OK


def cmd_class_report(args: argparse.Namespace) -> int:
    import json

    from tutornb.atomicfile import replace_file
    from tutornb.instructor.reports.classview import class_view
    from tutornb.instructor.reports.html import render_class_page
    from tutornb.instructor.reports.model import ProgressReport
    from tutornb.instructor.reports.objectives import objective_texts
    from tutornb.instructor.reports.reading import Unreadable, read_reports, report_files

    files, unreadable = report_files(Path(p) for p in args.reports)
    reports: list[ProgressReport] = []
    for result in read_reports(files, progress=not args.quiet):
        if isinstance(result, Unreadable):
            unreadable.append(result)
        else:
            reports.append(result)
    for problem in unreadable:
        print(f"tutornb: {problem.line()}", file=sys.stderr)
    courses = sorted({r.course_id or "" for r in reports})
    course = args.course
    if course is None and len(courses) > 1:
        raise CLIError(
            f"reports of several courses ({', '.join(c or '-' for c in courses)}): choose one with --course"
        )
    if course is None and courses:
        course = courses[0] or None
    chosen = [r for r in reports if (r.course_id or None) == course]
    if not chosen:
        raise CLIError(
            "no readable progress report"
            + (f" for course {course!r}" if course else "")
            + "; nothing written"
        )
    texts = objective_texts(Path(args.material)) if args.material else None
    view = class_view(chosen, course, texts)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    document = json.dumps(view.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    replace_file(out / "class.json", document.encode("utf-8"))
    replace_file(out / "index.html", render_class_page(view, unreadable=len(unreadable)).encode("utf-8"))
    skipped = f", {len(unreadable)} unreadable" if unreadable else ""
    print(
        f"Read {len(chosen)} reports ({view.learners} learners{skipped}); "
        f"wrote {out / 'class.json'} and {out / 'index.html'}"
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
