"""Write a small synthetic request trace in the Azure LLM inference (conversation) format.

The project ships this file instead of the real Azure trace (CC-BY data kept outside the
repository). Arrivals are a two-state Markov-modulated Poisson process (bursty, with a rate
that drifts over minutes as in the real trace); prompt and output lengths are independent
lognormals. The parameters below were fitted by eye to figures measured on the real trace.

Example (the file shipped as configs/traces/sample_conv.csv):
    constellation-dispatch sample-trace --rows 2000 --seed 7 --out configs/traces/sample_conv.csv

``python scripts/make_sample_trace.py`` is the same command (same options) in a checkout.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from envs.errors import ConfigError
from envs.jobs import Trace, write_trace
from envs.timeutil import parse_utc

# Measured once on AzureLLMInferenceTrace_conv.csv (Azure LLM inference trace 2023,
# conversation; 19,366 requests over 3,501.7 s):
# - arrivals: mean 5.53 req/s; inter-arrival mean 0.181 s, coefficient of variation 1.09;
#   requests per whole minute 191..507 (mean 328, sd 82, i.e. ~3.2..8.5 req/s): the rate
#   drifts over minutes, so counts in 10 s windows have variance/mean 4.0 (Poisson: 1).
# - ContextTokens: min 2, 5/25/50/75/95 % = 181/396/1020/1189/4083, max 14,050, sd(ln) 0.99.
# - GeneratedTokens: min 7, 5/25/50/75/95 % = 41/85/129/395/451, max 1,000, sd(ln) 0.86.
# - corr(ln context, ln generated) = 0.09, so the two are drawn independently.
RATE_PER_S = (4.0, 8.0)  # MMPP state rates (low, high) ...
MEAN_DWELL_S = (90.0, 60.0)  # ... and mean sojourns: stationary mean rate 5.6 req/s
CONTEXT_MEDIAN, CONTEXT_SIGMA, CONTEXT_RANGE = 1020.0, 0.99, (2, 14050)
GENERATED_MEDIAN, GENERATED_SIGMA, GENERATED_RANGE = 129.0, 0.86, (7, 1000)
DEFAULT_START = "2025-06-01T00:00:00Z"


def mmpp_times(rows: int, rng: np.random.Generator) -> np.ndarray:
    """The first ``rows`` arrival times (from 0) of the two-state MMPP above.

    Draws: the initial state (stationary), then per sojourn its length, its arrival count and
    that many uniform times. Loops over sojourns only (a few per hundred requests).
    """
    dwell = np.asarray(MEAN_DWELL_S)
    state = int(rng.random() >= dwell[0] / dwell.sum())
    parts: list[np.ndarray] = []
    start_s, total = 0.0, 0
    while total < rows:
        length_s = rng.exponential(dwell[state])
        count = int(rng.poisson(RATE_PER_S[state] * length_s))
        parts.append(start_s + np.sort(rng.uniform(0.0, length_s, count)))
        start_s, total, state = start_s + length_s, total + count, 1 - state
    times = np.concatenate(parts)[:rows]
    return times - times[0]


def lognormal_tokens(
    median: float, sigma: float, bounds: tuple[int, int], n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` lognormal token counts, rounded and clipped to ``bounds``."""
    draws = rng.lognormal(math.log(median), sigma, size=n)
    return np.clip(np.rint(draws), *bounds).astype(np.int64)


def sample_trace(rows: int, rng: np.random.Generator) -> Trace:
    """A synthetic conversation trace of ``rows`` requests (arrivals, then context, generated).

    >>> trace = sample_trace(500, np.random.default_rng(7))
    >>> trace.size, bool(trace.offset_s[0] == 0 and np.all(np.diff(trace.offset_s) >= 0))
    (500, True)
    """
    if rows < 1:
        raise ConfigError(f"--rows: expected >= 1, got {rows}")
    offset_s = mmpp_times(rows, rng)
    context = lognormal_tokens(CONTEXT_MEDIAN, CONTEXT_SIGMA, CONTEXT_RANGE, rows, rng)
    generated = lognormal_tokens(GENERATED_MEDIAN, GENERATED_SIGMA, GENERATED_RANGE, rows, rng)
    return Trace(offset_s, context, generated, source="synthetic")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's options; ``prog`` is the name its usage line shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write a synthetic request trace (TIMESTAMP,ContextTokens,GeneratedTokens) "
        "with bursty arrivals and lognormal token counts like the Azure conversation trace.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=2000, help="Number of requests.")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the random generator.")
    parser.add_argument("--start", default=DEFAULT_START, help="First timestamp, ISO 8601 UTC.")
    parser.add_argument("--out", type=Path, required=True, help="Output CSV file.")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command; its exit status (bad input raises a one-line error)."""
    args = build_parser(prog).parse_args(argv)
    start = parse_utc(args.start, "--start")
    trace = sample_trace(args.rows, np.random.default_rng(args.seed))
    write_trace(args.out, trace, start)
    rate = (trace.size - 1) / trace.span_s if trace.span_s > 0 else float("nan")
    print(f"wrote {trace.size} requests over {trace.span_s:.1f} s ({rate:.2f} req/s) to {args.out}")
    return 0

