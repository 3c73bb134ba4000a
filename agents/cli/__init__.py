"""The ``constellation-dispatch`` console command: one entry point, one subcommand per tool.

Each subcommand lives in its own module (``agents.cli.plan``, ``agents.cli.evaluate``, …)
with ``build_parser(prog)`` and ``main(argv, prog)``; ``main`` raises the project's errors
and :func:`main` here turns them into one ``error: ...`` line and exit status 2
(:func:`agents.cli._common.run_cli`). The files in ``scripts/`` are thin wrappers of the same
modules, so ``python scripts/evaluate.py ...`` and ``constellation-dispatch evaluate ...``
take the same options and print the same errors.

Options mean one thing everywhere: ``--set KEY=VALUE`` is a scenario override in every
command that runs a scenario; hyperparameters are ``--hp KEY=VALUE`` (``train``,
``distill``, ``quickstart``).

Example:
    >>> from agents.cli import main
    >>> main(["plot", "--scenario", "toy", "--load", "0", "--out", "unused"])
    2
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence

from agents.cli._common import run_cli

__all__ = ["COMMANDS", "PROG", "dispatch", "main"]

PROG = "constellation-dispatch"

#: Subcommand → (module with ``main(argv, prog)``, one line of help).
COMMANDS: Mapping[str, tuple[str, str]] = {
    "plan": ("agents.cli.plan", "Compute every satellite-station pass over a horizon; write CSV."),
    "evaluate": (
        "agents.cli.evaluate",
        "Evaluate agents over loads and paired seeds (or a suite); write tables and plots.",
    ),
    "train": ("agents.cli.train", "Train a dispatch policy with stable-baselines3/sb3-contrib."),
    "sweep": (
        "agents.cli.sweep",
        "Train over seeds x hyperparameters x scenarios on Ray Tune; one CSV, the best config.",
    ),
    "distill": (
        "agents.cli.distill",
        "Train the distilled policy: imitation, then rollout-labelled policy iteration.",
    ),
    "finetune": (
        "agents.cli.finetune",
        "Fine-tune a distilled policy with policy gradients (Decima's input-dependent baseline).",
    ),
    "quickstart": (
        "agents.cli.quickstart",
        "Distil a dispatcher briefly and compare it with every heuristic (~10 min).",
    ),
    "study": ("agents.cli.study", "Studies: ground-network, turnaround, isl."),
    "benchmark": (
        "agents.cli.benchmark",
        "Benchmarks as ratios to a reference measured in the same run.",
    ),
    "plot": ("agents.cli.plot", "Run one episode with one agent and draw it."),
    "generate-tles": (
        "agents.cli.generate_tles",
        "Write TLEs of a generated Walker-delta or sun-synchronous shell.",
    ),
    "validate-plan": (
        "agents.cli.validate_plan",
        "Compare the contact plan with skyfield's find_events.",
    ),
    "estimate-error": (
        "agents.cli.estimate_error",
        "Measure the error of the completion-time estimate the heuristics use.",
    ),
    "sample-trace": (
        "agents.cli.sample_trace",
        "Write a synthetic request trace (TIMESTAMP,ContextTokens,GeneratedTokens).",
    ),
}

_DESCRIPTION = (
    "Dispatch inference jobs over satellite computing constellations: contact plans, "
    "evaluation, training and studies. Run '%(prog)s COMMAND --help' for a command's options. "
    "--set KEY=VALUE is a scenario override in every command that runs a scenario; "
    "hyperparameters are --hp KEY=VALUE. Bad input exits with status 2 and a one-line error."
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("constellation-dispatch")
    except PackageNotFoundError:  # a source tree that is not installed
        return "unknown"


def dispatch(
    commands: Mapping[str, tuple[str, str]],
    argv: Sequence[str] | None,
    prog: str,
    description: str,
) -> int:
    """Run the subcommand ``argv[0]`` of ``commands`` with the rest of ``argv``.

    Only the chosen command's module is imported (``--help`` of one command does not load
    torch for another). Without a known command, argparse prints the help (``--help``) or a
    usage line and ``error: ...`` and exits with status 2.

    Args:
        commands: Subcommand name → (module with ``main(argv, prog)``, one line of help).
        argv: The arguments after the program name (``None``: ``sys.argv[1:]``).
        prog: The program name shown in usage lines (``constellation-dispatch study``).
        description: The text of ``prog --help`` above the list of subcommands.

    Returns:
        The subcommand's exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in commands:
        module = importlib.import_module(commands[argv[0]][0])
        return module.main(argv[1:], prog=f"{prog} {argv[0]}")
    parser = argparse.ArgumentParser(prog=prog, description=description)
    if prog == PROG:
        parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for name, (_, summary) in commands.items():
        sub.add_parser(name, help=summary, add_help=False)
    parser.parse_args(argv)  # prints the help or an error and exits
    parser.error(f"expected a command first, got {argv[0]!r}")  # e.g. an option before it
    return 2  # not reached: parser.error exits


def main(argv: Sequence[str] | None = None) -> int:
    """``constellation-dispatch COMMAND [OPTIONS]``: the console script's entry point.

    Returns the exit status: 0 on success, 2 with one ``error: ...`` line for bad input.
    """
    return run_cli(lambda args: dispatch(COMMANDS, args, PROG, _DESCRIPTION), argv)
