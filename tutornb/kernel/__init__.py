"""The kernel side of tutornb: which notebook and course the kernel runs (``context``), the learner's
last run (``lastrun``) and the ``%tutor`` magics (``magics``). The chat panel's Python half, also in
the kernel, is :mod:`tutornb.widget`."""
