"""The class view: what many shared reports say together (``class.json``).

Top level, as the instructor CLI contract says: ``course_id``, ``learners`` (distinct learners),
``objectives``, ``quiz``, ``misconceptions``, ``uncovered``. A learner who shared twice counts once,
with their latest report. Uncovered questions are grouped by topic: the key term most of the class's
uncovered questions share (so "tensorflow" questions gather), else the module they were asked in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from tutornb.instructor.reports.model import ProgressReport

#: Mastery bins of the distribution plot: [0, .2), [.2, .4), [.4, .6), [.6, .8), [.8, 1].
MASTERY_BINS = (0.2, 0.4, 0.6, 0.8)
MASTERY_THRESHOLD = 0.8


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectiveView(_View):
    module_id: str | None
    module_title: str | None
    objective_id: str
    #: The objective as the course states it (from the course's notebooks), when known.
    objective_text: str | None = None
    learners: int
    mean: float
    #: Learners per mastery bin (see :data:`MASTERY_BINS`).
    distribution: list[int]
    below_mastery: int


class QuizView(_View):
    module_id: str | None
    question_id: str
    question: str | None
    objective: str | None
    learners: int
    first_try_correct: int
    #: Share of learners who got it wrong the first time (0 easy .. 1 hard).
    difficulty: float
    mean_attempts: float
    #: Learners per wrong choice index (as a string, like the quiz metadata's misconception keys).
    wrong_choices: dict[str, int]


class MisconceptionView(_View):
    module_id: str | None
    question_id: str | None
    choice: int | None
    choice_text: str | None
    text: str
    learners: int
    count: int


class UncoveredItem(_View):
    text: str
    learners: int


class UncoveredTopic(_View):
    topic: str
    questions: list[UncoveredItem]


class UncoveredView(_View):
    #: Every uncovered question counted, shared text or not.
    total: int
    learners: int
    #: Learners who consented to sharing the text of their questions.
    consented: int
    by_module: dict[str, int]
    topics: list[UncoveredTopic]


class NamedLearner(_View):
    """A learner who consented to share more than counts (``includes_questions``), by name."""

    learner: str
    modules: int
    mean_mastery: float | None
    quiz_answered: int
    first_try_correct: int
    uncovered: int


class ClassView(_View):
    course_id: str | None
    learners: int
    objectives: list[ObjectiveView]
    quiz: list[QuizView]
    misconceptions: list[MisconceptionView]
    uncovered: UncoveredView
    #: Only the learners who consented; everyone else is in the aggregates alone.
    named_learners: list[NamedLearner] = Field(default_factory=list)
    #: Set by the live view: aggregates of fewer learners than this were left out.
    min_group_size: int | None = None


def latest_per_learner(reports: Iterable[ProgressReport]) -> list[ProgressReport]:
    latest: dict[str, ProgressReport] = {}
    for report in reports:
        known = latest.get(report.learner)
        if known is None or report.generated_at > known.generated_at:
            latest[report.learner] = report
    return [latest[name] for name in sorted(latest)]


def _bin(value: float) -> int:
    return sum(1 for edge in MASTERY_BINS if value >= edge)


def _objectives(reports: list[ProgressReport]) -> list[ObjectiveView]:
    values: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    titles: dict[str | None, str | None] = {}
    for report in reports:
        for module in report.modules:
            titles.setdefault(module.module_id, module.module_title)
            for objective, value in module.mastery.items():
                values[(module.module_id, objective)].append(value)
    views = []
    for (module_id, objective), found in values.items():
        distribution = [0] * (len(MASTERY_BINS) + 1)
        for value in found:
            distribution[_bin(value)] += 1
        views.append(
            ObjectiveView(
                module_id=module_id,
                module_title=titles.get(module_id),
                objective_id=objective,
                learners=len(found),
                mean=round(sum(found) / len(found), 3),
                distribution=distribution,
                below_mastery=sum(1 for v in found if v < MASTERY_THRESHOLD),
            )
        )
    return views


def _quiz(reports: list[ProgressReport]) -> list[QuizView]:
    results: dict[tuple[str | None, str], list[tuple[bool, int, list[int], str | None]]] = defaultdict(list)
    texts: dict[str, str] = {}
    for report in reports:
        for module in report.modules:
            for q in module.quiz:
                if q.question:
                    texts.setdefault(q.question_id, q.question)
                results[(module.module_id, q.question_id)].append(
                    (q.first_correct, q.attempts, q.choices, q.objective)
                )
    views = []
    for (module_id, question_id), found in results.items():
        right = sum(1 for first, *_ in found if first)
        wrong: Counter[str] = Counter()
        for first, _, choices, _ in found:
            if not first and choices and choices[0] >= 0:
                wrong[str(choices[0])] += 1
        views.append(
            QuizView(
                module_id=module_id,
                question_id=question_id,
                question=texts.get(question_id),
                objective=next((o for *_, o in found if o), None),
                learners=len(found),
                first_try_correct=right,
                difficulty=round(1 - right / len(found), 3),
                mean_attempts=round(sum(a for _, a, _, _ in found) / len(found), 2),
                wrong_choices=dict(sorted(wrong.items())),
            )
        )
    return sorted(views, key=lambda v: (-v.difficulty, v.question_id))


def _misconceptions(reports: list[ProgressReport]) -> list[MisconceptionView]:
    learners: Counter[tuple[str | None, str | None, int | None, str]] = Counter()
    counts: Counter[tuple[str | None, str | None, int | None, str]] = Counter()
    choice_texts: dict[tuple[str | None, str | None, int | None, str], str] = {}
    for report in reports:
        for module in report.modules:
            for m in module.misconceptions:
                key = (module.module_id, m.question_id, m.choice, m.text)
                if m.choice_text:
                    choice_texts.setdefault(key, m.choice_text)
                learners[key] += 1
                counts[key] += m.count
    views = [
        MisconceptionView(
            module_id=k[0],
            question_id=k[1],
            choice=k[2],
            choice_text=choice_texts.get(k),
            text=k[3],
            learners=n,
            count=counts[k],
        )
        for k, n in learners.items()
    ]
    return sorted(views, key=lambda v: (-v.learners, -v.count, v.text))


def _uncovered(reports: list[ProgressReport]) -> UncoveredView:
    by_module: Counter[str] = Counter()
    askers = consented = 0
    asked: list[tuple[str, list[str], str]] = []  # (text, terms, module)
    for report in reports:
        count = sum(m.uncovered_count for m in report.modules)
        askers += 1 if count else 0
        consented += 1 if report.includes_questions and count else 0
        for progress in report.modules:
            name = progress.module_title or progress.module_id or "(no module)"
            if progress.uncovered_count:
                by_module[name] += progress.uncovered_count
            # one learner asking the same thing twice counts once
            seen = {" ".join(q.text.casefold().split()): q for q in progress.uncovered}
            asked += [(q.text, q.terms, name) for q in seen.values()]
    term_use = Counter(term for _, terms, _ in asked for term in set(terms))
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    shown: dict[str, str] = {}
    for text, terms, module in asked:
        shared = sorted((t for t in terms if term_use[t] > 1), key=lambda t: (-term_use[t], t))
        topic = shared[0] if shared else module
        key = " ".join(text.casefold().split())
        shown.setdefault(key, " ".join(text.split()))
        groups[topic][key] += 1
    topics = [
        UncoveredTopic(
            topic=topic,
            questions=[
                UncoveredItem(text=shown[key], learners=n)
                for key, n in sorted(c.items(), key=lambda i: (-i[1], i[0]))
            ],
        )
        for topic, c in groups.items()
    ]
    topics.sort(key=lambda t: (-sum(q.learners for q in t.questions), t.topic))
    return UncoveredView(
        total=sum(by_module.values()),
        learners=askers,
        consented=consented,
        by_module=dict(by_module.most_common()),
        topics=topics,
    )


def _named(reports: list[ProgressReport]) -> list[NamedLearner]:
    named = []
    for report in reports:
        if not report.includes_questions:
            continue
        values = [v for m in report.modules for v in m.mastery.values()]
        quiz = [q for m in report.modules for q in m.quiz]
        named.append(
            NamedLearner(
                learner=report.learner,
                modules=len(report.modules),
                mean_mastery=round(sum(values) / len(values), 3) if values else None,
                quiz_answered=len(quiz),
                first_try_correct=sum(1 for q in quiz if q.first_correct),
                uncovered=sum(m.uncovered_count for m in report.modules),
            )
        )
    return named


def class_view(
    reports: Iterable[ProgressReport],
    course_id: str | None,
    objective_texts: Mapping[str, str] | None = None,
) -> ClassView:
    """The class view of ``reports`` (already filtered to one course); ``objective_texts`` (id to
    text, from the course's notebooks) names the objectives in words."""
    latest = latest_per_learner(reports)
    objectives = _objectives(latest)
    if objective_texts:
        objectives = [
            o.model_copy(update={"objective_text": objective_texts.get(o.objective_id)}) for o in objectives
        ]
    return ClassView(
        course_id=course_id,
        learners=len(latest),
        named_learners=_named(latest),
        objectives=objectives,
        quiz=_quiz(latest),
        misconceptions=_misconceptions(latest),
        uncovered=_uncovered(latest),
    )


__all__ = ["ClassView", "class_view", "latest_per_learner"]
