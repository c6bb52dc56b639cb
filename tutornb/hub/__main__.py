"""``python -m tutornb.hub``: the same as the ``tutornb-hub`` command."""

import sys

from tutornb.hub.app import main

if __name__ == "__main__":
    sys.exit(main())
