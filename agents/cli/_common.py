"""Shared command-line plumbing: one-line errors and non-zero exit codes, no tracebacks.

Also the options several commands share: ``--set KEY=VALUE`` (scenario overrides, everywhere),
``--hp KEY=VALUE`` (hyperparameters, for the commands that train), the cache options and the
checks of ``--episodes``, ``--workers``, ``--seed``, ``--hours`` and ``--min-elevation``.

Bad input (any :class:`~envs.errors.ConstellationDispatchError`, or a file that cannot be
opened or written) prints ``error: ...`` on one line of stderr and exits with status 2. The
project's own warnings (e.g. ``TLEEpochWarning``) print as one ``warning: ...`` line; other
libraries' warnings keep Python's usual format.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from envs.errors import ConstellationDispatchError

EXIT_BAD_INPUT = 2
_FILE_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def _one_line_for_ours(show: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``warnings.showwarning``: the project's warnings print as one ``warning:`` line."""

    def showwarning(message, category, filename, lineno, file=None, line=None) -> None:
        if category.__module__.split(".")[0] in ("envs", "agents"):
            print(f"warning: {message}", file=sys.stderr if file is None else file)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


def _terminate(signum: int, frame: Any) -> None:
    """``SIGTERM`` handler: unwind like an exit, so pools and vector envs shut down."""
    raise SystemExit(128 + signum)


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main``; turn bad-input errors into ``error: ...`` on stderr and exit code 2.

    ``SIGTERM`` raises ``SystemExit(143)`` inside ``main`` (in the main thread), so ``finally``
    blocks run: worker pools are stopped and partial output folders are removed.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_for_ours(warnings.showwarning)
            return main(argv)
    except ConstellationDispatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _FILE_ERRORS as exc:
        # os.replace (atomic writes) reports the temporary file first: name the target.
        name = exc.filename2 if exc.filename2 is not None else exc.filename
        print(f"error: {exc.strerror}: {name}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """``--cache-dir`` and ``--no-cache`` for scripts that compute contact plans."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="Contact-plan cache folder (default: $CONSTELLATION_DISPATCH_CACHE or "
        "~/.cache/constellation-dispatch).",
    )
    parser.add_argument("--no-cache", action="store_true", help="Neither read nor write the cache.")


def cache_dir_of(args: argparse.Namespace) -> Path | None:
    """The cache folder ``add_cache_options`` selected (``None``: no cache)."""
    from envs.contact_plan import default_cache_dir

    return None if args.no_cache else (args.cache_dir or default_cache_dir())


def check_run_options(args: argparse.Namespace) -> None:
    """``--episodes`` and ``--workers`` at least 1, ``--seed`` not negative (one-line errors)."""
    from envs.errors import ConfigError

    for name in ("episodes", "workers"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name}: must be >= 1, got {getattr(args, name)}")
    if args.seed < 0:
        raise ConfigError(f"--seed: must be >= 0, got {args.seed}")


def check_plan_options(args: argparse.Namespace) -> None:
    """``--hours`` in (0, 720] and ``--min-elevation`` (if given) in [0, 90) degrees."""
    from envs.errors import ConfigError

    if not 0 < args.hours <= 24 * 30:
        raise ConfigError(f"--hours: must be in (0, 720], got {args.hours}")
    if args.min_elevation is not None and not 0 <= args.min_elevation < 90:
        raise ConfigError(f"--min-elevation: must be in [0, 90) degrees, got {args.min_elevation}")


def add_set_option(parser: argparse.ArgumentParser, example: str) -> None:
    """``--set KEY=VALUE`` (repeatable) scenario overrides; see :func:`parse_overrides`."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"Scenario override (repeatable; numbers stay numbers, other values are YAML), "
        f"e.g. {example}. Hyperparameters are not scenario overrides: give them with --hp "
        f"(train, distill, quickstart).",
    )


def add_hp_option(parser: argparse.ArgumentParser, what: str, example: str) -> None:
    """``--hp KEY=VALUE`` (repeatable) hyperparameter overrides of ``what``."""
    parser.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"Hyperparameter override of {what} (repeatable; numbers stay numbers, other "
        f"values are YAML), e.g. {example}. Scenario overrides go to --set.",
    )


def hyperparameter_keys() -> frozenset[str]:
    """Top-level keys of the shipped hyperparameter files (``configs/agents/*.yaml``).

    These are the keys ``--hp`` takes (an algorithm's or the distillation recipe's); none of
    them is a key of a scenario, so ``--set`` can name the flag to use instead.
    """
    from envs.resources import configs_dir
    from envs.yamlio import read_yaml

    keys: set[str] = set()
    for path in sorted((configs_dir() / "agents").glob("*.yaml")):
        data = read_yaml(path, path.name)
        if isinstance(data, dict):
            keys.update(str(k) for k in data)
    return frozenset(keys)


def parse_overrides(items: Sequence[str], flag: str = "--set") -> dict[str, Any]:
    """``["episode.duration_s=600", "networks=[china,ksat]"]`` → a dict of overrides.

    A value that reads as a number is one (YAML would keep ``1e10`` a string); anything
    else is parsed as YAML. A malformed item is a one-line ``ConfigError``, and so is a
    hyperparameter given to ``--set`` (scenario overrides only): the error names ``--hp``.

    >>> parse_overrides(["load=2", "networks=[china, ksat]"])
    {'load': 2, 'networks': ['china', 'ksat']}
    >>> parse_overrides(["gamma=0.9"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envs.errors.ConfigError: --set gamma=0.9: gamma is a hyperparameter, ... with --hp gamma=0.9 ...
    """
    from envs.errors import ConfigError
    from envs.yamlio import parse_yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{flag}: expected KEY=VALUE, got {item!r}")
        if flag == "--set" and key.split(".")[0] in hyperparameter_keys():
            raise ConfigError(
                f"--set {item}: {key} is a hyperparameter, not a scenario override; give it "
                f"with --hp {item} (train, distill, quickstart)"
            )
        for kind in (int, float):
            try:
                out[key] = kind(raw)
                break
            except ValueError:
                pass
        else:
            out[key] = parse_yaml(raw, f"{flag} {key}")
    return out


def scenario_keys() -> frozenset[str]:
    """The first parts of scenario override keys: the scenario's sections and the shortcuts."""
    import dataclasses

    from envs.scenario import Scenario
    from envs.scenario.loader import SHORTCUTS

    sections = {f.name for f in dataclasses.fields(Scenario)} - {"source"}
    return frozenset(sections | set(SHORTCUTS))


def parse_hyperparameters(items: Sequence[str]) -> dict[str, Any]:
    """``--hp KEY=VALUE`` items → a dict, like :func:`parse_overrides`.

    A scenario key (``load``, ``workload.load``, …) is a one-line ``ConfigError`` naming
    ``--set``, the flag for scenario overrides.

    >>> parse_hyperparameters(["rounds=2"])
    {'rounds': 2}
    >>> parse_hyperparameters(["workload.load=2"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envs.errors.ConfigError: --hp workload.load=2: workload.load is a scenario override, ...
    """
    from envs.errors import ConfigError

    out = parse_overrides(items, flag="--hp")
    for item in items:
        key = item.partition("=")[0].strip()
        if key.split(".")[0] in scenario_keys():
            raise ConfigError(
                f"--hp {item}: {key} is a scenario override, not a hyperparameter; give it "
                f"with --set {item}"
            )
    return out


def one_torch_thread() -> None:
    """Give torch one intra-op thread in this process (the script's choice, not a library's).

    One decision of a saved policy is one tiny forward pass: more threads only add
    synchronisation, and on a busy machine they spin against the simulator (tens of ms a
    decision instead of 0.2 ms). Commands that may load a model call this in ``main``.
    """
    import torch

    torch.set_num_threads(1)
