"""The class page in words: objectives by their text (from the course's notebooks) and, for the
learners who consented to share their questions, their names."""

from __future__ import annotations

import json
from pathlib import Path

from tutornb.cli import main
from tutornb.instructor.reports.objectives import objective_texts

COURSE = Path(__file__).resolve().parents[2] / "notebooks"


def test_the_page_names_objectives_in_words_and_only_consenting_learners(
    exchange: Path, tmp_path: Path
) -> None:
    # Given ann (who shared counts only) and bo (who consented to share his questions)
    out = tmp_path / "class"
    # When the instructor builds the class view with the course's notebooks
    assert main(["class-report", str(exchange), "-o", str(out), "--material", str(COURSE), "--quiet"]) == 0
    view = json.loads((out / "class.json").read_text())
    page = (out / "index.html").read_text()
    # Then each objective carries its text, and the page shows it
    texts = objective_texts(COURSE)
    indexing = next(o for o in view["objectives"] if o["objective_id"] == "indexing")
    assert indexing["objective_text"] == texts["indexing"]
    assert f"{texts['indexing']} (indexing)" in page
    # And bo is named, ann is not
    assert [n["learner"] for n in view["named_learners"]] == ["bo"]
    assert "<td>bo</td>" in page
    assert "<td>ann</td>" not in page


def test_without_material_the_ids_stay(exchange: Path, tmp_path: Path) -> None:
    out = tmp_path / "class"
    assert main(["class-report", str(exchange), "-o", str(out), "--quiet"]) == 0
    view = json.loads((out / "class.json").read_text())
    assert all(o["objective_text"] is None for o in view["objectives"])
