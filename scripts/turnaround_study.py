"""``python scripts/turnaround_study.py``: the same as ``constellation-dispatch study turnaround``.

The command lives in ``agents.cli.study_turnaround``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.study_turnaround import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
