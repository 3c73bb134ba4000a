"""``python -m agents.cli``: the ``constellation-dispatch`` command without the console script."""

import sys

from agents.cli import main

if __name__ == "__main__":
    sys.exit(main())
