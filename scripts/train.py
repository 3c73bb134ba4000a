"""``python scripts/train.py``: the same as ``constellation-dispatch train``.

The command lives in ``agents.cli.train``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.train import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
