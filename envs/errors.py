"""Exceptions raised for bad input: one line naming what is wrong and where."""

from __future__ import annotations

__all__ = ["ConfigError", "ConstellationDispatchError", "TLEError", "first_line", "show_value"]

#: Longest ``repr`` of a bad value an error message shows.
SHOW_CHARS = 60


class ConstellationDispatchError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(ConstellationDispatchError, ValueError):
    """A configuration value is invalid.

    The message names the field path (e.g. ``stations[3].lat_deg``) or the file and line,
    and the offending value.
    """


class TLEError(ConfigError):
    """A two-line element set is malformed; the message names the file and line number."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none).

    For one-line errors that wrap a third-party failure.
    """
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def show_value(value: object, limit: int = SHOW_CHARS) -> str:
    """``repr`` of a bad value on one line, cut to ``limit`` characters (ending ``...``).

    >>> show_value("x" * 100, 10)
    "'xxxxxx..."
    """
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
