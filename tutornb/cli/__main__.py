"""``python -m tutornb.cli``: the same as the ``tutornb`` console script."""

from __future__ import annotations

import sys

from tutornb.cli.console import main

sys.exit(main())
