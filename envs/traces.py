"""Request traces: the Azure LLM inference CSV format, read, validated and written.

A trace is a list of requests with a time and prompt and output token counts
(``TIMESTAMP,ContextTokens,GeneratedTokens``). :func:`load_trace` reads one into a frozen
:class:`Trace`; a scenario reads its trace files once, when it is loaded
(``ArrivalSpec.trace()``, ``TokenSpec.trace()``), and ``envs.jobs`` replays them.
"""

from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write
from envs.errors import ConfigError, show_value

__all__ = [
    "TRACE_COLUMNS",
    "Trace",
    "TraceTokensWarning",
    "clip_trace_tokens",
    "load_trace",
    "write_trace",
]

StrPath = str | os.PathLike[str]


class TraceTokensWarning(UserWarning):
    """A trace has token counts above ``workload.tokens.max_tokens``; they were clipped."""


def clip_trace_tokens(
    tokens: np.ndarray, max_tokens: int, *, source: str, column: str
) -> np.ndarray:
    """Token counts of trace rows clipped to ``[1, max_tokens]``, warning if any was above.

    One outlier row (say 10^18 tokens) would otherwise dominate the expected output length
    the dispatcher assumes (the trace's mean) and make every job look undeliverable.

    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     clip_trace_tokens(np.array([0, 5, 10**18]), 100, source="t.csv", column="GeneratedTokens").tolist()
    [1, 5, 100]
    >>> str(seen[0].message)
    't.csv: GeneratedTokens: 1 row(s) above workload.tokens.max_tokens 100 (largest 1e+18) clipped to 100'
    """  # noqa: E501
    tokens = np.asarray(tokens, dtype=np.int64)
    above = tokens > max_tokens
    if above.any():
        warnings.warn(
            f"{source}: {column}: {int(above.sum())} row(s) above workload.tokens.max_tokens "
            f"{max_tokens} (largest {float(tokens.max()):.3g}) clipped to {max_tokens}",
            TraceTokensWarning,
            stacklevel=1,  # one location: shown once per process by the default filter
        )
    return np.clip(tokens, 1, max(int(max_tokens), 1))


TRACE_COLUMNS: tuple[str, ...] = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
_MAX_DIGITS = 18  # longer token counts would overflow int64


@dataclass(frozen=True, slots=True)
class Trace:
    """A request trace (Azure LLM inference format), validated and read-only.

    Attributes:
        offset_s: Request times, seconds since the first request (float64, non-decreasing).
        context_tokens: Prompt tokens per request (int64, >= 0).
        generated_tokens: Generated tokens per request (int64, >= 0).
        source: Where the trace came from (a file path), used in error messages.
    """

    offset_s: np.ndarray
    context_tokens: np.ndarray
    generated_tokens: np.ndarray
    source: str = "<trace>"

    def __post_init__(self) -> None:
        offset = np.array(self.offset_s, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(offset[1:]) | (np.diff(offset) < 0)) + 1
        if offset.ndim != 1 or (offset.size and not np.isfinite(offset[0])) or bad.size:
            where = f"[{bad[0]}] = {offset[bad[0]]}" if bad.size else ""
            raise ConfigError(f"{self.source}: offset_s{where}: expected finite, sorted seconds")
        object.__setattr__(self, "offset_s", offset)
        for name in ("context_tokens", "generated_tokens"):
            raw = np.asarray(getattr(self, name))
            with np.errstate(invalid="ignore"):
                tokens = raw.astype(np.int64)
            bad = (
                np.flatnonzero((tokens != raw) | (tokens < 0)) if raw.shape == offset.shape else []
            )
            if raw.shape != offset.shape or len(bad):
                where = f"[{bad[0]}] = {raw[bad[0]]!r}" if len(bad) else f" shape {raw.shape}"
                raise ConfigError(f"{self.source}: {name}{where}: expected non-negative integers")
            object.__setattr__(self, name, tokens)
            tokens.setflags(write=False)
        offset.setflags(write=False)

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.offset_s.shape[0])

    @property
    def span_s(self) -> float:
        """Time from the first to the last request."""
        return float(self.offset_s[-1] - self.offset_s[0]) if self.size else 0.0


def load_trace(path: StrPath) -> Trace:
    r"""Read a request trace CSV with columns ``TIMESTAMP,ContextTokens,GeneratedTokens``.

    Extra columns are ignored and the order is free. Timestamps look like
    ``2023-11-16 18:15:46.6805900`` (naive = UTC) and must be non-decreasing; token counts are
    non-negative integers. Any problem raises :class:`ConfigError` naming the file, the
    1-based line, the column and the value.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "t.csv")
    ...     _ = path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
    ...         "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n")
    ...     trace = load_trace(path)
    >>> trace.offset_s.round(6).tolist(), trace.context_tokens.tolist()
    ([0.0, 4.314579], [374, 396])
    """
    p = Path(path)
    try:
        handle = p.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{p}: trace file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read trace file ({exc.strerror})") from None
    lines: list[int] = []
    cells: tuple[list[str], list[str], list[str]] = ([], [], [])
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise ConfigError(f"{p}:1: empty file, expected header {','.join(TRACE_COLUMNS)}")
            names = [h.strip() for h in header]
            missing = [c for c in TRACE_COLUMNS if c not in names]
            if missing:
                header_text = show_value(",".join(names))
                raise ConfigError(f"{p}:1: missing column(s) {', '.join(missing)} ({header_text})")
            cols = [names.index(c) for c in TRACE_COLUMNS]
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) != len(names):
                    raise ConfigError(
                        f"{p}:{reader.line_num}: expected {len(names)} fields, got {len(row)}: "
                        f"{show_value(','.join(row))}"
                    )
                lines.append(reader.line_num)
                for out, col in zip(cells, cols, strict=True):
                    out.append(row[col].strip())
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}:{reader.line_num + 1}: unreadable CSV ({exc})") from None
    if not lines:
        raise ConfigError(f"{p}:2: empty trace: no data rows after the header")
    line = np.asarray(lines)
    stamps = _parse_timestamps(p, line, cells[0])
    back = np.flatnonzero(np.diff(stamps) < np.timedelta64(0, "ns"))
    if back.size:
        i = int(back[0]) + 1
        raise ConfigError(
            f"{p}:{line[i]}: TIMESTAMP: {cells[0][i]!r} is earlier than line {line[i - 1]} "
            f"({cells[0][i - 1]!r}); the trace must be sorted by time"
        )
    offset_s = (stamps - stamps[0]).astype(np.int64) / 1e9
    context = _parse_tokens(p, line, cells[1], "ContextTokens")
    generated = _parse_tokens(p, line, cells[2], "GeneratedTokens")
    return Trace(offset_s, context, generated, source=str(p))


def _parse_timestamps(path: Path, line: np.ndarray, texts: list[str]) -> np.ndarray:
    """Parse naive UTC timestamps (up to 9 fractional digits) to ``datetime64[ns]``."""
    text = np.asarray([t[:-1] if t.endswith(("Z", "z")) else t for t in texts])
    try:
        stamps = text.astype("datetime64[ns]")
    except ValueError:
        stamps = None
    if stamps is None or np.any(np.isnat(stamps)) or np.any(np.char.str_len(text) < 19):
        for i, one in enumerate(text):  # only on the error path: find the first bad line
            try:
                ok = len(one) >= 19 and not np.isnat(np.datetime64(one, "ns"))
            except ValueError:
                ok = False
            if not ok:
                raise ConfigError(
                    f"{path}:{line[i]}: TIMESTAMP: cannot parse {show_value(texts[i])} "
                    "(expected e.g. '2023-11-16 18:15:46.6805900', UTC)"
                )
    return stamps


def _parse_tokens(path: Path, line: np.ndarray, texts: list[str], column: str) -> np.ndarray:
    """Parse non-negative integer token counts."""
    text = np.asarray(texts, dtype=str)
    ok = np.char.isdecimal(text) & (np.char.str_len(text) <= _MAX_DIGITS)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        try:
            what = "negative token count" if float(texts[i]) < 0 else "not an integer"
        except ValueError:
            what = "not a number"
        raise ConfigError(
            f"{path}:{line[i]}: {column}: {what}: {show_value(texts[i])} "
            "(expected a non-negative integer)"
        )
    return text.astype(np.int64)


def write_trace(path: StrPath, trace: Trace, start: datetime) -> None:
    """Write ``trace`` as CSV in the Azure format, with 7 fractional digits, atomically.

    Request ``i`` is stamped ``start + offset_s[i]`` (rounded to 100 ns); a naive ``start``
    is taken as UTC, an aware one converted to UTC.

    >>> import tempfile, pathlib
    >>> trace = Trace(np.array([0.0, 1.25]), np.array([10, 20]), np.array([3, 4]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_trace(pathlib.Path(tmp, "t.csv"), trace, datetime(2025, 6, 1, 12))
    ...     print(pathlib.Path(tmp, "t.csv").read_text(), end="")
    TIMESTAMP,ContextTokens,GeneratedTokens
    2025-06-01 12:00:00.0000000,10,3
    2025-06-01 12:00:01.2500000,20,4
    """
    if start.tzinfo is not None:
        start = start.astimezone(timezone.utc).replace(tzinfo=None)
    ticks_ns = np.rint(trace.offset_s * 1e7).astype(np.int64) * 100
    moments = np.datetime64(start, "ns") + ticks_ns.astype("timedelta64[ns]")
    iso = np.datetime_as_string(moments, unit="ns")  # 'YYYY-MM-DDTHH:MM:SS.fffffffff'
    rows = zip(
        iso.tolist(), trace.context_tokens.tolist(), trace.generated_tokens.tolist(), strict=True
    )
    with atomic_write(path, "w", newline="") as fh:
        fh.write(",".join(TRACE_COLUMNS) + "\n")
        fh.writelines(f"{s[:10]} {s[11:27]},{c},{g}\n" for s, c, g in rows)
