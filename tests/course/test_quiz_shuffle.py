"""Quiz choices shuffled per learner (policy ``shuffle_choices``): each learner sees an order of
their own, the same again after a restart and resume, and what they pick is graded, logged and
reported as the course wrote it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from tutornb.instructor.reports.build import build_report
from tutornb.models import QuizQuestion
from tutornb.service import TutorService
from tutornb.tutors.retrieval import clear_indexes

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LISTS = "course/01_lists_and_loops.ipynb"
LETTERS = "abcdefgh"


def _course(tmp_path: Path, shuffle: bool) -> tuple[Path, dict[str, QuizQuestion]]:
    clear_indexes()
    root = tmp_path / "root"
    shutil.copytree(NOTEBOOKS, root / "course")
    course_file = root / "course" / "tutornb-course.json"
    course_file.write_text(json.dumps({"policy": {"shuffle_choices": shuffle}}), encoding="utf-8")
    meta = json.loads((root / LISTS).read_text(encoding="utf-8"))["metadata"]["tutornb"]
    return root, {q["id"]: QuizQuestion.model_validate(q) for q in meta["quiz"]}


async def _first_prompts(service: TutorService, owner: str) -> tuple[str, list[list[str]]]:
    session = service.create_session(owner, {"context": {"notebook_path": LISTS}})
    reply = await service.ask(owner, session.id, "quiz me")
    if reply.quiz is None:
        reply = await service.ask(owner, session.id, "go")
    assert reply.quiz is not None
    return session.id, [reply.quiz.choices]


def test_each_learner_sees_their_own_order_and_picks_are_graded_as_written(tmp_path: Path) -> None:
    root, written = _course(tmp_path, shuffle=True)
    store_dir = tmp_path / "store"

    async def study() -> tuple[str, list[str], dict[str, list[str]]]:
        service = TutorService.open(root_dir=root, store_dir=store_dir)
        try:
            orders: dict[str, list[str]] = {}
            for owner in ("ann", "bo", "cy", "dee"):
                _, prompts = await _first_prompts(service, owner)
                orders[owner] = prompts[0]
            # ann answers the first question with the letter of its right answer as she sees it
            session = service.list_sessions("ann", {}).sessions[0]
            detail = service.get_session("ann", session.id)
            prompt = detail.messages[-1].quiz
            assert prompt is not None
            question = written[prompt.question_id]
            right = question.choices[question.answer]
            reply = await service.ask("ann", session.id, LETTERS[prompt.choices.index(right)])
            # then a wrong choice that carries a misconception, as she sees it
            second = reply.quiz
            assert second is not None
            q2 = written[second.question_id]
            wrong = int(next(iter(q2.misconceptions)))
            await service.ask("ann", session.id, LETTERS[second.choices.index(q2.choices[wrong])])
            await service.change_status("ann", session.id, "pause")
            return session.id, orders["ann"], orders
        finally:
            service.close()

    session_id, ann_first, orders = asyncio.run(study())
    q1 = next(iter(written.values()))
    # Each order is the written choices, reordered; not every learner sees the written order
    for order in orders.values():
        assert sorted(order) == sorted(q1.choices)
    assert any(order != q1.choices for order in orders.values()), orders

    async def come_back() -> None:
        clear_indexes()
        service = TutorService.open(root_dir=root, store_dir=store_dir)
        try:
            detail = service.get_session("ann", session_id)
            actions = service.store.export_session(session_id).actions
            graded = [a for a in actions if a.action == "quiz_graded"]
            # the right pick was graded right, the wrong one wrong: both logged by their written index
            assert [a.data["correct"] for a in graded] == [True, False]
            assert graded[0].data["choice"] == q1.answer
            first_prompt = next(m.quiz for m in detail.messages if m.quiz is not None)
            assert first_prompt is not None
            assert first_prompt.choices == ann_first
            # And after a restart and resume the open question shows the order it showed before
            await service.change_status("ann", session_id, "resume")
            await service.drain()
            again = service.get_session("ann", session_id)
            shown_again = [m for m in again.messages if m.quiz is not None]
            # (the welcome back carries the open question: a new message, not the old one)
            assert len(shown_again) == len([m for m in detail.messages if m.quiz is not None]) + 1
            reshown = shown_again[-1].quiz
            assert reshown is not None
            before = [m.quiz for m in detail.messages if m.quiz is not None][-1]
            assert before is not None
            assert reshown.question_id == before.question_id
            assert reshown.choices == before.choices
            # And the report names the wrong choice as the course wrote it
            report = build_report(service.store, owner="ann", learner="ann")
            misconception = report.modules[0].misconceptions[0]
            q2 = written[str(misconception.question_id)]
            assert misconception.choice is not None
            assert misconception.choice_text == q2.choices[misconception.choice]
            assert str(misconception.choice) in q2.misconceptions
        finally:
            service.close()

    asyncio.run(come_back())


def test_without_the_policy_the_written_order_stays(tmp_path: Path) -> None:
    root, written = _course(tmp_path, shuffle=False)

    async def run() -> list[str]:
        service = TutorService.open(root_dir=root, store_dir=tmp_path / "store")
        try:
            _, prompts = await _first_prompts(service, "ann")
            return prompts[0]
        finally:
            service.close()

    assert asyncio.run(run()) == next(iter(written.values())).choices
