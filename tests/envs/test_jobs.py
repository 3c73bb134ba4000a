"""envs.jobs: job batches, arrival processes and request-trace replay."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from envs.errors import ConfigError
from envs.jobs import (
    JobBatch,
    Trace,
    diurnal_times,
    generate_jobs,
    load_trace,
    poisson_times,
    trace_times,
    write_trace,
)
from envs.scenario.schema import ArrivalSpec, TokenSpec, WorkloadSpec
from tests.scripts_loader import load_script

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "configs" / "traces" / "sample_conv.csv"
EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)
STATIONS = ["beijing", "kashgar", "sanya"]
LONS = [116.4, 75.99, 109.5]
MODELS = ["llm-8b", "llm-70b", "vlm-7b"]
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def jobs_for(workload: WorkloadSpec, seed: int = 0, duration_s: float = 3600.0) -> JobBatch:
    return generate_jobs(
        workload,
        station_names=STATIONS,
        station_lon_deg=LONS,
        model_names=MODELS,
        epoch=EPOCH,
        duration_s=duration_s,
        rng=np.random.default_rng(seed),
    )


def within_sigmas(count: float, expected: float, sigma: float, k: float = 5.0) -> bool:
    return abs(count - expected) <= k * sigma


WORKLOADS = {
    "poisson": WorkloadSpec(
        arrivals=ArrivalSpec("poisson", rate_per_s=0.2),
        models=(("llm-8b", 3.0), ("vlm-7b", 1.0)),
        origin_weights=(1.0, 2.0, 3.0),
        deadline_s=900.0,
    ),
    "diurnal": WorkloadSpec(
        arrivals=ArrivalSpec("diurnal", rate_per_s=0.2, amplitude=0.7),
        tokens=TokenSpec(source="trace", trace_file=SAMPLE),
        models=(("llm-70b", 1.0), ("llm-8b", 1.0)),
    ),
    "trace": WorkloadSpec(
        arrivals=ArrivalSpec("trace", trace_file=SAMPLE, time_scale=0.5),
        models=(("llm-8b", 1.0), ("llm-70b", 1.0)),
        load=1.5,
    ),
}


# --- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("process", sorted(WORKLOADS))
def test_same_seed_gives_bit_identical_batch_and_other_seeds_differ(process):
    first, again, other = (jobs_for(WORKLOADS[process], seed) for seed in (11, 11, 12))
    assert first.size > 100
    for name in JobBatch._fields:
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    assert not all(
        np.array_equal(getattr(first, name), getattr(other, name)) for name in JobBatch._fields
    )


@pytest.mark.parametrize("process", sorted(WORKLOADS))
def test_batch_is_sorted_typed_and_inside_the_episode(process):
    jobs = jobs_for(WORKLOADS[process], duration_s=7200.0)
    assert np.all(np.diff(jobs.arrival_s) >= 0)
    assert jobs.arrival_s.min() >= 0 and jobs.arrival_s.max() < 7200.0
    assert jobs.origin.dtype == jobs.model.dtype == jobs.input_tokens.dtype == np.int64
    assert jobs.arrival_s.dtype == jobs.input_bytes.dtype == jobs.deadline_s.dtype == np.float64
    assert jobs.input_tokens.min() >= 1 and jobs.output_tokens.min() >= 1
    assert len({getattr(jobs, f).shape for f in JobBatch._fields}) == 1
    assert len(jobs) == len(JobBatch._fields) and jobs.size == jobs.arrival_s.size


# --- arrival processes -------------------------------------------------------------------------


def test_poisson_count_matches_rate_times_duration_and_times_are_sorted_in_range():
    rate, duration = 3.0, 5000.0
    t = poisson_times(rate, duration, np.random.default_rng(3))
    assert within_sigmas(t.size, rate * duration, math.sqrt(rate * duration))
    assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < duration


def test_diurnal_mean_rate_over_whole_days_equals_the_nominal_rate():
    rate, duration = 0.05, 10 * 86400.0
    t = diurnal_times(
        rate, duration, np.random.default_rng(5),
        epoch=EPOCH, lon_deg=-70.0, amplitude=0.9, peak_hour=14.0,
    )  # fmt: skip
    assert within_sigmas(t.size, rate * duration, math.sqrt(rate * duration))
    assert np.all(np.diff(t) >= 0) and t.max() < duration


def utc_hour_window_count(t: np.ndarray, center_utc_h: float, half_width_h: float = 3.0) -> int:
    hours = (t / 3600.0) % 24.0  # the epoch is midnight UTC
    distance = np.abs((hours - center_utc_h + 12.0) % 24.0 - 12.0)
    return int(np.count_nonzero(distance < half_width_h))


def test_diurnal_peak_follows_local_solar_time_at_120_east():
    # Local peak 14 h at 120E (UTC+8) is 06 UTC; the trough is 18 UTC. A station at
    # Greenwich would have the opposite ordering of these two windows.
    t = diurnal_times(
        0.05, 4 * 86400.0, np.random.default_rng(9),
        epoch=EPOCH, lon_deg=120.0, amplitude=0.5, peak_hour=14.0,
    )  # fmt: skip
    peak, trough = utc_hour_window_count(t, 6.0), utc_hour_window_count(t, 18.0)
    # Expected: 4 d * 6 h * 3600 * 0.05 * (1 ± 0.5 * 0.900 (mean cos over ±3 h)) ≈ 6265 vs 2375.
    assert peak > trough + 5 * math.sqrt(peak + trough)


def test_diurnal_jobs_peak_at_each_origins_own_local_time():
    workload = WorkloadSpec(
        arrivals=ArrivalSpec("diurnal", rate_per_s=0.1, amplitude=1.0, peak_hour=12.0),
        origins=("kashgar", "beijing"),
    )
    jobs = jobs_for(workload, seed=4, duration_s=3 * 86400.0)
    for station, lon in (("kashgar", 75.99), ("beijing", 116.4)):
        t = jobs.arrival_s[jobs.origin == STATIONS.index(station)]
        noon_utc = (12.0 - lon / 15.0) % 24.0
        assert utc_hour_window_count(t, noon_utc) > 3 * utc_hour_window_count(t, noon_utc + 12)
    assert within_sigmas(jobs.size, 0.1 * 3 * 86400.0, math.sqrt(0.1 * 3 * 86400.0))


def test_trace_times_with_time_scale_two_halves_the_offsets():
    trace = load_trace(SAMPLE)
    t, rows = trace_times(trace, 1e9, time_scale=2.0, loop=False)
    assert np.array_equal(rows, np.arange(trace.size))
    np.testing.assert_allclose(t, trace.offset_s / 2.0)


def test_trace_loop_fills_a_duration_longer_than_the_trace():
    trace = load_trace(SAMPLE)
    duration = 3.5 * trace.span_s
    t, rows = trace_times(trace, duration)
    assert np.all(np.diff(t) > 0 - 1e-12) and t.max() < duration
    assert t.max() > duration - 5.0  # no gap at the end
    mean_gap = trace.span_s / (trace.size - 1)
    assert np.max(np.diff(t)) <= np.max(np.diff(trace.offset_s)) + 1e-9  # seams are not gaps
    assert t[trace.size] == pytest.approx(trace.span_s + mean_gap)
    assert np.array_equal(rows[: 3 * trace.size], np.tile(np.arange(trace.size), 3))
    once, _ = trace_times(trace, duration, loop=False)
    assert once.size == trace.size


def test_trace_load_multiplies_replay_speed():
    base = WorkloadSpec(arrivals=ArrivalSpec("trace", trace_file=SAMPLE, time_scale=1.0))
    faster = WorkloadSpec(arrivals=base.arrivals, load=3.0)
    scaled = WorkloadSpec(arrivals=ArrivalSpec("trace", trace_file=SAMPLE, time_scale=3.0))
    slow, fast, same = (jobs_for(w, duration_s=200.0) for w in (base, faster, scaled))
    assert fast.size == pytest.approx(3 * slow.size, rel=0.1)
    assert np.array_equal(fast.arrival_s, same.arrival_s)
    assert np.array_equal(fast.input_tokens, same.input_tokens)


def test_trace_jobs_take_tokens_from_trace_rows():
    trace = load_trace(SAMPLE)
    jobs = jobs_for(WorkloadSpec(arrivals=ArrivalSpec("trace", trace_file=SAMPLE)), 1, 100.0)
    k = jobs.size
    assert k == np.count_nonzero(trace.offset_s < 100.0)
    assert np.array_equal(jobs.input_tokens, np.maximum(trace.context_tokens[:k], 1))
    assert np.array_equal(jobs.output_tokens, np.maximum(trace.generated_tokens[:k], 1))


def test_trace_started_at_a_later_row_wraps_around_to_the_rows_before_it():
    trace = load_trace(SAMPLE)
    start = 1500
    t, rows = trace_times(trace, 1e9, loop=False, start_row=start)
    order = np.r_[np.arange(start, trace.size), np.arange(start)]
    assert np.array_equal(rows, order)  # every row once, from the start row on
    assert t[0] == 0.0 and np.all(np.diff(t) >= 0)
    np.testing.assert_allclose(
        t[: trace.size - start], trace.offset_s[start:] - trace.offset_s[start]
    )
    mean_gap = trace.span_s / (trace.size - 1)  # the seam is one mean gap, as in a loop
    seam = trace.size - start
    assert t[seam] - t[seam - 1] == pytest.approx(mean_gap)
    looped, looped_rows = trace_times(trace, 3 * trace.span_s, start_row=start)
    assert np.array_equal(looped_rows[: 2 * trace.size], np.tile(order, 2))
    assert looped.max() < 3 * trace.span_s


@pytest.mark.parametrize("bad", [-1, 2000, 1.5, True])
def test_trace_start_row_outside_the_trace_raises_config_error_naming_it(bad):
    with pytest.raises(ConfigError, match="start_row"):
        trace_times(load_trace(SAMPLE), 10.0, start_row=bad)


def test_random_trace_start_differs_between_seeds_and_repeats_for_one_seed():
    spec = WorkloadSpec(arrivals=ArrivalSpec("trace", trace_file=SAMPLE, trace_start="random"))
    trace = load_trace(SAMPLE)
    firsts = []
    for seed in range(8):
        jobs = jobs_for(spec, seed, 60.0)
        again = jobs_for(spec, seed, 60.0)
        assert all(np.array_equal(a, b) for a, b in zip(jobs, again, strict=True))
        rows = np.flatnonzero(
            (np.maximum(trace.context_tokens, 1) == jobs.input_tokens[0])
            & (np.maximum(trace.generated_tokens, 1) == jobs.output_tokens[0])
        )
        firsts.append(int(rows[0]))
        assert jobs.arrival_s[0] == 0.0
    assert len(set(firsts)) >= 7


def test_first_trace_start_replays_from_row_zero_for_every_seed():
    spec = WorkloadSpec(arrivals=ArrivalSpec("trace", trace_file=SAMPLE))
    assert spec.arrivals.trace_start == "first"
    trace = load_trace(SAMPLE)
    for seed in range(3):
        jobs = jobs_for(spec, seed, 60.0)
        k = jobs.size
        assert np.array_equal(jobs.input_tokens, np.maximum(trace.context_tokens[:k], 1))


def test_token_resampling_keeps_context_and_generated_pairs_together():
    trace = load_trace(SAMPLE)
    pairs = set(zip(trace.context_tokens.tolist(), trace.generated_tokens.tolist(), strict=True))
    jobs = jobs_for(WORKLOADS["diurnal"])
    drawn = zip(jobs.input_tokens.tolist(), jobs.output_tokens.tolist(), strict=True)
    assert set(drawn) <= pairs


def test_lognormal_tokens_have_the_configured_median_and_are_clipped():
    tokens = TokenSpec(input_median=800.0, input_sigma=1.0, output_median=50.0, max_tokens=2000)
    jobs = jobs_for(WorkloadSpec(arrivals=ArrivalSpec(rate_per_s=2.0), tokens=tokens))
    assert np.median(jobs.input_tokens) == pytest.approx(800.0, rel=0.08)
    assert np.median(jobs.output_tokens) == pytest.approx(50.0, rel=0.08)
    assert jobs.input_tokens.max() == 2000 and jobs.output_tokens.min() >= 1


# --- traces on disk ----------------------------------------------------------------------------


def test_load_trace_reads_the_real_azure_conversation_trace(shared_data):
    path = shared_data / "traces" / "AzureLLMInferenceTrace_conv.csv"
    if not path.is_file():
        pytest.skip(f"Azure conversation trace missing: {path}")
    trace = load_trace(path)
    assert trace.size == 19366
    assert np.all(np.diff(trace.offset_s) >= 0) and trace.offset_s[0] == 0.0
    assert trace.span_s == pytest.approx(3501.721937, abs=1e-6)
    assert (trace.context_tokens.min(), trace.context_tokens.max()) == (2, 14050)
    assert (trace.generated_tokens.min(), trace.generated_tokens.max()) == (7, 1000)


def test_shipped_sample_trace_loads_and_looks_like_the_conversation_trace():
    assert SAMPLE.stat().st_size < 100_000
    trace = load_trace(SAMPLE)
    assert trace.size == 2000 and trace.source == str(SAMPLE)
    assert 3.0 < (trace.size - 1) / trace.span_s < 9.0
    assert 600 < np.median(trace.context_tokens) < 1600
    assert 80 < np.median(trace.generated_tokens) < 200


def test_shipped_sample_is_reproduced_by_its_script(tmp_path):
    module = load_script("make_sample_trace")
    out = tmp_path / "sample.csv"
    assert module.main(["--rows", "2000", "--seed", "7", "--out", str(out)]) == 0
    assert out.read_bytes() == SAMPLE.read_bytes()


def test_write_then_load_trace_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    offsets = np.concatenate([[0.0], np.cumsum(rng.exponential(0.3, 499))])
    offsets[7] = offsets[6]  # a tie is allowed
    trace = Trace(offsets, rng.integers(0, 5000, 500), rng.integers(0, 900, 500))
    path = tmp_path / "out" / "trace.csv"
    write_trace(path, trace, datetime(2023, 11, 16, 18, 15, 46, 680590, tzinfo=timezone.utc))
    first_row = path.read_text().splitlines()[1]
    assert first_row.startswith("2023-11-16 18:15:46.6805900,")
    back = load_trace(path)
    np.testing.assert_allclose(back.offset_s, trace.offset_s, rtol=0, atol=1e-7)
    assert np.array_equal(back.context_tokens, trace.context_tokens)
    assert np.array_equal(back.generated_tokens, trace.generated_tokens)


def test_load_trace_accepts_extra_columns_in_any_order(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "GeneratedTokens,region,TIMESTAMP,ContextTokens\n"
        "5,eu,2023-11-16 18:15:46.6805900,10\n\n"
        "6,us,2023-11-16 18:15:47.0000000,11"
    )
    trace = load_trace(path)
    assert trace.context_tokens.tolist() == [10, 11]
    assert trace.generated_tokens.tolist() == [5, 6]
    assert trace.offset_s.tolist() == pytest.approx([0.0, 0.31941])


ROW1 = "2023-11-16 18:15:46.6805900,374,44\n"
BAD_TRACES = {
    "missing column": ("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.6805900,374\n", [
        ":1:", "GeneratedTokens"]),
    "non-monotonic": (HEADER + ROW1 + "2023-11-16 18:15:47.0000000,1,1\n"
                      "2023-11-16 18:15:45.0000000,1,1\n", [":4:", "TIMESTAMP", "line 3"]),
    "negative tokens": (HEADER + ROW1 + "2023-11-16 18:15:47.0000000,-5,1\n", [
        ":3:", "ContextTokens", "negative", "'-5'"]),
    "non-numeric tokens": (HEADER + ROW1 + "2023-11-16 18:15:47.0000000,1,many\n", [
        ":3:", "GeneratedTokens", "'many'"]),
    "fractional tokens": (HEADER + ROW1 + "2023-11-16 18:15:47.0000000,1.5,1\n", [
        ":3:", "ContextTokens", "not an integer"]),
    "bad timestamp": (HEADER + ROW1 + "2023-11-16 25:15:47.0000000,1,1\n", [
        ":3:", "TIMESTAMP", "25:15:47"]),
    "date only": (HEADER + "2023-11-16,1,1\n", [":2:", "TIMESTAMP"]),
    "empty timestamp": (HEADER + ROW1 + ",1,1\n", [":3:", "TIMESTAMP"]),
    "short row": (HEADER + ROW1 + "2023-11-16 18:15:47.0000000,1\n", [":3:", "got 2"]),
    "header only": (HEADER, [":2:", "no data rows"]),
    "empty file": ("", [":1:", "empty file"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_TRACES))
def test_bad_trace_raises_one_line_error_naming_file_and_line(tmp_path, case):
    text, expected = BAD_TRACES[case]
    path = tmp_path / "bad_trace.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_trace(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for part in expected:
        assert part in message


def test_missing_trace_file_raises_config_error_naming_it(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(ConfigError) as info:
        load_trace(path)
    assert str(info.value) == f"{path}: trace file not found"


def test_trace_record_rejects_negative_or_fractional_tokens_and_unsorted_offsets():
    with pytest.raises(ConfigError, match=r"context_tokens\[1\]"):
        Trace(np.array([0.0, 1.0]), np.array([3, -1]), np.array([1, 1]))
    with pytest.raises(ConfigError, match=r"generated_tokens\[0\]"):
        Trace(np.array([0.0, 1.0]), np.array([3, 1]), np.array([1.5, 1]))
    with pytest.raises(ConfigError, match=r"offset_s\[2\]"):
        Trace(np.array([0.0, 2.0, 1.0]), np.array([1, 1, 1]), np.array([1, 1, 1]))


# --- generate_jobs semantics -------------------------------------------------------------------


def test_unknown_origin_name_raises_config_error_naming_it():
    workload = WorkloadSpec(origins=("beijing", "atlantis"))
    with pytest.raises(ConfigError, match=r"workload\.origins\[1\].*'atlantis'"):
        jobs_for(workload)


def test_unknown_model_name_raises_config_error_naming_it():
    workload = WorkloadSpec(models=(("llm-8b", 1.0), ("gpt-9", 1.0)))
    with pytest.raises(ConfigError, match=r"workload\.models\[1\].*'gpt-9'"):
        jobs_for(workload)


def test_unknown_arrival_process_raises_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"workload\.arrivals\.process.*'hawkes'"):
        jobs_for(WorkloadSpec(arrivals=ArrivalSpec("hawkes")))


def test_bytes_are_tokens_times_bytes_per_token_plus_overhead():
    workload = WorkloadSpec(bytes_per_token=3.5, overhead_bytes=700.0)
    jobs = jobs_for(workload)
    np.testing.assert_array_equal(jobs.input_bytes, jobs.input_tokens * 3.5 + 700.0)
    np.testing.assert_array_equal(jobs.output_bytes, jobs.output_tokens * 3.5 + 700.0)


def test_deadline_is_infinite_without_one_and_arrival_plus_deadline_with_one():
    assert np.all(np.isinf(jobs_for(WorkloadSpec()).deadline_s))
    jobs = jobs_for(WorkloadSpec(deadline_s=1800.0))
    np.testing.assert_array_equal(jobs.deadline_s, jobs.arrival_s + 1800.0)


def test_model_shares_match_weights_and_no_models_means_model_zero():
    workload = WorkloadSpec(
        arrivals=ArrivalSpec(rate_per_s=2.0), models=(("vlm-7b", 1.0), ("llm-70b", 3.0))
    )
    jobs = jobs_for(workload)
    n = jobs.size
    assert np.count_nonzero(jobs.model == 0) == 0
    for index, share in ((2, 0.25), (1, 0.75)):
        hits = np.count_nonzero(jobs.model == index)
        assert within_sigmas(hits, n * share, math.sqrt(n * share * (1 - share)))
    assert np.all(jobs_for(WorkloadSpec()).model == 0)


def test_origin_shares_match_weights_and_default_to_all_stations():
    workload = WorkloadSpec(
        arrivals=ArrivalSpec(rate_per_s=2.0),
        origins=("sanya", "beijing"),
        origin_weights=(1.0, 4.0),
    )
    jobs = jobs_for(workload)
    n = jobs.size
    assert set(np.unique(jobs.origin).tolist()) == {0, 2}
    hits = np.count_nonzero(jobs.origin == 0)
    assert within_sigmas(hits, 0.8 * n, math.sqrt(n * 0.8 * 0.2))
    everywhere = jobs_for(WorkloadSpec(arrivals=ArrivalSpec(rate_per_s=2.0)))
    assert set(np.unique(everywhere.origin).tolist()) == {0, 1, 2}


def test_load_multiplies_poisson_rate():
    light = jobs_for(WorkloadSpec(arrivals=ArrivalSpec(rate_per_s=0.5)))
    heavy = jobs_for(WorkloadSpec(arrivals=ArrivalSpec(rate_per_s=0.5), load=4.0))
    assert within_sigmas(heavy.size, 4 * 0.5 * 3600.0, math.sqrt(4 * 0.5 * 3600.0))
    assert within_sigmas(light.size, 0.5 * 3600.0, math.sqrt(0.5 * 3600.0))


def test_arrival_processes_refuse_to_draw_more_jobs_than_the_limit(monkeypatch):
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=r"rate_per_s: 1e\+06/s × 3600 s is about 3\.6e\+09"):
        poisson_times(1.0e6, 3600.0, rng)
    with pytest.raises(ConfigError, match="CONSTELLATION_DISPATCH_MAX_JOBS"):
        epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)
        diurnal_times(1.0e6, 3600.0, rng, epoch=epoch, lon_deg=0.0, amplitude=0.5, peak_hour=14)
    monkeypatch.setenv("CONSTELLATION_DISPATCH_MAX_JOBS", "10")
    with pytest.raises(ConfigError, match="above the limit of 10"):
        trace_times(Trace(np.array([0.0, 1.0]), np.array([5, 6]), np.array([1, 2])), 100.0)
    assert (
        len(trace_times(Trace(np.array([0.0, 1.0]), np.array([5, 6]), np.array([1, 2])), 4.0)[0])
        == 4
    )


def test_a_scenarios_trace_is_read_when_it_loads_and_never_again_at_reset(monkeypatch, toy_world):
    from envs.dispatch_env import ConstellationDispatchEnv
    from envs.scenario import load_scenario

    opened: list[str] = []
    real_open = Path.open

    def counting_open(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    arrivals = {"process": "trace", "trace_file": str(SAMPLE), "trace_start": "random"}
    scenario = load_scenario("toy", {"workload.arrivals": arrivals})
    assert opened.count(SAMPLE.name) == 1
    env = ConstellationDispatchEnv(scenario, world=toy_world)
    at_init = opened.count(SAMPLE.name)
    for seed in range(3):
        env.reset(seed=seed)
    assert env.sim.n_jobs > 0
    assert opened.count(SAMPLE.name) == at_init  # every reset replays the loaded trace
