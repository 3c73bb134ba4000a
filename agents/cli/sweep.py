r"""Sweep training over seeds × hyperparameters × scenarios on Ray Tune; one CSV, the best config.

Example:
    constellation-dispatch sweep --file configs/sweeps/example.yaml --out runs/sweep --cpus 2

    constellation-dispatch sweep --file sweep.yaml --out runs/sweep --address auto

(or ``python scripts/sweep.py`` with the same options). The sweep file names the algorithm,
the timesteps, the seeds, the scenarios and a grid of hyperparameters (the keys
``train --hp`` takes), plus optional ``fixed`` hyperparameters for every trial::

    algo: maskable_ppo
    timesteps: 20000
    seeds: [0, 1, 2]
    scenarios: [toy]
    grid:
      learning_rate: [1.0e-5, 3.0e-5]
    fixed:
      bc: null

Every combination is one Ray Tune trial (``tune.grid_search``), one CPU each, that runs
``agents.train.train`` into ``OUT/trials/NNN`` and reports the final row of its
``evaluations.csv`` (the trained policy against ECT on the evaluation seeds). The command
writes ``OUT/sweep.csv`` (one row per trial) and ``OUT/best.yaml`` (the hyperparameters with
the lowest mean cost per job over the seeds and scenarios, and their ``--hp`` form); Tune's
own records stay in ``OUT/tune``. ``--address`` runs the trials on an existing cluster
(``ray start --head``); without it a local instance of ``--cpus`` CPUs starts and stops.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.cli._common import one_torch_thread, parse_hyperparameters
from envs.errors import ConfigError, first_line

__all__ = ["SWEEP_COLUMNS", "SWEEP_FILES", "Sweep", "build_parser", "load_sweep", "main"]

#: Files that mark a sweep's output folder (a new run may replace it).
SWEEP_FILES = ("sweep.csv", "best.yaml")
#: Columns of ``sweep.csv`` after ``trial, scenario, seed`` and the grid's keys.
SWEEP_COLUMNS = (
    "cost_per_job_s", "ect_cost_per_job_s", "cost_vs_ect", "mean_turnaround_s", "drop_rate",
    "evaluated_at", "wall_time_s", "folder",
)  # fmt: skip
_KEYS = ("algo", "timesteps", "seeds", "scenarios", "grid", "fixed")


@dataclass(frozen=True, slots=True)
class Sweep:
    """A validated sweep file: trials are ``scenarios × seeds × product(grid)``."""

    algo: str
    timesteps: int
    seeds: tuple[int, ...]
    scenarios: tuple[str, ...]
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    fixed: tuple[tuple[str, Any], ...] = ()

    def combinations(self) -> list[dict[str, Any]]:
        """Every hyperparameter combination of the grid, in file order."""
        keys = [k for k, _ in self.grid]
        return [dict(zip(keys, values, strict=True)) for values in
                itertools.product(*(v for _, v in self.grid))]  # fmt: skip

    def trials(self) -> list[dict[str, Any]]:
        """One dict per trial: ``trial`` (its number), ``scenario``, ``seed``, ``hp``."""
        grid = self.combinations()
        cells = itertools.product(self.scenarios, self.seeds, grid)
        return [{"trial": n, "scenario": sc, "seed": seed, "hp": hp}
                for n, (sc, seed, hp) in enumerate(cells)]  # fmt: skip

    def overrides(self, hp: dict[str, Any]) -> list[str]:
        """``KEY=VALUE`` items for ``agents.train.train`` (the ``--hp`` form): fixed, then hp."""
        return [f"{k}={json.dumps(v)}" for k, v in [*self.fixed, *hp.items()]]


def _fail(name: str, what: str, value: Any) -> ConfigError:
    return ConfigError(f"{name}: {what}, got {value!r}")


def load_sweep(path: Path) -> Sweep:
    """Read and check a sweep file; every trial's hyperparameters are checked before any runs.

    Raises:
        ConfigError: One line naming the file, the key and the value.
    """
    from envs.yamlio import read_yaml

    name = str(path)
    data = read_yaml(Path(path), name)
    if not isinstance(data, dict):
        raise _fail(name, "expected a mapping with keys " + ", ".join(_KEYS), data)
    unknown = sorted(set(map(str, data)) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{name}: unknown key(s) {unknown}; known: {', '.join(_KEYS)}")
    missing = [k for k in _KEYS[:5] if k not in data]
    if missing:
        raise ConfigError(f"{name}: missing key(s) {missing}")
    algo, steps = data["algo"], data["timesteps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise _fail(f"{name}: timesteps", "expected an integer >= 1", steps)
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds or any(
        isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds
    ) or len(set(seeds)) != len(seeds):  # fmt: skip
        raise _fail(f"{name}: seeds", "expected a list of distinct integers >= 0", seeds)
    scenarios = data["scenarios"]
    if not isinstance(scenarios, list) or not scenarios or not all(
        isinstance(s, str) and s.strip() for s in scenarios
    ):  # fmt: skip
        raise _fail(f"{name}: scenarios", "expected a list of scenario names or paths", scenarios)
    grid = data["grid"]
    if not isinstance(grid, dict) or not grid:
        raise _fail(f"{name}: grid", "expected a non-empty mapping KEY: [values]", grid)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise _fail(f"{name}: grid.{key}", "expected a non-empty list of values", values)
    fixed = data.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise _fail(f"{name}: fixed", "expected a mapping KEY: value", fixed)
    both = sorted(set(fixed) & set(grid))
    if both:
        raise ConfigError(f"{name}: {both[0]!r} is in both grid and fixed")
    sweep = Sweep(
        str(algo), steps, tuple(seeds), tuple(_absolute(s) for s in scenarios),
        tuple((str(k), tuple(v)) for k, v in grid.items()),
        tuple((str(k), v) for k, v in fixed.items()),
    )  # fmt: skip
    _check(sweep, name)
    return sweep


def _absolute(scenario: str) -> str:
    """A scenario file as an absolute path (trials run in other folders); names stay names."""
    path = Path(scenario).expanduser()
    return str(path.resolve()) if path.suffix in (".yaml", ".yml") or "/" in scenario else scenario


def _check(sweep: Sweep, name: str) -> None:
    """Every scenario loads, every combination is hyperparameters the algorithm takes."""
    from agents.hyperparams import ALGOS, META_KEYS, algo_class, check_hyperparams, load_hyperparams
    from envs.scenario import load_scenario

    if sweep.algo not in ALGOS:
        raise _fail(f"{name}: algo", f"expected one of {', '.join(ALGOS)}", sweep.algo)
    for scenario in sweep.scenarios:
        load_scenario(scenario)
    cls = algo_class(sweep.algo)
    for hp in sweep.combinations():
        items = sweep.overrides(hp)
        try:
            parse_hyperparameters(items)  # a scenario key names --set; env_overrides.KEY is fine
            params = load_hyperparams(sweep.algo, items)
            for key in (*META_KEYS, "policy_kwargs"):
                params.pop(key, None)
            check_hyperparams(cls, sweep.algo, params)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
        except (TypeError, ValueError) as exc:  # e.g. json.dumps of a value YAML allows
            raise ConfigError(f"{name}: hyperparameters {hp}: {first_line(exc)}") from None


def _final_evaluation(path: Path) -> dict[str, float]:
    """The last row of a training run's ``evaluations.csv`` as the sweep's metrics."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ConfigError(f"{path}: no evaluation was written")
    row = {k: float(v) for k, v in rows[-1].items() if v not in (None, "")}
    cost, ect = -3600.0 * row["return_per_job_h"], -3600.0 * row["ect_return_per_job_h"]
    return {
        "cost_per_job_s": cost, "ect_cost_per_job_s": ect,
        "cost_vs_ect": cost / ect if ect else math.nan,
        "mean_turnaround_s": row["mean_turnaround_s"], "drop_rate": row["drop_rate"],
        "evaluated_at": int(row["timesteps"]),
    }  # fmt: skip


def _trial(config: dict[str, Any], *, algo: str, timesteps: int, trials: str) -> None:
    """A Tune function trainable: train one (scenario, seed, hyperparameters), report once."""
    from ray import tune

    from agents.train import train

    one_torch_thread()  # the trial's own worker process: tiny networks, one thread each
    spec = config["trial"]["spec"]
    folder = Path(trials) / f"{spec['trial']:03d}"
    began = time.perf_counter()
    train(
        spec["scenario"], algo, timesteps, spec["seed"], 1, folder,
        overrides=config["trial"]["overrides"], progress=False,
    )  # fmt: skip
    metrics = _final_evaluation(folder / "evaluations.csv")
    tune.report({**metrics, "wall_time_s": time.perf_counter() - began})


def run_sweep(sweep: Sweep, out: Path, address: str | None, cpus: int | None) -> list[dict]:
    """Run every trial on Ray Tune into ``out`` (``trials/``, ``tune/``); the rows of sweep.csv."""
    from agents.distributed import import_ray, ray_session

    import_ray("sweep")
    try:
        import tensorboardX  # noqa: F401
    except ImportError:  # Tune's TensorBoard logger would only warn: leave it out
        os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    try:
        from ray import tune
    except ImportError as exc:
        raise ConfigError(f"sweep: ray.tune cannot be imported ({first_line(exc)}); install "
                          "it with: pip install -e '.[ray]'") from None  # fmt: skip
    specs = [{"spec": t, "overrides": sweep.overrides(t["hp"])} for t in sweep.trials()]
    trainable = tune.with_parameters(
        _trial, algo=sweep.algo, timesteps=sweep.timesteps, trials=str((out / "trials").resolve()),
    )  # fmt: skip
    with ray_session(address, cpus=cpus):
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(specs)},
            tune_config=tune.TuneConfig(reuse_actors=False),
            run_config=tune.RunConfig(
                name="tune", storage_path=str(out.resolve()), verbose=0, log_to_file=True
            ),
        )
        grid = tuner.fit()
    rows: dict[int, dict[str, Any]] = {}
    for result in grid:
        spec = result.config["trial"]["spec"]
        if result.error is not None:
            raise ConfigError(
                f"trial {spec['trial']} ({spec['scenario']}, seed {spec['seed']}, "
                f"{spec['hp']}): {first_line(result.error)}"
            )
        metrics = {k: result.metrics[k] for k in SWEEP_COLUMNS if k in result.metrics}
        rows[spec["trial"]] = {
            "trial": spec["trial"], "scenario": spec["scenario"], "seed": spec["seed"],
            **spec["hp"], **metrics, "folder": f"trials/{spec['trial']:03d}",
        }  # fmt: skip
    return [rows[n] for n in sorted(rows)]


def best_config(sweep: Sweep, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The combination with the lowest mean cost per job over its trials (first on ties)."""
    ranked = []
    for hp in sweep.combinations():
        costs = [r["cost_per_job_s"] for r in rows if all(r[k] == v for k, v in hp.items())]
        costs = [c for c in costs if math.isfinite(c)]
        mean = sum(costs) / len(costs) if costs else math.inf
        ranked.append((mean, hp, len(costs)))
    mean, hp, n = min(ranked, key=lambda item: item[0])
    return {
        "algo": sweep.algo, "timesteps": sweep.timesteps, "scenarios": list(sweep.scenarios),
        "seeds": list(sweep.seeds), "hyperparameters": hp, "fixed": dict(sweep.fixed),
        "mean_cost_per_job_s": mean, "trials": n, "hp": sweep.overrides(hp),
    }  # fmt: skip


def _cell(value: Any) -> Any:
    """A CSV cell: lists and mappings as JSON, NaN as empty (as the other CSV files)."""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return "" if isinstance(value, float) and math.isnan(value) else value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train over seeds x hyperparameters x scenarios on Ray Tune (one CPU per "
        "trial) and write OUT/sweep.csv (one row per trial: scenario, seed, each grid key, "
        "cost per job and ECT's on the training run's evaluation seeds, mean turnaround, "
        "drop rate, wall time), OUT/best.yaml (lowest mean cost per job over the seeds) and "
        "each trial's training run in OUT/trials/NNN. Needs pip install -e '.[ray]'. "
        "Bad input exits with status 2 and a one-line error.",
    )
    parser.add_argument("--file", type=Path, required=True, help="Sweep file (YAML).")
    parser.add_argument("--out", type=Path, required=True, help="Output folder OUT.")
    parser.add_argument(
        "--address",
        default=None,
        help="A running Ray cluster: auto (the one on this machine, from ray start --head), "
        "HOST:PORT or ray://HOST:10001 (Ray Client). Default: start a local instance.",
    )
    parser.add_argument(
        "--cpus", type=int, default=None,
        help="CPUs of the local instance (default: every core); not with --address.",
    )  # fmt: skip
    parser.add_argument(
        "--quiet", action="store_true", help="No summary line (Ray still logs its start-up)."
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the sweep; write ``sweep.csv`` and ``best.yaml``."""
    import yaml

    from agents.distributed import check_address
    from envs.atomic import atomic_write, check_output_folder, staged_folder

    args = build_parser(prog).parse_args(argv)
    if args.cpus is not None and args.cpus < 1:
        raise ConfigError(f"--cpus: must be >= 1, got {args.cpus}")
    if args.address is not None:
        args.address = check_address(args.address)
        if args.cpus is not None:
            raise ConfigError("--cpus: only for a local instance, not with --address")
    sweep = load_sweep(args.file)
    check_output_folder(args.out, SWEEP_FILES)
    began = time.perf_counter()
    with staged_folder(args.out, recognised=SWEEP_FILES) as stage:
        rows = run_sweep(sweep, stage, args.address, args.cpus)
        columns = ["trial", "scenario", "seed", *(k for k, _ in sweep.grid), *SWEEP_COLUMNS]
        with atomic_write(stage / "sweep.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        best = best_config(sweep, rows)
        with atomic_write(stage / "best.yaml") as fh:
            yaml.safe_dump(best, fh, sort_keys=False)
    if not args.quiet:
        print(
            f"{len(rows)} trials in {time.perf_counter() - began:.1f} s; best "
            f"{best['hyperparameters']} (mean cost per job {best['mean_cost_per_job_s']:.1f} s) "
            f"-> {args.out / 'sweep.csv'}, {args.out / 'best.yaml'}"
        )
    return 0
