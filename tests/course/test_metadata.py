"""The one reader of ``metadata.tutornb``: both layouts mean the same to the kernel and the tutor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutornb.course.metadata import course_metadata_schema, read_course_metadata
from tutornb.kernel.context import read_context
from tutornb.tutors.retrieval import parse_notebook

NESTED = {
    "course": {"id": "py", "title": "Python"},
    "module": {"id": "lists", "title": "Lists"},
    "objectives": [{"id": "idx", "title": "Index a list"}],
    "quiz": [
        {"id": "q1", "question": "nums[0]?", "choices": ["a", "b"], "answer": 0},
        {"id": "broken", "question": "no choices"},
    ],
}
FLAT = {
    "course_id": "py",
    "course_title": "Python",
    "module_id": "lists",
    "module_title": "Lists",
    "objectives": [{"id": "idx", "text": "Index a list"}],
    "quiz": [{"id": "q1", "question": "nums[0]?", "choices": ["a", "b"], "answer": 0}],
}


def _notebook(tmp_path: Path, meta: dict[str, object]) -> Path:
    path = tmp_path / "lesson.ipynb"
    doc = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"tutornb": meta},
        "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Lists\n\nText."}],
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("meta", [NESTED, FLAT], ids=["nested", "flat"])
def test_kernel_and_tutor_read_the_same_course(tmp_path: Path, meta: dict[str, object]) -> None:
    # Given a notebook in either layout
    path = _notebook(tmp_path, meta)
    # When the kernel and the tutor read it
    kernel = read_context(path, tmp_path)
    tutor = parse_notebook(path.read_bytes(), "lesson.ipynb")
    # Then both see course py / module lists / one objective / one valid question
    assert (kernel.course.course_id, kernel.course.module_id) == ("py", "lists")
    assert (tutor.course_id, tutor.module_id, tutor.module_title) == ("py", "lists", "Lists")
    assert kernel.objectives == ("Index a list",)
    assert [(o.id, o.text) for o in tutor.objectives] == [("idx", "Index a list")]
    assert [q.id for q in kernel.quiz] == [q.id for q in tutor.quiz] == ["q1"]


def test_lenient_reader_reports_what_it_skipped() -> None:
    reading = read_course_metadata(NESTED)
    assert reading.present
    assert [q.id for q in reading.metadata.quiz] == ["q1"]
    fields = {problem.field for problem in reading.problems}
    assert "quiz.1.choices" in fields


def test_missing_and_invalid_metadata() -> None:
    assert not read_course_metadata(None).present
    assert read_course_metadata(None).problems == ()
    wrong = read_course_metadata(["not", "an", "object"])
    assert not wrong.present
    assert wrong.problems[0].field == "tutornb"


def test_schema_is_generated_from_the_models() -> None:
    schema = course_metadata_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"course_id", "objectives", "quiz", "exercises", "policy"} <= set(schema["properties"])
