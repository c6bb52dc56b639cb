"""The offline course tutor driven through a whole module of the real sample course."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tutor_helpers import DICTS, LISTS, TRACEBACK, Driver, cell_source

from tutornb.models import Phase, QuizAnswerRecord, QuizProgress, TutorState
from tutornb.store.sessions import SessionStore
from tutornb.tutors.course import create_course_tutor


def test_intake_greets_with_course_module_and_objectives(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        # Given a new session on the lists notebook
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        # When the panel starts the conversation
        result = await driver.run("start")
        # Then the tutor greets with the course, the module and every objective, and asks
        assert "Python foundations" in result.text
        assert "Lists & loops" in result.text
        for objective in (
            "Create lists and read items by index and slice",
            "Build new lists with list comprehensions",
        ):
            assert f"- {objective}" in result.text
        assert "What would you like to do?" in result.text
        assert result.session.phase is Phase.INTAKE
        assert result.action("greeted").data["module_id"] == "lists-and-loops"
        # And the reply streams as several deltas, not one block
        assert len(result.deltas) > 3

    asyncio.run(scenario())


def test_plan_is_built_once_then_served_from_the_store_cache(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = create_course_tutor(root_dir=course_root)
        driver = Driver.start(tutor, store, course_root, LISTS)
        await driver.run("start")
        # When the learner asks for a plan
        first = await driver.say("Can I have a study plan?")
        # Then the session moves to planning with one step per objective, each citing its section
        assert first.session.phase is Phase.PLANNING
        plan = first.session.state.plan
        assert plan is not None
        loops = "Loop over a list with for, range and enumerate"
        assert [s.objective for s in plan.steps][2] == loops
        loop_sections = {c.heading for c in plan.steps[2].sections}
        assert "Counting with range and enumerate" in loop_sections
        for step in plan.steps:
            for section in step.sections:
                assert section.heading in cell_source(course_root, LISTS, section.cell_index)
        made = first.action("plan_made")
        assert made.data["cache"] == "miss"
        # When another session asks for the same module's plan
        other = Driver.start(tutor, store, course_root, LISTS)
        second = await other.say("plan")
        # Then the plan comes from the store's cache (logged as a hit) and is the same plan
        hit = second.action("plan_cache_hit")
        assert hit.data["cache_key"] == made.data["cache_key"]
        assert second.session.state.plan is not None
        assert [s.objective for s in second.session.state.plan.steps] == [s.objective for s in plan.steps]
        # And the actions are in the session's log with their reasoning
        logged = [a for a in store.actions(other.session_id) if a.action == "plan_cache_hit"]
        assert logged
        assert logged[0].reasoning

    asyncio.run(scenario())


def test_changed_notebook_content_changes_the_plan_key(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = create_course_tutor(root_dir=course_root)
        first = await Driver.start(tutor, store, course_root, LISTS).say("plan")
        # Given the notebook is edited (a new sentence in a section)
        path = course_root / LISTS
        path.write_text(path.read_text().replace("A list is written", "A list is typed"))
        # When a plan is asked for again
        second = await Driver.start(tutor, store, course_root, LISTS).say("plan")
        # Then it is rebuilt under a new key, not served stale from the cache
        assert second.action("plan_made").data["cache_key"] != first.action("plan_made").data["cache_key"]

    asyncio.run(scenario())


def test_grounded_answers_cite_the_cells_that_hold_the_answer(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        await driver.run("start")
        # When the learner asks a question straight away
        result = await driver.say("How do I loop over a list and get the index of each item?")
        # Then it goes straight to learning, quoting the enumerate section and its worked example
        assert result.session.phase is Phase.LEARNING
        assert "enumerate(items)" in result.text
        assert "**Worked example**" in result.text
        first = result.citations[0]
        assert first.notebook_path == LISTS
        assert first.heading == "Counting with range and enumerate"
        source = cell_source(course_root, LISTS, first.cell_index)
        assert "enumerate" in source
        assert "index" in source
        example = result.citations[1]
        assert "for index, name in enumerate(names)" in cell_source(course_root, LISTS, example.cell_index)
        # When the question is about another module of the course
        other = await driver.say("How do I get a value from a dictionary without a KeyError?")
        # Then the answer comes from that notebook, cited there
        cited = other.citations[0]
        assert cited.notebook_path == DICTS
        assert "get" in cell_source(course_root, DICTS, cited.cell_index)
        assert "KeyError" in cell_source(course_root, DICTS, cited.cell_index)
        assert "Dictionaries" in other.text

    asyncio.run(scenario())


def test_uncovered_question_is_answered_honestly(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        # When the learner asks about something no notebook of the course teaches
        result = await driver.say("How do I train a neural network with PyTorch?")
        # Then the tutor says the material does not cover it, cites nothing, invents nothing,
        # and lists what the module does cover
        assert "doesn't cover" in result.text
        assert result.citations == []
        assert "neural network" not in result.text.split("“")[0]
        assert "- *Indexing and slicing*" in result.text
        assert "*Dictionaries*" in result.text
        assert result.action("not_covered").data["best_coverage"] < 0.5
        # And a question only half about the course (one unknown topic) is not covered either
        half = await driver.say("how do I write a decorator function")
        assert "doesn't cover" in half.text

    asyncio.run(scenario())


def test_pasted_traceback_is_explained_against_the_learners_line(
    course_root: Path, store: SessionStore
) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        # When the learner pastes an IPython traceback
        result = await driver.say(TRACEBACK)
        # Then the exception is named and explained, tied to their own line and key
        assert "**KeyError**" in result.text
        assert 'line 3: `print(person["age"])`' in result.text
        assert "The key `'age'` is not in `person`" in result.text
        assert "person.get('age', default)" in result.text
        # And the course section on missing keys is cited (in the dictionaries notebook)
        section = result.citations[0]
        assert section.notebook_path == DICTS
        assert "KeyError" in cell_source(course_root, DICTS, section.cell_index)
        assert result.action("traceback_explained").data["exception"] == "KeyError"
        assert result.session.phase is Phase.LEARNING

    asyncio.run(scenario())


def test_quiz_wrong_then_right_records_misconception_mastery_and_completes(
    course_root: Path, store: SessionStore
) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        await driver.run("start")
        await driver.say("How do I slice a list?")
        # When the learner asks for a quiz while learning
        started = await driver.say("quiz me")
        # Then the first question comes from the notebook's metadata, one at a time
        assert started.session.phase is Phase.QUIZZING
        assert started.quiz.question_id == "lists-q1"
        assert (started.quiz.number, started.quiz.total) == (1, 5)
        assert started.session.current_question_number == 1
        assert "**Question 1 of 5:**" in started.text

        # When the first answer is wrong (choice A, through the panel's answer frame)
        wrong = await driver.answer("lists-q1", 0)
        # Then the misconception for that choice is recorded and mastery updated, answer not given
        state = wrong.session.state
        assert state.misconceptions[0].question_id == "lists-q1"
        assert "counts indexes from 0" in state.misconceptions[0].text
        assert state.mastery["indexing"] == 0.0
        assert wrong.action("misconception_found").data["objective"] == "indexing"
        assert "The answer is" not in wrong.text
        assert wrong.quiz.question_id == "lists-q2"
        assert wrong.session.current_question_number == 2

        # When the learner answers the rest right, typing letters and numbers
        await driver.say("b")
        await driver.say("B)")
        await driver.say("2")
        last = await driver.say("the answer is b")
        # Then the quiz is analyzed: score, mastery per objective, and a follow-up on the miss
        assert last.session.phase is Phase.ANALYZING
        assert "**Quiz finished: 4 of 5 right.**" in last.text
        assert "- Create lists and read items by index and slice: 50%" in last.text
        assert last.action("follow_up_asked").data["objective"] == "indexing"
        assert last.quiz.question_id == "lists-q1"

        # When the follow-up is answered right
        done = await driver.answer("lists-q1", 1)
        # Then mastery rises, the module completes and the next module is suggested
        assert done.session.state.mastery["indexing"] == 1.0
        assert done.action("mastery_updated").data == {
            "objective": "indexing",
            "before": 0.5,
            "after": 1.0,
        }
        assert done.session.phase is Phase.COMPLETED
        assert "Module complete: Lists & loops" in done.text
        assert "Next up: **Dictionaries**" in done.text
        assert done.action("module_completed").data["next_module"] == "dictionaries"
        log = store.actions(driver.session_id)
        phases = [a.data["to"] for a in log if a.action == "phase_change"]
        assert phases == ["learning", "quizzing", "analyzing", "completed"]

    asyncio.run(scenario())


def test_plan_steps_lead_to_the_quiz(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        await driver.run("start")
        await driver.say("plan")
        # When the learner steps through the plan with "next"
        steps = [await driver.say("next") for _ in range(4)]
        # Then each step teaches its section in learning, marking the previous one done
        assert steps[0].session.phase is Phase.LEARNING
        assert steps[0].text.startswith("**Step 1 of 4: Create lists")
        plan = steps[3].session.state.plan
        assert plan is not None
        assert [s.status for s in plan.steps] == ["done", "done", "done", "in_progress"]
        # And after the last step, "next" starts the quiz
        quiz = await driver.say("next")
        assert quiz.session.phase is Phase.QUIZZING
        assert quiz.quiz.number == 1

    asyncio.run(scenario())


def test_quiz_from_intake_is_prepared_then_started_and_can_pause(
    course_root: Path, store: SessionStore
) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, DICTS)
        await driver.run("start")
        # When the learner asks for a quiz before anything else
        offer = await driver.say("test me")
        # Then it is prepared in planning (intake cannot jump to quizzing), then started on "go"
        assert offer.session.phase is Phase.PLANNING
        assert offer.quiz is None
        go = await driver.say("go")
        assert go.session.phase is Phase.QUIZZING
        assert go.quiz.question_id == "dicts-q1"
        # When the learner asks something mid-question, the question stays open and re-attached
        aside = await driver.say("what is a tuple?")
        assert aside.session.phase is Phase.QUIZZING
        assert aside.quiz.question_id == "dicts-q1"
        # And a hint points to the section without giving the answer away
        hint = await driver.say("hint")
        assert "**Hint:**" in hint.text
        assert "25" not in hint.text
        # When the learner pauses the quiz and then asks to continue it
        paused = await driver.say("stop the quiz")
        assert paused.session.phase is Phase.LEARNING
        resumed = await driver.say("quiz me")
        # Then the same question is asked again
        assert resumed.session.phase is Phase.QUIZZING
        assert resumed.quiz.question_id == "dicts-q1"

    asyncio.run(scenario())


def test_exercise_hints_never_hand_out_a_solution(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        # When the learner is stuck on an exercise named by its topic
        result = await driver.say("I'm stuck on the shopping list exercise")
        # Then the notebook's own hint for that exercise is given, with its cell
        assert "`enumerate` takes a `start` argument." in result.text
        assert result.citations[0].heading == "Exercise 2: numbered shopping list"
        assert "I won't hand you the solution" in result.text
        # And "hint 3" picks the third exercise
        third = await driver.say("hint 3")
        assert third.citations[0].heading == "Exercise 3: short words"

    asyncio.run(scenario())


def test_resume_turn_summarises_the_stored_state(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        tutor = create_course_tutor(root_dir=course_root)
        driver = Driver.start(tutor, store, course_root, LISTS)
        await driver.say("How do I slice a list?")
        # Given a stored state mid-quiz: question 3 open, one of two answered right
        progress = QuizProgress(
            question_ids=["lists-q1", "lists-q2", "lists-q3", "lists-q4", "lists-q5"],
            current_index=2,
            answers=[
                QuizAnswerRecord(question_id="lists-q1", choice=0, correct=False),
                QuizAnswerRecord(question_id="lists-q2", choice=1, correct=True),
            ],
            open_question_id="lists-q3",
        )
        store.update_tutor_state(
            driver.session_id,
            phase=Phase.QUIZZING,
            state=TutorState(topic="Quiz: Lists & loops", quiz=progress),
        )
        # When the learner comes back (a fresh tutor, as after a server restart)
        fresh = Driver(create_course_tutor(root_dir=course_root), store, course_root, driver.session_id)
        result = await fresh.run("resume")
        # Then the tutor says where they left off: phase, score, last message and open question
        assert "Welcome back to **Python foundations / Lists & loops**" in result.text
        assert "question 3 of 5" in result.text
        assert "Quiz score: 1 of 2 right." in result.text
        assert "“How do I slice a list?”" in result.text
        assert result.quiz.question_id == "lists-q3"
        assert result.action("resumed").data["open_question"] == "lists-q3"
        # And the phase is unchanged: answering continues the same quiz
        assert result.session.phase is Phase.QUIZZING
        following = await fresh.say("b")
        assert following.quiz.question_id == "lists-q4"

    asyncio.run(scenario())


def test_replies_are_deterministic(course_root: Path, store: SessionStore) -> None:
    async def scenario() -> list[str]:
        texts = []
        for _ in range(2):
            tutor = create_course_tutor(root_dir=course_root)
            driver = Driver.start(tutor, store, course_root, LISTS)
            texts.append((await driver.say("What is a list comprehension?")).text)
        return texts

    # When two fresh sessions ask the same question
    first, second = asyncio.run(scenario())
    # Then the answers are identical (nbval checks %tutor ask output)
    assert first == second
    assert "[expression for item in items]" in first


def test_answer_for_a_question_that_is_not_open_changes_nothing(
    course_root: Path, store: SessionStore
) -> None:
    async def scenario() -> None:
        driver = Driver.start(create_course_tutor(root_dir=course_root), store, course_root, LISTS)
        await driver.say("quiz me")
        before = driver.session
        # When an answer frame arrives for a question nobody asked
        result = await driver.answer("lists-q4", 1)
        # Then nothing is graded and the state is unchanged
        assert result.session.state == before.state
        assert result.action("answer_ignored").data["question_id"] == "lists-q4"

    asyncio.run(scenario())


def test_notebook_outside_the_root_is_not_read(tmp_path: Path, store: SessionStore) -> None:
    async def scenario() -> None:
        # Given a session whose notebook path climbs out of the server root
        root = tmp_path / "root"
        root.mkdir()
        driver = Driver.start(create_course_tutor(root_dir=root), store, root, "../secret/notes.ipynb")
        # When the learner asks something
        result = await driver.say("What is a list?")
        # Then the tutor says it has no material instead of reading outside the root
        assert "can't find the course notebook" in result.text
        assert result.citations == []

    asyncio.run(scenario())
