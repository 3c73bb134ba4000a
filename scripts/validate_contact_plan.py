"""Thin wrapper: the same as ``constellation-dispatch validate-plan``.

The command lives in ``agents.cli.validate_plan``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.validate_plan import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
