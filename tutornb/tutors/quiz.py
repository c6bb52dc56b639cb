"""The structured quiz engine: serving questions, grading, misconceptions and mastery per objective.

Every tutor grades with this module (the model-backed tutor too), so a score never depends on what a
language model thought of an answer. All state lives in :class:`~tutornb.models.TutorState`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutornb.models import (
    Misconception,
    QuizAnswerRecord,
    QuizProgress,
    QuizPrompt,
    QuizQuestion,
    TutorState,
)
from tutornb.tutors.retrieval import NotebookInfo

#: An objective counts as mastered from this share of its questions answered correctly (latest
#: answers).
MASTERY_THRESHOLD = 0.8
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Graded:
    question: QuizQuestion
    choice: int
    correct: bool
    misconception: Misconception | None
    mastery_before: float | None
    mastery_after: float | None


def new_quiz(module: NotebookInfo, question_ids: list[str] | None = None) -> QuizProgress:
    """A prepared quiz: questions chosen, none asked yet (``open_question_id`` is None)."""
    ids = question_ids if question_ids is not None else [q.id for q in module.quiz]
    return QuizProgress(question_ids=ids, current_index=0, answers=[], open_question_id=None)


def is_prepared(progress: QuizProgress | None) -> bool:
    return (
        progress is not None
        and progress.open_question_id is None
        and progress.current_index == 0
        and not progress.answers
        and bool(progress.question_ids)
    )


def is_running(progress: QuizProgress | None) -> bool:
    """A question of the main pass is open."""
    return (
        progress is not None
        and progress.open_question_id is not None
        and progress.current_index < len(progress.question_ids)
    )


def is_finished(progress: QuizProgress | None) -> bool:
    return (
        progress is not None
        and bool(progress.question_ids)
        and progress.current_index >= len(progress.question_ids)
    )


def questions(module: NotebookInfo, progress: QuizProgress) -> list[QuizQuestion]:
    """The quiz's questions that still exist in the notebook, in quiz order."""
    found = (module.question(qid) for qid in progress.question_ids)
    return [q for q in found if q is not None]


def open_next(module: NotebookInfo, progress: QuizProgress) -> QuizQuestion | None:
    """Opens the first question at or after ``current_index`` that still exists in the notebook.

    None when no question is left: the main pass is then over (``current_index`` past the end, no
    open question).
    """
    ids = progress.question_ids
    for index in range(progress.current_index, len(ids)):
        question = module.question(ids[index])
        if question is not None:
            progress.current_index = index
            progress.open_question_id = question.id
            return question
    progress.current_index = len(ids)
    progress.open_question_id = None
    return None


def prompt_for(progress: QuizProgress, question: QuizQuestion) -> QuizPrompt:
    ids = progress.question_ids
    number = ids.index(question.id) + 1 if question.id in ids else 1
    return QuizPrompt(
        question_id=question.id,
        number=number,
        total=max(len(ids), number),
        question=question.question,
        choices=list(question.choices),
    )


def prompt_lines(prompt: QuizPrompt) -> list[str]:
    lines = [f"**Question {prompt.number} of {prompt.total}:** {prompt.question}", ""]
    lines += [f"- **{LETTERS[i]})** {choice}" for i, choice in enumerate(prompt.choices)]
    lines += ["", "Answer with the letter (or click your choice)."]
    return lines


def choice_label(question: QuizQuestion, choice: int) -> str:
    text = question.choices[choice] if 0 <= choice < len(question.choices) else "?"
    return f"{LETTERS[choice] if 0 <= choice < len(LETTERS) else '?'}) {text}"


def _latest(progress: QuizProgress) -> dict[str, bool]:
    latest: dict[str, bool] = {}
    for record in progress.answers:
        latest[record.question_id] = record.correct
    return latest


def mastery(module: NotebookInfo, progress: QuizProgress) -> dict[str, float]:
    """Share of each objective's questions whose latest answer is right, for objectives with
    answers."""
    latest = _latest(progress)
    per_objective: dict[str, list[bool]] = {}
    for question in questions(module, progress):
        if question.objective:
            per_objective.setdefault(question.objective, []).append(latest.get(question.id, False))
    answered = {q.objective for q in questions(module, progress) if q.id in latest and q.objective}
    return {
        objective: round(sum(results) / len(results), 3)
        for objective, results in per_objective.items()
        if objective in answered
    }


def first_pass_score(progress: QuizProgress) -> tuple[int, int]:
    """(right, asked) counting each question's first answer: the quiz score the learner earned."""
    first: dict[str, bool] = {}
    for record in progress.answers:
        first.setdefault(record.question_id, record.correct)
    return sum(first.values()), len(first)


def grade(state: TutorState, module: NotebookInfo, question: QuizQuestion, choice: int) -> Graded:
    """Records the answer, its misconception (from the wrong choice picked) and the new mastery."""
    progress = state.quiz or new_quiz(module)
    state.quiz = progress
    objective = question.objective
    before = state.mastery.get(objective) if objective else None
    correct = choice == question.answer
    progress.answers.append(QuizAnswerRecord(question_id=question.id, choice=choice, correct=correct))
    misconception: Misconception | None = None
    if not correct:
        text = question.misconceptions.get(str(choice))
        if text:
            misconception = Misconception(text=text, objective=objective, question_id=question.id)
            known = {(m.question_id, m.text) for m in state.misconceptions}
            if (question.id, text) not in known:
                state.misconceptions.append(misconception)
    state.mastery.update(mastery(module, progress))
    after = state.mastery.get(objective) if objective else None
    return Graded(question, choice, correct, misconception, before, after)


def missed_objectives(module: NotebookInfo, state: TutorState) -> list[str]:
    """Objectives below the mastery threshold, in the module's objective order."""
    order = [o.id for o in module.objectives]
    missed = [obj for obj, value in state.mastery.items() if value < MASTERY_THRESHOLD]
    return sorted(missed, key=lambda obj: (order.index(obj) if obj in order else len(order), obj))


def next_follow_up(module: NotebookInfo, progress: QuizProgress) -> QuizQuestion | None:
    """A missed question not yet retried: the follow-up on a missed objective after the quiz."""
    attempts: dict[str, int] = {}
    for record in progress.answers:
        attempts[record.question_id] = attempts.get(record.question_id, 0) + 1
    latest = _latest(progress)
    for question in questions(module, progress):
        if latest.get(question.id) is False and attempts.get(question.id, 0) == 1:
            return question
    return None


def all_mastered(module: NotebookInfo, state: TutorState) -> bool:
    assessed = {q.objective for q in module.quiz if q.objective}
    return all(state.mastery.get(obj, 0.0) >= MASTERY_THRESHOLD for obj in assessed)
