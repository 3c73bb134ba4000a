"""Evaluation suites: agents on many cells (scenario × loads × seeds), judged per cell.

A suite file (``configs/suites/*.yaml``) lists cells; every cell is an ordinary
:func:`agents.evaluate.evaluate` run (paired seeds, the process pool, the ``bound`` rows) and
the suite adds, per cell and load, each agent's ratio to the *best heuristic of that cell*:
the non-reference heuristic (:data:`agents.heuristics.HEURISTICS` without ``oracle``) with the
lowest ``cost_per_job_s`` (ties: the first in the suite's agent order). Rows
(:data:`SUITE_COLUMNS`):

* ``cost_per_job_s``: the environment's objective per arrived job (time in system plus
  ``drop_penalty_s`` per drop; minus the return), with ``mean_s``, ``p95_s`` (completed
  jobs) and ``drop_rate`` beside it, so no result comes from dropping jobs.
* ``ratio_to_best_heuristic`` = agent cost / best heuristic cost on the same episodes, with
  ``ratio_low``/``ratio_high`` its 95 % paired bootstrap over seeds
  (:func:`agents.stats.compare_with`); the best heuristic's own ratio is exactly 1.
* ``gap_closed`` = (best heuristic cost − agent cost) / (best heuristic cost − bound cost):
  the share of the gap to the contention-free bound the agent removes (0 for the best
  heuristic, 1 at the bound, negative when worse than the best heuristic).
* ``bound_cost_per_job_s``: the ``bound`` row's cost per job, the contention-free turnaround
  of every job (``envs.sim.bounds``) summed and divided by the arrived jobs: the mean bound
  turnaround with no drops (a job no satellite can deliver within the horizon adds 0), a
  lower bound on any policy's cost per job. ``bound_mean_s``/``bound_p95_s`` as the agents'.
* ``ci_method``: how the ratio's interval was obtained (``BCa``, ``percentile`` where BCa is
  undefined, ``point`` where every resample agrees); ``few_seeds``: fewer than
  :data:`agents.bootstrap.MIN_SEEDS` seeds, so the interval means little.

Strings in a suite may use ``${CONSTELLATION_DISPATCH_SHARED_DATA}`` (default: ``shared/data``
beside the repository). A cell whose files are missing (e.g. the shared TLEs) is skipped with
the loader's one-line reason; its rows carry the reason in ``skipped``.

The package: :mod:`agents.suite.spec` (the file format), :mod:`agents.suite.run` (cells and
rows), :mod:`agents.suite.report` (``suite.csv``, ``suite.json``, the printed table).

>>> suite = load_suite(SUITE_DIR / "smoke.yaml")
>>> [(c.label, c.loads) for c in suite.cells]
[('toy', (1.0, 2.0)), ('star_compute_12', (1.0,))]
"""

from agents.suite.report import GOOD_RATIO, print_suite, reading, write_suite
from agents.suite.run import (
    SUITE_COLUMNS,
    CellOutcome,
    SuiteResult,
    best_heuristics,
    cell_folder,
    cell_rows,
    check_cell,
    run_cell,
    run_suite,
    suite_agents,
)
from agents.suite.spec import (
    GENERATED_PREFIX,
    HELD_OUT_SEED,
    SHARED_DATA_VAR,
    SUITE_DIR,
    Cell,
    Seeds,
    Suite,
    default_agents,
    is_candidate_heuristic,
    load_suite,
    shared_data_dir,
)

__all__ = [
    "GENERATED_PREFIX",
    "GOOD_RATIO",
    "HELD_OUT_SEED",
    "SHARED_DATA_VAR",
    "SUITE_COLUMNS",
    "SUITE_DIR",
    "Cell",
    "CellOutcome",
    "Seeds",
    "Suite",
    "SuiteResult",
    "best_heuristics",
    "cell_folder",
    "cell_rows",
    "check_cell",
    "default_agents",
    "is_candidate_heuristic",
    "load_suite",
    "print_suite",
    "reading",
    "run_cell",
    "run_suite",
    "shared_data_dir",
    "suite_agents",
    "write_suite",
]
