"""``python -m experiments sweep|runs`` (see :mod:`experiments.cli`)."""
import sys

from .cli import main

sys.exit(main())
