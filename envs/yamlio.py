"""Reading YAML safely: one loader for every YAML the project reads, errors as one line.

:class:`StrictSafeLoader` is PyYAML's ``SafeLoader`` (the loader behind ``yaml.safe_load``:
plain data only, no Python tags) that also refuses duplicate mapping keys, which PyYAML
otherwise resolves silently in favour of the last one. :func:`parse_yaml` reads text with
it and :func:`read_yaml` reads a file; both report problems as one ``ConfigError`` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from envs.errors import ConfigError

__all__ = ["DuplicateKeyError", "StrictSafeLoader", "parse_yaml", "read_yaml"]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ConfigError):
    """A YAML mapping names the same key twice; the message names the key and both lines."""


class _DuplicateKey(ConstructorError):
    """Raised inside the loader: a mapping names ``key`` twice (1-based line numbers)."""

    def __init__(self, key: Any, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {key!r}", again)
        self.key, self.first_line, self.line = key, first.line + 1, again.line + 1


class StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a repeated mapping key (see :func:`parse_yaml`).

    Keys are compared as constructed values, so ``1`` and ``0x1`` are the same key. Keys
    brought in by a merge (``<<: *base``) may still be overridden, as YAML intends.
    """

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Construct a mapping after checking that no key appears twice."""
        if isinstance(node, MappingNode):
            seen: dict[Any, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: SafeLoader reports it below
                if first is not key_node.start_mark:
                    raise _DuplicateKey(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, name: str = "<string>") -> Any:
    r"""Parse YAML ``text`` with :class:`StrictSafeLoader` (``yaml.safe_load`` semantics).

    Args:
        text: The document.
        name: How messages name its source (a file name, ``--set key``).

    Raises:
        DuplicateKeyError: ``name:LINE: duplicate key 'k' (first at name:LINE)``.
        ConfigError: ``name: line L, column C: malformed YAML: ...``.

    >>> parse_yaml("a: 1\nb: [x, y]\n")
    {'a': 1, 'b': ['x', 'y']}
    >>> parse_yaml("a: 1\nb: 2\na: 3\n", "s.yaml")
    Traceback (most recent call last):
    ...
    envs.yamlio.DuplicateKeyError: s.yaml:3: duplicate key 'a' (first at s.yaml:1)
    """
    loader = StrictSafeLoader(text)
    try:
        return loader.get_single_data()
    except _DuplicateKey as exc:
        raise DuplicateKeyError(
            f"{name}:{exc.line}: duplicate key {exc.key!r} (first at {name}:{exc.first_line})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{name}: {where}: malformed YAML: {problem}") from None
    finally:
        loader.dispose()


def read_yaml(path: Path, label: str | None = None) -> Any:
    """Parse one YAML file; I/O, syntax and duplicate-key errors become one ``ConfigError``.

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
    return parse_yaml(text, name)
