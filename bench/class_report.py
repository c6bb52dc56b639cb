"""``tutornb class-report`` on a simulated class: timing for 1,000 reports, and the README screenshot.

    python -m bench.class_report                   # 1,000 reports: time the CLI end to end (target <= 5 s)
    python -m bench.class_report --reports 5000    # larger classes
    python -m bench.class_report --screenshot docs/class-report.png --learners 24

Learners are simulated on the repository's sample course (its real objectives, quiz questions,
choices and misconceptions): each has an ability, answers every question of the modules they
reached, picks wrong choices in proportion to how tempting they are, and asks a few questions the
material does not cover (their text shared by about half of the class, as with real consent).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tutornb.course.metadata import CourseMetadata, notebook_course_metadata
from tutornb.instructor.notebooks import read_notebook
from tutornb.instructor.reports.exchange import render_report
from tutornb.instructor.reports.model import (
    MisconceptionCount,
    ModuleProgress,
    ProgressReport,
    QuizResult,
    UncoveredQuestion,
)

COURSE = Path(__file__).resolve().parents[1] / "notebooks"
#: Questions a beginner's Python course does not answer (written for this simulation).
UNCOVERED = [
    ("How do I read a CSV file into a list?", ["csv", "file", "list", "read"]),
    ("Can I read an Excel file with open()?", ["excel", "file", "open", "read"]),
    ("How do I write my list to a file?", ["file", "list", "write"]),
    ("What is a numpy array and is it faster than a list?", ["array", "faster", "list", "numpy"]),
    ("How do I install numpy?", ["install", "numpy"]),
    ("How do I make a class with methods?", ["class", "methods"]),
    ("What does async def mean?", ["async", "def", "mean"]),
    ("How do I plot my numbers as a chart?", ["chart", "numbers", "plot"]),
    ("Why is my <script> tag shown as text?", ["script", "shown", "tag", "text"]),
]
PHASES = ["learning", "quizzing", "analyzing", "planning", "completed"]


def course_modules() -> list[CourseMetadata]:
    return [notebook_course_metadata(read_notebook(p)).metadata for p in sorted(COURSE.glob("*.ipynb"))]


def simulate_learner(
    index: int, modules: list[CourseMetadata], rng: random.Random, now: datetime
) -> ProgressReport:
    ability = rng.betavariate(4, 2.5)
    reached = modules[: rng.randint(1, len(modules))]
    consent = rng.random() < 0.5
    progress = []
    for module in reached:
        quiz, misconceptions, latest = [], [], {}
        choices_text = {(q.id, i): text for q in module.quiz for i, text in enumerate(q.choices)}
        for position, question in enumerate(module.quiz):
            hardness = 0.15 + 0.12 * position
            choices: list[int] = []
            for _attempt in range(rng.choice((1, 1, 2))):
                if rng.random() < ability - hardness + 0.25:
                    choices.append(question.answer)
                    break
                wrong = [i for i in range(len(question.choices)) if i != question.answer]
                choices.append(rng.choices(wrong, weights=[len(wrong) - k for k in range(len(wrong))])[0])
            correct = [c == question.answer for c in choices]
            quiz.append(
                QuizResult(
                    question_id=question.id,
                    question=question.question,
                    objective=question.objective,
                    attempts=len(choices),
                    first_correct=correct[0],
                    latest_correct=correct[-1],
                    choices=choices,
                )
            )
            latest[question.id] = (question.objective, correct[-1])
            for choice in choices:
                text = question.misconceptions.get(str(choice))
                if text:
                    misconceptions.append((question.id, question.objective, choice, text))
        mastery: dict[str, list[bool]] = {}
        for objective, ok in latest.values():
            if objective:
                mastery.setdefault(objective, []).append(ok)
        counted: dict[tuple[str, str | None, int, str], int] = {}
        for key in misconceptions:
            counted[key] = counted.get(key, 0) + 1
        asked = rng.sample(UNCOVERED, k=rng.choice((0, 0, 1, 1, 2)))
        progress.append(
            ModuleProgress(
                module_id=module.module_id,
                module_title=module.module_title,
                sessions=rng.randint(1, 3),
                phase=rng.choice(PHASES),  # type: ignore[arg-type]
                time_active_seconds=round(rng.uniform(300, 3600), 1),
                mastery={k: round(sum(v) / len(v), 3) for k, v in mastery.items()},
                quiz=quiz,
                misconceptions=[
                    MisconceptionCount(
                        question_id=q,
                        objective=o,
                        choice=c,
                        choice_text=choices_text[(q, c)],
                        text=t,
                        count=n,
                    )
                    for (q, o, c, t), n in counted.items()
                ],
                uncovered_count=len(asked),
                uncovered=[UncoveredQuestion(text=t, terms=terms) for t, terms in asked] if consent else [],
            )
        )
    return ProgressReport(
        generated_at=now - timedelta(minutes=rng.randint(0, 600)),
        learner=f"learner{index:04d}",
        course_id=reached[0].course_id,
        course_title=reached[0].course_title,
        includes_questions=consent,
        modules=progress,
    )


def write_class(folder: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    modules = [m for m in course_modules() if m.quiz]
    now = datetime.now(timezone.utc)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        report = simulate_learner(index, modules, rng, now)
        (folder / f"{report.course_id}--{report.learner}.json").write_bytes(render_report(report))


def time_cli(reports: Path, out: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tutornb.cli", "class-report", str(reports), "-o", str(out), "--quiet"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return times


def screenshot(count: int, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        reports, out = Path(tmp) / "exchange", Path(tmp) / "out"
        write_class(reports, count)
        subprocess.run(
            [sys.executable, "-m", "tutornb.cli", "class-report", str(reports), "-o", str(out)], check=True
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 900}, color_scheme="light")
            page.goto((out / "index.html").as_uri())
            page.screenshot(path=str(target), full_page=True)
            browser.close()
    print(f"wrote {target} ({count} simulated learners)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--learners", type=int, default=24)
    args = parser.parse_args()
    if args.screenshot:
        screenshot(args.learners, args.screenshot)
        return
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "exchange"
        write_class(reports, args.reports)
        size = sum(p.stat().st_size for p in reports.iterdir())
        times = time_cli(reports, Path(tmp) / "out", args.runs)
        view = json.loads((Path(tmp) / "out" / "class.json").read_text())
        html = (Path(tmp) / "out" / "index.html").stat().st_size
    print(
        f"reports: {args.reports} ({size / 1024 / 1024:.1f} MiB), learners in class.json: {view['learners']}"
    )
    print(
        f"tutornb class-report (whole CLI, {args.runs} runs): median {statistics.median(times):.2f} s, "
        f"best {min(times):.2f} s (target <= 5 s)"
    )
    print(f"index.html: {html / 1024:.0f} KiB; cpu count {os.cpu_count()}")


if __name__ == "__main__":
    main()
