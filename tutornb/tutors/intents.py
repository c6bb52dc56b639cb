"""What the learner wants from a message, read from plain words ("quiz me", "next", "hint", "what is
X").

Learners should not have to learn commands: the phrases here are the ones people type in a chat, and
anything that is not one of them is a question about the material. A request word inside a
statement is not a request when the message asks something else ("i have a quiz on friday, why
does ..." is a question): each clause is read for whether it asks, tells or requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from tutornb.models import QuizQuestion
from tutornb.tutors.errorhelp import looks_like_traceback


class Intent(str, Enum):
    GREETING = "greeting"
    PLAN = "plan"
    QUIZ = "quiz"
    ANSWER = "answer"
    NEXT = "next"
    HINT = "hint"
    SOLUTION = "solution"
    CHECK = "check"
    LOST = "lost"
    TRACEBACK = "traceback"
    QUESTION = "question"
    OBJECTIVES = "objectives"
    PROGRESS = "progress"
    STOP_QUIZ = "stop_quiz"


@dataclass(frozen=True)
class Reading:
    intent: Intent
    #: The learner's text, stripped.
    text: str
    #: The chosen quiz choice (0-based) for ANSWER.
    choice: int | None = None


def _norm(text: str) -> str:
    text = text.strip().lower().replace("\u2019", "'")
    return re.sub(r"\s+", " ", text)


_NEXT_RE = re.compile(
    r"^((ok|okay|yes|yep|sure|alright|right|great|cool|thanks) )?"
    r"(next|next (one|step|topic|section|question|module)|continue|go on|go|go ahead|ready|"
    r"i'?m ready|ok|okay|yes|yep|yeah|sure|done|i'?m done|let'?s go|let'?s do it|"
    r"start( the quiz)?|begin|keep going|move on|what'?s next|what next|what now|and now|proceed)"
    r"( please)?$"
)
_STOP_QUIZ_RE = re.compile(r"\b(stop|quit|cancel|pause|end|exit|leave)( the| this)? quiz\b|^skip quiz\b")
_QUIZ_RE = re.compile(
    r"\b(quiz( me)?|test me|test my (knowledge|understanding)|check my understanding|"
    r"practice questions?|"
    r"ask me (a )?questions?|(another|retry|retake|try) (the )?quiz)\b"
)
_HINT_RE = re.compile(r"\b(hints?|i'?m stuck|stuck on|give me a clue|a clue)\b")
_SOLUTION_RE = re.compile(
    r"\b(solutions?|give me the (answer|code)|show me the (answer|code)|just tell me the answer|"
    r"(full|complete) answer|answer (to|for) (the |this |that )?(exercise|task))\b"
)
_CHECK_RE = re.compile(
    r"\b(i got|i get|i'?ve got|my (result|output) (is|was)|it (gives|gave|prints|printed))\b.*"
    r"(right|correct|ok|good)\??\s*$|\b(is|was) (this|that|it|my (result|output)) (right|correct)\b"
)
_LOST_RE = re.compile(
    r"\b(i'?m lost|i am lost|i'?m confused|i am confused|don'?t get (any of )?(this|it|anything)|"
    r"don'?t understand (any|anything)|no idea (what|where)|overwhelmed|where am i|"
    r"what (comes|should i do) next|what'?s next|what is next|what now|help me get started)\b"
)
_PLAN_RE = re.compile(
    r"\b(study plan|plan|roadmap|where (do|should) i (start|begin)|what should i (study|learn|do)|"
    r"learning path|how should i proceed)\b"
)
_OBJECTIVES_RE = re.compile(
    r"\b(objectives?|learning goals?|what will i learn|"
    r"what does (this|the) (module|notebook|course) cover|"
    r"what'?s (in|covered in) (this|the) (module|notebook))\b"
)
_PROGRESS_RE = re.compile(
    r"\b(my progress|progress|my score|how am i doing|how did i do|my mastery|mastery|"
    r"my results?)\b"
)
_GREETING_RE = re.compile(
    r"^(hi|hello|hey|hiya|good (morning|afternoon|evening)|greetings|howdy|hallo|hola)\b[ a-z!.,]*$"
)
_ANSWER_PREFIX_RE = re.compile(
    r"^(my answer is|the answer is|answer is|answer|i think it'?s|i think it is|i think|i choose|"
    r"i pick|i'?ll go with|it'?s|it is|option|choice|maybe)\s*:?\s*"
)


_CLAUSE_SPLIT_RE = re.compile(r"[,;!?]|\.(?=\s|$)|\s(?:but|because|so)\s")
#: How a clause that asks for something starts: "quiz me", "can you ...", "please ...", "i want ...".
_REQUEST_START_RE = re.compile(
    r"^(please |ok |okay |now |then |and )*(can|could|would|will) you\b|^(please|pls|let'?s|lets|give|"
    r"show|i want|i'?d like|i would like|i need|i'?m|i am|now|time for|another|one more|start|begin|"
    r"make|create|help)\b"
)
_QUESTION_START_RE = re.compile(
    r"^(why|what|whats|what'?s|how|when|where|which|who|is|are|does|do|did|can|could|should|would|"
    r"will|was|were|isn'?t|doesn'?t)\b"
)


def _clauses(norm: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_SPLIT_RE.split(norm) if c and c.strip()]


def _asked(norm: str, pattern: re.Pattern[str]) -> bool:
    """Is the request ``pattern`` names actually asked for? Not when its word sits in a statement
    ("i have a quiz on friday") while another part of the message asks a question: that message is
    the question. A short message, or a clause that reads as a request, asks."""
    clauses = _clauses(norm)
    if not pattern.search(norm):
        return False
    holding = [c for c in clauses if pattern.search(c)]
    if not holding or len(norm.split()) <= 4:
        return True
    requests = [c for c in holding if _REQUEST_START_RE.match(c) or pattern.match(c) or len(c.split()) <= 3]
    if requests:
        return True
    questions = [
        c for c in clauses if not pattern.search(c) and (_QUESTION_START_RE.match(c) or c.endswith("?"))
    ]
    return not questions


def _strip_code(text: str) -> str:
    return text.strip().strip("`\"'").strip()


def parse_choice(text: str, question: QuizQuestion) -> int | None:
    """The 0-based choice a learner typed: a letter ("b", "B)"), a 1-based number ("2"), or the
    choice text."""
    t = _ANSWER_PREFIX_RE.sub("", _norm(text)).strip().rstrip(".!?")
    t = t.strip("()[] ")
    n = len(question.choices)
    letter = re.fullmatch(r"([a-z])\)?", t)
    if letter:
        index = ord(letter.group(1)) - ord("a")
        return index if index < n else None
    number = re.fullmatch(r"(\d{1,2})\)?", t)
    if number:
        index = int(number.group(1)) - 1
        return index if 0 <= index < n else None
    for index, choice in enumerate(question.choices):
        if _strip_code(_norm(choice)) == _strip_code(t) and t:
            return index
    return None


def read_message(text: str, *, open_question: QuizQuestion | None = None) -> Reading:
    """Classifies one learner message. Order matters: a pasted traceback is always about the error,
    and while a quiz question is open a bare "b" is an answer, not a word."""
    if looks_like_traceback(text):
        return Reading(Intent.TRACEBACK, text.strip())
    norm = _norm(text)
    if open_question is not None:
        choice = parse_choice(text, open_question)
        if choice is not None:
            return Reading(Intent.ANSWER, text, choice)
    if _STOP_QUIZ_RE.search(norm):
        return Reading(Intent.STOP_QUIZ, text)
    if _NEXT_RE.match(re.sub(r"\s+", " ", re.sub(r"[,.!?;]", " ", norm)).strip()):
        return Reading(Intent.NEXT, text)
    if _asked(norm, _QUIZ_RE):
        return Reading(Intent.QUIZ, text)
    if _CHECK_RE.search(norm):
        return Reading(Intent.CHECK, text)
    if _SOLUTION_RE.search(norm):
        return Reading(Intent.SOLUTION, text)
    if _asked(norm, _HINT_RE):
        return Reading(Intent.HINT, text)
    if _asked(norm, _LOST_RE) and len(norm.split()) <= 10:
        return Reading(Intent.LOST, text)
    if _OBJECTIVES_RE.search(norm):
        return Reading(Intent.OBJECTIVES, text)
    if _asked(norm, _PLAN_RE) and len(norm.split()) <= 8:
        return Reading(Intent.PLAN, text)
    if _PROGRESS_RE.search(norm) and len(norm.split()) <= 8:
        return Reading(Intent.PROGRESS, text)
    if _GREETING_RE.match(norm) and len(norm.split()) <= 4:
        return Reading(Intent.GREETING, text)
    return Reading(Intent.QUESTION, text.strip())
