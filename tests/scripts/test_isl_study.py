"""scripts/isl_study.py end to end on the toy scenario (paired seeds, links off and on)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests import scripts_loader

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("isl")
    argv = ["--scenario", "toy", "--agents", "earliest_uplink,ect", "--episodes", "2",
            "--seed", "3", "--max-hops", "1,2", "--out", str(out), "--quiet"]  # fmt: skip
    assert scripts_loader.load_script("isl_study").main(argv) == 0
    return out


def test_study_writes_one_row_per_variant_agent_and_seed(study):
    episodes = scripts_loader.read_csv(study / "episodes.csv")
    assert len(episodes) == 3 * 2 * 2  # off, 1 hop, 2 hops x two agents x two seeds
    assert {r["variant"] for r in episodes} == {"off", "isl_1hop", "isl_2hop"}
    summary = scripts_loader.read_csv(study / "summary.csv")
    assert [(r["variant"], r["agent"]) for r in summary] == [
        (v, a) for v in ("off", "isl_1hop", "isl_2hop") for a in ("earliest_uplink", "ect")
    ]
    for r in summary:
        assert 0 <= float(r["share_under"]) <= 1 and float(r["p50_s"]) <= float(r["p95_s"])
        low, mid, high = (float(r[k]) for k in ("d_mean_s_low", "d_mean_s", "d_mean_s_high"))
        assert low <= mid <= high
        if r["variant"] == "off":
            assert mid == 0.0 and float(r["relayed_share"]) == 0.0


def test_study_json_and_plot(study):
    data = json.loads((study / "isl_study.json").read_text())
    assert data["config"]["max_hops"] == [1, 2] and data["config"]["seeds"] == [3, 4]
    assert data["config"]["variants"]["isl_2hop"] == {"isl.enabled": True, "isl.max_hops": 2}
    assert len(data["summary"]) == 6 and math.isfinite(data["summary"][0]["mean_s"])
    assert (study / "isl_study.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-hops", "0"], "--max-hops: expected integers >= 1"),
        (["--max-hops", "a"], "--max-hops: expected comma-separated integers"),
        (["--set", "isl.max_hops=2"], "--set isl.max_hops: set by the study's variants"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, argv, message):
    from agents.cli._common import run_cli

    module = scripts_loader.load_script("isl_study")
    code = run_cli(module.main, ["--scenario", "toy", "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1
