"""Answering: questions about the material (with the conversation so far, in another language, or
at length), the learner's errors, "I'm lost", and honest "not in this course" replies.

:func:`find` is the one retrieval both tutors use: the course tutor quotes what it finds, the
model-backed tutor puts it in its prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutornb.models import LearnerWork, Phase
from tutornb.tutors import errorcourse, errorhelp, quizzing, status
from tutornb.tutors.explain import best_example, passage_excerpt, show_example, teach_passage
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import cell_label, course_topics, is_tool_passage
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import KEY_TERMS, Hit, Passage
from tutornb.tutors.terms import detect_language, strip_language_words, tokenize

#: A question counts as covered when the best passage holds at least this share of its (idf)
#: weight...
MIN_COVERAGE = 0.5
#: ... and scores at least this much (BM25 with the course's statistics).
MIN_SCORE = 1.5
#: A follow-up is judged more leniently: its own words are few, the conversation says the rest.
LENIENT_COVERAGE = 0.3
#: A long message names many incidental things: enough of its key terms in one passage is enough.
LONG_COVERAGE = 0.2
LONG_MATCHED = 3
#: Near enough to answer with a hedge ("The closest the course comes is ..."), calibrated on three
#: courses' answerable and off-topic messages: a passage scoring this much by words, ...
NEAR_SCORE = 7.0
#: ... or this similar in meaning with some word evidence, ...
NEAR_SIMILARITY = 0.44
NEAR_SIMILARITY_MIN_SCORE = 2.0
#: ... or this similar in meaning alone, ...
NEAR_SIMILARITY_ALONE = 0.6
#: ... or standing out by meaning this much from the fifth most similar passage (off-topic
#: questions are about equally far from everything: at most 0.12 on four courses), ...
NEAR_DISTINCT = 0.15
#: ... or a passage holding this share of the question's weight in at least this many of its
#: words (scale-free: a small course's BM25 scores are low).
NEAR_COVERAGE = 0.3
NEAR_MATCHED = 2
#: A message this short with no word to search for ("b", "hmm ok") is asked about, not searched;
#: a longer one ("what does the e mean in 1.4e6") is searched by meaning and code.
CLARIFY_WORDS = 2
#: How many sections an off-topic reply names as the nearest ones the course has.
NEAREST = 3
#: A module with more topics than this lists only its first ones in a "not covered" reply.
TOPICS_SHOWN = 12


_COMPARISON_RE = re.compile(r"\b(difference|differ|versus|vs\.?|compared?|between)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """What the course has for one learner message."""

    query: str
    hits: list[Hit]
    covered: bool
    follow_up: bool
    #: Not covered, but something in the course is near in meaning or words: answered, hedged.
    near: bool
    #: The language of the message when it is not English.
    language: str | None
    long: bool

    @property
    def terms(self) -> list[str]:
        return list(self.hits[0].terms) if self.hits else []


def is_covered(hits: list[Hit], *, lenient: bool = False, long: bool = False) -> bool:
    """Does the best passage answer? Enough of the question's weight and words, and a real score;
    ``lenient`` for follow-ups and messages in another language, ``long`` for long messages."""
    if not hits:
        return False
    best = hits[0]
    count = len(set(best.terms))
    # Every word of a short question; of a longer one, a third (a symbol brings its words too).
    required = count if count <= 2 else max(2, count // 3)
    coverage = MIN_COVERAGE
    if lenient:
        required, coverage = min(required, 1 if count <= 3 else 3), LENIENT_COVERAGE
    if long:
        required, coverage = min(required, LONG_MATCHED), min(coverage, LONG_COVERAGE)
    if best.names_topic and best.score >= MIN_SCORE:
        return True
    return best.score >= MIN_SCORE and best.coverage >= coverage and len(best.matched) >= required


def is_near(hits: list[Hit]) -> bool:
    """Is anything in the course near the question, in words or in meaning? Only when nothing is
    does the tutor say the course does not cover it."""
    if not hits:
        return False
    best_score = max(h.score for h in hits)
    best_similarity = max(h.similarity for h in hits)
    return (
        best_score >= NEAR_SCORE
        or (best_similarity >= NEAR_SIMILARITY and best_score >= NEAR_SIMILARITY_MIN_SCORE)
        or best_similarity >= NEAR_SIMILARITY_ALONE
        or max(h.distinct for h in hits) >= NEAR_DISTINCT
        or any(
            # A notebook's introduction names everything it will cover: no evidence of an answer.
            h.coverage >= NEAR_COVERAGE and len(h.matched) >= NEAR_MATCHED and h.passage.level >= 2
            for h in hits
        )
    )


def find(lesson: Lesson, text: str, *, limit: int = 4, work: LearnerWork | None = None) -> Found:
    """The passages for a learner's message, read with the conversation so far: a follow-up is
    ranked with the previous question and the sections it was answered from."""
    language = detect_language(text)
    query = strip_language_words(text, language) if language else text
    if work is not None and not work.error:
        query = f"{query}\n{work.code}"  # "why doesn't this work?" is about the code
    long = len(set(tokenize(query))) > KEY_TERMS
    follow_up = lesson.memory.is_follow_up(text)
    context = lesson.terms(lesson.memory.context_text()) if follow_up else []
    # A follow-up means what it says in the light of the question before it: its own words count
    # twice in the average of token vectors, the previous question's once.
    meaning_of = (
        f"{query}\n{query}\n{lesson.memory.last_question}"
        if follow_up and lesson.memory.last_question
        else None
    )
    hits = lesson.search(
        query, limit=limit, context=context, known_only=language is not None, meaning_of=meaning_of
    )
    covered = is_covered(hits, lenient=follow_up or language is not None, long=long)
    near = not covered and is_near(hits)
    return Found(query, hits, covered, follow_up, near, language, long)


def answer_question(reply: Reply, lesson: Lesson, text: str, *, work: LearnerWork | None = None) -> None:
    if not tokenize(text) and work is None and len(text.split()) <= CLARIFY_WORDS:
        clarify(reply, lesson, text)
        return
    found = find(lesson, text, work=work)
    moved = reply.move(Phase.LEARNING, "A question about the material: answering it is learning.")
    if found.language:
        reply.say(
            f"You wrote in {found.language}. This course is in English, so I answer in English and "
            "quote the course; the cells below match the code terms of your question.",
            "",
        )
        reply.act(
            "other_language",
            "The message is not in English: searching the course with its code terms only.",
            language=found.language,
        )
    if found.covered or found.near:
        grounded_answer(reply, lesson, found)
    else:
        not_covered(reply, lesson, text, found)
    if not moved:
        quizzing.remind_open_question(reply, lesson, prefix=False)


def clarify(reply: Reply, lesson: Lesson, text: str) -> None:
    """Nothing to search for ("b", "hmm"): ask, and keep the phase (and any prepared quiz)."""
    reply.say(
        f"I'm not sure what you mean by “{status.quote_text(text, 40)}”. Ask me about a topic of the "
        "notebook, or say **plan**, **next**, **quiz me** or **hint**."
    )
    reply.say("", status.continue_hint(reply.phase, reply.state))
    reply.act("clarification_asked", "The message has no words to search the material for.")
    quizzing.reattach_open(reply, lesson)


def grounded_answer(reply: Reply, lesson: Lesson, found: Found) -> None:
    hits, terms = found.hits, found.terms
    best = hits[0]
    reply.state.topic = best.passage.heading
    if found.follow_up and lesson.memory.last_question:
        reply.say(f"Following on from “{status.quote_text(lesson.memory.last_question, 60)}”:", "")
    if found.near:
        reply.say(
            f"I'm not sure the course answers exactly this. The closest the course comes is "
            f"{lesson.source(best.passage)}:",
            "",
        )
    teach_passage(reply, lesson, best.passage, terms, query=found.query, lead=not found.near)
    if not best.passage.examples:
        # A worked example from the next relevant section of the same notebook, if there is one.
        for hit in hits[1:]:
            same_notebook = hit.passage.notebook_path == best.passage.notebook_path
            if hit.passage.examples and same_notebook and is_covered([hit], lenient=True):
                show_example(reply, hit.passage, hit.passage.examples[0])
                break
    # A comparison ("* and @", "lists vs tuples") is answered by the sections on both sides.
    comparing = bool(_COMPARISON_RE.search(found.query))
    see_also = next(
        (
            h
            for h in hits[1:]
            if h.passage.heading != best.passage.heading
            and is_covered([h], lenient=found.follow_up or comparing, long=found.long)
            and (comparing or h.score >= 0.6 * best.score)
        ),
        None,
    )
    if see_also is not None:
        reply.cite(see_also.passage)
        reply.say("", f"See also {lesson.source(see_also.passage)}.")
    reply.say("", "Ask a follow-up question, or say **quiz me** to check yourself.")
    reply.act(
        "answered_from_course",
        f"The best passage holds {best.coverage:.0%} of the question's weight (threshold "
        f"{MIN_COVERAGE:.0%}, lenient {LENIENT_COVERAGE:.0%}) with score {best.score:.2f} and similarity "
        f"{best.similarity:.2f}; quoting it with its cells"
        + (" (a weak match: hedged)." if found.near else "."),
        question_terms=sorted(set(terms)),
        follow_up=found.follow_up,
        hedged=found.near,
        passages=[
            {
                "notebook_path": h.passage.notebook_path,
                "cell_index": h.passage.cell_index,
                "score": round(h.score, 3),
                "coverage": round(h.coverage, 3),
                "similarity": round(h.similarity, 3),
            }
            for h in hits[:3]
        ],
    )


def nearest_sections(lesson: Lesson, found: Found) -> list[Passage]:
    """The sections closest to an uncovered question (some of its words), best first."""
    seen: set[tuple[str, int]] = set()
    nearest: list[Passage] = []
    for hit in found.hits:
        key = (hit.passage.notebook_path, hit.passage.cell_index)
        if key not in seen and hit.matched and not is_tool_passage(hit.passage) and hit.passage.level >= 2:
            seen.add(key)
            nearest.append(hit.passage)
    return nearest[:NEAREST]


def not_covered(reply: Reply, lesson: Lesson, question: str, found: Found) -> None:
    """Honest: not in this course, said plainly; then (policy ``off_topic``) the nearest sections
    that are, and what the module covers."""
    module = lesson.module
    course = f"**{module.course_title}**" if module.course_title else "this course"
    policy = lesson.policy.off_topic
    reply.say(
        f"That's not in this course: I looked through the material of {course} and it doesn't cover "
        f"“{status.quote_text(question)}”, so I won't guess."
    )
    nearest = nearest_sections(lesson, found) if policy != "decline" else []
    if nearest:
        reply.say("", "The nearest sections the course does have:")
        for passage in nearest:
            reply.say(f"- {lesson.source(passage)}")
    if policy != "decline":
        topics = course_topics(module)
        reply.say("", f"Here's what **{module.module_title}** covers:")
        reply.say(*(f"- *{p.heading}* ({cell_label(p.cell_index)})" for p in topics[:TOPICS_SHOWN]))
        if len(topics) > TOPICS_SHOWN:
            reply.say(f"- … and {len(topics) - TOPICS_SHOWN} more sections")
        others = [c.module_title for c in lesson.material.course if c.path != module.path]
        if others:
            reply.say("", "The other modules of the course: " + ", ".join(f"*{t}*" for t in others) + ".")
    reply.say("", "Ask me about any of these, or say **plan** for a study plan.")
    best = found.hits[0] if found.hits else None
    reply.act(
        "not_covered",
        "No passage reaches the coverage and score thresholds; saying so instead of inventing an "
        f"answer (off_topic policy: {policy}).",
        question_terms=sorted(set(found.terms or tokenize(question))),
        best_score=round(best.score, 3) if best else 0.0,
        best_coverage=round(best.coverage, 3) if best else 0.0,
        min_coverage=MIN_COVERAGE,
        min_score=MIN_SCORE,
        off_topic=policy,
        nearest=[p.cell_index for p in nearest],
    )


# -------------------------------------------------------------------------------------------------
# Errors


def error_sections(lesson: Lesson, error: errorcourse.LearnerError, text: str, *, limit: int) -> list[Hit]:
    """Course sections on an error, best first: one that shows the learner's mistake or the same
    exception in an output, else only those that match as an answer would (a weak match is no
    explanation)."""
    return [
        h
        for h in errorcourse.course_sections(lesson, error, text)
        if errorcourse.evidence(error, h.passage) or h.score >= MIN_SCORE or h.similarity >= NEAR_SIMILARITY
    ][:limit]


def diagnosis_for(text: str, work: LearnerWork | None) -> errorhelp.Diagnosis | None:
    """The error of a turn: a pasted traceback, an error named in the question, else the error of
    the learner's attached work."""
    error = errorcourse.learner_error(text, work)
    return error.diagnosis if error is not None else None


def explain_traceback(reply: Reply, lesson: Lesson, text: str, work: LearnerWork | None = None) -> None:
    error = errorcourse.learner_error(text, work)
    if error is None:
        answer_question(reply, lesson, text, work=work)
        return
    diagnosis = error.diagnosis
    moved = reply.move(Phase.LEARNING, "An error in the learner's code: explaining it is learning.")
    info = diagnosis.info
    where = ""
    if diagnosis.line:
        place = f"line {info.line_number}" if info.line_number else "this line"
        if work is not None and work.cell_index is not None:
            place += f" of your {cell_label(work.cell_index)}"
        where = f" at {place}: `{status.quote_text(diagnosis.line, 160)}`"
    reply.say(f"That's a **{info.exc_type}**{where}.", "")
    if info.message:
        reply.say(f"Python says: `{status.quote_text(info.message, 160)}`", "")
    reply.say(diagnosis.meaning, "", f"**How to fix it:** {diagnosis.fix}")
    if diagnosis.fix_code:
        reply.say("```python", diagnosis.fix_code, "```")
    sections = error_sections(lesson, error, text, limit=3)
    section = sections[0].passage if sections else None
    if section is not None:
        reply.cite(section)
        query = errorcourse.query_for(error, text)
        excerpt = errorcourse.mistake_excerpt(error, section) or passage_excerpt(
            section, tokenize(f"{diagnosis.topic} {error.code}"), limit=1, query=query
        )
        if errorcourse.same_mistake(error, section):
            lead = f"Your code makes the mistake the course warns about in {lesson.source(section)}:"
        else:
            lead = f"The course explains this in {lesson.source(section)}:"
        reply.say("", lead, "")
        for part in excerpt:
            reply.say(*(f"> {line}" for line in part.splitlines()))
        example = best_example(section, tokenize(error.code))
        if example is not None and error.code:
            show_example(reply, section, example)
        reply.state.topic = section.heading
    else:
        reply.say(
            "",
            "The course material has no section on this error; the explanation above is how "
            "Python itself describes it.",
        )
    reply.say("", "Try the fix, run the cell again, and ask me again if it still fails.")
    reply.act(
        "traceback_explained",
        "Explain the exception with the learner's own line and values, show the fix, and point at "
        "the course section on the concept behind it.",
        exception=info.exc_type,
        line_number=info.line_number,
        from_work=work is not None and bool(work.error),
        section=section.cell_index if section else None,
        section_notebook=section.notebook_path if section else None,
    )
    if not moved:
        quizzing.remind_open_question(reply, lesson, prefix=False)


# -------------------------------------------------------------------------------------------------
# "I'm lost"


def orientation(reply: Reply, lesson: Lesson) -> None:
    """Where the learner is in the module, what comes next, and the ways forward."""
    module, state = lesson.module, reply.state
    topics = course_topics(module)
    here = _current_passage(lesson, state.topic)
    reply.say(f"No problem, let's get you oriented. You're in {lesson.where}.", "")
    if here is not None:
        reply.cite(here)
        reply.say(f"- **Where you are:** {lesson.source(here)}.")
    else:
        reply.say("- **Where you are:** at the start of the module.")
    following = _after(topics, here) if here is not None else (topics[0] if topics else None)
    step = next((s for s in state.plan.steps if s.status != "done"), None) if state.plan else None
    if step is not None:
        reply.say(f"- **What's next in your plan:** {step.objective}.")
    elif following is not None:
        reply.cite(following)
        reply.say(f"- **What comes next:** {lesson.source(following)}.")
    else:
        onward = lesson.material.next_module()
        if onward is not None:
            reply.say(f"- **What comes next:** the **{onward.module_title}** module.")
    reply.say(
        "",
        "Ways forward: say **plan** for a step-by-step study plan, **quiz me** to see what you "
        "already know, **hint** for help with an exercise, or ask me about any section"
        + (f" (for example *{topics[0].heading}*)." if topics else "."),
    )
    reply.act(
        "orientation_given",
        "The learner is lost: show where they are, what comes next and the ways forward instead "
        "of searching the material for the words of the message.",
        here=here.cell_index if here else None,
        next=following.cell_index if following else None,
    )
    quizzing.reattach_open(reply, lesson)


def _current_passage(lesson: Lesson, topic: str | None) -> Passage | None:
    cited = lesson.memory.last_citations
    for citation in cited:
        passage = lesson.passage_at(citation)
        if passage is not None and passage.notebook_path == lesson.module.path:
            return passage
    if topic:
        return next((p for p in course_topics(lesson.module) if p.heading == topic), None)
    return None


def _after(topics: list[Passage], here: Passage) -> Passage | None:
    return next((p for p in topics if p.cell_index > here.cell_index and p.heading != here.heading), None)
