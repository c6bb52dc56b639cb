"""Repository-wide pytest plugins.

nbval's set-up for the sample course lives in ``tests/notebooks/nbval_setup.py``, out of the
``notebooks/`` folder learners open; loading it from this root ``conftest.py`` makes its hooks apply
to the notebooks however pytest is started (``python -m pytest``, ``python -m pytest notebooks``).
"""

pytest_plugins = ["tests.notebooks.nbval_setup"]
