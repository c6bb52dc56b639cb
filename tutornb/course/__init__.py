"""Instructor tools for a course's notebooks: the published schema (``schema.py``), the checker
(``check.py``) and the draft-metadata writer (``init.py``); ``notebooks.py`` finds and reads them."""
