"""``python scripts/estimate_error.py``: the same as ``constellation-dispatch estimate-error``.

The command lives in ``agents.cli.estimate_error``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.estimate_error import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
