"""Inference jobs: the per-episode job batch, arrival processes and request-trace replay.

A job is an inference request that arrives at a ground station (its *origin*) at a time, for
one model, with a prompt of known length and an output whose length the dispatcher only learns
when the job completes. :func:`generate_jobs` turns a validated :class:`WorkloadSpec` into a
:class:`JobBatch` for one episode, drawing every random number from the generator it is given.

Arrivals are a homogeneous Poisson process (:func:`poisson_times`), a Poisson process whose rate
follows each origin's local solar time (:func:`diurnal_times`), or the replay of a request trace
in the Azure LLM inference format (:func:`load_trace`, :func:`trace_times`).
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from envs.atomic import atomic_write
from envs.constants import HOUR_S
from envs.errors import ConfigError
from envs.limits import check_count
from envs.timeutil import require_utc

if TYPE_CHECKING:
    from envs.scenario.schema import TokenSpec, WorkloadSpec

__all__ = [
    "ONBOARD_ORIGIN",
    "TRACE_COLUMNS",
    "JobBatch",
    "Trace",
    "TraceTokensWarning",
    "clip_trace_tokens",
    "diurnal_times",
    "generate_jobs",
    "load_trace",
    "onboard_origin",
    "poisson_times",
    "trace_times",
    "write_trace",
]

StrPath = str | os.PathLike[str]

ONBOARD_ORIGIN = -1  # origin of a job generated on board satellite 0; satellite s: -1 - s


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


def onboard_origin(sat: int | np.ndarray) -> int | np.ndarray:
    """Origin code of a job generated on board ``sat`` (negative; stations are >= 0).

    >>> onboard_origin(0), onboard_origin(5)
    (-1, -6)
    """
    return -1 - sat


TRACE_COLUMNS: tuple[str, ...] = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
_MAX_DIGITS = 18  # longer token counts would overflow int64
_SHOW = 60


def _show(value: object) -> str:
    """``repr`` of a bad value, shortened so that messages stay on one line."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


class JobBatch(NamedTuple):
    """One episode's jobs as parallel arrays, sorted by arrival; job ``i`` is row ``i``.

    ``len(batch)`` is 8, the number of fields, as for any NamedTuple: the number of jobs is
    :attr:`size`. Ties in arrival time keep the order in which they were generated.

    Attributes:
        arrival_s: Arrival time, seconds since the episode epoch (float64, non-decreasing).
        origin: Index of the origin station (int64), or :data:`ONBOARD_ORIGIN`.
        model: Model index (int64).
        input_tokens: Prompt tokens (int64, >= 1).
        output_tokens: Generated tokens (int64, >= 1); hidden from the dispatcher until done.
        input_bytes: ``input_tokens * bytes_per_token + overhead_bytes`` (float64).
        output_bytes: ``output_tokens * bytes_per_token + overhead_bytes`` (float64).
        deadline_s: Absolute deadline, seconds since the epoch; ``inf`` when none.
    """

    arrival_s: np.ndarray
    origin: np.ndarray
    model: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    input_bytes: np.ndarray
    output_bytes: np.ndarray
    deadline_s: np.ndarray

    @property
    def size(self) -> int:
        """Number of jobs.

        >>> z = np.zeros(3)
        >>> JobBatch(z, z, z, z, z, z, z, z).size
        3
        """
        return int(self.arrival_s.shape[0])


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
                header_text = _show(",".join(names))
                raise ConfigError(f"{p}:1: missing column(s) {', '.join(missing)} ({header_text})")
            cols = [names.index(c) for c in TRACE_COLUMNS]
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if len(row) != len(names):
                    raise ConfigError(
                        f"{p}:{reader.line_num}: expected {len(names)} fields, got {len(row)}: "
                        f"{_show(','.join(row))}"
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
                    f"{path}:{line[i]}: TIMESTAMP: cannot parse {_show(texts[i])} "
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
            f"{path}:{line[i]}: {column}: {what}: {_show(texts[i])} "
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


def _check(field: str, value: float, *, positive: bool = False) -> float:
    """``value`` as a float, finite and >= 0 (> 0 if ``positive``), else :class:`ConfigError`."""
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(
            f"{field}: expected a finite {'> 0' if positive else '>= 0'}, got {value}"
        )
    return value


def poisson_times(rate_per_s: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a homogeneous Poisson process in ``[0, duration_s)``.

    Draws the count (one Poisson variate), then that many uniform times.

    >>> t = poisson_times(2.0, 100.0, np.random.default_rng(1))
    >>> bool(np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < 100.0)
    True
    """
    rate, duration = _check("rate_per_s", rate_per_s), _check("duration_s", duration_s)
    check_count("jobs", rate * duration, "rate_per_s", f"{rate:g}/s × {duration:g} s")
    n = int(rng.poisson(rate * duration))
    return np.sort(rng.uniform(0.0, duration, n))


def diurnal_times(
    rate_per_s: float,
    duration_s: float,
    rng: np.random.Generator,
    *,
    epoch: datetime,
    lon_deg: float,
    amplitude: float,
    peak_hour: float,
) -> np.ndarray:
    """Arrival times of a Poisson process whose rate follows local mean solar time.

    The rate is ``rate_per_s * (1 + amplitude * cos(2π (h(t) − peak_hour) / 24))`` with
    ``h(t)`` the local mean solar hour at ``lon_deg`` (UTC hour + lon/15, mod 24), so its mean
    over a whole day is ``rate_per_s``. Sampled by thinning a process at the peak rate: draws
    :func:`poisson_times` at ``rate_per_s * (1 + amplitude)``, then one uniform per candidate.

    >>> from datetime import datetime, timezone
    >>> t = diurnal_times(0.1, 86400.0, np.random.default_rng(0), lon_deg=120.0,
    ...     epoch=datetime(2025, 6, 1, tzinfo=timezone.utc), amplitude=0.8, peak_hour=14.0)
    >>> 8000 < t.size < 9300
    True
    """
    rate = _check("rate_per_s", rate_per_s)
    amp = _check("amplitude", amplitude)
    if amp > 1:
        raise ConfigError(f"amplitude: expected a value in [0, 1], got {amp}")
    epoch = require_utc(epoch)
    hour0 = epoch.hour + epoch.minute / 60 + (epoch.second + epoch.microsecond * 1e-6) / 3600
    candidates = poisson_times(rate * (1.0 + amp), duration_s, rng)
    u = rng.random(candidates.size)
    hour = (hour0 + candidates / HOUR_S + float(lon_deg) / 15.0) % 24.0
    relative = 1.0 + amp * np.cos(2.0 * np.pi * (hour - float(peak_hour)) / 24.0)
    return candidates[u * (1.0 + amp) < relative]


def trace_times(
    trace: Trace,
    duration_s: float,
    *,
    time_scale: float = 1.0,
    loop: bool = True,
    start_row: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Replay a trace: arrival times in ``[0, duration_s)`` and the trace row of each.

    The request of row ``start_row`` arrives at 0 and offsets are divided by ``time_scale``
    (2 = twice as fast). The replay runs to the last row, then wraps around to rows
    ``0 .. start_row - 1``, as if the trace were a loop of period ``span / time_scale + mean
    gap`` (the mean gap keeps the seam as dense as the rest). With ``loop`` the whole
    sequence repeats with that period; without it each row is replayed at most once.
    Looping or a ``start_row`` other than 0 needs at least two rows and a positive span.
    No randomness.

    >>> trace = Trace(np.array([0.0, 2.0, 4.0]), np.array([5, 6, 7]), np.array([1, 2, 3]))
    >>> t, rows = trace_times(trace, 7.0, time_scale=2.0)  # period 4 s / 2 + 1 s mean gap
    >>> t.tolist(), rows.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0, 1, 2, 0, 1, 2, 0])
    >>> t, rows = trace_times(trace, 7.0, time_scale=2.0, start_row=2)
    >>> t.tolist(), rows.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 0, 1, 2, 0, 1, 2])
    """
    duration = _check("duration_s", duration_s)
    scale = _check("time_scale", time_scale, positive=True)
    if (
        isinstance(start_row, bool)
        or not isinstance(start_row, (int, np.integer))
        or not (0 <= start_row < max(trace.size, 1))
    ):
        raise ConfigError(
            f"{trace.source}: start_row: expected an integer in [0, {trace.size}), "
            f"got {start_row!r}"
        )
    base = (trace.offset_s - trace.offset_s[0]) / scale if trace.size else trace.offset_s
    rows = np.arange(trace.size, dtype=np.int64)
    wrap = start_row > 0 or (loop and duration > 0)
    if wrap and (trace.size < 2 or trace.span_s <= 0):
        raise ConfigError(
            f"{trace.source}: cannot loop or start a trace at a later row with < 2 rows or "
            "zero span"
        )
    period = trace.span_s / scale * trace.size / (trace.size - 1) if wrap else 0.0
    if start_row > 0:
        base = np.concatenate([base[start_row:], base[:start_row] + period]) - base[start_row]
        rows = np.roll(rows, -start_row)
    if loop and duration > 0:
        period = trace.span_s / scale * trace.size / (trace.size - 1)
        check_count(
            "jobs", duration / period * trace.size, trace.source,
            f"{trace.size} rows spanning {trace.span_s:g} s, looped over {duration:g} s at "
            f"time_scale × load {scale:g},",
            hint="give a trace with a longer span, or lower episode.duration_s or the load",
        )  # fmt: skip
        repeats = max(1, math.ceil(duration / period))
        base = (base[None, :] + period * np.arange(repeats)[:, None]).ravel()
        rows = np.tile(rows, repeats)
    keep = base < duration
    return base[keep], rows[keep]


def _weights(field: str, weights: Sequence[float], n: int) -> np.ndarray:
    """Normalised non-negative weights with a positive sum."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError(f"{field}: expected {n} non-negative weights, sum > 0, got {w}")
    return w / w.sum()


def _index(field: str, name: str, names: Sequence[str]) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        raise ConfigError(f"{field}: unknown name {name!r} (known: {_show(list(names))})") from None


def _path(field: str, path: Path | None) -> Path:
    if path is None:
        raise ConfigError(f"{field}: required, got None")
    return Path(path)


def generate_jobs(
    workload: WorkloadSpec,
    *,
    station_names: Sequence[str],
    station_lon_deg: ArrayLike,
    model_names: Sequence[str],
    epoch: datetime,
    duration_s: float,
    rng: np.random.Generator,
    onboard_satellites: Sequence[int] = (),
) -> JobBatch:
    """Draw one episode's jobs, arriving in ``[0, duration_s)``.

    Origins are ``workload.origins`` (default: every station) with ``origin_weights``
    (default: equal). ``workload.load`` multiplies the arrival rate; for trace replay it
    multiplies the replay speed (``time_scale * load``). Arrival processes:

    - ``poisson``: one process at ``rate_per_s * load``; origins drawn by weight.
    - ``diurnal``: one :func:`diurnal_times` process per origin at ``rate_per_s * load *
      weight`` and that origin's longitude, merged (stable sort on time).
    - ``trace``: :func:`trace_times`; the trace rows give the tokens (context → input,
      generated → output, clipped to ``[1, max_tokens]`` with a ``TraceTokensWarning`` for
      rows above); origins drawn by weight. The replay starts at row 0
      (``arrivals.trace_start: first``) or at a row drawn from ``rng`` (``random``; the replay
      wraps around the trace's end).

    For poisson/diurnal, tokens are lognormal (rounded, clipped to ``[1, max_tokens]``) or
    ``(context, generated)`` pairs of ``tokens.trace_file`` resampled with replacement
    (clipped to ``[1, max_tokens]`` as well). Models are drawn by ``workload.models`` shares
    (empty = model 0).

    Random draws, in this order: the trace start row (only for ``trace_start: random``);
    arrivals (for diurnal, one process per origin in origin
    order); origins (poisson, trace); tokens (lognormal: all inputs, then all outputs; trace
    resampling: one row index per job); models (none when ``workload.models`` is empty);
    then, when ``workload.onboard_fraction > 0``, which jobs are generated on board and on
    which of ``onboard_satellites`` (their origin becomes ``onboard_origin(sat)``). The same
    generator state therefore gives a bit-identical batch.

    >>> from datetime import datetime, timezone
    >>> from envs.scenario.schema import ArrivalSpec, WorkloadSpec
    >>> spec = WorkloadSpec(arrivals=ArrivalSpec("poisson", rate_per_s=0.5), deadline_s=600.0)
    >>> jobs = generate_jobs(spec, station_names=["A", "B"], station_lon_deg=[0.0, 120.0],
    ...     model_names=["llm-8b"], epoch=datetime(2025, 6, 1, tzinfo=timezone.utc),
    ...     duration_s=3600.0, rng=np.random.default_rng(0))
    >>> 1500 < jobs.size < 2100, bool(np.all(jobs.deadline_s == jobs.arrival_s + 600.0))
    (True, True)
    """
    arr, tok = workload.arrivals, workload.tokens
    duration = _check("duration_s", duration_s)
    load = _check("workload.load", workload.load)
    rate = _check("workload.arrivals.rate_per_s", arr.rate_per_s) * load
    per_token = _check("workload.bytes_per_token", workload.bytes_per_token)
    overhead = _check("workload.overhead_bytes", workload.overhead_bytes)
    epoch = require_utc(epoch)
    lon = np.asarray(station_lon_deg, dtype=np.float64)
    if not station_names or lon.shape != (len(station_names),):
        raise ConfigError(
            f"station_lon_deg: expected one per station ({len(station_names)}), got {lon.shape}"
        )
    names = list(station_names) if workload.origins is None else list(workload.origins)
    if not names:
        raise ConfigError("workload.origins: expected at least one station name, got ()")
    origins = np.array(
        [_index(f"workload.origins[{i}]", s, station_names) for i, s in enumerate(names)]
    )
    weights = np.full(len(names), 1.0 / len(names))
    if workload.origin_weights is not None:
        weights = _weights("workload.origin_weights", workload.origin_weights, len(names))
    model_p = None
    if workload.models:
        model_p = np.zeros(len(model_names))
        shares = _weights("workload.models", [w for _, w in workload.models], len(workload.models))
        for i, ((name, _), share) in enumerate(zip(workload.models, shares, strict=True)):
            model_p[_index(f"workload.models[{i}]", name, model_names)] += share
    if arr.process not in ("poisson", "diurnal", "trace"):
        raise ConfigError(
            f"workload.arrivals.process: expected poisson, diurnal or trace, got {arr.process!r}"
        )
    trace = None  # the trace whose rows give the tokens
    start_row = 0
    if arr.process == "trace":
        trace = load_trace(_path("workload.arrivals.trace_file", arr.trace_file))
        scale = _check("workload.arrivals.time_scale", arr.time_scale, positive=True)
        if arr.trace_start == "random":
            start_row = int(rng.integers(0, trace.size))
        elif arr.trace_start != "first":
            raise ConfigError(
                f"workload.arrivals.trace_start: expected first or random, got {arr.trace_start!r}"
            )
    elif tok.source == "trace":
        trace = load_trace(_path("workload.tokens.trace_file", tok.trace_file))
    elif tok.source != "lognormal":
        raise ConfigError(
            f"workload.tokens.source: expected lognormal or trace, got {tok.source!r}"
        )

    if arr.process in ("poisson", "diurnal"):  # before drawing (the peak rate for diurnal)
        peak = 1.0 + (arr.amplitude if arr.process == "diurnal" else 0.0)
        check_count(
            "jobs", rate * peak * duration, "workload.arrivals.rate_per_s",
            f"{arr.rate_per_s:g} jobs/s × load {load:g} × duration_s {duration:g} s",
        )  # fmt: skip
    rows = None
    if arr.process == "diurnal":
        solar = {"epoch": epoch, "amplitude": arr.amplitude, "peak_hour": arr.peak_hour}
        parts = [
            diurnal_times(rate * w, duration, rng, lon_deg=lon[o], **solar)
            for o, w in zip(origins, weights, strict=True)
        ]
        arrival = np.concatenate(parts)
        order = np.argsort(arrival, kind="stable")
        arrival, origin = arrival[order], np.repeat(origins, [p.size for p in parts])[order]
    else:
        if arr.process == "poisson":
            arrival = poisson_times(rate, duration, rng)
        elif load > 0:
            arrival, rows = trace_times(
                trace, duration, time_scale=scale * load, loop=arr.loop, start_row=start_row
            )
        else:
            arrival, rows = np.zeros(0), np.zeros(0, dtype=np.int64)
        origin = origins[rng.choice(origins.size, size=arrival.size, p=weights)]
    n = arrival.size
    if trace is not None:
        if rows is None:
            rows = rng.integers(0, trace.size, size=n)
        cap, where = int(tok.max_tokens), trace.source
        input_tokens = clip_trace_tokens(
            trace.context_tokens, cap, source=where, column="ContextTokens"
        )[rows]
        output_tokens = clip_trace_tokens(
            trace.generated_tokens, cap, source=where, column="GeneratedTokens"
        )[rows]
    else:
        input_tokens = _lognormal_tokens(rng, "input", tok.input_median, tok.input_sigma, n, tok)
        output_tokens = _lognormal_tokens(
            rng, "output", tok.output_median, tok.output_sigma, n, tok
        )
    if model_p is None:
        model = np.zeros(n, dtype=np.int64)
    else:
        model = rng.choice(model_p.size, size=n, p=model_p).astype(np.int64)
    fraction = workload.onboard_fraction
    if fraction > 0:
        if len(onboard_satellites) == 0:
            raise ConfigError(
                f"workload.onboard_fraction: {fraction} needs satellites that can compute the "
                "workload's models, got none"
            )
        # Drawn last, so scenarios without on-board jobs keep their exact arrivals.
        on_board = rng.random(n) < fraction
        sats = np.asarray(onboard_satellites, dtype=np.int64)[
            rng.integers(0, len(onboard_satellites), size=n)
        ]
        origin = np.where(on_board, onboard_origin(sats), origin)
    deadline = np.full(n, np.inf)
    if workload.deadline_s is not None:
        deadline = arrival + _check("workload.deadline_s", workload.deadline_s)
    return JobBatch(
        arrival_s=arrival.astype(np.float64),
        origin=origin.astype(np.int64),
        model=model,
        input_tokens=input_tokens.astype(np.int64),
        output_tokens=output_tokens.astype(np.int64),
        input_bytes=input_tokens * per_token + overhead,
        output_bytes=output_tokens * per_token + overhead,
        deadline_s=deadline,
    )


def _lognormal_tokens(
    rng: np.random.Generator, which: str, median: float, sigma: float, n: int, tok: TokenSpec
) -> np.ndarray:
    """``n`` lognormal token counts, rounded and clipped to ``[1, tok.max_tokens]``."""
    median = _check(f"workload.tokens.{which}_median", median, positive=True)
    sigma = _check(f"workload.tokens.{which}_sigma", sigma)
    max_tokens = _check("workload.tokens.max_tokens", tok.max_tokens, positive=True)
    draws = rng.lognormal(math.log(median), sigma, size=n)
    return np.clip(np.rint(draws), 1, max(max_tokens, 1)).astype(np.int64)
