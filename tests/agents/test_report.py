"""agents.report: the printed tables and the output folder, written as a set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.evaluate import evaluate
from agents.report import print_comparison, print_table, write_results
from agents.stats import compare_with
from envs.errors import ConfigError


def test_printed_tables_name_models_by_file_and_keep_every_column(toy_eval):
    from io import StringIO

    from rich.console import Console

    result, _ = toy_eval
    long = "maskable_ppo:/a/very/long/folder/name/that/would/squeeze/the/table/best_model.zip"
    rows = [dict(r, agent=long if r["agent"] == "random" else r["agent"]) for r in result.summary]
    buffer = StringIO()
    console = Console(file=buffer, width=80)  # not a terminal: the tables widen themselves
    print_table(rows, console=console)
    print_comparison([dict(r, agent=long) for r in compare_with(result, "ect")], console=console)
    text = buffer.getvalue()
    assert "maskable_ppo:best_model.zip" in text and "/a/very" not in text
    assert "cost/job" in text and "…" not in text


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_crash_mid_write_leaves_the_previous_run_whole(toy_eval, tmp_path, monkeypatch):
    result, _ = toy_eval
    out = tmp_path / "out"
    write_results(result, out, plots=False)
    before = _listing(out)
    assert "comparison.csv" in before and ".constellation-dispatch-run" in before

    def killed(*args, **kwargs):  # after summary.csv and jobs.csv, before comparison.csv
        raise KeyboardInterrupt

    monkeypatch.setattr("agents.report.compare_with", killed)
    with pytest.raises(KeyboardInterrupt):
        write_results(result, out, plots=False)
    assert _listing(out) == before  # no new summary.csv beside the old jobs.csv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial or 0-byte file


def test_reusing_an_output_folder_leaves_no_file_of_the_previous_run(toy_eval, tmp_path):
    result, _ = toy_eval
    out = tmp_path / "out"
    write_results(result, out)  # random and ect: comparison.csv and plots
    alone = evaluate("toy", ["random"], [1.0], episodes=1, seed=0, progress=False)
    stale = tmp_path / f".out.partial-{_dead_pid()}-x"  # left by a killed run
    stale.mkdir()
    (stale / ".summary.csv.tmp").write_text("")
    paths = write_results(alone, out, plots=False)
    assert sorted(p.name for p in out.iterdir()) == [
        ".constellation-dispatch-run",
        "jobs.csv",
        "summary.csv",
        "summary.json",
    ]
    assert paths == [out / "summary.csv", out / "jobs.csv", out / "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_that_is_not_a_run_is_never_replaced(toy_eval, tmp_path):
    result, _ = toy_eval
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="output folder exists and is not a previous run's"):
        write_results(result, tmp_path, plots=False)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def _printed(print_fn, rows) -> str:
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    print_fn(rows, console=Console(file=buffer, width=80))  # a file: not a terminal
    return buffer.getvalue()


def test_the_comparison_caption_keeps_its_brackets(toy_eval):

    result, _ = toy_eval
    text = _printed(print_comparison, compare_with(result, "ect"))
    assert "[low-high]: 95 % paired BCa bootstrap" in text  # not eaten as rich markup
    assert "(fewer than 5 seeds: the intervals mean little)" in text


def test_a_label_of_any_length_keeps_every_column_whole_in_a_log(toy_eval):

    result, _ = toy_eval
    long = "rollout:" + "x" * 140  # no file name to shorten it to
    rows = [dict(r, agent=long if r["agent"] == "random" else r["agent"]) for r in result.summary]
    text = _printed(print_table, rows)
    assert long in text and "…" not in text
    header = next(line for line in text.splitlines() if "agent" in line and "load" in line)
    for name in ("95 % CI", "p50", "p95", "p99", "done", "drop%", "cost/job"):
        assert name in header, name


def test_the_summary_table_gives_minute_long_turnarounds_in_minutes(toy_eval):

    result, _ = toy_eval
    hours = _printed(print_table, result.summary)
    assert "turnaround in hours" in hours
    fast = [dict(r, **{k: r[k] / 100 for k in r if k.endswith("_s")}) for r in result.summary]
    text = _printed(print_table, fast)
    assert "turnaround in minutes" in text and "0.0" not in text.split("cost/job")[1][:60]
    ect = next(r for r in fast if r["agent"] == "ect" and r["load"] == 1.0)
    row = next(line for line in text.splitlines() if line.strip().startswith("ect "))
    assert f"{ect['mean_turnaround_s'] / 60:.2f}" in row
