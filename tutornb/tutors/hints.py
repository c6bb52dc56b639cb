"""Exercise help as a hint ladder, governed by the course's tutoring policy.

First a nudge, then the relevant cells and a partial step, and the full solution only when the
policy in force allows it (``solutions``: never / after_attempts / on_request; ``graded_solutions``
for graded exercises; ``hints`` switches the ladder off). How far up the ladder a learner is comes
from the stored transcript (earlier hint and solution requests and stated results for the same
exercise), so it survives a restart like everything else. Every policy-driven decision is logged.
"""

from __future__ import annotations

import re

from tutornb.course.metadata import ExerciseSpec
from tutornb.hublink import hub_solution
from tutornb.models import Phase, QuizQuestion, Role
from tutornb.tutors import quizzing
from tutornb.tutors.explain import best_example, show_example
from tutornb.tutors.intents import Intent, Reading, read_message
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import CONCEPTS, cell_label, exercise_number, hint_text
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import Hit, Passage
from tutornb.tutors.terms import tokenize

_LADDER_INTENTS = {Intent.HINT, Intent.SOLUTION, Intent.CHECK}
_LITERAL_RE = re.compile(r"(array\(.*\)|\[.*\]|\(.*\)|'[^']*'|\"[^\"]*\"|-?\d[\d.,eE+\- ]*)")


def pick_exercise(text: str, exercises: list[Passage], lesson: Lesson) -> Passage:
    """The exercise a request is about: by number ("hint 2"), else by the words it shares with the
    exercise (heading, text, metadata), else the first."""
    number = re.search(r"\b(\d{1,2})\b", text)
    if number:
        for exercise in exercises:
            if exercise_number(exercise) == number.group(1):
                return exercise
    wanted = set(tokenize(text)) - {"hint", "exercis", "solut", "stuck", "clue", "answer"}
    if not wanted:
        return exercises[0]

    def overlap(exercise: Passage) -> int:
        spec = lesson.module.exercise_spec(exercise)
        words = (
            exercise.heading + " " + exercise.text + (f" {spec.id} {' '.join(spec.hints)}" if spec else "")
        )
        return len(wanted & set(tokenize(words)))

    best = max(exercises, key=lambda e: (overlap(e), -e.cell_index))
    return best if overlap(best) else exercises[0]


def exercise_section(lesson: Lesson, exercise: Passage) -> Hit | None:
    """The module's section that explains what an exercise needs (the exercise's own section when
    the metadata names a concept section as the exercise)."""
    hits = lesson.search(
        exercise.heading + "\n" + exercise.text, notebook=lesson.module.path, kinds=CONCEPTS, limit=2
    )
    return hits[0] if hits else None


def attempts_on(lesson: Lesson, exercise: Passage, exercises: list[Passage]) -> int:
    """Earlier hint/solution requests and stated results for this exercise, from the transcript."""
    turn = lesson.turn
    if turn is None:
        return 0
    current = turn.learner_message.id if turn.learner_message else None
    count = 0
    for message in turn.history:
        if message.role is not Role.LEARNER or message.id == current:
            continue
        if read_message(message.text).intent not in _LADDER_INTENTS:
            continue
        if pick_exercise(message.text, exercises, lesson).cell_index == exercise.cell_index:
            count += 1
    return count


def exercise_help(reply: Reply, lesson: Lesson, reading: Reading) -> None:
    module, state = lesson.module, reply.state
    open_q = lesson.open_question(state)
    if open_q is not None and reply.phase in {Phase.QUIZZING, Phase.ANALYZING}:
        quiz_hint(reply, lesson, open_q)
        return
    exercises = module.exercises()
    if not exercises:
        reply.say(f"**{module.module_title}** has no exercises with hints. Ask me about a topic instead.")
        reply.act("hint_unavailable", "The notebook has no exercise sections.")
        return
    reply.move(Phase.LEARNING, "Help with an exercise is learning.")
    chosen = pick_exercise(reading.text, exercises, lesson)
    spec = module.exercise_spec(chosen)
    state.topic = chosen.heading
    reply.cite(chosen)
    if reading.intent is Intent.CHECK:
        check_result(reply, lesson, chosen, spec, reading.text)
        return
    attempts = attempts_on(lesson, chosen, exercises)
    mode = lesson.policy.graded_solutions if spec is not None and spec.graded else lesson.policy.solutions
    asked = reading.intent is Intent.SOLUTION
    allowed = mode == "on_request" or (mode == "after_attempts" and attempts >= lesson.policy.attempts)
    decision = {
        "exercise": chosen.heading,
        "cell_index": chosen.cell_index,
        "policy": mode,
        "policy_source": lesson.policy_source,
        "attempts": attempts,
        "required_attempts": lesson.policy.attempts,
        "graded": bool(spec and spec.graded),
    }
    if asked and allowed:
        show_solution(reply, lesson, chosen, spec, decision)
        return
    if not lesson.policy.hints:
        reply.say(
            f"Hints are switched off for this course, so for *{chosen.heading}* "
            f"({cell_label(chosen.cell_index)}) I can point you to the material only."
        )
        related = exercise_section(lesson, chosen)
        if related is not None:
            reply.cite(related.passage)
            reply.say(f"Re-read {lesson.source(related.passage)}.")
        reply.act("hint_withheld", "The course policy switches hints off.", **decision)
        return
    if asked:
        reply.say(_withheld(mode, attempts, lesson.policy.attempts), "")
        reply.act(
            "solution_withheld",
            f"The learner asked for the solution; policy {mode} does not allow it yet, so the next "
            "rung of the hint ladder instead.",
            **decision,
        )
    hint_rung(reply, lesson, chosen, spec, attempts)
    if allowed and spec is not None and spec.solution:
        reply.say("", "If you want the full solution now, say **show me the solution**.")
    else:
        reply.say(
            "",
            "I won't hand you the solution yet: try it in the exercise's code cell and run it. Ask "
            "for another hint if you're still stuck.",
        )
    others = [e for e in exercises if e is not chosen]
    if others:
        reply.say(
            "",
            "Hints for the other exercises: "
            + ", ".join(f"*{e.heading}* (say **hint {exercise_number(e) or e.heading}**)" for e in others)
            + ".",
        )
    reply.act(
        "hint_given",
        f"Guide, don't solve: rung {min(attempts, 2) + 1} of the hint ladder (policy {mode}).",
        rung=min(attempts, 2) + 1,
        **decision,
    )


def _withheld(mode: str, attempts: int, required: int) -> str:
    if mode == "never":
        return "This course doesn't let me show full solutions, but I'll get you there step by step."
    left = max(required - attempts, 1)
    return (
        f"I can't show the full solution yet: this course shows it after {required} tries or hints "
        f"on the exercise ({left} to go). Here's the next step instead."
    )


def _ladder(lesson: Lesson, exercise: Passage, spec: ExerciseSpec | None) -> list[str]:
    if spec is not None and spec.hints:
        return list(spec.hints)
    written = hint_text(exercise)
    return [written] if written else []


def hint_rung(
    reply: Reply, lesson: Lesson, exercise: Passage, spec: ExerciseSpec | None, attempts: int
) -> None:
    """Rung 1: a nudge. Rung 2 and up: the next written hint, plus the cells that show how (a
    partial step)."""
    ladder = _ladder(lesson, exercise, spec)
    reply.say(f"**Hint for *{exercise.heading}*** ({cell_label(exercise.cell_index)}):", "")
    related = exercise_section(lesson, exercise)
    if ladder:
        reply.say(ladder[min(attempts, len(ladder) - 1)])
    elif related is not None and related.passage != exercise:
        reply.say(
            f"This exercise has no written hint. Re-read {lesson.source(related.passage)}: it explains "
            "what you need."
        )
    else:
        reply.say("This exercise has no written hint. Re-read the sections above it.")
    if related is not None:
        reply.cite(related.passage)
    if attempts >= 1 and related is not None:
        example = best_example(related.passage, tokenize(exercise.heading + " " + exercise.text))
        if example is not None:
            reply.say("", f"A partial step: {lesson.source(related.passage)} shows the pattern.")
            show_example(reply, related.passage, example)


def show_solution(
    reply: Reply, lesson: Lesson, exercise: Passage, spec: ExerciseSpec | None, decision: dict[str, object]
) -> None:
    # On a hub the notebook holds no solution: the course's tutornb-hub service decides and holds it.
    solution = spec.solution if spec is not None else None
    if spec is not None and not solution:
        solution = hub_solution(lesson.module.course_id, spec.id)
    if spec is None or not solution:
        reply.say(
            f"The course has no written solution for *{exercise.heading}*; the cells that show how "
            "are the closest thing:"
        )
        related = exercise_section(lesson, exercise)
        if related is not None:
            reply.cite(related.passage)
            example = best_example(related.passage, tokenize(exercise.heading))
            if example is not None:
                show_example(reply, related.passage, example)
        reply.act(
            "solution_unavailable", "The policy allows a solution but the course wrote none.", **decision
        )
        return
    reply.say(f"Here's the course's solution for *{exercise.heading}* ({cell_label(exercise.cell_index)}):")
    reply.say("```python", solution, "```")
    if spec.expected:
        reply.say("It gives:", "```text", spec.expected, "```")
    reply.say("", "Run it, then change something and predict the result before you run it again.")
    reply.act(
        "solution_shown",
        f"The learner asked for the solution and the policy ({decision['policy']}) allows it.",
        **decision,
    )


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text).replace('"', "'").rstrip(".")


def check_result(
    reply: Reply, lesson: Lesson, exercise: Passage, spec: ExerciseSpec | None, text: str
) -> None:
    """Compares the result a learner states with the exercise's expected result (metadata) or the
    output the notebook saved for it."""
    expected = spec.expected if spec is not None and spec.expected else None
    if expected is None:
        expected = next((e.output for e in exercise.examples if e.output), None)
    stated = _LITERAL_RE.search(text.split(":", 1)[-1] if ":" in text else text)
    if expected is None or stated is None:
        reply.say(
            f"The notebook doesn't give the expected result of *{exercise.heading}*, so I can't check "
            "it for you. Check it yourself: run your cell and compare with what the exercise asks."
        )
        reply.act("result_unchecked", "No expected result to compare with.", exercise=exercise.heading)
        return
    correct = _squashed(stated.group(1)) == _squashed(expected)
    if correct:
        reply.say(f"✅ `{stated.group(1).strip()}` is what *{exercise.heading}* should give. Well done!")
    else:
        reply.say(
            f"❌ `{stated.group(1).strip()}` is not what *{exercise.heading}* should give. Check your "
            "code against the hint below and run it again."
        )
        ladder = _ladder(lesson, exercise, spec)
        if ladder:
            reply.say("", f"**Hint:** {ladder[0]}")
    reply.act(
        "result_checked",
        "The learner stated a result; compared with the exercise's expected result.",
        exercise=exercise.heading,
        correct=correct,
    )


def quiz_hint(reply: Reply, lesson: Lesson, question: QuizQuestion) -> None:
    objective = lesson.module.objective(question.objective)
    section = quizzing.section_for(lesson, question)
    reply.say(
        "**Hint:** "
        + (
            f"this question is about *{objective.text}*."
            if objective
            else "think about what the code does step by step."
        )
    )
    if section is not None:
        reply.cite(section)
        reply.say(f"Have another look at {lesson.source(section)}, then pick your answer.")
    reply.act("quiz_hint_given", "A pointer to the section, never the answer.", question_id=question.id)
    reply.ask(question, show=False)
