"""``python scripts/evaluate.py``: the same as ``constellation-dispatch evaluate``.

The command lives in ``agents.cli.evaluate``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.evaluate import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
