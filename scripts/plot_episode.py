"""``python scripts/plot_episode.py``: the same as ``constellation-dispatch plot``.

The command lives in ``agents.cli.plot``; this file keeps the script form working.
"""

from agents.cli._common import run_cli
from agents.cli.plot import main

__all__ = ["main", "run_cli"]

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
