"""The course tutor behind the real TutorService: a restart, then a resume that continues."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tutor_helpers import LISTS

from tutornb.models import Phase, Role
from tutornb.service import TutorService
from tutornb.tutors.retrieval import clear_indexes


def test_resume_after_a_service_restart_continues_the_quiz(course_root: Path, tmp_path: Path) -> None:
    store_dir = tmp_path / "service-store"

    async def first_visit() -> str:
        service = TutorService.open(root_dir=course_root, store_dir=store_dir)
        try:
            session = service.create_session("ann", {"context": {"notebook_path": LISTS}})
            await service.ask("ann", session.id, "What is a list comprehension?")
            await service.ask("ann", session.id, "quiz me")
            await service.ask("ann", session.id, "a")  # wrong: a misconception is recorded
            await service.change_status("ann", session.id, "pause")
            return session.id
        finally:
            service.close()

    async def second_visit(session_id: str) -> None:
        clear_indexes()  # a new process: nothing cached in memory
        service = TutorService.open(root_dir=course_root, store_dir=store_dir)
        try:
            # When the learner resumes the paused session after the restart
            await service.change_status("ann", session_id, "resume")
            await service.drain()
            detail = service.get_session("ann", session_id)
            welcome = detail.messages[-1]
            # Then the tutor says where they left off, from the stored state
            assert welcome.role is Role.TUTOR
            assert welcome.text.startswith("Welcome back to **Python foundations / Lists & loops**")
            assert "question 2 of 5" in welcome.text
            assert "Quiz score: 0 of 1 right." in welcome.text
            assert welcome.quiz is not None
            assert welcome.quiz.question_id == "lists-q2"
            assert detail.phase is Phase.QUIZZING
            assert detail.state.misconceptions[0].question_id == "lists-q1"
            # And answering continues the same quiz at question 3
            reply = await service.ask("ann", session_id, "b")
            assert reply.quiz is not None
            assert reply.quiz.question_id == "lists-q3"
            assert service.get_session("ann", session_id).current_question_number == 3
        finally:
            service.close()

    session_id = asyncio.run(first_visit())
    asyncio.run(second_visit(session_id))
