"""A course-check warning: the right answer sits at the same position in most questions.

A learner who notices "it is always B" stops reading the choices; choices are shuffled per learner
when the tutor asks (:mod:`tutornb.tutors.quizorder`), but an exported or printed quiz keeps the written
order, so the instructor should still spread the answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tutornb.models import QuizQuestion

#: Below this many questions a repeated position is chance, not a habit.
MIN_QUESTIONS = 4
#: "Most": more than this share of the questions.
MOST = 0.6


def _letter(index: int) -> str:
    return chr(65 + index) if index < 26 else str(index)


def answer_position_warning(questions: Iterable[QuizQuestion]) -> str | None:
    """The warning's text when one answer position dominates, else ``None``."""
    answers = [q.answer for q in questions if 0 <= q.answer < len(q.choices)]
    if len(answers) < MIN_QUESTIONS:
        return None
    position, count = Counter(answers).most_common(1)[0]
    if count <= MOST * len(answers):
        return None
    return (
        f"the right answer is choice {_letter(position)} in {count} of {len(answers)} questions; "
        "spread the answers over the positions (learners notice the pattern)"
    )
