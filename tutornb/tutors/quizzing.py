"""Quizzing and analysis: questions from the notebook's quiz metadata served one at a time, graded
by the structured quiz engine (never by a model), misconceptions and mastery per objective, then
follow-ups on what was missed and the next topic (a review plan) or the module's completion."""

from __future__ import annotations

from tutornb.lifecycle import can_change_phase
from tutornb.models import Phase, PlanStep, QuizQuestion, StudyPlan
from tutornb.tutors import plans, quizorder, status
from tutornb.tutors import quiz as quizzes
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import CONCEPTS
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import Passage


def quiz(reply: Reply, lesson: Lesson) -> None:
    module = lesson.module
    state = reply.state
    if not module.quiz:
        reply.say(
            f"**{module.module_title}** has no quiz questions in its metadata, so there's "
            "nothing to quiz you on here. Ask me about the material instead."
        )
        reply.act("quiz_unavailable", "The notebook's metadata has no quiz.")
        return
    if quizzes.is_running(state.quiz) and can_change_phase(reply.start_phase, Phase.QUIZZING):
        question = lesson.open_question(state)
        if question is not None:
            reply.move(Phase.QUIZZING, "Picking the paused quiz up where the learner left it.")
            reply.say("Let's pick the quiz up where you left it.")
            reply.ask(question)
            reply.act(
                "quiz_resumed",
                "A quiz was paused with this question open.",
                question_id=question.id,
            )
            return
    if can_change_phase(reply.start_phase, Phase.QUIZZING):
        ids = None
        if reply.phase is Phase.PLANNING and quizzes.is_prepared(state.quiz):
            assert state.quiz is not None
            ids = state.quiz.question_ids
        start_quiz(reply, lesson, ids=ids)
        return
    # Intake, analysis and completion cannot jump straight into a quiz: prepare it in planning.
    ids = [q.id for q in module.quiz]
    if reply.phase is Phase.ANALYZING:
        missed = set(quizzes.missed_objectives(module, state))
        ids = [q.id for q in module.quiz if q.objective in missed] or ids
    reply.move(
        Phase.PLANNING,
        "A quiz was asked for; it is prepared first (the phase machine goes through planning).",
    )
    state.quiz = quizzes.new_quiz(module, ids)
    state.topic = f"Quiz: {module.module_title}"
    assessed = {q.objective for q in module.quiz if q.id in ids}
    covered = list(dict.fromkeys(o.text for o in module.objectives if o.id in assessed))
    reply.say(
        f"Quiz on **{module.module_title}**: {len(ids)} questions, one at a time"
        + (", covering:" if covered else ".")
    )
    reply.say(*(f"- {text}" for text in covered))
    reply.say("", "Say **go** when you're ready.")
    reply.act(
        "quiz_prepared",
        "The learner wants a quiz; questions chosen, waiting for the go.",
        question_ids=ids,
    )


def start_quiz(
    reply: Reply,
    lesson: Lesson,
    *,
    ids: list[str] | None = None,
    intro: str | None = None,
) -> None:
    module = lesson.module
    if not module.quiz:
        quiz(reply, lesson)
        return
    if not reply.move(Phase.QUIZZING, "Starting the quiz."):
        return
    state = reply.state
    progress = quizzes.new_quiz(module, ids)
    first = quizzes.open_next(module, progress)
    if first is None:
        # A prepared quiz whose questions have all left the notebook: the whole quiz instead.
        progress = quizzes.new_quiz(module)
        first = quizzes.open_next(module, progress)
        assert first is not None  # the module has quiz questions
    state.quiz = progress
    if lesson.policy.shuffle_choices:
        quizorder.new_seed(state)
    state.topic = f"Quiz: {module.module_title}"
    reply.say(
        intro
        or f"Quiz time: {len(progress.question_ids)} questions on **{module.module_title}**, one at a time."
    )
    reply.ask(first)
    reply.act(
        "quiz_started",
        "Questions come from the notebook's quiz metadata, served one at a time.",
        question_ids=progress.question_ids,
    )
    reply.act("quiz_question_served", "First question of the quiz.", question_id=first.id, number=1)


def reattach_open(reply: Reply, lesson: Lesson) -> None:
    question = lesson.open_question(reply.state)
    if question is not None and reply.phase in {Phase.QUIZZING, Phase.ANALYZING}:
        reply.ask(question, show=False)


def remind_open_question(reply: Reply, lesson: Lesson, *, prefix: bool = True) -> None:
    question = lesson.open_question(reply.state)
    if question is None:
        return
    if prefix:
        reply.say(
            "We're in the middle of the quiz: answer with a letter, say **hint** for a "
            "pointer, or **stop quiz** to pause it and ask questions."
        )
    else:
        reply.say("", "The quiz question is still open: answer it when you're ready.")
    reply.ask(question)


def stop_quiz(reply: Reply, lesson: Lesson) -> None:
    state = reply.state
    if not quizzes.is_running(state.quiz) or reply.phase is not Phase.QUIZZING:
        reply.say("There's no quiz running. Say **quiz me** to start one.")
        return
    reply.move(Phase.LEARNING, "The learner paused the quiz to study.")
    assert state.quiz is not None
    number = state.quiz.current_index + 1
    reply.say(
        f"Quiz paused at question {number} of {len(state.quiz.question_ids)}. Ask me "
        "anything, and say **quiz me** to pick up where you left off."
    )
    reply.act(
        "quiz_paused",
        "Keeping the open question so the quiz resumes exactly there.",
        question_id=state.quiz.open_question_id,
    )


def answer(reply: Reply, lesson: Lesson, question_id: str, choice: int) -> None:
    module = lesson.module
    state = reply.state
    open_q = lesson.open_question(state)
    if open_q is None or open_q.id != question_id:
        reply.say(
            "That question isn't open any more."
            if open_q
            else "There's no open quiz question right now. Say **quiz me** to start the quiz."
        )
        reply.act(
            "answer_ignored",
            "An answer for a question that is not the open one changes nothing.",
            question_id=question_id,
        )
        if open_q is not None:
            remind_open_question(reply, lesson, prefix=False)
        return
    if choice >= len(open_q.choices):
        reply.say(f"Pick one of the choices A to {quizzes.LETTERS[len(open_q.choices) - 1]}.")
        reply.ask(open_q, show=False)
        return
    # After the quiz (analyzing) an answer is a follow-up retry: its answer is revealed and
    # the next follow-up comes; in the quiz the answer waits for the end and the next question
    # comes. An answer to a paused quiz resumes it.
    follow_up = reply.phase is Phase.ANALYZING
    if not follow_up and not reply.move(
        Phase.QUIZZING, "An answer to the paused quiz's open question resumes the quiz."
    ):
        return
    graded = quizzes.grade(state, module, open_q, quizorder.written_choice(state, open_q, choice))
    _feedback(reply, lesson, graded, reveal=follow_up)
    assert state.quiz is not None
    if follow_up:
        state.quiz.open_question_id = None
        following = quizzes.next_follow_up(module, state.quiz)
        if following is not None:
            ask_follow_up(reply, lesson, following)
        else:
            after_analysis(reply, lesson)
    else:
        serve_next_question(reply, lesson)


def _feedback(reply: Reply, lesson: Lesson, graded: quizzes.Graded, *, reveal: bool) -> None:
    question = graded.question
    if graded.correct:
        reply.say(f"✅ **Correct!** {question.explanation}".rstrip())
    else:
        reply.say(f"❌ **Not quite.** You chose {quizorder.label(reply.state, question, graded.choice)}.")
        if graded.misconception is not None:
            reply.say("", graded.misconception.text)
        if reveal:
            reply.say(
                "",
                f"The answer is {quizorder.label(reply.state, question, question.answer)}. "
                f"{question.explanation}".rstrip(),
            )
        else:
            section = section_for(lesson, question)
            if section is not None:
                reply.cite(section)
                reply.say(
                    "",
                    f"Worth re-reading: {lesson.source(section)}. We'll come "
                    "back to this one after the quiz.",
                )
    reply.act(
        "quiz_graded",
        "Graded against the answer in the quiz metadata.",
        question_id=question.id,
        choice=graded.choice,
        correct=graded.correct,
    )
    if graded.misconception is not None:
        reply.act(
            "misconception_found",
            "The wrong choice picked maps to this misconception in the quiz metadata.",
            question_id=question.id,
            objective=question.objective,
            text=graded.misconception.text,
        )
    if question.objective:
        reply.act(
            "mastery_updated",
            "Mastery is the share of the objective's questions whose latest answer is right.",
            objective=question.objective,
            before=graded.mastery_before,
            after=graded.mastery_after,
        )


def serve_next_question(reply: Reply, lesson: Lesson) -> None:
    """The quiz's next question, or the analysis once the last one is answered."""
    module = lesson.module
    progress = reply.state.quiz
    assert progress is not None
    progress.current_index += 1
    following = quizzes.open_next(module, progress)
    if following is None:
        analyze(reply, lesson)
        return
    reply.ask(following)
    reply.act(
        "quiz_question_served",
        "Next question of the quiz.",
        question_id=following.id,
        number=progress.current_index + 1,
    )


# -- analyzing ---------------------------------------------------------------------------------


def analyze(reply: Reply, lesson: Lesson) -> None:
    module = lesson.module
    state = reply.state
    progress = state.quiz
    assert progress is not None
    reply.move(Phase.ANALYZING, "The last quiz question is answered: time to look at the results.")
    right, asked = quizzes.first_pass_score(progress)
    reply.say("", f"**Quiz finished: {right} of {asked} right.**", "", "Mastery per objective:")
    for objective in module.objectives:
        if objective.id in state.mastery:
            reply.say(f"- {objective.text}: {state.mastery[objective.id]:.0%}")
    found = [m for m in state.misconceptions if m.question_id in set(progress.question_ids)]
    if found:
        reply.say("", "Misconceptions to watch:")
        reply.say(*(f"- {text}" for text in dict.fromkeys(m.text for m in found)))
    missed = quizzes.missed_objectives(module, state)
    reply.act(
        "quiz_analyzed",
        "Score, mastery per objective and misconceptions from this quiz.",
        score=right,
        asked=asked,
        mastery=dict(state.mastery),
        missed_objectives=missed,
    )
    follow_up = quizzes.next_follow_up(module, progress)
    if follow_up is not None:
        ask_follow_up(reply, lesson, follow_up)
    else:
        reply.say(
            "",
            "You've mastered every objective of this module. Say **next** to wrap it up, or ask me anything.",
        )


def ask_follow_up(reply: Reply, lesson: Lesson, question: QuizQuestion) -> None:
    module = lesson.module
    assert reply.state.quiz is not None
    objective = module.objective(question.objective)
    name = objective.text if objective else "this topic"
    section = section_for(lesson, question)
    reply.say("", f"Let's revisit **{name}**.")
    if section is not None:
        reply.cite(section)
        reply.say(f"Have another look at {lesson.source(section)}, then try this one again:")
    else:
        reply.say("Try this one again:")
    reply.state.quiz.open_question_id = question.id
    reply.state.topic = name
    reply.ask(question)
    reply.act(
        "follow_up_asked",
        "A missed objective gets a second try at its question before moving on.",
        question_id=question.id,
        objective=question.objective,
    )


def after_analysis(reply: Reply, lesson: Lesson) -> None:
    """Plan the next topic (the objectives still missed) or complete the module."""
    module = lesson.module
    state = reply.state
    if quizzes.all_mastered(module, state):
        status.module_complete(reply, lesson)
        return
    missed = quizzes.missed_objectives(module, state)
    texts = [o.text for o in module.objectives if o.id in missed]
    if not reply.move(Phase.PLANNING, "Objectives are still below mastery: plan a review of them."):
        return
    full = plans.get_plan(reply, lesson)
    steps = [PlanStep(objective=s.objective, sections=s.sections) for s in full.steps if s.objective in texts]
    review = StudyPlan(topic=f"Review: {', '.join(texts)}", steps=steps, cache_key=None)
    state.plan = review
    state.topic = review.topic
    reply.say("", "Next topic: a short review of what didn't stick yet.", "")
    plans.plan_lines(reply, review)
    reply.say("", "Say **next** to start the review; after it, the quiz on these objectives again.")
    reply.act(
        "next_topic_planned",
        "Below-mastery objectives become the next study plan.",
        objectives=missed,
    )


def section_for(lesson: Lesson, question: QuizQuestion) -> Passage | None:
    """The module's section that best explains a quiz question (its objective's words help):
    where hints, wrong answers and follow-ups send the learner."""
    module = lesson.module
    objective = module.objective(question.objective)
    hits = lesson.search(
        question.question + " " + (objective.text if objective else ""),
        notebook=module.path,
        kinds=CONCEPTS,
        limit=1,
    )
    return hits[0].passage if hits else None


# -- quizzing ----------------------------------------------------------------------------------
