"""``python -m adaptive_sampling``: the command line (see :mod:`adaptive_sampling.cli`)."""

import sys

from .cli import main

sys.exit(main())
