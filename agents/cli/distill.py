r"""Train the distilled dispatch policy: imitation, then rollout-labelled policy iteration.

    constellation-dispatch distill --out runs/distill --workers 2
    (or: python scripts/distill.py --out runs/distill --workers 2)

reads the recipe from configs/agents/distill.yaml (change any key with --hp KEY=VALUE, e.g.
--hp rounds=3 --hp "generated=[1, 2]"; --set KEY=VALUE overrides the scenario of every
cell, e.g. --set isl.enabled=true), writes DIR/model.zip (and DIR/round_R.zip after each
round), DIR/rounds.csv (imitation agreement; per round the labels collected, the agreement
of the greedy action with the cheapest branch and its regret relative to a random action)
and DIR/config.json. See agents/iteration.py for the method. With the recipe's `finetune`
set (a fine-tuning recipe, e.g. finetune.yaml), the distilled student is then fine-tuned
(agents/finetune.py): DIR/distilled.zip keeps it, DIR/finetune holds the fine-tuning's files
and DIR/model.zip becomes the fine-tuned policy (--hp finetune=null skips the stage).
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
from agents.iteration import distill
from envs.atomic import atomic_copy, atomic_write
from envs.errors import ConfigError

KEYS = (
    "cells", "generated", "max_decisions", "teacher", "dagger_rounds", "base", "horizon",
    "label_share", "labels_per_episode", "explore", "rounds", "imitation_seeds", "label_seeds",
    "k_max", "epochs", "seed", "finetune", "futures",
)  # fmt: skip
#: Keys a recipe may leave out (files written before the key existed).
DEFAULTS = {"futures": 0}


def finetune_recipe(recipe_path: Path, finetune: str | None) -> dict | None:
    """The fine-tuning recipe the key ``finetune`` names, checked before any work.

    The path is relative to ``recipe_path``'s folder; ``None`` when the key is ``null``.
    """
    from agents.cli.finetune import KEYS as FINETUNE_KEYS

    if finetune is None:
        return None
    path = Path(recipe_path).parent / str(finetune)
    if not path.is_file():
        raise ConfigError(f"finetune: recipe file not found: {path}")
    recipe = load_recipe(path, [], FINETUNE_KEYS)
    recipe_cells({**recipe, "max_decisions": None})
    return recipe


def finetune_stage(recipe: dict, out: Path, workers: int, overrides: dict) -> list[dict]:
    """Fine-tune the distilled ``out/model.zip`` with a fine-tuning recipe (``agents.finetune``).

    The distilled student is kept as ``out/distilled.zip``; ``out/model.zip`` becomes the
    fine-tuned one (the best iterate, or the distilled student when none beats it), and the
    fine-tuning's own files go to ``out/finetune``. Returns its rows, ``round`` named
    ``finetune_I``.
    """
    from agents.cli.finetune import run_recipe
    from agents.scoring import load_scoring_model

    atomic_copy(out / "model.zip", out / "distilled.zip")
    model = load_scoring_model(out / "distilled.zip")
    rows = run_recipe(recipe, model, out / "finetune", workers=workers, overrides=overrides)
    atomic_copy(out / "finetune" / "model.zip", out / "model.zip")
    return [{"round": f"finetune_{r.pop('iteration')}", **r} for r in rows]


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Distil; write the model, ``rounds.csv`` and ``config.json``."""
    args = parse_recipe_command(argv, prog, __doc__, "distill", "rounds=1", "labelling processes")
    recipe = load_recipe(args.recipe, args.hp, KEYS, DEFAULTS)
    cells = recipe_cells(recipe, parse_overrides(args.set))
    fine = finetune_recipe(args.recipe, recipe["finetune"])
    for cell in cells:  # bad scenarios fail here, in one line, before any work
        cell.make_env(int(recipe["k_max"]))
    began = time.perf_counter()
    _, rows = distill(
        cells, out_dir=args.out, rounds=int(recipe["rounds"]),
        imitation_seeds=recipe["imitation_seeds"], label_seeds=recipe["label_seeds"],
        teacher=recipe["teacher"], dagger_rounds=int(recipe["dagger_rounds"]),
        base=recipe["base"], horizon=recipe["horizon"], futures=recipe["futures"],
        label_share=float(recipe["label_share"]),
        labels_per_episode=recipe["labels_per_episode"], explore=float(recipe["explore"]),
        k_max=int(recipe["k_max"]), epochs=int(recipe["epochs"]), workers=args.workers,
        seed=int(recipe["seed"]),
    )  # fmt: skip
    if fine is not None:
        rows += finetune_stage(fine, args.out, args.workers, parse_overrides(args.set))
    seconds = time.perf_counter() - began
    with atomic_write(args.out / "rounds.csv") as fh:
        fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "round", k))
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    with atomic_write(args.out / "config.json") as fh:
        json.dump({"recipe": recipe, "set": args.set, "argv": list(argv or sys.argv[1:]),
                   "seconds": seconds}, fh, indent=2, default=str)  # fmt: skip
    print(f"trained in {seconds / 60:.1f} min; wrote {args.out}/model.zip")
    return 0
