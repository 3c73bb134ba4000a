"""``python scripts/generate_tles.py``: the same as ``constellation-dispatch generate-tles``.

The command lives in ``agents.cli.generate_tles``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.generate_tles import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
