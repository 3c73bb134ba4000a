"""Thin wrapper: the same as ``constellation-dispatch study ground-network``.

The command lives in ``agents.cli.study_ground_network``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.study_ground_network import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
