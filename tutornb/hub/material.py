"""Instructor-only material: solutions and the policy, read from the service's course folder.

``<courses_dir>/<course_id>/`` holds the instructor's notebooks (with ``exercises[].solution``) and
``tutornb-course.json``. Learners' servers get the notebooks without solutions (``tutornb course
learner-copy``) and ask the service for a solution, which decides under the policy: under
``never`` (hints only) it is never sent; under ``after_attempts`` only once the learner has asked
the service that many times for this exercise (counted here, not by the learner's server).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutornb.course.ids import checked_course_id
from tutornb.course.metadata import ExerciseSpec, TutoringPolicy, notebook_course_metadata
from tutornb.course.policy import PolicyError, course_file_policy, effective_policy
from tutornb.instructor.learnercopy import learner_copy

_MAX_NOTEBOOK = 20 * 1024 * 1024


@dataclass(frozen=True)
class Exercise:
    spec: ExerciseSpec
    policy: TutoringPolicy


@dataclass(frozen=True)
class SolutionDecision:
    allowed: bool
    reason: str
    requests: int
    needed: int
    solution: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "requests": self.requests,
            "needed": self.needed,
            "solution": self.solution if self.allowed else None,
        }


def _notebooks(folder: Path) -> list[Path]:
    if not folder.is_dir() or folder.is_symlink():
        return []
    return [
        p
        for p in sorted(folder.glob("*.ipynb"))
        if p.is_file() and not p.is_symlink() and p.stat().st_size <= _MAX_NOTEBOOK
    ]


def read_exercises(folder: Path) -> dict[str, Exercise]:
    """Every exercise of the course folder by id, each with the policy in force for its notebook."""
    try:
        folder_policy = course_file_policy(folder)
    except PolicyError:
        folder_policy = TutoringPolicy(solutions="never", graded_solutions="never")
    found: dict[str, Exercise] = {}
    for path in _notebooks(folder):
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        reading = notebook_course_metadata(notebook if isinstance(notebook, dict) else {})
        policy = effective_policy(notebook=reading.metadata.policy, course_file=folder_policy)
        for spec in reading.metadata.exercises:
            found.setdefault(spec.id, Exercise(spec, policy))
    return found


class CourseMaterial:
    def __init__(self, courses_dir: Path) -> None:
        self.courses_dir = courses_dir
        self._requests: Counter[tuple[str, str, str]] = Counter()

    def exercises(self, course_id: str) -> dict[str, Exercise]:
        # Read on request: an instructor's edit to the folder applies at once.
        return read_exercises(self.courses_dir / checked_course_id(course_id))

    def policy(self, course_id: str) -> TutoringPolicy:
        folder = self.courses_dir / checked_course_id(course_id)
        try:
            return course_file_policy(folder) or TutoringPolicy()
        except PolicyError:
            return TutoringPolicy(solutions="never", graded_solutions="never")

    def decide(self, course_id: str, exercise_id: str, user: str, *, instructor: bool) -> SolutionDecision:
        exercise = self.exercises(course_id).get(exercise_id)
        if exercise is None or not exercise.spec.solution:
            return SolutionDecision(False, "no solution is held for this exercise", 0, 0)
        if instructor:
            return SolutionDecision(True, "instructor", 0, 0, exercise.spec.solution)
        key = (course_id, exercise_id, user)
        self._requests[key] += 1
        requests = self._requests[key]
        rule = exercise.policy.graded_solutions if exercise.spec.graded else exercise.policy.solutions
        if rule == "never":
            return SolutionDecision(False, "hints only: the course does not show this solution", requests, 0)
        if rule == "after_attempts" and requests <= exercise.policy.attempts:
            return SolutionDecision(
                False,
                f"the solution is shown after {exercise.policy.attempts} attempts",
                requests,
                exercise.policy.attempts + 1,
            )
        return SolutionDecision(True, rule, requests, 0, exercise.spec.solution)


__all__ = ["CourseMaterial", "Exercise", "SolutionDecision", "learner_copy", "read_exercises"]
