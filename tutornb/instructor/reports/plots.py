"""Inline SVG plots for the class page, drawn in Python: no script, no network, no plotting
library in the learner's or instructor's environment.

Colours are CSS classes (``bin0`` … ``bin4``, ``bar``, ``axis``) that the page's stylesheet defines
for light, dark and print, so one SVG reads well in each. Every bar has a ``<title>`` (a tooltip and
what a screen reader says), and every plot an ``aria-label``; the tables beside them hold the same
figures as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tutornb.instructor.reports.classview import MASTERY_BINS, MisconceptionView, ObjectiveView, QuizView
from tutornb.plaintext import clip

WIDTH = 720
LABEL = 230
ROW = 26
#: Characters of a label shown beside a bar (the full text is in its tooltip).
LABEL_CHARS = 34
BAR = 16
BIN_LABELS = tuple(
    f"{int(lo * 100)}\u2013{int(hi * 100)}%"
    for lo, hi in zip((0.0, *MASTERY_BINS), (*MASTERY_BINS, 1.0), strict=True)
)


def _svg(height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="plot" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _label(y: float, text: str) -> str:
    return (
        f'<text class="label" x="{LABEL - 8}" y="{y + BAR / 2 + 4:.1f}" text-anchor="end">'
        f"<title>{escape(text)}</title>{escape(clip(text, LABEL_CHARS))}</text>"
    )


def _axis(y: int, plot_width: int, ticks: Sequence[tuple[float, str]]) -> list[str]:
    parts = [f'<line class="axis" x1="{LABEL}" y1="{y}" x2="{LABEL + plot_width}" y2="{y}"/>']
    for share, text in ticks:
        x = LABEL + share * plot_width
        parts.append(f'<line class="axis" x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}"/>')
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{y + 16}" text-anchor="middle">{escape(text)}</text>'
        )
    return parts


def mastery_distribution(objectives: Sequence[ObjectiveView]) -> str:
    """One stacked bar per objective: the share of its learners in each mastery bin."""
    plot_width = WIDTH - LABEL - 60
    top = 30
    body: list[str] = []
    x = LABEL
    for index, text in enumerate(BIN_LABELS):  # legend
        body.append(f'<rect class="bin{index}" x="{x}" y="4" width="12" height="12" rx="2"/>')
        body.append(f'<text class="tick" x="{x + 16}" y="14">{escape(text)}</text>')
        x += 84
    for row, objective in enumerate(objectives):
        y = top + row * ROW
        text = objective.objective_text or objective.objective_id
        what = text if len(text) <= 40 else text[:39] + "…"
        name = f"{objective.module_title or objective.module_id or ''} · {what}".strip(" ·")
        body.append(_label(y, name))
        offset = 0.0
        for index, count in enumerate(objective.distribution):
            if not count:
                continue
            width = plot_width * count / objective.learners
            tip = f"{name}: {count} of {objective.learners} learners at {BIN_LABELS[index]} mastery"
            body.append(
                f'<rect class="bin{index}" x="{LABEL + offset:.1f}" y="{y}" width="{width:.1f}" '
                f'height="{BAR}"><title>{escape(tip)}</title></rect>'
            )
            offset += width
        body.append(
            f'<text class="value" x="{LABEL + plot_width + 6}" y="{y + BAR / 2 + 4:.1f}">'
            f"n={objective.learners}</text>"
        )
    bottom = top + len(objectives) * ROW
    body += _axis(bottom, plot_width, [(0, "0%"), (0.5, "50%"), (1, "100% of learners")])
    return _svg(bottom + 22, "Mastery distribution per objective", body)


def difficulty(quiz: Sequence[QuizView]) -> str:
    """One bar per quiz question: the share of learners who got it wrong the first time."""
    plot_width = WIDTH - LABEL - 110
    body: list[str] = []
    for row, question in enumerate(quiz):
        y = 8 + row * ROW
        body.append(_label(y, question.question_id))
        width = plot_width * question.difficulty
        tip = (
            f"{question.question_id}: {question.learners - question.first_try_correct} of "
            f"{question.learners} wrong first time"
        )
        body.append(
            f'<rect class="track" x="{LABEL}" y="{y}" width="{plot_width}" height="{BAR}" rx="2"/>'
            f'<rect class="bar" x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" rx="2">'
            f"<title>{escape(tip)}</title></rect>"
        )
        body.append(
            f'<text class="value" x="{LABEL + plot_width + 6}" y="{y + BAR / 2 + 4:.1f}">'
            f"{question.difficulty:.0%} wrong · n={question.learners}</text>"
        )
    bottom = 8 + len(quiz) * ROW
    body += _axis(bottom, plot_width, [(0, "0%"), (0.5, "50%"), (1, "100% wrong first time")])
    return _svg(bottom + 22, "Difficulty per quiz question (share wrong on the first try)", body)


def misconception_bars(misconceptions: Sequence[MisconceptionView], learners: int) -> str:
    """The most frequent misconceptions: learners who showed each, out of the class."""
    plot_width = WIDTH - LABEL - 110
    body: list[str] = []
    for row, item in enumerate(misconceptions):
        y = 8 + row * ROW
        choice = (
            f" · choice {chr(65 + item.choice)}" if item.choice is not None and 0 <= item.choice < 26 else ""
        )
        name = f"{row + 1}. {item.question_id or '?'}{choice}"
        body.append(_label(y, name))
        width = plot_width * item.learners / max(1, learners)
        tip = f"{name}: {item.learners} learners ({item.count} times): {item.text}"
        body.append(
            f'<rect class="track" x="{LABEL}" y="{y}" width="{plot_width}" height="{BAR}" rx="2"/>'
            f'<rect class="bar alt" x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" rx="2">'
            f"<title>{escape(tip)}</title></rect>"
        )
        body.append(
            f'<text class="value" x="{LABEL + plot_width + 6}" y="{y + BAR / 2 + 4:.1f}">'
            f"{item.learners} learners</text>"
        )
    bottom = 8 + len(misconceptions) * ROW
    body += _axis(bottom, plot_width, [(0, "0"), (1, f"{learners} learners")])
    return _svg(bottom + 22, "Most frequent misconceptions", body)
