"""The course material index: passages, BM25 ranking, and re-indexing on modification time only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tutor_helpers import DICTS, LISTS

from tutornb.tutors.retrieval import (
    Bm25,
    CourseIndex,
    index_for,
    parse_notebook,
    resolve_notebook,
    tokenize,
)


def test_tokenizer_stems_and_drops_filler() -> None:
    # When learner phrasing and course phrasing differ only in word forms
    # Then they meet on the same tokens, and filler words are gone
    assert tokenize("Can you explain looping over lists?") == ["loop", "list"]
    assert tokenize("loops") == tokenize("looped") == ["loop"]
    assert tokenize("dictionaries") == tokenize("dict") == ["dictionari"]
    assert tokenize("my_list") == ["my_list", "list"]
    assert tokenize("indexes") == tokenize("index") == ["index"]


def test_notebook_is_split_into_passages_with_examples(course_root: Path) -> None:
    # When the lists notebook is parsed
    info = parse_notebook((course_root / LISTS).read_bytes(), LISTS)
    # Then metadata, headings, cell indexes and attached code examples are kept
    assert (info.course_id, info.module_id, info.module_title) == (
        "python-foundations",
        "lists-and-loops",
        "Lists & loops",
    )
    assert len(info.quiz) == 5
    headings = {p.heading: p for p in info.passages}
    enumerate_section = headings["Counting with range and enumerate"]
    assert enumerate_section.cell_index == 9
    assert enumerate_section.examples[0].cell_index == 10
    assert "enumerate(names)" in enumerate_section.examples[0].source
    assert headings["Exercise 2: numbered shopping list"].kind == "exercise"
    # And the %tutor magic cells are not worked examples of anything
    for passage in info.passages:
        for example in passage.examples:
            assert not example.source.startswith("%")


def test_bm25_prefers_the_passage_about_the_question() -> None:
    docs = [tokenize("a list holds items in order"), tokenize("a dictionary maps keys to values")]
    from collections import Counter

    bm25 = Bm25([Counter(d) for d in docs])
    scores = bm25.scores(tokenize("what do dictionary keys map to"))
    assert scores[1] > scores.get(0, 0.0)
    # A word in no document scores nothing and still has a positive weight for coverage
    assert bm25.scores(["zebra"]) == {}
    assert bm25.idf("zebra") > bm25.idf("list") > 0


def test_search_spans_the_course_but_not_other_courses(course_root: Path) -> None:
    # Given a notebook of another course in the same folder, about the same words
    foreign = json.loads((course_root / DICTS).read_text())
    foreign["metadata"]["tutornb"]["course_id"] = "another-course"
    (course_root / "course" / "99_other.ipynb").write_text(json.dumps(foreign))
    found = index_for(course_root, LISTS)
    assert found is not None
    index, rel = found
    # When the lists notebook's course is searched for a dictionary question
    hits = index.search("dictionary get KeyError", course_id="python-foundations", current=rel)
    # Then the answer is in the course's own dictionaries notebook, never the foreign one
    assert hits[0].passage.notebook_path == DICTS
    assert all(h.passage.notebook_path != "course/99_other.ipynb" for h in hits)
    titles = [n.module_title for n in index.course_notebooks("python-foundations")]
    assert titles == ["Start here", "Lists & loops", "Dictionaries", "Functions"]


def test_reindexes_only_the_notebook_whose_mtime_changed(course_root: Path) -> None:
    index = CourseIndex(course_root, course_root / "course", rescan_seconds=0.0)
    # When the index is built, then refreshed with nothing changed
    first = index.refresh()
    again = index.refresh()
    assert (first.scanned, first.reparsed) == (4, 4)
    assert again.reparsed == 0
    # When one notebook is saved with new content
    path = course_root / LISTS
    doc = json.loads(path.read_text())
    doc["cells"].append(
        {"cell_type": "markdown", "metadata": {}, "source": "## Tuples\n\nA tuple is frozen."}
    )
    path.write_text(json.dumps(doc))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = index.refresh()
    # Then only that notebook is re-read, and its new section is searchable at once
    assert changed.reparsed == 1
    hits = index.search("tuple frozen", course_id="python-foundations", current=LISTS)
    assert hits[0].passage.heading == "Tuples"


def test_paths_outside_the_root_are_refused(course_root: Path) -> None:
    assert resolve_notebook(course_root, "../outside.ipynb") is None
    assert resolve_notebook(course_root, "course/notes.txt") is None
    assert resolve_notebook(course_root, None) is None
    resolved = resolve_notebook(course_root, "/" + LISTS)
    assert resolved is not None
    assert resolved[1] == LISTS


def test_broken_notebook_is_skipped_not_fatal(course_root: Path) -> None:
    # Given a notebook file that is not JSON next to the course
    (course_root / "course" / "broken.ipynb").write_text("{not json")
    found = index_for(course_root, LISTS)
    assert found is not None
    index, rel = found
    # Then the rest of the course is still indexed and searchable
    assert index.notebook("course/broken.ipynb") is None
    assert index.search("list comprehension", course_id="python-foundations", current=rel)


def test_callout_headings_and_section_headings() -> None:
    from tutornb.tutors.retrieval import is_callout

    # Small callouts and captions stay in their section...
    assert is_callout(5, "Challenge question:")
    assert is_callout(4, "Examples:")
    assert is_callout(3, "Example:")
    assert is_callout(4, "Figure 2: shapes of arrays")
    # ...a short section heading that happens to end with a colon does not, nor do exercises
    assert not is_callout(3, "while loops:")
    assert not is_callout(2, "Strings")
    assert not is_callout(5, "Exercise 3: short words")


def test_code_terms_and_markdown() -> None:
    from tutornb.tutors.terms import code_fragments, detect_language, markdown_terms

    # Operators, negative indexes, slices and sizes are terms; a list literal is no indexing
    assert {"op:*", "op:@", "dimens"} <= set(tokenize("* and @ with 2D arrays"))
    assert "idx:neg" in tokenize("what does A[-1] give?")
    assert "idx:slice" in tokenize("what does s[::2] do")
    assert "idx:multi" not in tokenize("scores = [72, 85, 90]")
    # Bold in prose is not a power operator; in a code span it is
    assert "op:**" not in markdown_terms("**Heads up:** indexing starts at 0")
    assert "op:**" in markdown_terms("the power operator is `**`")
    # Quoted code is kept verbatim (without spaces) to find the cell that holds it
    assert code_fragments("what is M[1, :] here?") == ["M[1,:]"]
    # Another language is recognised; English and code are not
    assert detect_language("¿Cómo uso enumerate en un bucle for?") == "Spanish"
    assert detect_language("how do I use enumerate in a for loop?") is None


def test_typos_are_corrected_against_the_course_vocabulary_only(course_root: Path) -> None:
    index, _ = index_for(course_root, LISTS) or (None, None)
    assert index is not None
    terms = index.analyze("how does enumarate work with a lsit", course_id="python-foundations")
    # A misspelt course word becomes the course's word (a transposition counts as one edit)...
    assert "enumer" in terms
    # ...short words are left alone (too many neighbours), and so are real words of another length
    assert "lsit" in terms
    assert "rais" not in index.analyze("I realised something", course_id="python-foundations")
