"""The live class view: the same ``class.json`` and page as ``tutornb class-report``, built on
request from the reports the service holds, with small groups withheld.

An aggregate of fewer than ``min_group`` learners (an objective, a quiz question, a misconception)
says too much about the few behind it, so it is left out; a class smaller than that shows only its
size. The instructor may lower the threshold per request (``?min_group=N``, at least 1).
"""

from __future__ import annotations

from pathlib import Path

from tutornb.instructor.reports.classview import ClassView, class_view
from tutornb.instructor.reports.html import render_class_page
from tutornb.instructor.reports.model import ProgressReport
from tutornb.instructor.reports.objectives import objective_texts


def small_groups_withheld(view: ClassView, min_group: int) -> ClassView:
    view = view.model_copy(update={"min_group_size": min_group})
    if view.learners < min_group:
        return view.model_copy(
            update={
                "objectives": [],
                "quiz": [],
                "misconceptions": [],
                "uncovered": view.uncovered.model_copy(update={"topics": [], "by_module": {}}),
            }
        )
    return view.model_copy(
        update={
            "objectives": [o for o in view.objectives if o.learners >= min_group],
            "quiz": [q for q in view.quiz if q.learners >= min_group],
            "misconceptions": [m for m in view.misconceptions if m.learners >= min_group],
        }
    )


def live_view(
    reports: list[ProgressReport], course_id: str, min_group: int, material: Path | None = None
) -> ClassView:
    texts = objective_texts(material) if material else None
    return small_groups_withheld(class_view(reports, course_id, texts), min_group)


def live_page(view: ClassView) -> str:
    return render_class_page(view)
