"""``python scripts/finetune.py``: the same as ``constellation-dispatch finetune``.

The command lives in ``agents.cli.finetune``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.finetune import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
