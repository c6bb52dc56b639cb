"""The course format: what a notebook's ``metadata.tutornb`` means (``metadata.py``, the one reader),
the tutoring policy in force for a notebook (``policy.py``) and the published JSON Schema
(``schema.py``, ``schema.json``). The instructor's tools that check and draft it are in
:mod:`tutornb.instructor`."""
