"""What the kernel keeps of a learner's run, from real cells run by IPython's shell."""

from __future__ import annotations

from tutornb.kernel.lastrun import CODE_MAX, ERROR_MAX, is_tutor_cell, work_tracker
from tutornb.models import LearnerWork

from .conftest import Shell


def _last_after(shell: Shell, code: str) -> LearnerWork:
    shell.ip.run_cell(code, store_history=True)
    shell.capsys.readouterr()
    last = work_tracker().last
    assert last is not None
    return last


def test_the_learners_line_is_found_inside_their_function_and_past_library_frames(shell: Shell) -> None:
    # Given a cell whose own function calls into the standard library, which raises
    code = "import json\n\ndef load(text):\n    return json.loads(text)\n\nload('{oops')\n"

    # When it runs
    work = _last_after(shell, code)

    # Then the error points at the learner's deepest line in this cell, not at json's internals
    assert work.error is not None
    lines = work.error.splitlines()
    assert lines[0].endswith("line 4")
    assert lines[1] == "    return json.loads(text)"
    assert lines[2].startswith("JSONDecodeError: Expecting property name enclosed in double quotes")
    assert "json/decoder.py" not in work.error


def test_errors_are_short_and_plain_and_long_cells_are_cut(shell: Shell) -> None:
    # Given a cell raising a huge message with ANSI colours
    work = _last_after(shell, "raise ValueError('\\x1b[31mred\\x1b[0m ' + 'x' * 50_000)\n")

    # Then the error is ANSI-free and capped
    assert work.error is not None
    assert "\x1b" not in work.error
    assert "ValueError: red xxx" in work.error
    assert len(work.error) <= ERROR_MAX

    # Given a cell longer than the capture limit
    long_cell = "total = 0\n" + "total += 1\n" * 2_000
    work = _last_after(shell, long_cell)

    # Then its code is cut, marked, and fits the limit; it ran fine so there is no error
    assert len(work.code) <= CODE_MAX
    assert work.code.startswith("total = 0\ntotal += 1\n")
    assert work.code.endswith("# … (cell truncated)")
    assert work.error is None


def test_only_cells_that_drive_the_tutor_are_tutor_cells() -> None:
    assert is_tutor_cell("%tutor ask why?")
    assert is_tutor_cell("# open the tutor\n%load_ext tutornb\n%tutor\n")
    assert is_tutor_cell("import tutornb\npanel = tutornb.chat()")
    assert not is_tutor_cell("%tutor ask why?\nx = 1 / 0")
    assert not is_tutor_cell("tutor = 3")
    assert not is_tutor_cell("# just a comment\n")
