"""Status and resume: the objectives, the learner's progress, the summary a resumed session opens
with, and the module's completion."""

from __future__ import annotations

from tutornb.models import Message, Phase, Role, StudyPlan, TutorState
from tutornb.tutors import quiz as quizzes
from tutornb.tutors.base import TutorTurn
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import course_topics
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import NotebookInfo


def objectives(reply: Reply, lesson: Lesson) -> None:
    module = lesson.module
    if not module.objectives:
        reply.say(f"**{module.module_title}** lists no objectives; its sections are:")
        reply.say(*(f"- *{p.heading}*" for p in course_topics(module)))
        return
    reply.say(f"The objectives of **{module.module_title}**:")
    for objective in module.objectives:
        value = reply.state.mastery.get(objective.id)
        reply.say(f"- {objective.text}" + (f" (mastery {value:.0%})" if value is not None else ""))
    reply.say("", "Say **plan** for a study plan that covers them, or **quiz me** to test yourself.")
    reply.act("objectives_listed", "The learner asked what the module covers.")


def progress(reply: Reply, lesson: Lesson) -> None:
    module = lesson.module
    reply.say(f"Here's where you are in **{module.module_title}**:")
    reply.say(*status_lines(reply.phase, reply.state, module))
    reply.act("progress_shown", "The learner asked for their progress.")


def status_lines(phase: Phase, state: TutorState, module: NotebookInfo) -> list[str]:
    lines: list[str] = []
    progress = state.quiz
    plan = state.plan
    if phase is Phase.INTAKE:
        lines.append("- We had just started: no topic chosen yet.")
    elif phase is Phase.PLANNING:
        if quizzes.is_prepared(progress):
            assert progress is not None
            lines.append(f"- You were about to start a quiz of {len(progress.question_ids)} questions.")
        else:
            lines.append(f"- We were planning your study of *{state.topic or module.module_title}*.")
    elif phase is Phase.LEARNING:
        step = _current_step(plan)
        where = f" (step {step[0]} of {step[1]} of your plan)" if step else ""
        lines.append(f"- You were studying *{state.topic or module.module_title}*{where}.")
    elif phase is Phase.QUIZZING and progress is not None:
        lines.append(
            f"- You were taking the quiz: question {progress.current_index + 1} of "
            f"{len(progress.question_ids)}."
        )
    elif phase is Phase.ANALYZING:
        lines.append("- You had finished the quiz and we were going over the results.")
    elif phase is Phase.COMPLETED:
        lines.append(f"- You completed **{module.module_title}**.")
    if plan is not None and plan.steps and phase is not Phase.LEARNING:
        done = sum(1 for s in plan.steps if s.status == "done")
        lines.append(f"- Study plan: {done} of {len(plan.steps)} steps done.")
    if progress is not None and progress.answers:
        right, asked = quizzes.first_pass_score(progress)
        lines.append(f"- Quiz score: {right} of {asked} right.")
    for objective in module.objectives:
        if objective.id in state.mastery:
            lines.append(f"- Mastery of *{objective.text}*: {state.mastery[objective.id]:.0%}")
    return lines


# -- resume ------------------------------------------------------------------------------------


def resume(reply: Reply, turn: TutorTurn | None, lesson: Lesson, *, greeting: bool = False) -> None:
    module = lesson.module
    where = (
        f"**{module.course_title} / {module.module_title}**"
        if module.course_title
        else f"**{module.module_title}**"
    )
    if greeting:
        reply.say(f"Hi again! We're working on {where}. Here's where we are:", "")
    else:
        reply.say(f"Welcome back to {where}. Here's where we left off:", "")
    reply.say(*status_lines(reply.phase, reply.state, module))
    last = last_learner_text(turn.history) if turn is not None else None
    if last:
        reply.say(f"- Your last message: “{quote_text(last, 120)}”")
    question = lesson.open_question(reply.state)
    if question is not None and reply.phase in {Phase.QUIZZING, Phase.ANALYZING}:
        reply.say("", "This question is still open:")
        reply.ask(question)
    else:
        reply.say("", continue_hint(reply.phase, reply.state))
    reply.act(
        "resumed" if not greeting else "greeted_again",
        "Summarise the stored state so the learner continues exactly where they stopped.",
        phase=reply.phase.value,
        topic=reply.state.topic,
        open_question=question.id if question else None,
    )


def module_complete(reply: Reply, lesson: Lesson, *, again: bool = False) -> None:
    module = lesson.module
    state = reply.state
    following = lesson.material.next_module()
    if following is not None:
        filename = following.path.rsplit("/", 1)[-1]
        onward = (
            f"Next up: **{following.module_title}** (`{filename}`). Open it and run "
            "`%tutor` to continue the course."
        )
    elif module.course_title:
        onward = f"That was the last module of **{module.course_title}**. Well done!"
    else:
        onward = "Well done!"
    if again:
        reply.say(f"You've completed **{module.module_title}**. {onward}")
        reply.say("", "Ask me anything about this module, or say **quiz me** to practise again.")
        return
    reply.move(Phase.COMPLETED, "Every assessed objective is at mastery: the module is complete.")
    score = ""
    if state.quiz is not None:
        right, asked = quizzes.first_pass_score(state.quiz)
        score = f" Quiz: {right} of {asked} right on the first try."
    reply.say("", f"🎉 **Module complete: {module.module_title}.**{score}")
    if state.mastery:
        reply.say("", "Every objective is now mastered:")
        for objective in module.objectives:
            if objective.id in state.mastery:
                reply.say(f"- {objective.text}: {state.mastery[objective.id]:.0%}")
    reply.say("", onward)
    reply.say("You can still ask me anything about this module, or say **quiz me** to practise.")
    state.summary = f"Completed {module.module_title}.{score}".strip()
    reply.act(
        "module_completed",
        "All objectives mastered after the quiz and its follow-ups.",
        mastery=dict(state.mastery),
        next_module=following.module_id if following else None,
    )


# -- status ------------------------------------------------------------------------------------


def last_learner_text(history: list[Message]) -> str | None:
    return next((m.text for m in reversed(history) if m.role is Role.LEARNER), None)


def quote_text(text: str, limit: int = 100) -> str:
    text = " ".join(text.replace("`", "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _current_step(plan: StudyPlan | None) -> tuple[int, int] | None:
    if plan is None:
        return None
    for i, step in enumerate(plan.steps, start=1):
        if step.status == "in_progress":
            return i, len(plan.steps)
    return None


def continue_hint(phase: Phase, state: TutorState) -> str:
    if phase is Phase.INTAKE:
        return "Ask me about the notebook, say **plan** for a study plan, or **quiz me** to test yourself."
    if phase is Phase.PLANNING:
        if quizzes.is_prepared(state.quiz):
            return "Say **go** to start the quiz."
        return "Say **next** to start the next step of the plan."
    if phase is Phase.LEARNING:
        return "Ask your next question, say **next** for the next step, or **quiz me** when you're ready."
    if phase is Phase.ANALYZING:
        return "Say **next** to move on."
    if phase is Phase.COMPLETED:
        return "Ask me anything about this module, or say **quiz me** to practise again."
    return "Say **quiz me** to continue the quiz."


def greet(reply: Reply, lesson: Lesson) -> None:
    module = lesson.module
    reply.say(f"Hi! I'm your tutor for {lesson.where}.")
    if module.objectives:
        reply.say("", "In this module you will:")
        reply.say(*(f"- {o.text}" for o in module.objectives))
    examples = ", ".join(f"*{p.heading}*" for p in course_topics(module)[:2])
    reply.say(
        "",
        "What would you like to do? Ask me about anything in the notebook"
        + (f" (such as {examples})" if examples else "")
        + ", say **plan** for a study plan, or **quiz me** to test yourself.",
    )
    reply.act(
        "greeted",
        "Intake: introduce the module and its objectives, then let the learner choose what to do.",
        module_id=module.module_id,
        objectives=[o.id for o in module.objectives],
    )


def no_material(reply: Reply, turn: TutorTurn) -> None:
    reply.say(
        "I can't find the course notebook for this session, so I have no course material to answer from.",
        "",
        "Open a course notebook (one with `tutornb` metadata) and start the tutor there with `%tutor`.",
    )
    reply.act(
        "no_material",
        "The session's notebook is missing or outside the server root; answering without "
        "material would mean inventing content.",
        has_notebook_path=bool(turn.session.context.notebook_path),
    )
