"""Reading learner messages in plain words, and understanding pasted tracebacks."""

from __future__ import annotations

import pytest

from tutornb.models import QuizQuestion
from tutornb.tutors.errorhelp import diagnose, parse_traceback
from tutornb.tutors.intents import Intent, parse_choice, read_message

QUESTION = QuizQuestion(
    id="q",
    question="What is nums[1]?",
    choices=["10", "20", "30", "An IndexError"],
    answer=1,
)


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("b", 1),
        ("B)", 1),
        ("2", 1),
        ("the answer is c", 2),
        ("I think it's d.", 3),
        ("an indexerror", 3),
        ("`30`", 2),
        ("e", None),
        ("5", None),
        ("because lists start at zero", None),
    ],
)
def test_quiz_answers_typed_in_any_usual_form(text: str, choice: int | None) -> None:
    assert parse_choice(text, QUESTION) == choice


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("quiz me", Intent.QUIZ),
        ("Can you test my understanding?", Intent.QUIZ),
        ("next", Intent.NEXT),
        ("ok, let's go!", Intent.NEXT),
        ("Next, please.", Intent.NEXT),
        ("let's go", Intent.NEXT),
        ("I'm stuck on exercise 2", Intent.HINT),
        ("hint please", Intent.HINT),
        ("what's the plan?", Intent.PLAN),
        ("what will I learn here?", Intent.OBJECTIVES),
        ("how am I doing?", Intent.PROGRESS),
        ("hello", Intent.GREETING),
        ("stop the quiz", Intent.STOP_QUIZ),
        ("explain slicing", Intent.QUESTION),
        ("what is a default argument?", Intent.QUESTION),
        ("NameError: name 'totl' is not defined", Intent.TRACEBACK),
    ],
)
def test_plain_words_drive_the_tutor(text: str, intent: Intent) -> None:
    assert read_message(text).intent is intent


def test_a_letter_is_an_answer_only_while_a_question_is_open() -> None:
    assert read_message("b", open_question=QUESTION).intent is Intent.ANSWER
    assert read_message("b").intent is Intent.QUESTION


def test_plain_python_traceback() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/home/ann/scores.py", line 2, in <module>\n'
        "    print(scores[4])\n"
        "          ~~~~~~^^^\n"
        "IndexError: list index out of range"
    )
    info = parse_traceback(text)
    assert info is not None
    assert (info.exc_type, info.line_number, info.code_line) == (
        "IndexError",
        2,
        "print(scores[4])",
    )
    detail = diagnose(info).meaning
    assert detail is not None
    assert "`scores` has no item at index `4`" in detail


def test_ipython_traceback_with_colours() -> None:
    text = (
        "\x1b[0;31m---------------------------------------------------------------\x1b[0m\n"
        "\x1b[0;31mAttributeError\x1b[0m     Traceback (most recent call last)\n"
        "Cell \x1b[0;32mIn[3], line 2\x1b[0m\n"
        "\x1b[1;32m      1\x1b[0m a \x1b[38;5;241m=\x1b[39m [3, 1]\n"
        "\x1b[0;32m----> 2\x1b[0m a\x1b[38;5;241m.\x1b[39mpush(\x1b[38;5;241m4\x1b[39m)\n\n"
        "\x1b[0;31mAttributeError\x1b[0m: 'list' object has no attribute 'push'"
    )
    info = parse_traceback(text)
    assert info is not None
    assert info.exc_type == "AttributeError"
    assert info.code_line == "a.push(4)"
    assert info.line_number == 2
    assert diagnose(info).meaning == "The value is a `list`, and a `list` has no `push`."


def test_text_without_exception_is_not_a_traceback() -> None:
    assert parse_traceback("what is a KeyError?") is None
