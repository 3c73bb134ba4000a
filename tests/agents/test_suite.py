"""agents.suite: the suite file, the per-cell best heuristic, ratios, gap closed, skipped cells."""

from __future__ import annotations

import json
import math
import re
from io import StringIO
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from agents.heuristics import HEURISTICS
from agents.suite import (
    HELD_OUT_SEED,
    SHARED_DATA_VAR,
    SUITE_COLUMNS,
    SUITE_DIR,
    default_agents,
    load_suite,
    print_suite,
    reading,
    run_suite,
    suite_agents,
    write_suite,
)
from envs.errors import ConfigError
from tests.scripts_loader import read_csv


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    result = run_suite(load_suite(SUITE_DIR / "smoke.yaml"), progress=False, out_dir=out,
                       plots=False)  # fmt: skip
    write_suite(result, out)
    return result, out


def test_default_agents_are_every_heuristic_but_the_reference_oracle():
    assert default_agents() == tuple(name for name in HEURISTICS if name != "oracle")
    assert load_suite(SUITE_DIR / "smoke.yaml").agents == default_agents()


def test_the_best_heuristic_of_each_cell_has_the_lowest_cost_in_its_summary(smoke):
    result, out = smoke
    assert {(r["label"], r["load"]) for r in result.rows} == {
        ("toy", 1.0),
        ("toy", 2.0),
        ("star_compute_12", 1.0),
    }
    for outcome in result.outcomes:
        folder = out / "cells" / f"{outcome.index:02d}_{outcome.cell.label}"
        summary = read_csv(folder / "summary.csv")
        for load in outcome.cell.loads:
            costs = {r["agent"]: float(r["cost_per_job_s"]) for r in summary
                     if float(r["load"]) == load and r["agent"] in default_agents()}  # fmt: skip
            rows = [r for r in result.rows if r["cell"] == outcome.index and r["load"] == load]
            (best,) = {r["best_heuristic"] for r in rows}
            assert costs[best] == min(costs.values())
            # ties go to the first agent in the suite's order
            assert best == next(a for a in default_agents() if costs[a] == min(costs.values()))
            comparison = [r for r in read_csv(folder / "comparison.csv")
                          if float(r["load"]) == load]  # fmt: skip
            assert comparison and {r["reference"] for r in comparison} == {best}


def test_the_best_heuristic_is_exactly_one_times_itself_and_closes_no_gap(smoke):
    result, _ = smoke
    best_rows = [r for r in result.rows if r["agent"] == r["best_heuristic"]]
    assert len(best_rows) == 3
    for r in best_rows:
        assert r["ratio_to_best_heuristic"] == r["ratio_low"] == r["ratio_high"] == 1.0
        assert r["gap_closed"] == 0.0


def test_ratios_and_gap_closed_follow_the_cell_summary(smoke):
    result, _ = smoke
    rows = {(r["cell"], r["load"], r["agent"]): r for r in result.rows}
    for r in result.rows:
        best = rows[r["cell"], r["load"], r["best_heuristic"]]
        assert r["ratio_to_best_heuristic"] == pytest.approx(
            r["cost_per_job_s"] / best["cost_per_job_s"]
        )
        assert r["ratio_low"] <= r["ratio_to_best_heuristic"] * (1 + 1e-12)
        assert r["ratio_to_best_heuristic"] <= r["ratio_high"] * (1 + 1e-12)
        gap = best["cost_per_job_s"] - r["bound_cost_per_job_s"]
        assert gap > 0  # the bound is below every heuristic
        assert r["gap_closed"] == pytest.approx(
            (best["cost_per_job_s"] - r["cost_per_job_s"]) / gap
        )
        assert r["bound_cost_per_job_s"] <= r["cost_per_job_s"]
        assert 0.0 <= r["drop_rate"] <= 1.0 and r["mean_s"] <= r["p95_s"]
    worse = rows[0, 1.0, "random"]
    assert worse["ratio_to_best_heuristic"] > 1 and worse["gap_closed"] < 0


def test_suite_files_hold_one_row_per_cell_load_and_agent(smoke):
    result, out = smoke
    rows = read_csv(out / "suite.csv")
    assert list(rows[0]) == list(SUITE_COLUMNS)
    assert len(rows) == 3 * len(default_agents()) == len(result.rows)
    data = json.loads((out / "suite.json").read_text())
    assert data["suite"]["name"] == "smoke" and data["agents"] == list(default_agents())
    assert [c["folder"] for c in data["cells"]] == ["cells/00_toy", "cells/01_star_compute_12"]
    assert [c["skipped"] for c in data["cells"]] == ["", ""]
    assert len(data["rows"]) == len(rows)
    for name in ("summary.csv", "jobs.csv", "summary.json", "comparison.csv"):
        assert (out / "cells" / "00_toy" / name).is_file()


def _missing_tle_suite(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({
        "name": "missing", "agents": ["ect", "earliest_uplink"],
        "seeds": {"first": 0, "count": 1},
        "cells": [
            {"scenario": "toy", "loads": [1]},
            {"label": "iridium", "scenario": "walker_100", "loads": [1, 2], "overrides": {
                "constellation": {"tle_file": f"${{{SHARED_DATA_VAR}}}/tle/absent.tle",
                                  "tle_class": "inference"}}},
        ],
    }))  # fmt: skip
    return path


def test_a_cell_with_a_missing_tle_file_is_skipped_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_DATA_VAR, str(tmp_path / "shared"))
    result = run_suite(load_suite(_missing_tle_suite(tmp_path)), ["random"], progress=False,
                       out_dir=tmp_path / "out")  # fmt: skip
    ran, skipped = result.outcomes
    assert ran.result is not None and not ran.skipped
    assert skipped.result is None
    assert (
        "file not found" in skipped.skipped and str(tmp_path / "shared" / "tle") in skipped.skipped
    )
    rows = [r for r in result.rows if r["label"] == "iridium"]
    assert [(r["load"], r["agent"]) for r in rows] == [
        (ld, a) for ld in (1.0, 2.0) for a in ("ect", "earliest_uplink", "random")
    ]
    assert all(r["skipped"] == skipped.skipped and math.isnan(r["cost_per_job_s"]) for r in rows)
    assert not (tmp_path / "out" / "cells" / "01_iridium").exists()
    buffer = StringIO()
    print_suite(result, console=Console(file=buffer, width=80))
    text = buffer.getvalue()
    assert "skipped (see below)" in text and f"skipped iridium: {skipped.skipped}" in text
    # the extra agent (a heuristic here) gets its reading line, over the cell that ran
    assert "\nrandom: ≤ 0.90× the best heuristic in 0 of 1 cells at load ≥ 1" in text


def test_shared_data_variable_defaults_to_the_folder_beside_the_repository(monkeypatch):
    monkeypatch.delenv(SHARED_DATA_VAR, raising=False)
    cell = load_suite(SUITE_DIR / "benchmark.yaml").cells[3]
    repo = Path(__file__).resolve().parents[2]
    expected = repo.parent / "shared" / "data" / "tle" / "iridium_next_20260103.tle"
    assert cell.overrides["constellation"]["tle_file"] == str(expected)


def test_benchmark_suite_lists_the_documented_cells():
    suite = load_suite(SUITE_DIR / "benchmark.yaml")
    assert suite.seeds.first == 100 and suite.seeds.count == 10
    cells = [(c.scenario, c.loads) for c in suite.cells]
    assert cells[:3] == [("star_compute_12", (0.5, 1.0, 2.0)), ("walker_100", (1.0, 2.0)),
                         ("star_compute_2800", (1.0,))]  # fmt: skip
    assert suite.cells[2].overrides == {"episode.duration_s": 600, "episode.drain_s": 22800}
    assert (
        suite.cells[3]
        .overrides["constellation"]["tle_file"]
        .endswith("tle/iridium_next_20260103.tle")
    )
    generated = [c.scenario for c in suite.cells if c.scenario.startswith("generated:")]
    assert generated == ["generated:900001", "generated:900002", "generated:900003"]
    assert all(int(g.partition(":")[2]) >= HELD_OUT_SEED for g in generated)


def test_every_shipped_suite_loads_and_the_generality_cells_are_held_out():
    for path in sorted(SUITE_DIR.glob("*.yaml")):
        assert load_suite(path).cells, path.name
    suite = load_suite(SUITE_DIR / "generality.yaml")
    seeds = [int(c.scenario.split(":")[1]) for c in suite.cells]
    assert len(seeds) == 10 and min(seeds) >= HELD_OUT_SEED  # never in a training recipe
    assert all(c.loads == (1.0, 2.0) for c in suite.cells)


def test_extra_agents_join_the_suite_agents_once():
    suite = load_suite(SUITE_DIR / "smoke.yaml")
    agents = suite_agents(suite, ["oracle", "ect", "rollout:ect:10", ""])
    assert agents == (*default_agents(), "oracle", "rollout:ect:10")
    with pytest.raises(ConfigError, match="unknown agent 'fastest'"):
        suite_agents(suite, ["fastest"])


def test_a_suite_scenario_path_is_read_beside_the_suite_file(tmp_path):
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "mine.yaml").write_text((SUITE_DIR.parents[1] / "configs" / "scenarios"
                                                / "toy.yaml").read_text())  # fmt: skip
    (tmp_path / "suite.yaml").write_text(
        "name: s\nseeds: {first: 0, count: 1}\ncells:\n  - {scenario: sc/mine.yaml, loads: [1]}\n"
    )
    (cell,) = load_suite(tmp_path / "suite.yaml").cells
    assert cell.scenario == str(tmp_path / "sc" / "mine.yaml") and cell.label == "mine"


def test_a_generated_cell_may_name_its_space_file_by_name_or_path(tmp_path):
    space = SUITE_DIR.parent / "distributions" / "dense.yaml"
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "mine.yaml").write_text(space.read_text())
    (tmp_path / "suite.yaml").write_text(
        "name: s\nseeds: {first: 0, count: 1}\ncells:\n"
        "  - {scenario: 'generated:900001@dense', loads: [1]}\n"
        "  - {scenario: 'generated:900001@spaces/mine.yaml', loads: [1]}\n"
    )
    by_name, by_path = load_suite(tmp_path / "suite.yaml").cells
    assert by_name.scenario == "generated:900001@dense"
    assert by_path.scenario == f"generated:900001@{tmp_path / 'spaces' / 'mine.yaml'}"
    for bad, what in (("generated:1@nope", "nope.yaml"), ("generated:x@dense", "integer SEED")):
        cells = f"  - {{scenario: '{bad}', loads: [1]}}\n"
        (tmp_path / "bad.yaml").write_text(
            f"name: s\nseeds: {{first: 0, count: 1}}\ncells:\n{cells}"
        )
        with pytest.raises(ConfigError, match=re.escape(what)):
            load_suite(tmp_path / "bad.yaml")


def test_reading_counts_cells_at_load_one_and_above_and_names_the_worst():
    rows = [
        {"agent": "p", "label": lbl, "load": ld, "ratio_to_best_heuristic": r,
         "ratio_high": h, "drop_rate": d, "skipped": s}
        for lbl, ld, r, h, d, s in (
            ("a", 0.5, 0.5, 0.6, 0.0, ""),      # below load 1: not counted
            ("a", 1.0, 0.85, 0.95, 0.01, ""),
            ("b", 2.0, 1.04, 1.1, 0.02, ""),
            ("c", 1.0, math.nan, math.nan, math.nan, "missing file: x"),
        )
    ]  # fmt: skip
    assert reading(rows, "p") == (
        "p: ≤ 0.90× the best heuristic in 1 of 2 cells at load ≥ 1; worst 1.04× (b, load 2); "
        "interval below 1 in 1; drop rate at most 2.0 %"
    )


def test_a_suite_repeats_exactly_serial_or_in_a_pool_and_episodes_replace_the_count(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: s\nagents: [random, ect]\nseeds: {first: 7, count: 3}\ncells:\n"
        "  - {scenario: toy, loads: [1], seeds: {first: 40, count: 1}}\n"
    )
    suite = load_suite(path)
    assert suite.cells[0].seeds.first == 40
    serial = run_suite(suite, episodes=2, progress=False)
    pooled = run_suite(suite, episodes=2, workers=2, progress=False)
    assert json.dumps(serial.rows) == json.dumps(pooled.rows)
    assert {r["episodes"] for r in serial.rows} == {2}
    assert [e.seed for e in serial.outcomes[0].result.episodes_of("ect", 1.0)] == [40, 41]


def test_a_scenario_file_in_absent_shared_data_skips_its_cell(tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_DATA_VAR, str(tmp_path / "absent"))
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: s\nagents: [ect]\nseeds: {first: 0, count: 1}\ncells:\n"
        f"  - {{scenario: '${{{SHARED_DATA_VAR}}}/scenarios/x.yaml', loads: [1]}}\n"
    )
    (outcome,) = run_suite(load_suite(path), progress=False).outcomes
    assert outcome.result is None
    assert outcome.skipped.startswith("missing file: ")
    assert str(tmp_path / "absent" / "scenarios" / "x.yaml") in outcome.skipped


def test_a_cell_flying_a_tle_file_by_override_runs_and_writes_its_files(tmp_path):
    tle = SUITE_DIR.parent / "tle" / "star_compute_12.tle"
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({
        "name": "s", "agents": ["ect"], "seeds": {"first": 0, "count": 1},
        "cells": [{"label": "tle", "scenario": "toy", "loads": [1], "overrides": {
            "constellation": {"tle_file": str(tle), "tle_class": "inference"},
            "episode.duration_s": 600}}],
    }))  # fmt: skip
    suite = load_suite(path)
    result = run_suite(suite, progress=False, out_dir=tmp_path / "out", plots=False)
    write_suite(result, tmp_path / "out")
    assert suite.cells[0].overrides["constellation"]["tle_file"] == str(tle)  # not resolved
    config = json.loads((tmp_path / "out" / "cells" / "00_tle" / "summary.json").read_text())
    assert config["config"]["overrides"]["constellation"]["tle_file"] == str(tle)
    (row,) = read_csv(tmp_path / "out" / "suite.csv")
    assert row["agent"] == "ect" and row["best_heuristic"] == "ect" and row["skipped"] == ""


def test_the_suite_report_is_one_offline_page_of_the_table_and_the_ratios(smoke):
    result, out = smoke
    text = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="suite">' in text and 'id="fig-ratios"' in text
    assert "suite smoke" in text and "= best" in text
    assert not [s for s in re.findall(r"<script[^>]*>", text) if "src=" in s]
    assert "No cell wrote its own report." in text  # the fixture's cells ran without plots
    assert len(re.findall(r"<tr>", text)) == len(result.rows) + 1  # the header and every row


def test_the_suite_table_gives_minute_long_costs_in_minutes(smoke):
    import dataclasses

    result, _ = smoke
    keys = ("cost_per_job_s", "mean_s", "p95_s", "bound_cost_per_job_s", "bound_mean_s",
            "bound_p95_s")  # fmt: skip
    fast = dataclasses.replace(result, rows=tuple(
        dict(r, **{k: r[k] / 100 for k in keys}) for r in result.rows))  # fmt: skip
    texts = []
    for res in (result, fast):
        buffer = StringIO()
        print_suite(res, console=Console(file=buffer, width=80))
        texts.append(buffer.getvalue())
    assert "(hours)" in texts[0] and "(minutes)" in texts[1]
    assert "[low-high] 95 % paired BCa bootstrap" in texts[1].replace("\n", " ")
