"""The course tutor on messages as real learners write them: typos, symbols, accents, follow-ups
(also after a restart), the hint ladder under each solution policy, "I'm lost", honest refusals,
callout headings and their own failing code. Runs on a real notebook (tests/fixtures/tutor_course)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tutor_helpers import Driver, cell_source

from tutornb.models import LearnerWork
from tutornb.store.sessions import SessionStore
from tutornb.tutors.course import create_course_tutor
from tutornb.tutors.retrieval import clear_indexes, parse_notebook
from tutornb.tutors.terms import tokenize

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tutor_course"
NOTEBOOK = "course/text_and_arrays.ipynb"


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    clear_indexes()
    shutil.copytree(FIXTURE, tmp_path / "root" / "course")
    yield tmp_path / "root"
    clear_indexes()


def driver(root: Path, store: SessionStore, **options: Any) -> Driver:
    return Driver.start(create_course_tutor(root_dir=root, options=options), store, root, NOTEBOOK)


def headings(root: Path, result: Any) -> list[str]:
    return [c.heading for c in result.citations]


def run(scenario: Any) -> None:
    asyncio.run(scenario())


def test_typos_find_the_section_the_learner_means(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        # When the learner misspells the course's words (a transposition, a missing letter)
        result = await tutor.say("why are strigns imutable?")
        # Then the strings section answers, as it would for the right spelling
        assert "doesn't cover" not in result.text
        assert headings(root, result)[0] == "Strings are immutable"
        assert result.action("answered_from_course").data["question_terms"] == ["immut", "string"]

    run(scenario)


def test_symbols_and_code_in_questions_are_search_terms(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        # When the question is mostly symbols
        result = await tutor.say("what's the difference between * and @ with 2D arrays?")
        # Then the sections on both operators are found (not "arrays" alone)
        cited = headings(root, result)
        assert {"Element-wise products", "Matrix products"} <= set(cited)
        # And a quoted piece of code finds the cell that holds it, with its saved output
        last = await tutor.say("what does items[-1] give me?")
        assert headings(root, last)[0] == "The last item"
        assert "Running it shows:" in last.text
        assert "8" in last.text.split("Running it shows:")[1]

    run(scenario)


def test_accented_words_stay_whole(root: Path, store: SessionStore) -> None:
    # Given the tokenizer: an accented word is one word, folded
    assert tokenize("café crème") == tokenize("cafe creme") == ["cafe", "creme"]

    async def scenario() -> None:
        tutor = driver(root, store)
        # When the learner writes the word with or without its accent
        with_accent = await tutor.say("how is the café menu formatted?")
        without = await tutor.say("how is the cafe menu formatted?")
        # Then both find the same section
        assert headings(root, with_accent)[0] == headings(root, without)[0] == "Formatting a café menu"

    run(scenario)


def test_callouts_and_captions_stay_in_their_section(root: Path) -> None:
    # When the notebook is split into passages
    info = parse_notebook((root / NOTEBOOK).read_bytes(), NOTEBOOK)
    names = {p.heading for p in info.passages}
    # Then a "##### Challenge question:" and a figure caption are no sections of their own
    assert not any("Challenge" in n or "Figure" in n for n in names)
    strings = [p for p in info.passages if p.heading == "Strings are immutable"]
    text = "\n".join(p.text for p in strings)
    assert "Did Python get this wrong" in text
    assert "immutable by design" in text


def test_a_quoted_question_comes_with_its_answer(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        # When the passage that answers holds a question the course asks its readers
        result = await tutor.say("did python get it wrong when word[0] raised an error?")
        # Then the question is never quoted without the answer that follows it
        assert "Did Python get this wrong" in result.text
        assert "immutable by design" in result.text

    run(scenario)


def test_follow_ups_are_read_with_the_previous_turn_even_after_a_restart(root: Path, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SessionStore(tmp_path / "store")
        first = driver(root, store)
        await first.say("How do I loop over a list?")
        # When the server restarts (store closed and reopened, indexes and tutor rebuilt)
        store.close()
        clear_indexes()
        reopened = SessionStore(tmp_path / "store")
        resumed = Driver(create_course_tutor(root_dir=root), reopened, root, first.session_id)
        # Then a follow-up is still read with the stored previous question
        result = await resumed.say("what about for dicts?")
        assert headings(root, result)[0] == "Looping over a dictionary"
        assert "Following on from “How do I loop over a list?”" in result.text
        assert result.action("answered_from_course").data["follow_up"] is True
        reopened.close()

    run(scenario)


def test_another_language_is_said_and_its_code_terms_still_cited(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        result = await tutor.say("¿Cómo uso enumerate en un bucle for con una lista?")
        assert "You wrote in Spanish" in result.text
        assert headings(root, result)[0] == "Looping over a list"
        assert result.action("other_language").data["language"] == "Spanish"

    run(scenario)


def test_im_lost_gets_orientation_not_a_refusal(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        await tutor.say("How do I loop over a list?")
        result = await tutor.say("I'm lost")
        # Then: where the learner is, what comes next, and the ways forward
        assert "doesn't cover" not in result.text
        assert "**Where you are:** *Looping over a list*" in result.text
        assert "**What comes next:** *Looping over a dictionary*" in result.text
        for offer in ("**plan**", "**quiz me**", "**hint**"):
            assert offer in result.text
        assert result.action("orientation_given").data["here"] == 5

    run(scenario)


def test_off_topic_is_refused_honestly_with_the_nearest_sections(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        result = await tutor.say("How do I deploy a Django app to production?")
        assert result.text.startswith("That's not in this course")
        assert result.citations == []
        assert result.action("not_covered").data["off_topic"] == "redirect"
        # And with the policy "decline" the module's topics are not listed
        declined = await driver(root, store, policy={"off_topic": "decline"}).say(
            "What is the capital of Peru?"
        )
        assert "That's not in this course" in declined.text
        assert "covers:" not in declined.text

    run(scenario)


def test_traceback_help_uses_the_learners_own_work(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        # When the learner asks about their failing cell (attached as work)
        work = LearnerWork(
            cell_index=3,
            code='word = "hello"\nword[0] = "J"',
            error=(
                'Traceback (most recent call last):\n  Cell In[4], line 2\n    word[0] = "J"\n'
                "TypeError: 'str' object does not support item assignment"
            ),
        )
        result = await tutor.say("why does this fail?", work=work)
        # Then it is explained with their name and type, the fix is shown, the concept is cited
        assert "`word` is a string (`str`), and a string is immutable" in result.text
        assert 'word = "J" + word[1:]' in result.text
        assert "line 2 of your cell 4" in result.text
        assert headings(root, result)[0] == "Strings are immutable"
        assert result.action("traceback_explained").data["from_work"] is True
        # And a NumPy shape mismatch is explained with the shapes of the learner's arrays
        shapes = LearnerWork(
            code="a = np.array([1, 2, 3])\nb = np.array([1, 2])\na + b",
            error="ValueError: operands could not be broadcast together with shapes (3,) (2,) ",
        )
        mismatch = await tutor.say("what's wrong?", work=shapes)
        assert "`a` has shape (3,) and `b` has shape (2,)" in mismatch.text
        assert "print(a.shape, b.shape)" in mismatch.text
        assert "Element-wise products" in headings(root, mismatch)

    run(scenario)


def test_hint_ladder_after_attempts(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store, policy={"solutions": "after_attempts", "attempts": 2})
        # The solution asked for at once is withheld, with the first rung instead
        early = await tutor.say("just give me the solution to exercise 1")
        assert "I can't show the full solution yet" in early.text
        assert "Start from range(4)." in early.text
        assert "[x * x for x in range(4)]" not in early.text
        withheld = early.action("solution_withheld").data
        assert (withheld["policy"], withheld["attempts"], withheld["policy_source"]) == (
            "after_attempts",
            0,
            "server",
        )
        # The next hint climbs the ladder: the second hint and a partial step
        second = await tutor.say("another hint for exercise 1")
        assert "Put the expression first" in second.text
        assert second.action("hint_given").data["rung"] == 2
        # After two tries the solution is shown, with its expected result
        shown = await tutor.say("ok show me the solution for exercise 1")
        assert "squares = [x * x for x in range(4)]" in shown.text
        assert "[0, 1, 4, 9]" in shown.text
        assert shown.action("solution_shown").data["attempts"] == 2

    run(scenario)


def test_hint_ladder_never_and_on_request(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        never = driver(root, store, policy={"solutions": "never"})
        for _ in range(3):
            result = await never.say("give me the solution to exercise 1")
        assert "doesn't let me show full solutions" in result.text
        assert "[x * x for x in range(4)]" not in result.text
        assert result.action("solution_withheld").data["policy"] == "never"
        on_request = driver(root, store, policy={"solutions": "on_request"})
        shown = await on_request.say("give me the solution to exercise 1")
        assert "squares = [x * x for x in range(4)]" in shown.text
        assert shown.action("solution_shown").data["policy"] == "on_request"

    run(scenario)


def test_a_stated_result_is_checked_against_the_expected_one(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        right = await tutor.say("I got [0, 1, 4, 9] for exercise 1, is that right?")
        assert "✅" in right.text
        assert right.action("result_checked").data["correct"] is True
        wrong = await tutor.say("I got [1, 4, 9, 16] for exercise 1, is that right?")
        assert "❌" in wrong.text
        assert wrong.action("result_checked").data["correct"] is False

    run(scenario)


def test_cited_cells_hold_what_the_reply_quotes(root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = driver(root, store)
        result = await tutor.say("how do I get the last item of a list?")
        cited = result.citations[0]
        assert "items[-1]" in cell_source(root, NOTEBOOK, cited.cell_index)

    run(scenario)
