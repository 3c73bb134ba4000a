"""Commands run from a recipe file (``distill``, ``finetune``): options, loading, cells.

A recipe is a YAML mapping of hyperparameters (``configs/agents/distill.yaml``,
``finetune.yaml``); ``--hp KEY=VALUE`` changes a key, and unknown or missing keys are
one-line errors naming the file and the key.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.cli._common import add_set_option, parse_hyperparameters
from agents.iteration import Cell
from envs.errors import ConfigError
from envs.resources import configs_dir
from envs.yamlio import read_yaml

__all__ = ["load_recipe", "parse_recipe_command", "recipe_cells"]


def load_recipe(
    path: Path, hp: Sequence[str], keys: Sequence[str], defaults: Mapping[str, Any] | None = None
) -> dict:
    """The recipe file with ``--hp`` overrides; unknown and missing ``keys`` are one-line errors.

    A key of ``defaults`` may be left out (recipes written before it existed still load);
    it then takes the default.
    """
    recipe = read_yaml(path)
    if not isinstance(recipe, dict):
        raise ConfigError(f"{path}: expected a mapping of recipe keys")
    recipe = {**(defaults or {}), **recipe}
    recipe.update(parse_hyperparameters(hp))
    unknown = sorted(set(recipe) - set(keys))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (allowed: {', '.join(keys)})")
    missing = [k for k in keys if k not in recipe]
    if missing:
        raise ConfigError(f"{path}: missing key {missing[0]!r}")
    return recipe


def parse_recipe_command(
    argv: Sequence[str] | None, prog: str | None, doc: str | None, name: str, hp_example: str,
    workers_help: str,
) -> argparse.Namespace:  # fmt: skip
    """The options of a command run from a recipe file (``distill``, ``finetune``).

    ``--recipe`` (default ``configs/agents/NAME.yaml``), ``--hp``, ``--set``, ``--workers``
    (checked: at least 1) and ``--out`` (default ``runs/NAME``).
    """
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", type=Path, default=configs_dir() / "agents" / f"{name}.yaml",
                        help="recipe file (YAML)")  # fmt: skip
    parser.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                        help=f"recipe (hyperparameter) override, e.g. {hp_example}")  # fmt: skip
    add_set_option(parser, "--set isl.enabled=true (every cell)")
    parser.add_argument("--workers", type=int, default=2, help=workers_help)
    parser.add_argument("--out", type=Path, default=Path("runs") / name, help="output folder")
    args = parser.parse_args(argv)
    if args.workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {args.workers}")
    return args


def recipe_cells(recipe: dict, overrides: dict | None = None) -> list[Cell]:
    """The recipe's cells: listed presets, then ``generated:SEED`` at their own loads.

    ``overrides`` (``--set``) apply to every cell, over the recipe's own overrides.
    """
    cells = []
    limit = recipe["max_decisions"]
    cap = {} if limit is None else {"episode.max_decisions": limit}
    extra = dict(overrides or {})
    for i, c in enumerate(recipe["cells"] or []):
        if not isinstance(c, dict) or "scenario" not in c:
            raise ConfigError(f"cells[{i}]: expected {{scenario, load, overrides}}, got {c!r}")
        cells.append(Cell(str(c["scenario"]), c.get("load"),
                          {**cap, **dict(c.get("overrides") or {}), **extra}))  # fmt: skip
    for s in recipe["generated"] or []:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 900_000:
            raise ConfigError(f"generated: seeds must be integers in [0, 900000), got {s!r}")
        cells.append(Cell(f"generated:{s}", None, {**cap, **extra}))
    if not cells:
        raise ConfigError("cells: give at least one cell or generated seed")
    return cells
