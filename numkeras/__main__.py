"""``python -m numkeras``: the command-line interface (see :mod:`numkeras.cli`)."""

from numkeras.cli import main

raise SystemExit(main())
