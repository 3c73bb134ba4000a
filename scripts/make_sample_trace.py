"""``python scripts/make_sample_trace.py``: the same as ``constellation-dispatch sample-trace``.

The command lives in ``agents.cli.sample_trace``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.sample_trace import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
