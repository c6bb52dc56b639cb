"""Tutors are found by name through the ``tutornb.tutors`` entry-point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tutornb.errors import TutorUnavailable
from tutornb.tutors import available_tutors, load_tutor
from tutornb.tutors.course import CourseTutor


def test_builtin_tutors_are_registered(tmp_path: Path) -> None:
    assert {"course", "openai"} <= set(available_tutors())
    tutor = load_tutor("course", root_dir=tmp_path)
    assert isinstance(tutor, CourseTutor)
    assert tutor.name == "course"


def test_unknown_tutor_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(TutorUnavailable) as caught:
        load_tutor("socrates", root_dir=tmp_path)
    assert caught.value.code == "TUTOR_UNAVAILABLE"
    assert "'socrates'" in caught.value.message
    assert "course" in caught.value.message
    assert "openai" in caught.value.message
    # A name that is not a plain identifier is not echoed back
    with pytest.raises(TutorUnavailable) as odd:
        load_tutor("<script>", root_dir=tmp_path)
    assert "<script>" not in odd.value.message


def test_third_party_tutor_is_picked_up_through_its_entry_point(tmp_path: Path) -> None:
    # Given a tiny installed distribution declaring a tutor in the tutornb.tutors group
    site = tmp_path / "site"
    site.mkdir()
    (site / "echo_tutor.py").write_text(
        textwrap.dedent(
            """
            from tutornb.tutors.base import TextDelta

            class EchoTutor:
                name = "echo"
                model = "echo-1"

                def __init__(self, root_dir, options):
                    self.root_dir = root_dir
                    self.options = options

                async def respond(self, turn):
                    yield TextDelta("echo: " + turn.learner_message.text)

            def create(*, root_dir, options):
                return EchoTutor(root_dir, options)
            """
        )
    )
    dist = site / "echo_tutor-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-tutor\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[tutornb.tutors]\necho = echo_tutor:create\n")
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from tutornb.tutors import available_tutors, load_tutor
        tutor = load_tutor("echo", root_dir=Path(sys.argv[1]), options={"loud": True})
        print(json.dumps({"names": available_tutors(), "name": tutor.name, "model": tutor.model,
                          "options": tutor.options}))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    # When a fresh interpreter with that distribution on its path loads the tutor by name
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # Then the third-party tutor is created with its options, next to the built-in ones
    result = json.loads(done.stdout)
    assert result["name"] == "echo"
    assert result["model"] == "echo-1"
    assert result["options"] == {"loud": True}
    assert {"course", "echo", "openai"} <= set(result["names"])


def test_tutor_that_fails_to_import_is_reported_cleanly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "broken_tutor-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-tutor\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[tutornb.tutors]\nbroken = no_such_module:create\n")
    script = (
        "import sys\nfrom pathlib import Path\nfrom tutornb.errors import TutorUnavailable\n"
        "from tutornb.tutors import load_tutor\n"
        "try:\n    load_tutor('broken', root_dir=Path('.'))\n"
        "except TutorUnavailable as e:\n    print(e.code, e.message)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("TUTOR_UNAVAILABLE")
    assert "could not be loaded (ModuleNotFoundError)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
