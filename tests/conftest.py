"""What pytest collects under tests/: the harness itself is the plugin ``tests.support.plugin``,
registered in the repository's root ``conftest.py``."""

# Notebooks under tests/fixtures are test material (some raise on purpose), not notebooks for nbval.
collect_ignore = ["fixtures"]
