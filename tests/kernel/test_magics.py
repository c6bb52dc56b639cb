"""Every ``%tutor`` sub-command in IPython's own shell, on a real store and the offline course
tutor.

The magic finds its notebook the way a kernel does (``JPY_SESSION_NAME``) and opens the kernel's
process-wide service (``TUTORNB_ROOT_DIR`` / ``TUTORNB_STORE_DIR``), so these tests run the same
path a learner's kernel runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tutornb.kernel.display import HISTORY_COLUMNS
from tutornb.kernel.magics import USAGE
from tutornb.kernel.runtime import reset_kernel_runtime

from .conftest import NOTEBOOK, QUESTION, Shell


def _session_ids(out: str) -> list[str]:
    rows = out.strip().splitlines()[1:]
    return [row.split()[0] for row in rows if row and not row.startswith("(")]


def _assert_one_line_error(err: str) -> None:
    assert err.startswith("tutornb: ")
    assert "Traceback" not in err


def test_ask_answers_in_plain_text_and_creates_the_notebook_session(shell: Shell) -> None:
    # Given a notebook with no tutor session yet
    # When the learner asks one question headlessly
    out, _markdown, err = shell.ask(QUESTION)

    # Then the course tutor's answer is shown as text, with the cells it comes from
    assert err == ""
    assert "enumerate" in out
    assert re.search(r"Sources: 01_lists_and_loops\.ipynb · cell \d+", out)
    assert "<p>" not in out  # plain text, not the HTML rendering

    # And the session is tied to this notebook's course and module
    history, _, _ = shell.run("history")
    assert "python-foundations / lists-and-loops" in history
    assert "active" in history

    # When asked again, the same session continues (no second session)
    shell.run("ask What does range(3) give?")
    history, _, _ = shell.run("history")
    assert len(_session_ids(history)) == 1


def test_ask_is_deterministic_with_the_offline_tutor(
    shell: Shell, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one answer from a fresh store
    first = shell.ask(QUESTION)

    # When the same question is asked on another fresh store
    monkeypatch.setenv("TUTORNB_STORE_DIR", str(tmp_path / "store-2"))
    reset_kernel_runtime()
    second = shell.ask(QUESTION)

    # Then the printed answer is the same text
    assert first == second


def test_history_prints_a_table_with_fixed_columns_and_filters(shell: Shell) -> None:
    # Given two sessions of this notebook: a closed one, then a paused one
    shell.run("ask What is a list?")
    shell.run("close")
    shell.run("ask How does break work?")
    shell.run("pause")

    # When the history is listed
    out, err, _ = shell.run("history")

    # Then it is a table with the fixed header and a row per session, newest first
    lines = out.strip().splitlines()
    assert err == ""
    assert re.split(r"\s{2,}", lines[0]) == list(HISTORY_COLUMNS)
    assert len(_session_ids(out)) == 2
    assert lines[1].split()[1] == "paused"
    assert lines[2].split()[1] == "closed"

    # And the query and filters narrow it
    found, _, _ = shell.run('history "does break"')
    assert len(_session_ids(found)) == 1
    paused, _, _ = shell.run("history --status paused --course python-foundations")
    assert [row.split()[1] for row in paused.strip().splitlines()[1:]] == ["paused"]
    assert shell.run("history --module functions")[0].strip() == "No sessions match."
    assert shell.run("history zebra-unicorn")[0].strip() == "No sessions match."
    limited, _, _ = shell.run("history --limit 1")
    assert len(_session_ids(limited)) == 1
    assert "(1 of 2; use --limit to see more)" in limited


@pytest.mark.parametrize(
    "line",
    [
        "history --limit 0",
        "history --limit many",
        "history --status sleeping",
        "history --colour red",
        "export --format exe",
        "resume one two",
        "resume ../etc",
        "pause now",
        "close everything",
        "status please",
        "ask",
        "frobnicate",
        'ask "unbalanced',
    ],
)
def test_bad_arguments_print_the_usage_line_not_a_traceback(shell: Shell, line: str) -> None:
    # Given the extension is loaded
    # When a sub-command gets arguments it does not take
    out, err, displayed = shell.run(line)

    # Then stderr says what was wrong and shows the usage, and nothing else happens
    _assert_one_line_error(err)
    assert err.rstrip().endswith(USAGE)
    assert out == ""
    assert displayed == []


def test_tutor_opens_the_panel_for_this_notebook(shell: Shell) -> None:
    # Given a notebook with course metadata
    # When the learner runs %tutor
    _, err, displayed = shell.run("")

    # Then a chat panel is displayed with the notebook's context and no session yet
    panel = shell.magic.last_panel
    assert panel is not None
    assert err == ""
    assert displayed[0]["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    assert panel.notebook_path == NOTEBOOK
    assert panel.context["module_id"] == "lists-and-loops"
    assert panel.session_id == ""
    panel.close()


def test_resume_opens_the_most_recent_resumable_session_or_says_there_is_none(
    shell: Shell,
) -> None:
    # Given no session for this notebook
    # When the learner resumes
    out, err, displayed = shell.run("resume")

    # Then one clear line says so and nothing is displayed
    assert out.strip() == f"No session to resume for {NOTEBOOK}: run %tutor to start one."
    assert (err, displayed) == ("", [])

    # Given a paused session
    shell.run("ask What is a list?")
    shell.run("pause")
    session_id = _session_ids(shell.run("history")[0])[0]

    # When the learner resumes (with and without its id)
    _, err, displayed = shell.run("resume")
    by_id = shell.magic.last_panel
    shell.run(f"resume {session_id}")
    explicit = shell.magic.last_panel

    # Then the panel opens on that session, asked to resume it
    assert err == ""
    assert displayed
    assert by_id is not None
    assert explicit is not None
    assert (by_id.session_id, by_id.auto_resume) == (session_id, True)
    assert explicit.session_id == session_id

    # And an unknown id is one clear line
    _, err, displayed = shell.run("resume no-such-session")
    _assert_one_line_error(err)
    assert "no-such-session" in err
    assert displayed == []


def test_pause_and_close_act_on_this_notebooks_session(shell: Shell) -> None:
    # Given nothing to pause
    assert shell.run("pause")[0].strip() == f"No active session for {NOTEBOOK}."
    assert shell.run("close")[0].strip() == f"No open session for {NOTEBOOK}."

    # Given an active session
    shell.run("ask What is a list?")
    session_id = _session_ids(shell.run("history")[0])[0]

    # When it is paused, then closed
    paused, _, _ = shell.run("pause")
    again, _, _ = shell.run("pause")
    closed, _, _ = shell.run("close")

    # Then each step says what it did, and a closed session is no longer resumable
    assert paused.startswith(f"Paused session {session_id} (")
    assert again.strip() == f"No active session for {NOTEBOOK}."
    assert closed.startswith(f"Closed session {session_id} (")
    assert shell.run("history --status closed")[0].count(session_id) == 1
    assert shell.run("resume")[0].startswith("No session to resume")


def test_export_writes_the_chosen_format(shell: Shell, tmp_path: Path) -> None:
    # Given nothing to export
    assert shell.run("export")[0].strip() == f"No session to export for {NOTEBOOK}."

    # Given a conversation
    shell.run("ask What is a list?")

    # When it is exported as Markdown to a path, and as JSON under the server-chosen name
    (tmp_path / "notes").mkdir()
    out, err, _ = shell.run("export --format markdown notes/lesson.md")
    default_out, _, _ = shell.run("export")

    # Then the files hold the conversation
    assert err == ""
    assert "What is a list?" in (tmp_path / "notes" / "lesson.md").read_text(encoding="utf-8")
    assert out.strip().endswith("(markdown) to notes/lesson.md.")
    written = default_out.strip().rsplit(" to ", 1)[1].rstrip(".")
    document = json.loads((tmp_path / written).read_text(encoding="utf-8"))
    assert document["format"] == "tutornb.session"
    assert document["messages"][0]["text"] == "What is a list?"


def test_export_to_a_missing_folder_is_one_clear_line(shell: Shell) -> None:
    # Given a conversation
    shell.run("ask What is a list?")

    # When the target folder does not exist
    out, err, _ = shell.run("export --format json missing-folder/out.json")

    # Then one line says so, without a traceback
    _assert_one_line_error(err)
    assert "could not write missing-folder/out.json" in err
    assert out == ""


def test_status_reports_notebook_store_tutor_and_session(shell: Shell) -> None:
    # Given one session
    shell.run("ask What is a list?")

    # When the status is asked
    out, err, _ = shell.run("status")

    # Then it names the notebook and its module, the store (relative), the tutor and the session
    lines = out.strip().splitlines()
    assert err == ""
    assert lines[0].startswith("tutornb ")
    assert lines[1] == f"notebook: {NOTEBOOK} — Python foundations \u203a Lists & loops"
    assert lines[2].startswith("store: ")
    assert "1 sessions" in lines[2]
    assert str(Path.cwd()) not in out  # no absolute paths
    assert lines[3].startswith("tutor: course")
    assert re.fullmatch(r"session: \S+ \(active, \w+, \d+ messages\)", lines[4])


def test_a_failing_store_is_one_clear_line(
    shell: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store location that cannot be a folder
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("TUTORNB_STORE_DIR", str(blocker))
    reset_kernel_runtime()

    # When a magic needs the store
    out, err, _ = shell.run("history")

    # Then the learner sees one line, never a traceback
    _assert_one_line_error(err)
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_without_a_known_notebook_the_magics_keep_to_their_own_session(
    shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a session of the lists-and-loops notebook
    shell.run("ask What is a list?")
    notebook_session = _session_ids(shell.run("history")[0])[0]

    # When a kernel that cannot tell its notebook asks, twice, then pauses
    monkeypatch.delenv("JPY_SESSION_NAME")
    out, _, err = shell.ask("What is a variable?")
    shell.run("ask And a function?")
    paused, _, _ = shell.run("pause")

    # Then it got one general session of its own, and the notebook's session was left alone
    assert err == ""
    assert out.strip()
    history, _, _ = shell.run("history")
    ids = _session_ids(history)
    assert len(ids) == 2
    general = next(i for i in ids if i != notebook_session)
    assert paused.startswith(f"Paused session {general} ")
    statuses = {row.split()[0]: row.split()[1] for row in history.strip().splitlines()[1:]}
    assert statuses == {notebook_session: "active", general: "paused"}


def test_an_empty_session_left_by_a_refused_first_message_is_not_resumed(
    shell: Shell, tmp_path: Path
) -> None:
    # Given an active session of this notebook that never stored a message (its first was refused)
    from tutornb.models import CourseContext
    from tutornb.paths import default_owner
    from tutornb.store import SessionStore

    store = SessionStore(tmp_path / "store")
    empty = store.create_session(default_owner(), CourseContext(notebook_path=NOTEBOOK))
    store.close()

    # When the learner resumes
    out, _, _ = shell.run("resume")
    # Then there is nothing to resume
    assert out.strip() == f"No session to resume for {NOTEBOOK}: run %tutor to start one."

    # When the learner asks twice
    shell.run("ask What is a list")
    shell.run("ask What is a loop")
    # Then both turns go to one new session with the conversation; the empty one stays untouched
    ids = _session_ids(shell.run("history")[0])
    assert len(ids) == 2
    assert empty.id in ids
    (conversation,) = [sid for sid in ids if sid != empty.id]
    out, _, _ = shell.run("status")
    assert conversation in out
