"""Smoke test of an installed distribution (a wheel or ``pip install .``), run outside the repo.

Checks that the installed packages, not a source tree, are imported; makes an environment from
every preset with ``gym.make`` and steps it; draws an ``rgb_array`` frame; loads every shipped
pretrained policy and lets it play; runs the console command ``constellation-dispatch --help``
and a one-episode ``constellation-dispatch evaluate`` on the toy preset. Exits 0 when all of
that works, else 1 with the reason on stderr (2 with ``error: ...`` for bad arguments or data).

Example (CI, ``.ci/run``, after installing the wheel into a fresh venv):
    cd "$(mktemp -d)" && python /path/to/repo/scripts/smoke_installed.py --steps 5
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from agents.cli._common import run_cli

REPO = Path(__file__).resolve().parents[1]
COMMAND = "constellation-dispatch"


def console_command() -> list[str] | None:
    """The installed console script (beside this interpreter, else on ``PATH``), or ``None``."""
    beside = Path(sys.executable).parent / COMMAND
    found = str(beside) if beside.is_file() else shutil.which(COMMAND)
    return None if found is None else [found]


def _run_console(command: list[str], args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``command args`` in ``cwd``; its exit status and stdout + stderr."""
    proc = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _step(env, steps: int, policy=None) -> int:
    """Reset with seed 0 and take up to ``steps`` valid actions; the number taken."""
    obs, _ = env.reset(seed=0)
    for i in range(steps):
        mask = env.unwrapped.action_masks()
        if policy is None:
            action = int(mask.nonzero()[0][0])
        else:
            action = int(policy.predict(obs, action_masks=mask, deterministic=True)[0])
        if not mask[action]:
            raise AssertionError(f"action {action} is masked")
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return i + 1
    return steps


def _fail(why: str) -> int:
    print(f"smoke: {why}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks; print one line per check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="Steps per environment.")
    parser.add_argument(
        "--skip",
        default="",
        help="Comma-separated presets to leave out (e.g. a slow one on a small machine).",
    )
    args = parser.parse_args(argv)

    import gymnasium as gym
    from sb3_contrib import MaskablePPO

    import agents
    import envs
    from agents.evaluate import AgentSpec, load_model
    from agents.scoring import PRETRAINED, ScoringAgent, load_scoring_model
    from agents.shipped import list_pretrained, pretrained_path
    from envs.errors import ConfigError
    from envs.scenario import list_presets, load_scenario
    from envs.wrappers import FlattenDispatch

    for module in (envs, agents):
        where = Path(module.__file__).resolve()
        if where.is_relative_to(REPO):
            return _fail(f"{module.__name__} imported from the source tree: {where}")
        print(f"{module.__name__}: {where.parent}")
    presets = list_presets()
    if not presets:
        return _fail("no presets installed")
    if args.steps < 1:
        raise ConfigError(f"--steps: must be >= 1, got {args.steps}")
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(presets):
        unknown = ", ".join(sorted(skip - set(presets)))
        raise ConfigError(f"--skip: unknown preset(s) {unknown} (known: {', '.join(presets)})")
    for name in presets:
        if name in skip:
            print(f"preset {name}: skipped")
            continue
        start = time.perf_counter()
        env = gym.make(envs.ENV_ID, scenario=name, render_mode="rgb_array")
        taken = _step(env, args.steps)
        frame = env.render()
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype.name != "uint8":
            return _fail(f"{name}: bad rgb_array frame {frame.shape} {frame.dtype}")
        env.close()
        took = time.perf_counter() - start
        print(f"preset {name}: {taken} steps, frame {frame.shape}, {took:.1f} s")
    names = list_pretrained()
    if not names:
        return _fail("no pretrained policies installed")
    k = load_scenario("star_compute_12").dispatch.candidates
    for name in names:
        if name == PRETRAINED:  # the distilled policy runs in any scenario, any K
            model = load_scoring_model(name)
            for overrides in ({}, {"dispatch.allow_defer": False, "dispatch.candidates": 3}):
                env = gym.make(envs.ENV_ID, scenario="star_compute_12", **overrides)
                taken = _step(env, args.steps, ScoringAgent(model, env))
                env.close()
            print(f"pretrained {name}: loaded, {taken} steps with and without deferral")
            continue
        # A policy trained without deferral has K actions: play it in that setting.
        actions = MaskablePPO.load(pretrained_path(name), device="cpu").action_space.n
        overrides = {} if actions == k + 1 else {"dispatch.allow_defer": False}
        # Saved SB3 models read the flat vector: the documented wrapper gives it.
        env = FlattenDispatch(gym.make(envs.ENV_ID, scenario="star_compute_12", **overrides))
        model = load_model(AgentSpec("maskable_ppo", name), env)
        taken = _step(env, args.steps, model)
        env.close()
        print(f"pretrained {name}: loaded, {taken} steps")
    command = console_command()
    if command is None:
        return _fail(f"console command {COMMAND} not installed")
    with tempfile.TemporaryDirectory() as tmp:
        code, text = _run_console(command, ["--help"], Path(tmp))
        if code != 0 or "evaluate" not in text:
            return _fail(f"{COMMAND} --help exited {code}: {text[-500:]}")
        evaluate = ["evaluate", "--scenario", "toy", "--agents", "ect", "--episodes", "1",
                    "--quiet", "--out", "eval"]  # fmt: skip
        code, text = _run_console(command, evaluate, Path(tmp))
        if code != 0 or not (Path(tmp) / "eval" / "summary.csv").is_file():
            return _fail(f"{COMMAND} {' '.join(evaluate)} exited {code}: {text[-500:]}")
    print(f"console: {command[-1]}: --help and a one-episode evaluate ran")
    print("smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
