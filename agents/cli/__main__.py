"""``python -m agents.cli``: the ``constellation-dispatch`` command without the console script."""

import sys

from agents.cli import main

sys.exit(main())
