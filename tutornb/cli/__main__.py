"""``python -m tutornb.cli``: the same as the ``tutornb`` console script."""

from __future__ import annotations

import sys

from tutornb.cli.console import main

if __name__ == "__main__":
    sys.exit(main())
