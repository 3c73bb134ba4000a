"""agents.report_html: report.html holds every section, loads nothing, and renders in chromium.

The browser tests run Debian's headless ``chromium`` (``apt-get install chromium``) with every
host name unresolvable, so a page that fetched anything (a CDN, map data) would show it.
Chromium prints the page's console on stderr with ``--enable-logging=stderr``: an uncaught
exception appears as ``...:CONSOLE:N] "Uncaught ReferenceError: ..."`` (older builds write
``ERROR:CONSOLE(N)``); :func:`js_errors` finds both, and a deliberately broken page checks
that it does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agents.evaluate import evaluate
from agents.report import write_results
from agents.report_html import REPORT_NAME, report_html
from agents.stats import compare_with

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not on PATH (Debian: apt-get install chromium; .ci/run installs it)",
)
SECTIONS = ("summary", "comparison", "cdf", "load", "gantt", "map")
FIGURES = ("cdf", "load", "gantt", "map")


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    result = evaluate("toy", ["random", "ect"], [1.0], episodes=1, seed=0, progress=False)
    paths = write_results(result, out, plots=False, report=True)
    return result, out / REPORT_NAME, paths


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless chromium on a file, offline (no host name resolves), console on stderr."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--virtual-time-budget=10000", *args, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def js_errors(stderr: str) -> list[str]:
    """The console lines of uncaught JavaScript errors in chromium's log."""
    return [
        line for line in stderr.splitlines()
        if "ERROR:CONSOLE" in line or (":CONSOLE" in line and "Uncaught" in line)
    ]  # fmt: skip


def test_report_has_every_section_and_loads_nothing_from_the_network(toy_report):
    _, path, paths = toy_report
    assert path in paths
    text = path.read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in text, anchor
    for name in FIGURES:
        assert f'id="fig-{name}"' in text, name
    scripts = re.findall(r"<script[^>]*>", text)
    assert scripts and not [s for s in scripts if "src=" in s]  # every script inline
    assert not re.search(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?(?:https?:)?//""", text)
    assert "Plotly.newPlot" in text and "cdn.plot.ly/plotly" not in text


def test_report_tables_give_turnarounds_in_the_unit_of_their_size(toy_report):
    result, path, _ = toy_report
    text = path.read_text(encoding="utf-8")
    assert "<th>mean (h)</th>" in text  # toy turnarounds are hours
    fast = [dict(r, **{k: r[k] / 100 for k in r if k.endswith("_s")}) for r in result.summary]
    minutes = report_html(type(result)(result.config, result.episodes, fast))
    assert "<th>mean (min)</th>" in minutes and "<th>mean (h)</th>" not in minutes


def test_the_same_evaluation_gives_the_same_report(toy_report):
    result, path, _ = toy_report
    again = report_html(result, comparison=compare_with(result, "ect"))
    assert again == path.read_text(encoding="utf-8")


def test_the_gantt_chart_draws_each_arrived_job_stage_by_stage(toy_report):
    from agents.report_html import gantt_figure
    from agents.units import SECONDS

    result, _, _ = toy_report
    episode = result.episodes_of("random", 1.0)[0]
    fig = gantt_figure(episode, SECONDS)
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert list(bars) == ["waiting for uplink", "uplink", "waiting for compute", "compute",
                          "waiting for downlink", "downlink"]  # fmt: skip
    jobs = episode.jobs
    done = jobs["status"] == "completed"
    wait = bars["waiting for uplink"]
    assert sorted(wait.y) == sorted(jobs["job"][jobs["status"] != "future"].tolist())
    total = sum(np.asarray(b.x, float).sum() for b in bars.values())
    assert total == pytest.approx(jobs["turnaround_s"][done].sum())  # stages tile each job


@needs_chromium
def test_chromium_renders_every_figure_without_a_javascript_error(toy_report, tmp_path):
    from PIL import Image

    _, path, _ = toy_report
    shot = tmp_path / "report.png"
    proc = chromium(path, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2000")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not js_errors(proc.stderr), js_errors(proc.stderr)
    assert shot.stat().st_size > 50_000
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (2000, 1200)
    not_white = (pixels < 240).any(axis=2).mean()
    assert not_white > 0.03 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    dom = chromium(path, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0 and not js_errors(dom.stderr), dom.stderr[-2000:]
    parts = re.split(r'<div id="fig-', dom.stdout)[1:]
    rendered = {p.split('"', 1)[0]: p for p in parts}
    assert set(rendered) == set(FIGURES)
    for name, html in rendered.items():
        head = html.split(">", 1)[0]
        assert "js-plotly-plot" in head and 'class="main-svg"' in html, name


@needs_chromium
def test_a_javascript_error_on_a_page_is_detected(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><p>x</p><script>notDefinedAnywhere();</script></body></html>")
    proc = chromium(broken, tmp_path / "profile", "--dump-dom")
    assert proc.returncode == 0
    (line,) = js_errors(proc.stderr)
    assert "notDefinedAnywhere" in line
    fine = tmp_path / "fine.html"
    fine.write_text("<html><body><script>console.log('all good')</script></body></html>")
    assert js_errors(chromium(fine, tmp_path / "profile", "--dump-dom").stderr) == []


def test_the_map_draws_stations_where_they_are_and_says_how_many_satellites(
    toy_report, monkeypatch
):
    from agents import report_html
    from agents.report_html import map_figure, scenario_world

    result, _, _ = toy_report
    world = scenario_world(result.config)
    fig = map_figure(world)
    stations = next(t for t in fig.data if t.name == "ground station")
    assert list(stations.lon) == [s.lon_deg for s in world.stations]
    geo = fig.layout.geo
    assert geo.projection.rotation.lon == 0 and tuple(geo.lonaxis.range) == (-180, 180)
    assert "all 2 satellites" in fig.layout.title.text
    assert not geo.showcoastlines and not geo.showland  # either would fetch map data
    monkeypatch.setattr(report_html, "MAX_MAP_SATS", 1)
    capped = map_figure(world)
    assert "1 of 2 (evenly spaced) satellites" in capped.layout.title.text
    assert len(next(t for t in capped.data if t.name == "satellite").lon) == 1
