"""The offline ``course`` tutor: grounded in the course notebooks, deterministic, through every
phase.

It follows the seed study agent's loop (intake → planning → learning → quizzing → analyzing → next
topic or completed). Each turn is composed in full from the stored state and the course index, then
streamed line by line; the turn's single phase change always goes from the stored phase to one the
phase machine allows, so the service can persist it as one step.

The tutor only says what the notebooks say (quoted with their cells) plus Python's own facts about
built-in exceptions; when the material does not cover a question it says so instead of guessing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from tutornb.lifecycle import can_change_phase
from tutornb.models import (
    Citation,
    Message,
    Phase,
    PlanStep,
    QuizQuestion,
    Role,
    StudyPlan,
    TutorState,
)
from tutornb.tutors import errorhelp
from tutornb.tutors import quiz as quizzes
from tutornb.tutors.base import ErrorEvent, TutorEvent, TutorTurn
from tutornb.tutors.intents import Intent, Reading, read_message
from tutornb.tutors.material import (
    CONCEPTS,
    Material,
    cell_label,
    course_topics,
    exercise_number,
    hint_text,
    is_tool_passage,
    load_material,
    pick_exercise,
    relevant_paragraphs,
)
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import Hit, NotebookInfo, Passage, tokenize

log = logging.getLogger("tutornb.tutors.course")

PLAN_CACHE_VERSION = 1
DEFAULT_PLAN_TTL = timedelta(days=7)
#: A question counts as covered when the best passage holds at least this share of its (idf)
#: weight...
MIN_COVERAGE = 0.5
#: ... and scores at least this much (BM25 with the course's statistics).
MIN_SCORE = 1.5


# -------------------------------------------------------------------------------------------------
# The engine


class CourseEngine:
    """Composes the course tutor's replies; shared with the model-backed tutor for plans and
    quizzes."""

    def __init__(self, *, root_dir: Path, plan_ttl: timedelta = DEFAULT_PLAN_TTL) -> None:
        self.root_dir = root_dir
        self.plan_ttl = plan_ttl

    async def material(self, turn: TutorTurn) -> Material:
        # Reading notebooks is file I/O: keep it off the event loop the server shares with every
        # socket.
        return await asyncio.to_thread(load_material, turn.root_dir, turn.session.context.notebook_path)

    def new_reply(self, turn: TutorTurn) -> Reply:
        state = turn.session.state.model_copy(deep=True)
        return Reply(
            turn.session.phase,
            turn.session.phase,
            state,
            state.model_dump(mode="json"),
            plan_cache=turn.plan_cache,
        )

    @staticmethod
    def open_question(material: Material, state: TutorState) -> QuizQuestion | None:
        if material.module is None or state.quiz is None or state.quiz.open_question_id is None:
            return None
        return material.module.question(state.quiz.open_question_id)

    def read(self, turn: TutorTurn, material: Material, state: TutorState) -> Reading:
        text = turn.learner_message.text if turn.learner_message else _last_learner_text(turn.history)
        return read_message(text or "", open_question=self.open_question(material, state))

    # -- dispatch ----------------------------------------------------------------------------------

    def compose(self, turn: TutorTurn, material: Material, reading: Reading | None = None) -> Reply:
        reply = self.new_reply(turn)
        module = material.module
        if module is None:
            self.no_material(reply, turn)
            return reply
        if turn.kind == "resume" or (turn.kind == "start" and (turn.history or reply.phase != Phase.INTAKE)):
            self.resume(reply, turn, material)
        elif turn.kind == "start":
            self.greet(reply, material)
        elif turn.kind == "answer" and turn.answer is not None:
            self.answer(reply, material, turn.answer.question_id, turn.answer.choice)
        else:
            self.handle(reply, material, reading or self.read(turn, material, reply.state))
        return reply

    def handle(self, reply: Reply, material: Material, reading: Reading) -> None:
        phase = reply.phase
        intent = reading.intent
        if intent is Intent.TRACEBACK:
            self.explain_traceback(reply, material, reading.text)
        elif intent is Intent.ANSWER and reading.choice is not None:
            open_q = self.open_question(material, reply.state)
            self.answer(reply, material, open_q.id if open_q else "", reading.choice)
        elif intent is Intent.STOP_QUIZ:
            self.stop_quiz(reply, material)
        elif (
            phase is Phase.QUIZZING
            and quizzes.is_running(reply.state.quiz)
            and intent
            in {
                Intent.QUESTION,
                Intent.NEXT,
                Intent.GREETING,
                Intent.QUIZ,
                Intent.PLAN,
            }
        ):
            self.remind_open_question(reply, material)
        elif intent is Intent.QUIZ:
            self.quiz(reply, material)
        elif intent is Intent.NEXT:
            self.next(reply, material)
        elif intent is Intent.HINT:
            self.hint(reply, material, reading.text)
        elif intent is Intent.PLAN:
            self.plan(reply, material)
        elif intent is Intent.OBJECTIVES:
            self.objectives(reply, material)
        elif intent is Intent.PROGRESS:
            self.progress(reply, material)
        elif intent is Intent.GREETING:
            if phase is Phase.INTAKE:
                self.greet(reply, material)
            else:
                self.resume(reply, None, material, greeting=True)
        else:
            self.answer_question(reply, material, reading.text)

    # -- intake ------------------------------------------------------------------------------------

    def _where(self, material: Material) -> str:
        module = material.module
        assert module is not None
        if module.course_title:
            return f"**{module.course_title}**, module **{module.module_title}**"
        return f"**{module.module_title}**"

    def greet(self, reply: Reply, material: Material) -> None:
        module = material.module
        assert module is not None
        reply.say(f"Hi! I'm your tutor for {self._where(material)}.")
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

    def no_material(self, reply: Reply, turn: TutorTurn) -> None:
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

    # -- planning ----------------------------------------------------------------------------------

    def plan_key(self, module: NotebookInfo) -> str:
        payload = {
            "v": PLAN_CACHE_VERSION,
            "course": module.course_id,
            "module": module.module_id or module.path,
            "objectives": [[o.id, o.text] for o in module.objectives],
            "content": module.content_hash,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return f"course-plan:{digest}"

    def build_plan(self, material: Material, key: str) -> StudyPlan:
        module = material.module
        assert module is not None
        steps: list[PlanStep] = []
        for objective in module.objectives:
            hits = [
                h
                for h in material.search(objective.text, notebook=module.path, kinds=CONCEPTS, limit=4)
                if h.passage.level >= 2 and not is_tool_passage(h.passage)
            ]
            best = hits[0].score if hits else 0.0
            chosen = [h.passage.citation() for h in hits if h.score >= 0.6 * best][:2]
            chosen.sort(key=lambda c: c.cell_index)
            steps.append(PlanStep(objective=objective.text, sections=chosen))
        if not steps:
            # No objectives in the metadata: the notebook's own sections are the plan.
            steps = [PlanStep(objective=p.heading, sections=[p.citation()]) for p in course_topics(module)]
        return StudyPlan(topic=module.module_title, steps=steps, cache_key=key)

    def get_plan(self, reply: Reply, material: Material) -> StudyPlan:
        """The module's plan from the store's plan cache, built and cached on a miss."""
        module = material.module
        assert module is not None
        key = self.plan_key(module)
        cached = reply.plan_cache.get_plan(key) if reply.plan_cache is not None else None
        if cached is not None:
            reply.act(
                "plan_cache_hit",
                "A plan for this course, module, objectives and notebook content is cached; reusing it.",
                cache_key=key,
                cache="hit",
                steps=len(cached.steps),
            )
            return StudyPlan.model_validate(cached.model_dump())
        plan = self.build_plan(material, key)
        if reply.plan_cache is not None:
            reply.plan_cache.put_plan(key, plan, self.plan_ttl)
        reply.act(
            "plan_made",
            "No cached plan for this notebook content: one step per module objective, each with "
            "the sections that rank best for it.",
            cache_key=key,
            cache="miss",
            steps=len(plan.steps),
            ttl_seconds=int(self.plan_ttl.total_seconds()),
        )
        return plan

    def plan(self, reply: Reply, material: Material, *, intro: str | None = None) -> None:
        module = material.module
        assert module is not None
        if not reply.move(Phase.PLANNING, "The learner asked for a study plan."):
            self.remind_open_question(reply, material)
            return
        plan = self.get_plan(reply, material)
        state = reply.state
        if state.plan is not None and state.plan.cache_key == plan.cache_key:
            # Same plan as before: keep the learner's progress through it.
            status = {s.objective: s.status for s in state.plan.steps}
            for step in plan.steps:
                step.status = status.get(step.objective, step.status)
        state.plan = plan
        state.topic = module.module_title
        if quizzes.is_prepared(state.quiz):
            state.quiz = None
        reply.say(
            intro or f"Here's a study plan for **{module.module_title}**, one step per objective:",
            "",
        )
        self._plan_lines(reply, material, plan)
        count = len(module.quiz)
        if count:
            reply.say("", f"Then a {count}-question quiz checks what you've learned.")
        first = next((i for i, s in enumerate(plan.steps) if s.status != "done"), None)
        if first is None:
            reply.say("You've done every step: say **quiz me** when you're ready.")
        else:
            reply.say(f"Say **next** to start with step {first + 1}, or ask me anything along the way.")

    def _plan_lines(self, reply: Reply, material: Material, plan: StudyPlan) -> None:
        for i, step in enumerate(plan.steps, start=1):
            sections = [f"*{c.heading}* ({cell_label(c.cell_index)})" for c in step.sections]
            for citation in step.sections:
                reply.cite(citation)
            where = f": read {' and '.join(sections)}" if sections else ""
            mark = {"done": " (done)", "in_progress": " (current)"}.get(step.status, "")
            reply.say(f"{i}. **{step.objective}**{mark}{where}.")

    # -- learning: plan steps ----------------------------------------------------------------------

    def next(self, reply: Reply, material: Material) -> None:
        state = reply.state
        module = material.module
        assert module is not None
        phase = reply.phase
        if phase is Phase.INTAKE:
            self.plan(reply, material)
        elif phase is Phase.PLANNING and quizzes.is_prepared(state.quiz):
            self.start_quiz(reply, material)
        elif phase in {Phase.PLANNING, Phase.LEARNING}:
            if state.plan is None:
                self.plan(reply, material)
                return
            self.teach_next_step(reply, material)
        elif phase is Phase.ANALYZING:
            if state.quiz is not None:
                state.quiz.open_question_id = None
            self.after_analysis(reply, material)
        elif phase is Phase.COMPLETED:
            self.module_complete(reply, material, again=True)
        else:
            self.remind_open_question(reply, material)

    def teach_next_step(self, reply: Reply, material: Material) -> None:
        state = reply.state
        plan = state.plan
        assert plan is not None
        for step in plan.steps:
            if step.status == "in_progress":
                step.status = "done"
        index = next((i for i, s in enumerate(plan.steps) if s.status == "pending"), None)
        if index is None:
            reply.act("plan_finished", "Every step of the plan is done: time to check understanding.")
            self.start_quiz(
                reply,
                material,
                ids=self._quiz_ids_for_plan(material, plan),
                intro="You've worked through every step of the plan. Let's see what stuck.",
            )
            return
        if not reply.move(Phase.LEARNING, "Working through the study plan, one step at a time."):
            return
        step = plan.steps[index]
        step.status = "in_progress"
        state.topic = step.objective
        reply.say(f"**Step {index + 1} of {len(plan.steps)}: {step.objective}**", "")
        passage = material.passage_at(step.sections[0]) if step.sections else None
        if passage is None:
            reply.say(
                "The notebook has no section that matches this step directly; ask me about it and "
                "I'll search the whole course."
            )
        else:
            self._teach_passage(reply, material, passage, tokenize(step.objective))
            for extra in step.sections[1:]:
                reply.cite(extra)
                reply.say("", f"Then read *{extra.heading}* ({cell_label(extra.cell_index)}).")
        following = (
            "say **quiz me**" if index + 1 == len(plan.steps) else f"say **next** for step {index + 2}"
        )
        reply.say("", f"When you're ready, {following}, or ask me a question about this step.")
        reply.act(
            "plan_step_started",
            "The next pending step of the plan; its best section is taught first.",
            step=index + 1,
            objective=step.objective,
            sections=[c.cell_index for c in step.sections],
        )

    def _quiz_ids_for_plan(self, material: Material, plan: StudyPlan) -> list[str]:
        module = material.module
        assert module is not None
        texts = {s.objective for s in plan.steps}
        ids_for = {o.id for o in module.objectives if o.text in texts}
        chosen = [q.id for q in module.quiz if q.objective in ids_for]
        return chosen or [q.id for q in module.quiz]

    def _teach_passage(self, reply: Reply, material: Material, passage: Passage, terms: list[str]) -> None:
        """A passage quoted from the notebook, with its worked example: the tutor never paraphrases
        into something the course does not say."""
        reply.say(f"From {self._source(material, passage)}:", "")
        for paragraph in relevant_paragraphs(passage, terms):
            reply.say(paragraph, "")
        reply.cite(passage)
        example = passage.examples[0] if passage.examples else None
        if example is not None:
            self._example(reply, material, passage, example)

    def _example(self, reply: Reply, material: Material, passage: Passage, example: Any) -> None:
        reply.say(
            f"**Worked example** ({cell_label(example.cell_index)}):",
            "```python",
            example.source,
            "```",
            "Run that cell, then change a value and run it again to see what changes.",
        )
        reply.cite(
            Citation(
                notebook_path=passage.notebook_path,
                cell_index=example.cell_index,
                heading=passage.heading,
            )
        )

    def _source(self, material: Material, passage: Passage) -> str:
        module = material.module
        label = cell_label(passage.cell_index)
        if module is not None and passage.notebook_path == module.path:
            return f"*{passage.heading}* ({label})"
        other = material.module_of(passage.notebook_path)
        name = other.module_title if other else passage.notebook_path
        filename = passage.notebook_path.rsplit("/", 1)[-1]
        return f"*{passage.heading}* in the **{name}** notebook (`{filename}`, {label})"

    # -- learning: questions -----------------------------------------------------------------------

    def covered(self, hits: list[Hit], query: str) -> bool:
        if not hits:
            return False
        best = hits[0]
        terms = set(tokenize(query))
        required = len(terms) if len(terms) <= 2 else (len(terms) + 1) // 2
        return best.score >= MIN_SCORE and best.coverage >= MIN_COVERAGE and len(best.matched) >= required

    def answer_question(self, reply: Reply, material: Material, question: str) -> None:
        if not tokenize(question):
            self.clarify(reply, material, question)
            return
        hits = material.search(question, limit=4)
        moved = reply.move(Phase.LEARNING, "A question about the material: answering it is learning.")
        if not self.covered(hits, question):
            self.not_covered(reply, material, question, hits)
        else:
            self.grounded_answer(reply, material, question, hits)
        if not moved:
            self.remind_open_question(reply, material, prefix=False)

    def clarify(self, reply: Reply, material: Material, text: str) -> None:
        """Nothing to search for ("b", "hmm"): ask, and keep the phase (and any prepared quiz)."""
        reply.say(
            f"I'm not sure what you mean by “{_quote_text(text, 40)}”. Ask me about a topic of the "
            "notebook, or say **plan**, **next**, **quiz me** or **hint**."
        )
        reply.say("", _continue_hint(reply.phase, reply.state))
        reply.act("clarification_asked", "The message has no words to search the material for.")
        self._reattach_open(reply, material)

    def grounded_answer(self, reply: Reply, material: Material, question: str, hits: list[Hit]) -> None:
        terms = tokenize(question)
        best = hits[0]
        reply.state.topic = best.passage.heading
        self._teach_passage(reply, material, best.passage, terms)
        if not best.passage.examples:
            # A worked example from the next relevant section of the same notebook, if there is one.
            for hit in hits[1:]:
                if (
                    hit.passage.examples
                    and hit.passage.notebook_path == best.passage.notebook_path
                    and self.covered([hit], question)
                ):
                    self._example(reply, material, hit.passage, hit.passage.examples[0])
                    break
        see_also = next(
            (
                h
                for h in hits[1:]
                if h.passage.heading != best.passage.heading
                and self.covered([h], question)
                and h.score >= 0.6 * best.score
            ),
            None,
        )
        if see_also is not None:
            reply.cite(see_also.passage)
            reply.say("", f"See also {self._source(material, see_also.passage)}.")
        reply.say("", "Ask a follow-up question, or say **quiz me** to check yourself.")
        reply.act(
            "answered_from_course",
            f"The best passage holds {best.coverage:.0%} of the question's weight (threshold "
            f"{MIN_COVERAGE:.0%}) with score {best.score:.2f}; quoting it with its cells.",
            question_terms=sorted(set(terms)),
            passages=[
                {
                    "notebook_path": h.passage.notebook_path,
                    "cell_index": h.passage.cell_index,
                    "score": round(h.score, 3),
                    "coverage": round(h.coverage, 3),
                }
                for h in hits[:3]
            ],
        )

    def not_covered(self, reply: Reply, material: Material, question: str, hits: list[Hit]) -> None:
        module = material.module
        assert module is not None
        course = f"**{module.course_title}**" if module.course_title else "this course"
        reply.say(
            f"I looked through the material of {course} and it doesn't cover "
            f"“{_quote_text(question)}”, so I won't guess.",
            "",
            f"Here's what **{module.module_title}** covers:",
        )
        for passage in course_topics(module):
            reply.say(f"- *{passage.heading}* ({cell_label(passage.cell_index)})")
        others = [c.module_title for c in material.course if c.path != module.path]
        if others:
            reply.say("", "The other modules of the course: " + ", ".join(f"*{t}*" for t in others) + ".")
        reply.say("", "Ask me about any of these, or say **plan** for a study plan.")
        best = hits[0] if hits else None
        reply.act(
            "not_covered",
            "No passage reaches the coverage and score thresholds; saying so instead of inventing an answer.",
            question_terms=sorted(set(tokenize(question))),
            best_score=round(best.score, 3) if best else 0.0,
            best_coverage=round(best.coverage, 3) if best else 0.0,
            min_coverage=MIN_COVERAGE,
            min_score=MIN_SCORE,
        )

    # -- error help --------------------------------------------------------------------------------

    def explain_traceback(self, reply: Reply, material: Material, text: str) -> None:
        info = errorhelp.parse_traceback(text)
        if info is None:
            self.answer_question(reply, material, text)
            return
        moved = reply.move(Phase.LEARNING, "An error in the learner's code: explaining it is learning.")
        explanation = errorhelp.explanation_for(info.exc_type)
        reply.say(f"That's a **{info.exc_type}**. {explanation.meaning}")
        if info.code_line:
            where = f"line {info.line_number}" if info.line_number else "this line"
            reply.say("", f"It happened in your code at {where}: `{_quote_text(info.code_line, 160)}`")
        elif info.message:
            reply.say("", f"Python's message: `{_quote_text(info.message, 160)}`")
        detail = errorhelp.specific_detail(info)
        if detail:
            reply.say(detail)
        reply.say("", f"**How to fix it:** {explanation.fix}")
        sections = self.error_sections(material, info, limit=3)
        section = sections[0].passage if sections else None
        if section is not None:
            reply.cite(section)
            first = section.paragraphs()[0] if section.paragraphs() else ""
            reply.say(
                "",
                f"The course explains this in {self._source(material, section)}:",
                "",
                *(f"> {line}" for line in first.splitlines()),
            )
            reply.state.topic = section.heading
        else:
            reply.say(
                "",
                "The course material has no section on this error; the explanation above is how "
                "Python itself describes it.",
            )
        reply.say("", "Try the fix, run the cell again, and paste the new message if it still fails.")
        reply.act(
            "traceback_explained",
            "The learner pasted a traceback: explain the exception type, tie it to their line, "
            "and point at the course section on the concept behind it.",
            exception=info.exc_type,
            line_number=info.line_number,
            section=section.cell_index if section else None,
            section_notebook=section.notebook_path if section else None,
        )
        if not moved:
            self.remind_open_question(reply, material, prefix=False)

    @staticmethod
    def error_sections(material: Material, info: errorhelp.TracebackInfo, *, limit: int) -> list[Hit]:
        """Course sections on the concept behind an error, best first: only those that score as
        an answer would (a weak match is no explanation)."""
        query = errorhelp.search_query(info)
        hits = material.search(query, kinds=CONCEPTS, limit=limit)
        return [h for h in hits if h.score >= MIN_SCORE and not is_tool_passage(h.passage)]

    # -- hints -------------------------------------------------------------------------------------

    @staticmethod
    def exercise_section(material: Material, exercise: Passage) -> Hit | None:
        """The module's section that explains what an exercise needs."""
        assert material.module is not None
        hits = material.search(exercise.text, notebook=material.module.path, kinds=CONCEPTS, limit=1)
        return hits[0] if hits else None

    def hint(self, reply: Reply, material: Material, text: str) -> None:
        module = material.module
        assert module is not None
        open_q = self.open_question(material, reply.state)
        if open_q is not None and reply.phase in {Phase.QUIZZING, Phase.ANALYZING}:
            self.quiz_hint(reply, material, open_q)
            return
        exercises = module.exercises()
        if not exercises:
            reply.say(f"**{module.module_title}** has no exercises with hints. Ask me about a topic instead.")
            reply.act("hint_unavailable", "The notebook has no exercise sections.")
            return
        reply.move(Phase.LEARNING, "Help with an exercise is learning.")
        chosen = pick_exercise(text, exercises, material)
        hint = hint_text(chosen)
        reply.cite(chosen)
        reply.say(f"**Hint for *{chosen.heading}*** ({cell_label(chosen.cell_index)}):", "")
        if hint:
            reply.say(hint)
        else:
            related = self.exercise_section(material, chosen)
            if related is not None:
                reply.cite(related.passage)
                reply.say(
                    "This exercise has no written hint. Re-read "
                    f"{self._source(material, related.passage)}: it explains what you need."
                )
            else:
                reply.say("This exercise has no written hint. Re-read the sections above it.")
        reply.say(
            "",
            "I won't hand you the solution: try it in the exercise's code cell and run it. Ask "
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
        reply.state.topic = chosen.heading
        reply.act(
            "hint_given",
            "Guide, don't solve: the notebook's own hint for the exercise, no solution.",
            exercise=chosen.heading,
            cell_index=chosen.cell_index,
        )

    def quiz_hint(self, reply: Reply, material: Material, question: QuizQuestion) -> None:
        module = material.module
        assert module is not None
        objective = module.objective(question.objective)
        section = self.section_for(material, question)
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
            reply.say(f"Have another look at {self._source(material, section)}, then pick your answer.")
        reply.act(
            "quiz_hint_given",
            "A pointer to the section, never the answer.",
            question_id=question.id,
        )
        reply.ask(question, show=False)

    def section_for(self, material: Material, question: QuizQuestion) -> Passage | None:
        """The module's section that best explains a quiz question (its objective's words help):
        where hints, wrong answers and follow-ups send the learner."""
        module = material.module
        assert module is not None
        objective = module.objective(question.objective)
        hits = material.search(
            question.question + " " + (objective.text if objective else ""),
            notebook=module.path,
            kinds=CONCEPTS,
            limit=1,
        )
        return hits[0].passage if hits else None

    # -- quizzing ----------------------------------------------------------------------------------

    def quiz(self, reply: Reply, material: Material) -> None:
        module = material.module
        assert module is not None
        state = reply.state
        if not module.quiz:
            reply.say(
                f"**{module.module_title}** has no quiz questions in its metadata, so there's "
                "nothing to quiz you on here. Ask me about the material instead."
            )
            reply.act("quiz_unavailable", "The notebook's metadata has no quiz.")
            return
        if quizzes.is_running(state.quiz) and can_change_phase(reply.start_phase, Phase.QUIZZING):
            question = self.open_question(material, state)
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
            self.start_quiz(reply, material, ids=ids)
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
        self,
        reply: Reply,
        material: Material,
        *,
        ids: list[str] | None = None,
        intro: str | None = None,
    ) -> None:
        module = material.module
        assert module is not None
        if not module.quiz:
            self.quiz(reply, material)
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
        state.topic = f"Quiz: {module.module_title}"
        reply.say(
            intro
            or f"Quiz time: {len(progress.question_ids)} questions on **{module.module_title}**, "
            "one at a time."
        )
        reply.ask(first)
        reply.act(
            "quiz_started",
            "Questions come from the notebook's quiz metadata, served one at a time.",
            question_ids=progress.question_ids,
        )
        reply.act("quiz_question_served", "First question of the quiz.", question_id=first.id, number=1)

    def _reattach_open(self, reply: Reply, material: Material) -> None:
        question = self.open_question(material, reply.state)
        if question is not None and reply.phase in {Phase.QUIZZING, Phase.ANALYZING}:
            reply.ask(question, show=False)

    def remind_open_question(self, reply: Reply, material: Material, *, prefix: bool = True) -> None:
        question = self.open_question(material, reply.state)
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

    def stop_quiz(self, reply: Reply, material: Material) -> None:
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

    def answer(self, reply: Reply, material: Material, question_id: str, choice: int) -> None:
        module = material.module
        assert module is not None
        state = reply.state
        open_q = self.open_question(material, state)
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
                self.remind_open_question(reply, material, prefix=False)
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
        graded = quizzes.grade(state, module, open_q, choice)
        self._feedback(reply, material, graded, reveal=follow_up)
        assert state.quiz is not None
        if follow_up:
            state.quiz.open_question_id = None
            following = quizzes.next_follow_up(module, state.quiz)
            if following is not None:
                self.ask_follow_up(reply, material, following)
            else:
                self.after_analysis(reply, material)
        else:
            self.serve_next_question(reply, material)

    def _feedback(self, reply: Reply, material: Material, graded: quizzes.Graded, *, reveal: bool) -> None:
        question = graded.question
        if graded.correct:
            reply.say(f"✅ **Correct!** {question.explanation}".rstrip())
        else:
            reply.say(f"❌ **Not quite.** You chose {quizzes.choice_label(question, graded.choice)}.")
            if graded.misconception is not None:
                reply.say("", graded.misconception.text)
            if reveal:
                reply.say(
                    "",
                    f"The answer is {quizzes.choice_label(question, question.answer)}. "
                    f"{question.explanation}".rstrip(),
                )
            else:
                section = self.section_for(material, question)
                if section is not None:
                    reply.cite(section)
                    reply.say(
                        "",
                        f"Worth re-reading: {self._source(material, section)}. We'll come "
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

    def serve_next_question(self, reply: Reply, material: Material) -> None:
        """The quiz's next question, or the analysis once the last one is answered."""
        module = material.module
        assert module is not None
        progress = reply.state.quiz
        assert progress is not None
        progress.current_index += 1
        following = quizzes.open_next(module, progress)
        if following is None:
            self.analyze(reply, material)
            return
        reply.ask(following)
        reply.act(
            "quiz_question_served",
            "Next question of the quiz.",
            question_id=following.id,
            number=progress.current_index + 1,
        )

    # -- analyzing ---------------------------------------------------------------------------------

    def analyze(self, reply: Reply, material: Material) -> None:
        module = material.module
        assert module is not None
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
            self.ask_follow_up(reply, material, follow_up)
        else:
            reply.say(
                "",
                "You've mastered every objective of this module. Say **next** to wrap it up, or "
                "ask me anything.",
            )

    def ask_follow_up(self, reply: Reply, material: Material, question: QuizQuestion) -> None:
        module = material.module
        assert module is not None
        assert reply.state.quiz is not None
        objective = module.objective(question.objective)
        name = objective.text if objective else "this topic"
        section = self.section_for(material, question)
        reply.say("", f"Let's revisit **{name}**.")
        if section is not None:
            reply.cite(section)
            reply.say(f"Have another look at {self._source(material, section)}, then try this one again:")
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

    def after_analysis(self, reply: Reply, material: Material) -> None:
        """Plan the next topic (the objectives still missed) or complete the module."""
        module = material.module
        assert module is not None
        state = reply.state
        if quizzes.all_mastered(module, state):
            self.module_complete(reply, material)
            return
        missed = quizzes.missed_objectives(module, state)
        texts = [o.text for o in module.objectives if o.id in missed]
        if not reply.move(Phase.PLANNING, "Objectives are still below mastery: plan a review of them."):
            return
        full = self.get_plan(reply, material)
        steps = [
            PlanStep(objective=s.objective, sections=s.sections) for s in full.steps if s.objective in texts
        ]
        review = StudyPlan(topic=f"Review: {', '.join(texts)}", steps=steps, cache_key=None)
        state.plan = review
        state.topic = review.topic
        reply.say("", "Next topic: a short review of what didn't stick yet.", "")
        self._plan_lines(reply, material, review)
        reply.say("", "Say **next** to start the review; after it, the quiz on these objectives again.")
        reply.act(
            "next_topic_planned",
            "Below-mastery objectives become the next study plan.",
            objectives=missed,
        )

    def module_complete(self, reply: Reply, material: Material, *, again: bool = False) -> None:
        module = material.module
        assert module is not None
        state = reply.state
        following = material.next_module()
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

    def objectives(self, reply: Reply, material: Material) -> None:
        module = material.module
        assert module is not None
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

    def progress(self, reply: Reply, material: Material) -> None:
        module = material.module
        assert module is not None
        reply.say(f"Here's where you are in **{module.module_title}**:")
        reply.say(*self._status_lines(reply.phase, reply.state, module))
        reply.act("progress_shown", "The learner asked for their progress.")

    def _status_lines(self, phase: Phase, state: TutorState, module: NotebookInfo) -> list[str]:
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

    def resume(
        self, reply: Reply, turn: TutorTurn | None, material: Material, *, greeting: bool = False
    ) -> None:
        module = material.module
        assert module is not None
        where = (
            f"**{module.course_title} / {module.module_title}**"
            if module.course_title
            else f"**{module.module_title}**"
        )
        if greeting:
            reply.say(f"Hi again! We're working on {where}. Here's where we are:", "")
        else:
            reply.say(f"Welcome back to {where}. Here's where we left off:", "")
        reply.say(*self._status_lines(reply.phase, reply.state, module))
        last = _last_learner_text(turn.history) if turn is not None else None
        if last:
            reply.say(f"- Your last message: “{_quote_text(last, 120)}”")
        question = self.open_question(material, reply.state)
        if question is not None and reply.phase in {Phase.QUIZZING, Phase.ANALYZING}:
            reply.say("", "This question is still open:")
            reply.ask(question)
        else:
            reply.say("", _continue_hint(reply.phase, reply.state))
        reply.act(
            "resumed" if not greeting else "greeted_again",
            "Summarise the stored state so the learner continues exactly where they stopped.",
            phase=reply.phase.value,
            topic=reply.state.topic,
            open_question=question.id if question else None,
        )


# -------------------------------------------------------------------------------------------------
# The tutor


class CourseTutor:
    """The default, offline tutor (entry point ``course``)."""

    name = "course"
    model: str | None = None

    def __init__(self, *, root_dir: Path, plan_ttl: timedelta = DEFAULT_PLAN_TTL) -> None:
        self.root_dir = root_dir
        self.engine = CourseEngine(root_dir=root_dir, plan_ttl=plan_ttl)

    async def respond(self, turn: TutorTurn) -> AsyncIterator[TutorEvent]:
        try:
            material = await self.engine.material(turn)
            reply = self.engine.compose(turn, material)
        except Exception as exc:  # a tutor must not raise: the learner's message stays stored for a retry
            log.error("course tutor failed on a %s turn: %s", turn.kind, type(exc).__name__)
            yield ErrorEvent(
                "TUTOR_FAILED",
                "The tutor could not answer this time. Your message is saved; try again.",
            )
            return
        for event in reply.events():
            yield event


def create_course_tutor(*, root_dir: Path, options: dict[str, Any] | None = None) -> CourseTutor:
    """Entry point ``tutornb.tutors: course``. Option: ``plan_ttl_hours`` (default 168)."""
    options = options or {}
    hours = options.get("plan_ttl_hours", DEFAULT_PLAN_TTL.total_seconds() / 3600)
    if not isinstance(hours, (int, float)) or hours <= 0:
        from tutornb.errors import TutorUnavailable

        raise TutorUnavailable("The course tutor's plan_ttl_hours must be a positive number.")
    return CourseTutor(root_dir=Path(root_dir), plan_ttl=timedelta(hours=float(hours)))


# -------------------------------------------------------------------------------------------------
# Helpers


def _last_learner_text(history: list[Message]) -> str | None:
    return next((m.text for m in reversed(history) if m.role is Role.LEARNER), None)


def _quote_text(text: str, limit: int = 100) -> str:
    text = " ".join(text.replace("`", "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _current_step(plan: StudyPlan | None) -> tuple[int, int] | None:
    if plan is None:
        return None
    for i, step in enumerate(plan.steps, start=1):
        if step.status == "in_progress":
            return i, len(plan.steps)
    return None


def _continue_hint(phase: Phase, state: TutorState) -> str:
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
