"""Shared command-line plumbing: one-line errors and non-zero exit codes, no tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from envs.errors import ConstellationDispatchError

EXIT_BAD_INPUT = 2


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main``; turn bad-input errors into ``error: ...`` on stderr and exit code 2."""
    try:
        return main(argv)
    except ConstellationDispatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
