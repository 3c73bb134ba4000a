"""Inference jobs: the per-episode job batch, arrival processes and request-trace replay.

A job is an inference request that arrives at a ground station (its *origin*) at a time, for
one model, with a prompt of known length and an output whose length the dispatcher only learns
when the job completes. :func:`generate_jobs` turns a validated :class:`WorkloadSpec` into a
:class:`JobBatch` for one episode, drawing every random number from the generator it is given.

Arrivals are a homogeneous Poisson process (:func:`poisson_times`), a Poisson process whose rate
follows each origin's local solar time (:func:`diurnal_times`), or the replay of a request trace
in the Azure LLM inference format (:func:`trace_times`). The processes are ``envs.arrivals``
and the traces are read by ``envs.traces``; this module re-exports their names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from envs.arrivals import diurnal_times, finite_nonneg, poisson_times, trace_times
from envs.errors import ConfigError, show_value
from envs.limits import check_count
from envs.timeutil import require_utc
from envs.traces import (
    TRACE_COLUMNS,
    Trace,
    TraceTokensWarning,
    clip_trace_tokens,
    load_trace,
    write_trace,
)

if TYPE_CHECKING:
    from envs.scenario.schema import ArrivalSpec, TokenSpec, WorkloadSpec

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


def onboard_origin(sat: int | np.ndarray) -> int | np.ndarray:
    """Origin code of a job generated on board ``sat`` (negative; stations are >= 0).

    >>> onboard_origin(0), onboard_origin(5)
    (-1, -6)
    """
    return -1 - sat


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
        known = show_value(list(names))
        raise ConfigError(f"{field}: unknown name {name!r} (known: {known})") from None


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
    duration = finite_nonneg("duration_s", duration_s)
    load = finite_nonneg("workload.load", workload.load)
    rate = finite_nonneg("workload.arrivals.rate_per_s", arr.rate_per_s) * load
    per_token = finite_nonneg("workload.bytes_per_token", workload.bytes_per_token)
    overhead = finite_nonneg("workload.overhead_bytes", workload.overhead_bytes)
    epoch = require_utc(epoch)
    origins, weights, lon = _origins(workload, station_names, station_lon_deg)
    model_p = _model_shares(workload, model_names)
    trace, start_row = _replayed_trace(workload, rng)
    if arr.process in ("poisson", "diurnal"):  # before drawing (the peak rate for diurnal)
        peak = 1.0 + (arr.amplitude if arr.process == "diurnal" else 0.0)
        check_count(
            "jobs", rate * peak * duration, "workload.arrivals.rate_per_s",
            f"{arr.rate_per_s:g} jobs/s × load {load:g} × duration_s {duration:g} s",
        )  # fmt: skip
    if arr.process == "diurnal":
        solar = {"epoch": epoch, "amplitude": arr.amplitude, "peak_hour": arr.peak_hour}
        arrival, origin = _diurnal_arrivals(rate, duration, rng, origins, weights, lon, solar)
        rows = None
    else:
        arrival, rows = _single_process_arrivals(arr, rate, load, duration, trace, start_row, rng)
        origin = origins[rng.choice(origins.size, size=arrival.size, p=weights)]
    n = arrival.size
    input_tokens, output_tokens = _tokens(tok, trace, rows, n, rng)
    if model_p is None:
        model = np.zeros(n, dtype=np.int64)
    else:
        model = rng.choice(model_p.size, size=n, p=model_p).astype(np.int64)
    if workload.onboard_fraction > 0:
        # Drawn last, so scenarios without on-board jobs keep their exact arrivals.
        origin = _onboard(workload.onboard_fraction, onboard_satellites, origin, rng)
    deadline = np.full(n, np.inf)
    if workload.deadline_s is not None:
        deadline = arrival + finite_nonneg("workload.deadline_s", workload.deadline_s)
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


# --- the steps of generate_jobs, in the order it takes them ---------------------------------


def _origins(
    workload: WorkloadSpec, station_names: Sequence[str], station_lon_deg: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(origin station indices, their weights, every station's longitude)``."""
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
    return origins, weights, lon


def _model_shares(workload: WorkloadSpec, model_names: Sequence[str]) -> np.ndarray | None:
    """Probability of each model (``None``: every job uses model 0)."""
    if not workload.models:
        return None
    model_p = np.zeros(len(model_names))
    shares = _weights("workload.models", [w for _, w in workload.models], len(workload.models))
    for i, ((name, _), share) in enumerate(zip(workload.models, shares, strict=True)):
        model_p[_index(f"workload.models[{i}]", name, model_names)] += share
    return model_p


def _replayed_trace(workload: WorkloadSpec, rng: np.random.Generator) -> tuple[Trace | None, int]:
    """The trace whose rows give the tokens (``None``: lognormal) and the replay's first row.

    The trace is the one the scenario loaded (``ArrivalSpec.trace()``, ``TokenSpec.trace()``);
    the first row is drawn from ``rng`` for ``trace_start: random``.
    """
    arr, tok = workload.arrivals, workload.tokens
    if arr.process not in ("poisson", "diurnal", "trace"):
        raise ConfigError(
            f"workload.arrivals.process: expected poisson, diurnal or trace, got {arr.process!r}"
        )
    if arr.process == "trace":
        _path("workload.arrivals.trace_file", arr.trace_file)
        trace = arr.trace()
        finite_nonneg("workload.arrivals.time_scale", arr.time_scale, positive=True)
        if arr.trace_start == "random":
            return trace, int(rng.integers(0, trace.size))
        if arr.trace_start != "first":
            raise ConfigError(
                f"workload.arrivals.trace_start: expected first or random, got {arr.trace_start!r}"
            )
        return trace, 0
    if tok.source == "trace":
        _path("workload.tokens.trace_file", tok.trace_file)
        return tok.trace(), 0
    if tok.source != "lognormal":
        raise ConfigError(
            f"workload.tokens.source: expected lognormal or trace, got {tok.source!r}"
        )
    return None, 0


def _diurnal_arrivals(
    rate: float,
    duration: float,
    rng: np.random.Generator,
    origins: np.ndarray,
    weights: np.ndarray,
    lon: np.ndarray,
    solar: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """One diurnal process per origin (in origin order), merged: ``(arrival, origin)``."""
    parts = [
        diurnal_times(rate * w, duration, rng, lon_deg=lon[o], **solar)
        for o, w in zip(origins, weights, strict=True)
    ]
    arrival = np.concatenate(parts)
    order = np.argsort(arrival, kind="stable")
    return arrival[order], np.repeat(origins, [p.size for p in parts])[order]


def _single_process_arrivals(
    arr: ArrivalSpec,
    rate: float,
    load: float,
    duration: float,
    trace: Trace | None,
    start_row: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Poisson arrivals, or the trace replayed: ``(arrival, trace rows or None)``."""
    if arr.process == "poisson":
        return poisson_times(rate, duration, rng), None
    if load > 0:
        scale = float(arr.time_scale)
        return trace_times(
            trace, duration, time_scale=scale * load, loop=arr.loop, start_row=start_row
        )
    return np.zeros(0), np.zeros(0, dtype=np.int64)


def _tokens(
    tok: TokenSpec,
    trace: Trace | None,
    rows: np.ndarray | None,
    n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``(input, output)`` tokens of ``n`` jobs: trace rows (replayed or resampled) or lognormal."""
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
        return input_tokens, output_tokens
    input_tokens = _lognormal_tokens(rng, "input", tok.input_median, tok.input_sigma, n, tok)
    output_tokens = _lognormal_tokens(rng, "output", tok.output_median, tok.output_sigma, n, tok)
    return input_tokens, output_tokens


def _onboard(
    fraction: float,
    onboard_satellites: Sequence[int],
    origin: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Origins with a ``fraction`` of the jobs generated on board ``onboard_satellites``."""
    if len(onboard_satellites) == 0:
        raise ConfigError(
            f"workload.onboard_fraction: {fraction} needs satellites that can compute the "
            "workload's models, got none"
        )
    on_board = rng.random(origin.size) < fraction
    sats = np.asarray(onboard_satellites, dtype=np.int64)[
        rng.integers(0, len(onboard_satellites), size=origin.size)
    ]
    return np.where(on_board, onboard_origin(sats), origin)


def _lognormal_tokens(
    rng: np.random.Generator, which: str, median: float, sigma: float, n: int, tok: TokenSpec
) -> np.ndarray:
    """``n`` lognormal token counts, rounded and clipped to ``[1, tok.max_tokens]``."""
    median = finite_nonneg(f"workload.tokens.{which}_median", median, positive=True)
    sigma = finite_nonneg(f"workload.tokens.{which}_sigma", sigma)
    max_tokens = finite_nonneg("workload.tokens.max_tokens", tok.max_tokens, positive=True)
    draws = rng.lognormal(math.log(median), sigma, size=n)
    return np.clip(np.rint(draws), 1, max(max_tokens, 1)).astype(np.int64)
