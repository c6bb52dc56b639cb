"""The ``%tutor share`` preview reads as words and a small table, with the exact JSON one click away."""

from __future__ import annotations

from html import escape
from pathlib import Path

from tests.instructor.conftest import shared_file
from tutornb.instructor.reports.exchange import render_report
from tutornb.instructor.reports.model import ProgressReport
from tutornb.instructor.reports.preview import SharePreview


def test_the_preview_says_what_is_shared_with_the_json_behind_a_click(exchange: Path) -> None:
    # Given bo's report (he consented to share his questions' text)
    report = ProgressReport.model_validate_json(shared_file(exchange, "bo").read_text())
    preview = SharePreview(report)
    html = preview._repr_html_()
    # Then the notebook shows words first, a row per module, and the JSON inside a <details>
    words, _, rest = html.partition("<table>")
    assert "as &#x27;bo&#x27;" in words
    assert "DOES include the text of your questions" in words
    assert "does not share your conversations" in words
    module = report.modules[0]
    assert f"<td>{escape(module.module_title or '')}</td><td>{module.phase.value}</td>" in rest
    table, _, json_part = rest.partition("<details>")
    assert '"learner"' not in table
    assert json_part.startswith("<summary>The exact document that will be shared (JSON)</summary><pre>")
    assert "&quot;learner&quot;: &quot;bo&quot;" in json_part
    # And the plain text (a terminal) has the same words and table, then the exact document
    text = repr(preview)
    assert text.index("Quiz right first time") < text.index("Exactly this document will be shared:")
    assert text.endswith(render_report(report).decode("utf-8"))


def test_a_learner_without_consent_is_told_the_text_stays_home(exchange: Path) -> None:
    report = ProgressReport.model_validate_json(shared_file(exchange, "ann").read_text())
    assert "NOT included" in SharePreview(report)._repr_html_()
