"""Quiz choices in an order of the learner's own: shuffled per session, deterministically.

With the policy's ``shuffle_choices``, a quiz started fresh draws a seed (kept in the session's
``state.extra``), and every question's
order follows from the seed and the question id: a resumed quiz, a re-shown question and the
progress report all see the same order. What is stored stays in the course's terms: grading,
``quiz_graded`` actions and reports use the written index, so the class view counts "choice B"
as the same choice for every learner; only what the learner sees and picks is in shown order.
A session without a seed (started before shuffling) keeps the written order.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from tutornb.models import QuizQuestion, TutorState
from tutornb.tutors.quiz import choice_label

SEED_KEY = "choice_order_seed"


def new_seed(state: TutorState) -> None:
    """Called when a quiz starts: its questions get their per-learner order."""
    state.extra.setdefault(SEED_KEY, secrets.token_hex(8))


def order(state: TutorState, question_id: str, count: int) -> list[int]:
    """``order[shown] == written``: the written choice shown at each position."""
    seed = state.extra.get(SEED_KEY)
    positions = list(range(count))
    if isinstance(seed, str) and seed:
        random.Random(f"{seed}:{question_id}").shuffle(positions)
    return positions


def shown(state: TutorState, question: QuizQuestion) -> QuizQuestion:
    """The question as this learner sees it (choices, answer and misconception keys reordered)."""
    perm = order(state, question.id, len(question.choices))
    if perm == sorted(perm):
        return question
    where = {written: position for position, written in enumerate(perm)}
    return question.model_copy(
        update={
            "choices": [question.choices[w] for w in perm],
            "answer": where.get(question.answer, question.answer),
            "misconceptions": {
                str(where[int(k)]): v
                for k, v in question.misconceptions.items()
                if k.isdigit() and int(k) in where
            },
        }
    )


def written_choice(state: TutorState, question: QuizQuestion, picked: int) -> int:
    """The written index of the choice the learner picked at shown position ``picked``."""
    perm = order(state, question.id, len(question.choices))
    return perm[picked] if 0 <= picked < len(perm) else picked


def label(state: TutorState, question: QuizQuestion, written: int) -> str:
    """``"C) text"`` for a written choice, lettered as the learner saw it."""
    perm = order(state, question.id, len(question.choices))
    return choice_label(shown(state, question), perm.index(written) if written in perm else written)


def as_written(state: TutorState, question_id: str, shown_choices: Sequence[str]) -> list[str]:
    """Choices as a prompt showed them, put back in written order (for reports)."""
    perm = order(state, question_id, len(shown_choices))
    written = list(shown_choices)
    for position, index in enumerate(perm):
        written[index] = shown_choices[position]
    return written
