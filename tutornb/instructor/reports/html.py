"""The class page (``index.html``): one self-contained file an instructor can open, mail or print.

No network and no script: styles are inline, plots are inline SVG (:mod:`tutornb.instructor.reports.plots`).
Every piece of text that came from a report (learners' questions above all, but also ids and
misconception texts, which a hand-edited report could fill with markup) is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape

from tutornb.instructor.reports import plots
from tutornb.instructor.reports.classview import ClassView
from tutornb.version import __version__

#: Nothing may load from anywhere: the page is its own styles and nothing else.
CSP = "default-src 'none'; style-src 'unsafe-inline'"
#: The page shows this many misconceptions (``class.json`` has them all).
TOP_MISCONCEPTIONS = 10

STYLE = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d2430; --muted: #5b6472; --line: #d5dae1;
  --card: #f5f7fa; --track: #e8ecf1; --bar: #c2410c; --alt: #7c3aed;
  --bin0: #b91c1c; --bin1: #ea580c; --bin2: #ca8a04; --bin3: #65a30d; --bin4: #15803d; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --fg: #e6e9ee; --muted: #a3acb9; --line: #333a44; --card: #1b2027;
    --track: #262c35; --bar: #fb923c; --alt: #a78bfa;
    --bin0: #f87171; --bin1: #fb923c; --bin2: #facc15; --bin3: #a3e635; --bin4: #4ade80; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
.meta, .note { color: var(--muted); font-size: .9rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .75rem;
  margin: 1rem 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .8rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.plot { display: block; max-width: 100%; height: auto; margin: .5rem 0; }
svg .label, svg .value, svg .tick { fill: var(--fg); font-size: 12px; font-family: inherit; }
svg .tick { fill: var(--muted); font-size: 11px; } svg .axis { stroke: var(--line); }
svg .track { fill: var(--track); } svg .bar { fill: var(--bar); } svg .bar.alt { fill: var(--alt); }
svg .bin0 { fill: var(--bin0); } svg .bin1 { fill: var(--bin1); } svg .bin2 { fill: var(--bin2); }
svg .bin3 { fill: var(--bin3); } svg .bin4 { fill: var(--bin4); }
ul.questions { margin: .25rem 0 .75rem; padding-left: 1.25rem; } ul.questions li { margin: .15rem 0; }
.count { color: var(--muted); font-size: .85rem; }
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #444; --line: #bbb; --card: #fff; --track: #eee; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  section, svg.plot, table, .card { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    cells = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{escape(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _letter(choice: int | None) -> str:
    return chr(65 + choice) if choice is not None and 0 <= choice < 26 else "?"


def _objectives(view: ClassView) -> str:
    if not view.objectives:
        return '<p class="note">No learner has been assessed on an objective yet.</p>'
    rows = [
        (
            o.module_title or o.module_id or "-",
            f"{o.objective_text} ({o.objective_id})" if o.objective_text else o.objective_id,
            str(o.learners),
            f"{o.mean:.0%}",
            str(o.below_mastery),
        )
        for o in view.objectives
    ]
    return plots.mastery_distribution(view.objectives) + _table(
        ("Module", "Objective", "Learners", "Mean mastery", "Below 80%"), rows, {2, 3, 4}
    )


def _quiz(view: ClassView) -> str:
    if not view.quiz:
        return '<p class="note">No quiz answers shared yet.</p>'
    rows = []
    for q in view.quiz:
        common = max(q.wrong_choices.items(), key=lambda item: item[1], default=None)
        picked = f"{_letter(int(common[0]))} ({common[1]})" if common else "-"
        asked = f"{q.question_id}: {q.question}" if q.question else q.question_id
        rows.append(
            (
                asked,
                q.objective or "-",
                str(q.learners),
                f"{q.difficulty:.0%}",
                f"{q.mean_attempts:.1f}",
                picked,
            )
        )
    return plots.difficulty(view.quiz) + _table(
        (
            "Question",
            "Objective",
            "Learners",
            "Wrong first time",
            "Mean attempts",
            "Most picked wrong choice",
        ),
        rows,
        {2, 3, 4},
    )


def _misconceptions(view: ClassView) -> str:
    top = view.misconceptions[:TOP_MISCONCEPTIONS]
    if not top:
        return '<p class="note">No misconceptions found in the shared reports.</p>'
    rows = [
        (
            str(i),
            m.question_id or "-",
            f"{_letter(m.choice)}) {m.choice_text}" if m.choice_text else _letter(m.choice),
            m.text,
            str(m.learners),
            str(m.count),
        )
        for i, m in enumerate(top, 1)
    ]
    return plots.misconception_bars(top, view.learners) + _table(
        ("#", "Question", "Wrong choice", "Misconception", "Learners", "Times"), rows, {0, 4, 5}
    )


def _uncovered(view: ClassView) -> str:
    u = view.uncovered
    parts = [
        f"<p>{u.total} question{'s' if u.total != 1 else ''} from {u.learners} learner"
        f"{'s' if u.learners != 1 else ''} found no answer in the material; {u.consented} of them "
        "shared the text of their questions.</p>"
    ]
    if u.by_module:
        parts.append(
            _table(("Module", "Uncovered questions"), [(m, str(n)) for m, n in u.by_module.items()], {1})
        )
    for topic in u.topics:
        items = "".join(
            f'<li>{escape(q.text)} <span class="count">({q.learners} learner'
            f"{'s' if q.learners != 1 else ''})</span></li>"
            for q in topic.questions
        )
        parts.append(f'<h3>{escape(topic.topic)}</h3><ul class="questions">{items}</ul>')
    return "".join(parts)


def _named(view: ClassView) -> str:
    if not view.named_learners:
        return '<p class="note">No learner chose to share by name (with their questions\' text).</p>'
    rows = [
        (
            n.learner,
            str(n.modules),
            f"{n.mean_mastery:.0%}" if n.mean_mastery is not None else "-",
            f"{n.first_try_correct}/{n.quiz_answered}",
            str(n.uncovered),
        )
        for n in view.named_learners
    ]
    return (
        '<p class="note">Only learners who consented to share their questions are named here.</p>'
        + _table(
            ("Learner", "Modules", "Mean mastery", "Quiz right first time", "Uncovered"), rows, {1, 2, 4}
        )
    )


def _cards(view: ClassView) -> str:
    hardest = view.quiz[0] if view.quiz else None
    below = sum(o.below_mastery for o in view.objectives)
    cards = [
        ("Learners", str(view.learners)),
        ("Below mastery", f"{below} learner-objectives"),
        ("Hardest question", f"{hardest.question_id} ({hardest.difficulty:.0%})" if hardest else "-"),
        ("Uncovered questions", str(view.uncovered.total)),
    ]
    inner = "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in cards)
    return f'<div class="cards">{inner}</div>'


def _withheld_note(view: ClassView) -> str:
    if view.min_group_size is None or view.min_group_size <= 1:
        return ""
    return (
        f'<p class="note">Figures about fewer than {view.min_group_size} learners are not shown, so '
        "no one stands out in a small group.</p>"
    )


def render_class_page(view: ClassView, *, unreadable: int = 0, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    course = view.course_id or "(no course id)"
    skipped = (
        f" · {unreadable} unreadable report{'s' if unreadable != 1 else ''} skipped" if unreadable else ""
    )
    sections = (
        ("mastery", "Mastery per objective", _objectives(view)),
        ("quiz", "Difficulty per quiz question", _quiz(view)),
        ("misconceptions", "Most frequent misconceptions", _misconceptions(view)),
        ("uncovered", "Questions the material did not cover", _uncovered(view)),
        ("learners", "Learners who shared by name", _named(view)),
    )
    body = "".join(
        f'<section aria-labelledby="{key}"><h2 id="{key}">{escape(title)}</h2>{content}</section>'
        for key, title, content in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>Class report: {escape(course)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>Class report: {escape(course)}</h1>"
        f'<p class="meta">{view.learners} learner{"s" if view.learners != 1 else ""} shared a report{skipped}'
        " · "
        f"generated {escape(stamp)} by tutornb {escape(__version__)}</p>"
        f"{_withheld_note(view)}{_cards(view)}{body}</main></body></html>\n"
    )
