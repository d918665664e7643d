"""``python -m nnlib train|evaluate|predict``: see :mod:`nnlib.cli`."""

from .cli import main

raise SystemExit(main())
