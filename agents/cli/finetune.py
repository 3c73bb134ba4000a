r"""Fine-tune a distilled policy with policy gradients (Decima's input-dependent baseline).

    constellation-dispatch finetune --out runs/finetune --workers 2
    (or: python scripts/finetune.py --out runs/finetune --workers 2)

reads the recipe from configs/agents/finetune.yaml (change any key with --hp KEY=VALUE, e.g.
--hp iterations=5; --set KEY=VALUE overrides the scenario of every cell), starts from the
recipe's `start` policy (`pretrained` or a path), and writes DIR/model.zip (the best
iterate, or the starting policy when no iterate beats it), DIR/iter_I.zip, DIR/iterations.csv
(per iteration the greedy student's cost per job on held-out seeds, cell by cell, its mean
ratio to the start, the PPO statistics) and DIR/config.json. See agents/finetune.py.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from agents.cli._common import parse_overrides
from agents.cli.recipes import load_recipe, parse_recipe_command, recipe_cells
from envs.atomic import atomic_write

KEYS = (
    "start", "cells", "generated", "max_decisions", "iterations", "seeds_per_iteration",
    "rollouts", "eval_seeds", "k_max", "temperature", "epochs", "batch_size", "learning_rate",
    "clip", "entropy", "seed",
)  # fmt: skip


def run_recipe(
    recipe: dict, model: object, out: Path, *, workers: int, overrides: dict | None = None
) -> list[dict]:
    """Fine-tune ``model`` with a loaded recipe; write ``iterations.csv``; return the rows."""
    from agents.finetune import finetune

    cells = recipe_cells({**recipe, "max_decisions": None}, overrides)
    for cell in cells:  # bad scenarios fail here, in one line, before any work
        cell.make_env(int(recipe["k_max"]))
    _, rows = finetune(
        model, cells, out_dir=out, iterations=int(recipe["iterations"]),
        seeds_per_iteration=int(recipe["seeds_per_iteration"]),
        rollouts=int(recipe["rollouts"]), eval_seeds=[int(s) for s in recipe["eval_seeds"]],
        k_max=int(recipe["k_max"]), temperature=float(recipe["temperature"]),
        epochs=int(recipe["epochs"]), batch_size=int(recipe["batch_size"]),
        learning_rate=float(recipe["learning_rate"]), clip=float(recipe["clip"]),
        entropy=float(recipe["entropy"]), cap=recipe["max_decisions"],
        workers=workers, seed=int(recipe["seed"]),
    )  # fmt: skip
    with atomic_write(out / "iterations.csv") as fh:
        fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "iteration", k))
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Fine-tune; write the model, ``iterations.csv`` and ``config.json``."""
    args = parse_recipe_command(
        argv, prog, __doc__, "finetune", "iterations=5", "sampling processes"
    )
    recipe = load_recipe(args.recipe, args.hp, KEYS)
    overrides = parse_overrides(args.set)
    recipe_cells({**recipe, "max_decisions": None}, overrides)  # recipe errors before loading
    import torch as th

    from agents.scoring import PRETRAINED, load_scoring_model

    th.set_num_threads(1)
    start = str(recipe["start"])
    model = load_scoring_model(PRETRAINED if start == "pretrained" else start)
    began = time.perf_counter()
    run_recipe(recipe, model, args.out, workers=args.workers, overrides=overrides)
    seconds = time.perf_counter() - began
    with atomic_write(args.out / "config.json") as fh:
        json.dump({"recipe": recipe, "set": args.set, "argv": list(argv or sys.argv[1:]),
                   "seconds": seconds}, fh, indent=2, default=str)  # fmt: skip
    print(f"fine-tuned in {seconds / 60:.1f} min; wrote {args.out}/model.zip")
    return 0
