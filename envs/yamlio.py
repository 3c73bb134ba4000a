"""Reading YAML configuration safely: ``yaml.safe_load`` only, errors as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from envs.errors import ConfigError

__all__ = ["read_yaml"]


def read_yaml(path: Path, label: str | None = None) -> Any:
    """Parse one YAML file; I/O and syntax errors become a one-line ``ConfigError``.

    Args:
        path: The file.
        label: How messages name the file (default: the path as given).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bad = Path(tmp, "bad.yaml")
    ...     _ = bad.write_text("a: [1, 2")
    ...     try:
    ...         read_yaml(bad, "bad.yaml")
    ...     except ConfigError as exc:
    ...         print("malformed YAML" in str(exc), str(exc).startswith("bad.yaml: line 1"))
    True True
    """
    name = str(path) if label is None else label
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{name}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{name}: {where}: malformed YAML: {problem}") from None
