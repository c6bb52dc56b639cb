"""The ``%tutor share`` preview a learner can read: what will be shared, in words and a small table,
with the exact JSON one click away (a ``<details>`` in the notebook; printed after the table where
there is no HTML).
"""

from __future__ import annotations

from html import escape

from tutornb.instructor.reports.exchange import render_report
from tutornb.instructor.reports.model import ProgressReport

HEAD = ("Module", "Phase", "Minutes active", "Quiz right first time", "Objectives", "Misconceptions",
        "Uncovered questions")  # fmt: skip


def summary_words(report: ProgressReport) -> list[str]:
    modules = len(report.modules)
    lines = [
        f"This shares your progress in course {report.course_id or '-'} as {report.learner!r}: "
        f"{modules} module{'s' if modules != 1 else ''}, how far you got, your quiz results, "
        "your mastery per objective and the misconceptions the tutor noticed.",
        "It does not share your conversations with the tutor, your code, or your notebook.",
    ]
    if report.includes_questions:
        lines.append("It DOES include the text of your questions the course material did not cover.")
    else:
        lines.append("The text of your questions is NOT included (only how many the material did not cover).")
    return lines


def summary_rows(report: ProgressReport) -> list[tuple[str, ...]]:
    return [
        (
            m.module_title or m.module_id or "(no module)",
            m.phase.value,
            f"{m.time_active_seconds / 60:.0f}",
            f"{sum(1 for q in m.quiz if q.first_correct)}/{len(m.quiz)}",
            str(len(m.mastery)),
            str(sum(c.count for c in m.misconceptions)),
            str(m.uncovered_count),
        )
        for m in report.modules
    ]


def _text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEAD)]
    line = "  ".join(h.ljust(w) for h, w in zip(HEAD, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


class SharePreview:
    """Displayed by ``%tutor share``: HTML in a notebook, plain text elsewhere."""

    def __init__(self, report: ProgressReport) -> None:
        self.report = report
        self.document = render_report(report).decode("utf-8")

    def _repr_html_(self) -> str:
        words = "".join(f"<p>{escape(line)}</p>" for line in summary_words(self.report))
        head = "".join(f'<th scope="col">{escape(h)}</th>' for h in HEAD)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
            for row in summary_rows(self.report)
        )
        return (
            f'<div data-tutornb="share-preview">{words}'
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            "<details><summary>The exact document that will be shared (JSON)</summary>"
            f"<pre>{escape(self.document)}</pre></details></div>"
        )

    def __repr__(self) -> str:
        return "\n".join(
            [
                *summary_words(self.report),
                "",
                _text_table(summary_rows(self.report)),
                "",
                "Exactly this document will be shared:",
                self.document,
            ]
        )


def show_preview(report: ProgressReport) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - the magic always runs in IPython
        print(repr(SharePreview(report)))
        return
    display(SharePreview(report))  # type: ignore[no-untyped-call]
