"""Repository-wide pytest plugins.

- ``tests.support.plugin``: the test harness (isolation from the developer's Jupyter state, the
  browser, the in-process server's fixtures), loaded for every suite however pytest is started.
- nbval's set-up for the sample course lives in ``tests/notebooks/nbval_setup.py``, out of the
  ``notebooks/`` folder learners open; loading it here makes its hooks apply to the notebooks
  however pytest is started (``python -m pytest``, ``python -m pytest notebooks``).
"""

pytest_plugins = ["tests.support.plugin", "tests.notebooks.nbval_setup"]
