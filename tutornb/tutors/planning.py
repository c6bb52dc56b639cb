"""Planning and working through a plan: the study plan (cached in the store), its steps taught
one at a time, and "next" in every phase."""

from __future__ import annotations

from tutornb.models import Phase, StudyPlan
from tutornb.tutors import quiz as quizzes
from tutornb.tutors import quizzing, status
from tutornb.tutors.explain import teach_passage
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import cell_label
from tutornb.tutors.plans import get_plan, plan_lines
from tutornb.tutors.reply import Reply
from tutornb.tutors.terms import tokenize


def plan(reply: Reply, lesson: Lesson, *, intro: str | None = None) -> None:
    module = lesson.module
    if not reply.move(Phase.PLANNING, "The learner asked for a study plan."):
        quizzing.remind_open_question(reply, lesson)
        return
    made = get_plan(reply, lesson)
    state = reply.state
    if state.plan is not None and state.plan.cache_key == made.cache_key:
        # Same plan as before: keep the learner's progress through it.
        progress = {s.objective: s.status for s in state.plan.steps}
        for step in made.steps:
            step.status = progress.get(step.objective, step.status)
    state.plan = made
    state.topic = module.module_title
    if quizzes.is_prepared(state.quiz):
        state.quiz = None
    reply.say(intro or f"Here's a study plan for **{module.module_title}**, one step per objective:", "")
    plan_lines(reply, made)
    if module.quiz:
        reply.say("", f"Then a {len(module.quiz)}-question quiz checks what you've learned.")
    first = next((i for i, s in enumerate(made.steps) if s.status != "done"), None)
    if first is None:
        reply.say("You've done every step: say **quiz me** when you're ready.")
    else:
        reply.say(f"Say **next** to start with step {first + 1}, or ask me anything along the way.")


def next_step(reply: Reply, lesson: Lesson) -> None:
    """ "Next" in every phase: plan, first quiz question, next plan step, after the analysis."""
    state = reply.state
    phase = reply.phase
    if phase is Phase.INTAKE:
        plan(reply, lesson)
    elif phase is Phase.PLANNING and quizzes.is_prepared(state.quiz):
        quizzing.start_quiz(reply, lesson)
    elif phase in {Phase.PLANNING, Phase.LEARNING}:
        if state.plan is None:
            plan(reply, lesson)
            return
        teach_next_step(reply, lesson)
    elif phase is Phase.ANALYZING:
        if state.quiz is not None:
            state.quiz.open_question_id = None
        quizzing.after_analysis(reply, lesson)
    elif phase is Phase.COMPLETED:
        status.module_complete(reply, lesson, again=True)
    else:
        quizzing.remind_open_question(reply, lesson)


def quiz_ids_for_plan(lesson: Lesson, made: StudyPlan) -> list[str]:
    module = lesson.module
    texts = {s.objective for s in made.steps}
    ids_for = {o.id for o in module.objectives if o.text in texts}
    chosen = [q.id for q in module.quiz if q.objective in ids_for]
    return chosen or [q.id for q in module.quiz]


def teach_next_step(reply: Reply, lesson: Lesson) -> None:
    state = reply.state
    made = state.plan
    if made is None:
        return
    for step in made.steps:
        if step.status == "in_progress":
            step.status = "done"
    index = next((i for i, s in enumerate(made.steps) if s.status == "pending"), None)
    if index is None:
        reply.act("plan_finished", "Every step of the plan is done: time to check understanding.")
        quizzing.start_quiz(
            reply,
            lesson,
            ids=quiz_ids_for_plan(lesson, made),
            intro="You've worked through every step of the plan. Let's see what stuck.",
        )
        return
    if not reply.move(Phase.LEARNING, "Working through the study plan, one step at a time."):
        return
    step = made.steps[index]
    step.status = "in_progress"
    state.topic = step.objective
    reply.say(f"**Step {index + 1} of {len(made.steps)}: {step.objective}**", "")
    passage = lesson.passage_at(step.sections[0]) if step.sections else None
    if passage is None:
        reply.say(
            "The notebook has no section that matches this step directly; ask me about it and "
            "I'll search the whole course."
        )
    else:
        teach_passage(reply, lesson, passage, tokenize(step.objective))
        for extra in step.sections[1:]:
            reply.cite(extra)
            reply.say("", f"Then read *{extra.heading}* ({cell_label(extra.cell_index)}).")
    following = "say **quiz me**" if index + 1 == len(made.steps) else f"say **next** for step {index + 2}"
    reply.say("", f"When you're ready, {following}, or ask me a question about this step.")
    reply.act(
        "plan_step_started",
        "The next pending step of the plan; its best section is taught first.",
        step=index + 1,
        objective=step.objective,
        sections=[c.cell_index for c in step.sections],
    )
