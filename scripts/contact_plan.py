"""``python scripts/contact_plan.py``: the same as ``constellation-dispatch plan``.

The command lives in ``agents.cli.plan``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.plan import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
