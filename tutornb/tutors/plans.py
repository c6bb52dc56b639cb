"""Study plans: built from the module's objectives and the sections that rank best for each,
cached in the store (keyed by course, module, objectives and notebook content)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from tutornb.models import PlanStep, StudyPlan
from tutornb.tutors.lesson import Lesson
from tutornb.tutors.material import CONCEPTS, cell_label, course_topics, is_tool_passage
from tutornb.tutors.reply import Reply
from tutornb.tutors.retrieval import NotebookInfo

PLAN_CACHE_VERSION = 1
DEFAULT_PLAN_TTL = timedelta(days=7)


def plan_key(module: NotebookInfo) -> str:
    payload = {
        "v": PLAN_CACHE_VERSION,
        "course": module.course_id,
        "module": module.module_id or module.path,
        "objectives": [[o.id, o.text] for o in module.objectives],
        "content": module.content_hash,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"course-plan:{digest}"


def build_plan(lesson: Lesson, key: str) -> StudyPlan:
    module = lesson.module
    steps: list[PlanStep] = []
    for objective in module.objectives:
        hits = [
            h
            for h in lesson.search(objective.text, notebook=module.path, kinds=CONCEPTS, limit=4)
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


def get_plan(reply: Reply, lesson: Lesson) -> StudyPlan:
    """The module's plan from the store's plan cache, built and cached on a miss."""
    key = plan_key(lesson.module)
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
    ttl = lesson.plan_ttl
    plan = build_plan(lesson, key)
    if reply.plan_cache is not None:
        reply.plan_cache.put_plan(key, plan, ttl)
    reply.act(
        "plan_made",
        "No cached plan for this notebook content: one step per module objective, each with "
        "the sections that rank best for it.",
        cache_key=key,
        cache="miss",
        steps=len(plan.steps),
        ttl_seconds=int(ttl.total_seconds()),
    )
    return plan


def plan_lines(reply: Reply, plan: StudyPlan) -> None:
    for i, step in enumerate(plan.steps, start=1):
        sections = [f"*{c.heading}* ({cell_label(c.cell_index)})" for c in step.sections]
        for citation in step.sections:
            reply.cite(citation)
        where = f": read {' and '.join(sections)}" if sections else ""
        mark = {"done": " (done)", "in_progress": " (current)"}.get(step.status, "")
        reply.say(f"{i}. **{step.objective}**{mark}{where}.")
