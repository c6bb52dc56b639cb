"""Export rendering and import parsing (the REST API and the CLI both use these)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import nbformat
import pytest
from markdown_it import MarkdownIt

from tutornb.errors import InvalidRequest
from tutornb.export import parse_import, render_export
from tutornb.models import (
    Citation,
    CourseContext,
    Message,
    QuizPrompt,
    Role,
    Session,
    SessionExport,
)
from tutornb.render import render_markdown as render_message_html

T0 = datetime(2026, 2, 3, 10, 0, tzinfo=timezone.utc)


def _document(title: str = "Lists & loops", session_id: str = "abcDEF123_-x") -> SessionExport:
    session = Session(
        id=session_id,
        owner="learner",
        context=CourseContext(
            course_id="py",
            module_id="02-lists",
            module_title="Lists & loops",
            notebook_path="notebooks/02.ipynb",
        ),
        title=title,
        created_at=T0,
        updated_at=T0,
        last_active_at=T0,
    )
    messages = [
        Message(id="m1", seq=1, role=Role.LEARNER, text="How do I *slice*?", created_at=T0),
        Message(
            id="m2",
            seq=2,
            role=Role.TUTOR,
            text="Use `items[1:3]`.",
            created_at=T0,
            citations=[Citation(notebook_path="notebooks/02.ipynb", cell_index=4, heading="Slicing")],
            quiz=QuizPrompt(
                question_id="q1",
                number=1,
                total=2,
                question="What is items[0]?",
                choices=["first", "last"],
            ),
        ),
    ]
    return SessionExport(session=session, messages=messages, exported_at=T0)


@pytest.mark.parametrize(
    "title",
    ["../../etc/passwd", "<script>alert(1)</script>", "Übungen: Listen 😀", "", "a" * 500, "CON"],
)
def test_file_names_are_chosen_by_the_server_and_safe(title: str) -> None:
    # Given a session with a hostile or odd title
    document = _document(title=title)

    # When it is exported in each format
    names = [render_export(document, fmt)[0] for fmt in ("json", "markdown", "ipynb")]

    # Then every name is plain, short, and ends with the id and the right extension
    for name, ext in zip(names, ("json", "md", "ipynb"), strict=True):
        assert re.fullmatch(r"tutornb-[a-z0-9-]+-abcDEF123_-x\." + ext, name), name
        assert len(name) <= 150
        assert "/" not in name
        assert ".." not in name


def test_markdown_is_a_readable_transcript_with_citations() -> None:
    # Given a session; When rendered as Markdown
    _name, media_type, body = render_export(_document(), "markdown")
    text = body.decode()

    # Then it reads as a transcript with its context, quiz and sources
    assert media_type.startswith("text/markdown")
    assert text.startswith("# Lists & loops\n")
    assert "### Learner · 2026-02-03 10:00 UTC" in text
    assert "How do I *slice*?" in text
    assert "- 02.ipynb · cell 5 · Slicing" in text  # cells counted from 1, as in the panel
    assert "**Question 1/2:** What is items[0]?" in text


def test_ipynb_is_a_valid_v4_notebook_with_context_metadata() -> None:
    # Given a session; When rendered as a notebook
    _, media_type, body = render_export(_document(), "ipynb")
    notebook = nbformat.reads(body.decode(), as_version=4)

    # Then it validates, has one markdown cell per message, and carries the course context
    nbformat.validate(notebook)
    assert media_type == "application/x-ipynb+json"
    assert [cell.cell_type for cell in notebook.cells] == ["markdown"] * 3
    assert notebook.metadata["tutornb"]["module_id"] == "02-lists"
    assert notebook.metadata["tutornb"]["export"]["session_id"] == "abcDEF123_-x"
    assert notebook.cells[2].metadata["tutornb"] == {"role": "tutor", "seq": 2}


def test_json_export_round_trips_through_import() -> None:
    # Given a JSON export; When parsed back (as bytes and as a mapping)
    document = _document()
    body = render_export(document, "json")[2]
    from_bytes = parse_import(body)
    from_mapping = parse_import(json.loads(body))

    # Then it is the same document, with each message's html rendered by the server from its text,
    # and each message marked imported
    for parsed in (from_bytes, from_mapping):
        assert [m.html for m in parsed.messages] == [render_message_html(m.text) for m in document.messages]
        assert [m.imported for m in parsed.messages] == [True] * len(document.messages)
        unrendered = [m.model_copy(update={"html": None, "imported": None}) for m in parsed.messages]
        assert parsed.model_copy(update={"messages": unrendered}) == document


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b"{truncated",
        b"[1, 2, 3]",
        b'{"format": "something.else"}',
        b'{"session": {"id": "x"}, "messages": "nope"}',
        ("[" * 5000 + "]" * 5000).encode(),
        json.dumps({"x": [[[[[[[[[[[[]]]]]]]]]]]]}).encode(),
    ],
)
def test_bad_imports_are_invalid_requests_with_errors(body: bytes) -> None:
    # Given something that is not a tutornb export; When parsed
    with pytest.raises(InvalidRequest) as refused:
        parse_import(body)

    # Then it is a 400 INVALID_REQUEST with field errors that never echo the input
    assert refused.value.http_status == 400
    assert refused.value.errors
    assert "<script>" not in json.dumps(refused.value.to_dict())


def test_validation_errors_do_not_echo_values() -> None:
    # Given an export whose message text is a hostile value of the wrong type
    body = json.loads(render_export(_document(), "json")[2])
    body["messages"][0]["seq"] = "<script>alert(1)</script>"

    # When parsed
    with pytest.raises(InvalidRequest) as refused:
        parse_import(body)

    # Then the error names the field but not the value
    dumped = json.dumps(refused.value.to_dict())
    assert "seq" in dumped
    assert "<script>" not in dumped


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        render_export(_document(), "pdf")


def test_markdown_export_writes_titles_and_paths_as_text() -> None:
    # Given a session whose title, course and notebook path are written to break out of their place
    document = _document(
        title="Lists\n# Injected heading\n<img src=x onerror=alert(1)> [win](javascript:alert(1))"
    )
    context = document.session.context.model_copy(
        update={"course_title": "**bold** &amp; <b>x</b>", "notebook_path": "a`b`\n# h <i>.ipynb"}
    )
    document = document.model_copy(
        update={"session": document.session.model_copy(update={"context": context})}
    )
    # When it is exported as Markdown (and as a notebook, whose first cell is the same header)
    texts = [render_export(document, "markdown")[2].decode()]
    notebook = nbformat.reads(render_export(document, "ipynb")[2].decode(), as_version=4)
    texts.append(notebook.cells[0].source)
    for text in texts:
        tokens = MarkdownIt("commonmark").parse(text)
        inline = [child for token in tokens for child in (token.children or [])]
        # Then the title is one heading, and nothing of theirs became HTML, a link or another heading
        assert [t.tag for t in tokens if t.type == "heading_open"][:1] == ["h1"]
        assert sum(1 for t in tokens if t.type == "heading_open" and t.tag in ("h1", "h2")) == 1
        assert not [t for t in [*tokens, *inline] if t.type in ("html_inline", "html_block", "link_open")]
        assert not [t for t in inline if t.type == "strong_open" and "bold" in text.split("**Course:**")[0]]
        # And they still read as written
        rendered = MarkdownIt("commonmark").render(text)
        assert (
            "Lists # Injected heading &lt;img src=x onerror=alert(1)&gt; [win](javascript:alert(1))"
            in rendered
        )
        assert "**bold** &amp;amp; &lt;b&gt;x&lt;/b&gt;" in rendered
        assert "<code>a`b` # h &lt;i&gt;.ipynb</code>" in rendered
