"""The tutor that generalizes (issue 17), on real notebooks: the sample course in ``notebooks/`` and
the retrieval fixture in ``tests/fixtures/semantic_course``, through the service's own turn runner
and the real store.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_openai_tutor import ChatServer, make_driver, stream
from tutor_helpers import DICTS, LISTS, Driver, cell_source

from tutornb.store.sessions import SessionStore
from tutornb.tutors import semantic
from tutornb.tutors.course import create_course_tutor
from tutornb.tutors.explain import answering_example
from tutornb.tutors.notebook import parse_notebook
from tutornb.tutors.retrieval import clear_indexes, index_for
from tutornb.tutors.terms import ANOTHER_LANGUAGE, detect_language, tokenize

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "semantic_course"
ARRAYS = "course/arrays_and_tables.ipynb"
SORT_MISTAKE = (
    "my code: nums = [3,1,2]; nums = nums.sort(); print(nums[0]) gives TypeError: 'NoneType' object is "
    "not subscriptable"
)


@pytest.fixture
def arrays_root(tmp_path: Path) -> Iterator[Path]:
    clear_indexes()
    shutil.copytree(FIXTURE, tmp_path / "root" / "course")
    yield tmp_path / "root"
    clear_indexes()


@pytest.fixture
def model() -> Iterator[ChatServer]:
    server = ChatServer()
    yield server
    server.stop()


def course_driver(root: Path, store: SessionStore, notebook: str) -> Driver:
    return Driver.start(create_course_tutor(root_dir=root), store, root, notebook)


def test_a_paraphrase_with_no_shared_word_finds_its_section(arrays_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = course_driver(arrays_root, store, ARRAYS)
        # When the learner asks in words the section never uses
        result = await driver.say("how do i stack two matrices on top of each other")
        # Then no word of the question is in the section, yet it answers, by meaning
        action = result.action("answered_from_course")
        best = action.data["passages"][0]
        assert best["cell_index"] == 3
        assert best["similarity"] > 0
        index, rel = index_for(arrays_root, ARRAYS) or (None, "")
        assert index is not None
        info = index.notebook(rel)
        assert info is not None
        section = next(p for p in info.passages if p.cell_index == 3)
        assert section.heading == "Joining arrays"
        terms = set(action.data["question_terms"])
        assert not terms & set(index.analyze(section.text + section.heading, course_id=info.course_id))
        # And the reply quotes it with its code and saved output, hedged (a match by meaning only)
        assert "The closest the course comes is *Joining arrays*" in result.text
        assert "np.vstack((a, b))" in result.text
        assert "[[1 2]\n [3 4]]" in result.text
        assert {c.cell_index for c in result.citations} >= {3, 4}
        assert "not in this course" not in result.text

    asyncio.run(scenario())


def test_the_sort_mistake_is_answered_from_the_cell_that_warns_about_it(
    course_root: Path, store: SessionStore
) -> None:
    async def scenario() -> None:
        driver = course_driver(course_root, store, LISTS)
        # When the learner pastes their code and its error inside a sentence
        result = await driver.say(SORT_MISTAKE)
        # Then it is explained as that error, from cell 6 ("Changing a list") and its worked example
        assert "TypeError" in result.text
        assert "not in this course" not in result.text
        assert (
            "Your code makes the mistake the course warns about in *Changing a list* (cell 6)" in result.text
        )
        assert "A common mistake is writing `scores = scores.sort()`" in result.text
        assert "sort() returned None" in result.text
        cited = [(c.notebook_path, c.cell_index) for c in result.citations]
        assert cited[0] == (LISTS, 5)
        assert (LISTS, 6) in cited
        assert "scores = scores.sort()" in cell_source(course_root, LISTS, 5)
        # And no template text reaches the learner unfilled
        assert "`the " not in result.text

    asyncio.run(scenario())


def test_a_key_error_without_the_learners_line_has_no_placeholder(
    course_root: Path, store: SessionStore
) -> None:
    async def scenario() -> None:
        driver = course_driver(course_root, store, DICTS)
        result = await driver.say(
            "KeyError                Traceback (most recent call last)\nKeyError: 'Texas'"
        )
        assert "KeyError" in result.text
        assert "`the dictionary" not in result.text
        assert "`the " not in result.text

    asyncio.run(scenario())


def test_a_weak_match_is_answered_with_a_hedge(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = course_driver(course_root, store, LISTS)
        # When the learner's words only partly meet the course's
        result = await driver.say("how can I put my numbers in order from small to big")
        # Then the tutor answers from the closest section and says how sure it is
        assert "The closest the course comes is *Changing a list* (cell 6)" in result.text
        assert "sorted(scores)" in result.text
        assert result.citations[0].cell_index == 5
        assert "not in this course" not in result.text
        assert result.action("answered_from_course").data["hedged"] is True

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "question", ["How do I set up a Kubernetes cluster?", "What is the capital of France?"]
)
def test_an_out_of_course_question_is_refused_honestly(
    course_root: Path, store: SessionStore, question: str
) -> None:
    async def scenario() -> None:
        driver = course_driver(course_root, store, LISTS)
        result = await driver.say(question)
        assert result.text.startswith("That's not in this course")
        assert result.action("not_covered")

    asyncio.run(scenario())


def test_a_learners_copy_of_a_module_notebook_is_cited_over_the_original(
    course_root: Path, store: SessionStore
) -> None:
    copy = "course/01_lists_and_loops-Copy1.ipynb"
    shutil.copy(course_root / LISTS, course_root / copy)

    async def scenario() -> None:
        # When the learner works in their copy, beside the original
        mine = await course_driver(course_root, store, copy).say("What is a list comprehension?")
        # Then every citation goes into the copy
        assert mine.citations
        assert {c.notebook_path for c in mine.citations} == {copy}
        # And the same mistake explained there cites the copy's cells too
        error = await course_driver(course_root, store, copy).say(SORT_MISTAKE)
        assert [(c.notebook_path, c.cell_index) for c in error.citations][:2] == [(copy, 5), (copy, 6)]
        # And from another module, the original is cited, once (no duplicate from the copy)
        other = await course_driver(course_root, store, DICTS).say("What is a list comprehension?")
        assert {c.notebook_path for c in other.citations} == {LISTS}
        assert len(other.citations) == len({(c.notebook_path, c.cell_index) for c in other.citations})

    asyncio.run(scenario())


def test_quiz_inside_a_question_is_a_question(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = course_driver(course_root, store, LISTS)
        result = await driver.say("i have a quiz on friday, why does nums[1] give the second item?")
        # Then it is answered from the indexing section, no quiz starts
        assert result.quiz is None
        assert "Quiz on" not in result.text
        assert result.citations[0].heading == "Indexing and slicing"
        assert result.session.state.quiz is None
        # While asking for a quiz still starts one
        asked = await course_driver(course_root, store, LISTS).say("I have a quiz tomorrow. Can you quiz me?")
        assert "Quiz on **Lists & loops**" in asked.text

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wie füge ich ein Element zu einer Liste hinzu?", "German"),
        ("Como eu faço um loop em uma lista?", "Portuguese"),
        ("¿Cómo saco un valor de un diccionario usando su clave?", "Spanish"),
        ("Como funciona o for?", ANOTHER_LANGUAGE),
        ("How do I loop over a list?", None),
    ],
)
def test_a_language_is_named_only_when_it_is_clear(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_the_model_prompt_holds_the_answer_cell_found_by_meaning(
    arrays_root: Path, store: SessionStore, model: ChatServer
) -> None:
    model.script = [stream("Use np.vstack [cell 4].")]

    async def scenario() -> None:
        tutor = make_driver(arrays_root, store, model.url)
        driver = Driver.start(tutor.tutor, store, arrays_root, ARRAYS)
        await driver.say("how do i stack two matrices on top of each other")
        messages = model.requests[-1]["body"]["messages"]
        data = messages[-2]["content"]
        # Then the model gets the section the course tutor would quote, with its code and output
        assert "Joining arrays" in data
        assert "print(np.vstack((a, b)))" in data
        assert "[[1 2]\n [3 4]]" in data

    asyncio.run(scenario())


def test_replies_are_deterministic_and_the_model_loads_on_the_first_turn(
    course_root: Path, store: SessionStore, tmp_path: Path
) -> None:
    async def scenario() -> list[str]:
        texts = []
        for _ in range(2):
            clear_indexes()  # a restarted server: embeddings from the disk cache the second time
            driver = course_driver(course_root, store, LISTS)
            texts.append((await driver.say("how can I put my numbers in order from small to big")).text)
        return texts

    first, second = asyncio.run(scenario())
    assert first == second
    assert semantic.loaded()
    cached = list(semantic.cache_dir().glob("*.npy"))
    assert cached
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in cached)
    assert json.dumps(first)  # plain text, nothing left to fill in


def test_the_model_prompt_holds_the_rest_of_the_section_the_answer_is_in(
    course_root: Path, store: SessionStore, model: ChatServer
) -> None:
    model.script = [stream("A variable is a name for a value [cell 5].")]

    async def scenario() -> None:
        tutor = make_driver(course_root, store, model.url)
        driver = Driver.start(tutor.tutor, store, course_root, "course/00_start_here.ipynb")
        await driver.say("what does the = sign do when I assign a variable?")
        data = model.requests[-1]["body"]["messages"][-2]["content"]
        # Then the model gets the section's first cell and the cell that continues it under the
        # same heading, as the course tutor would read them
        assert "The `=` sign is *assignment*" in data
        assert "Anything in quotes is a string" in data

    asyncio.run(scenario())


def test_the_worked_example_shown_is_the_quoted_one_that_holds_the_code_asked_about() -> None:
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "00_start_here.ipynb"
    info = parse_notebook(notebook.read_bytes(), "00_start_here.ipynb", (0, 0))
    section = [p for p in info.passages if p.heading == "Variables and types"]
    assert [p.cell_index for p in section] == [4, 6]
    # When a question quotes code from the first of the section's two worked examples
    question = "what does print(count, type(count)) print?"
    found = answering_example(section, tokenize(question), question)
    # Then that example is shown, not the one of the passage quoted last
    assert found is not None
    assert (found[0].cell_index, found[1].cell_index) == (4, 5)
