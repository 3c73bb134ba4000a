"""The main job: distil a dispatcher briefly, then compare it with every heuristic.

The shipped policy (``pretrained``) is compared too, on the same paired episodes.

Training is a short version of the recipe behind the shipped policy
(``configs/agents/distill.yaml``, ``agents.iteration``): on the scenario at loads 1 and 2
with short arrival windows, find the cheapest heuristic of each load, imitate it with the
candidate-scoring network (which sees every heuristic's vote), then two DAgger rounds (the
network plays, the heuristics say what they would do, refit), then two iterations of
policy-gradient fine-tuning with Decima's input-dependent baseline (``agents.finetune``; the
best of the start and its iterates on a held-out seed is kept). ``--hp rounds=1`` adds a
round of rollout labels. The evaluation episodes have 2 h of arrivals (``--eval-window-s``;
the scenario's own window when it is shorter). Writes OUT/train (model.zip, imitation.zip,
finetune/) and OUT/eval (summary.csv, jobs.csv, summary.json, comparison.csv against the best
heuristic of each load, turnaround_cdf.png, turnaround_vs_load.png, contact_gantt.png,
ground_tracks.png, queue_length.png, report.html), prints the tables and ends with a one-line
reading.
Under 10 minutes on 2 CPU cores with the defaults (156 s measured in a fresh clone).

--set KEY=VALUE overrides the scenario everywhere (training, evaluation, the drawn episode);
--hp KEY=VALUE changes the distillation (keys: rounds, horizon, futures, label_share, explore,
epochs, k_max, teacher, dagger_rounds, base, finetune_iterations; see
configs/agents/distill.yaml).

``python scripts/quickstart.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from agents.cli._common import (
    add_hp_option,
    add_set_option,
    parse_hyperparameters,
    parse_overrides,
)

#: The distillation ``--hp`` may change, and the quickstart's values of them
#: (``finetune_iterations``: policy-gradient iterations after the distillation, 0 for none).
DISTILL_DEFAULTS = {
    "rounds": 0, "dagger_rounds": 2, "horizon": 30, "futures": 0, "explore": 0.1, "epochs": 20,
    "k_max": 16, "teacher": "best", "base": ["ect_queue", "earliest_uplink"],
    "finetune_iterations": 2,
}  # fmt: skip


#: The evaluation's arrival window (s). The scenario's own (6 h on star_compute_12) would
#: take the deferring agents (``ect_wait``, the policies) a million decisions an episode at
#: load 2: jobs wait on the ground for hours, coming back every ``defer_s``.
EVAL_WINDOW_S = 7200.0


def eval_overrides(overrides: dict, window_s: float, scenario_window_s: float) -> dict:
    """The evaluation's overrides: ``overrides`` with the arrival window cut to ``window_s``.

    The window is cut only when the scenario's own (``scenario_window_s``) is longer and
    ``overrides`` does not set one.

    >>> eval_overrides({}, 7200.0, 21600.0)
    {'episode.duration_s': 7200.0}
    >>> eval_overrides({}, 7200.0, 3600.0), eval_overrides({}, 0.0, 21600.0)
    ({}, {})
    >>> eval_overrides({"episode.duration_s": 600}, 7200.0, 21600.0)
    {'episode.duration_s': 600}
    """
    from envs.errors import ConfigError

    if not (window_s >= 0.0 and window_s < float("inf")):
        raise ConfigError(f"--eval-window-s: must be a number >= 0, got {window_s!r}")
    if window_s == 0.0 or window_s >= scenario_window_s or "episode.duration_s" in overrides:
        return dict(overrides)
    return {**overrides, "episode.duration_s": window_s}


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--scenario", default="star_compute_12", help="Preset name or YAML path.")
    parser.add_argument(
        "--label-share", type=float, default=0.1, help="Share of decisions labelled by rollouts."
    )
    parser.add_argument("--episodes", type=int, default=3, help="Evaluation episodes per load.")
    parser.add_argument("--load", default="1,2", help="Comma-separated evaluation loads.")
    parser.add_argument(
        "--eval-window-s", type=float, default=EVAL_WINDOW_S,
        help="Longest arrival window of the evaluation episodes and the drawn one, in seconds "
        "(0: the scenario's own; --set episode.duration_s=... wins).",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="Training seed.")
    parser.add_argument("--eval-seed", type=int, default=100, help="First evaluation seed.")
    parser.add_argument("--workers", type=int, default=2, help="Evaluation processes.")
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"), help="Output folder.")
    add_set_option(parser, "--set isl.enabled=true")
    add_hp_option(parser, "the distillation", "--hp rounds=2 --hp horizon=50")
    return parser


def distill_settings(hp: Sequence[str], label_share: float) -> dict:
    """The keyword arguments of ``agents.iteration.distill`` with ``--hp`` applied.

    >>> distill_settings(["rounds=2"], 0.1)["rounds"], distill_settings([], 0.2)["label_share"]
    (2, 0.2)
    """
    from envs.errors import ConfigError

    settings = {**DISTILL_DEFAULTS, "label_share": label_share}
    for key, value in parse_hyperparameters(hp).items():
        if key not in settings:
            raise ConfigError(
                f"--hp {key}: not a setting of the quickstart's distillation "
                f"(allowed: {', '.join(settings)})"
            )
        settings[key] = value
    return settings


def reading(comparison: list[dict], best: dict[float, str]) -> list[str]:
    """One line per learned agent: its cost per job over the best heuristic's, per load."""
    lines = []
    for agent in dict.fromkeys(r["agent"] for r in comparison):
        if not agent.startswith(("pretrained", "scoring")):
            continue
        parts = [f"{r['cost_ratio']:.3f}× {best[r['load']]} at load {r['load']:g}"
                 for r in comparison if r["agent"] == agent]  # fmt: skip
        name = "shipped policy" if agent == "pretrained" else "this run's policy"
        lines.append(f"reading: {name} costs {', '.join(parts)} (cost per job against the "
                     "best heuristic of each load; below 1 is better)")  # fmt: skip
    return lines


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Distil, evaluate, draw; print the tables and the reading."""
    from agents.episode_plots import plot_episode
    from agents.evaluate import evaluate, run_episode
    from agents.heuristics import HEURISTICS
    from agents.iteration import Cell, distill
    from agents.report import EVALUATION_FILES, print_comparison, print_table, write_results
    from agents.stats import compare_with
    from agents.suite import best_heuristics
    from envs.atomic import staged_folder
    from envs.contact_plan import default_cache_dir
    from envs.errors import ConfigError
    from envs.scenario import load_scenario
    from envs.sim import build_world

    args = build_parser(prog).parse_args(argv)
    overrides = parse_overrides(args.set)
    settings = distill_settings(args.hp, args.label_share)
    try:
        loads = [float(x) for x in args.load.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--load: expected numbers like 1,2, got {args.load!r}") from None
    own = load_scenario(args.scenario, overrides).episode.duration_s
    shown = eval_overrides(overrides, args.eval_window_s, own)  # checked before training
    began = time.perf_counter()
    cells = [Cell(args.scenario, load, {"episode.duration_s": 1200.0, **overrides})
             for load in loads]  # fmt: skip
    print(f"[1/3] distilling a dispatcher on {args.scenario} (loads {args.load}, short windows)")
    iterations = int(settings.pop("finetune_iterations"))
    distill(cells, out_dir=args.out / "train", imitation_seeds=[args.seed],
            label_seeds=[args.seed + 1], workers=args.workers, seed=args.seed,
            **settings)  # fmt: skip
    model = f"scoring:{args.out / 'train' / 'model.zip'}"
    if iterations > 0:
        from agents.finetune import finetune
        from agents.scoring import load_scoring_model

        print(f"      fine-tuning it: {iterations} policy-gradient iterations with Decima's "
              "input-dependent baseline (agents.finetune)")  # fmt: skip
        student = load_scoring_model(args.out / "train" / "model.zip")
        finetune(student, cells, out_dir=args.out / "train" / "finetune", iterations=iterations,
                 eval_seeds=[args.seed + 50], k_max=int(settings["k_max"]),
                 workers=args.workers, seed=args.seed)  # fmt: skip
        model = f"scoring:{args.out / 'train' / 'finetune' / 'model.zip'}"
    window = shown.get("episode.duration_s")
    print(f"[2/3] evaluating against the heuristics and the shipped policy ({args.episodes} "
          "paired episodes per load" + (f", {float(window):g} s of arrivals" if window else "")
          + ")")  # fmt: skip
    result = evaluate(
        args.scenario, [*HEURISTICS, "pretrained", model], loads, args.episodes, args.eval_seed,
        workers=args.workers, overrides=shown,
    )  # fmt: skip
    print_table(result.summary)
    best = best_heuristics(result)
    comparison = compare_with(result, best)
    print_comparison(comparison)
    for line in reading(comparison, best):
        print(line)
    print("[3/3] drawing one episode (contact Gantt chart, ground tracks, queue lengths)")
    world = build_world(
        load_scenario(args.scenario, {**shown, "load": loads[0]}), cache_dir=default_cache_dir()
    )
    episode = run_episode(
        args.scenario, model, loads[0], args.eval_seed, world=world, overrides=shown
    )
    with staged_folder(args.out / "eval", recognised=EVALUATION_FILES) as stage:  # one set
        write_results(result, stage, fresh=False, reference=best)
        plot_episode(episode, world, stage)
    print(f"done in {time.perf_counter() - began:.0f} s -> {args.out}")
    return 0

