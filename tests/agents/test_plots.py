"""agents.plots: figures that show drops, identical agents, costs and readable labels."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from agents.episode_plots import merge_close_stations, place_station_labels
from agents.evaluate import evaluate
from agents.plots import (
    identical_agents,
    plot_turnaround_cdf,
    plot_turnaround_vs_load,
    turnaround_cdf_figure,
    turnaround_vs_load_figure,
)
from agents.results import EvaluationResult
from agents.stats import summarize
from envs.ground import load_networks
from envs.scenario.loader import STATION_DIR

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def toy_result() -> EvaluationResult:
    # The toy scenario with a deadline just above its typical turnaround: some jobs drop.
    return evaluate("toy", ["random", "ect"], [1.0, 3.0], episodes=2, seed=0, progress=False,
                    overrides={"workload.deadline_s": 14000})  # fmt: skip


def with_twin(result: EvaluationResult, of: str, name: str) -> EvaluationResult:
    """The result plus an agent ``name`` whose episodes are copies of ``of``'s."""
    twins = [dataclasses.replace(e, agent=name) for e in result.episodes if e.agent == of]
    config = {**result.config, "agents": [*result.config["agents"], name]}
    episodes = [*result.episodes, *twins]
    return EvaluationResult(config, episodes, summarize(config, episodes))


def step_lines(ax) -> dict[str, np.ndarray]:
    return {ln.get_label(): ln.get_ydata() for ln in ax.get_lines() if ":" in ln.get_label()}


def test_cdf_curves_end_at_the_completed_share_and_legends_give_drop_rates(toy_result):
    fig = turnaround_cdf_figure(toy_result)
    assert isinstance(fig, Figure)
    heavy = fig.axes[1]
    assert heavy.get_title() == "load 3"
    eps = toy_result.episodes_of("random", 3.0)
    arrived = sum(e.metrics["jobs_arrived"] for e in eps)
    dropped = sum(e.metrics["jobs_dropped"] for e in eps)
    completed = sum(e.metrics["jobs_completed"] for e in eps)
    assert dropped > 0, "the fixture must drop jobs for this test to mean anything"
    lines = step_lines(heavy)
    label = f"random: {100 * dropped / arrived:.1f} % dropped"
    assert label in lines
    assert lines[label][-1] == pytest.approx(completed / arrived) and lines[label][-1] < 1.0
    assert "bound (contention-free, no drops)" in [ln.get_label() for ln in heavy.get_lines()]
    assert "share of arrived jobs" in fig.axes[0].get_ylabel()


def test_an_agent_that_completes_nothing_stays_in_the_legend(toy_result):
    def drop_all(e):
        status = np.where(e.jobs["status"] == "completed", "dropped", e.jobs["status"])
        metrics = {
            **e.metrics,
            "jobs_completed": 0,
            "jobs_dropped": e.metrics["jobs_dropped"] + e.metrics["jobs_completed"],
        }
        return dataclasses.replace(e, jobs={**e.jobs, "status": status}, metrics=metrics)

    starved = dataclasses.replace(toy_result, episodes=[
        drop_all(e) if e.agent == "random" else e for e in toy_result.episodes])  # fmt: skip
    legend = [t.get_text() for t in turnaround_cdf_figure(starved).axes[0].get_legend().get_texts()]
    assert "random: 100.0 % dropped" in legend


def test_identical_agents_are_named_in_both_legends(toy_result):
    result = with_twin(toy_result, "ect", "oracle")
    assert identical_agents(result) == {"oracle": "ect"}
    assert identical_agents(toy_result) == {}
    cdf = turnaround_cdf_figure(result)
    assert any("oracle" in t and "(identical to ect)" in t
               for t in (x.get_text() for x in cdf.axes[0].get_legend().get_texts()))  # fmt: skip
    load = turnaround_vs_load_figure(result)
    texts = [t.get_text() for t in load.legends[0].get_texts()]
    assert "oracle (identical to ect)" in texts and "random" in texts


def test_identical_curves_differ_in_dash_marker_and_width(toy_result):
    result = with_twin(toy_result, "ect", "oracle")
    ax = turnaround_cdf_figure(result).axes[0]
    ect, twin = (next(ln for ln in ax.get_lines() if ln.get_label().startswith(name + ":"))
                 for name in ("ect", "oracle"))  # fmt: skip
    assert ect.get_linestyle() != twin.get_linestyle()
    assert ect.get_linewidth() > twin.get_linewidth()


def test_load_plot_shows_mean_p95_cost_and_drops_with_the_bound(toy_result):
    fig = turnaround_vs_load_figure(toy_result)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("mean" in t for t in titles) and any("p95" in t for t in titles)
    assert any("cost per arrived job" in t for t in titles)
    assert any("dropped" in t for t in titles)
    cost_ax = next(ax for ax in fig.axes if "cost" in ax.get_title())
    bound = [r["cost_per_job_s"] / 3600 for r in toy_result.summary if r["agent"] == "bound"]
    drawn = [ln.get_ydata() for ln in cost_ax.get_lines() if ln.get_color() == "black"]
    assert any(np.allclose(d, bound) for d in drawn)
    drop_ax = next(ax for ax in fig.axes if ax.get_title() == "jobs dropped")
    rates = sorted(100 * r["drop_rate"] for r in toy_result.summary if r["agent"] != "bound")
    drawn = sorted(float(y) for ln in drop_ax.get_lines() for y in ln.get_ydata())
    assert drawn == pytest.approx(rates)
    for ax in fig.axes:
        assert ax.get_ylabel() and "(" in ax.get_ylabel()  # a unit


def test_evaluation_plots_are_written_as_png(toy_result, tmp_path):
    for plot in (plot_turnaround_cdf, plot_turnaround_vs_load):
        path = plot(toy_result, tmp_path / f"{plot.__name__}.png")
        assert path.read_bytes()[:8] == PNG


def test_co_located_stations_share_one_label():
    merged = merge_close_stations([("A", 10.0, 20.0), ("B", 10.2, 20.1), ("C", 50.0, 20.0)])
    assert merged == [("A / B", 10.0, 20.0), ("C", 50.0, 20.0)]


def test_station_labels_never_overlap_on_the_map():
    stations = load_networks([STATION_DIR / f for f in ("china.yaml", "ksat.yaml", "aws.yaml")])
    fig = Figure(figsize=(12, 6.4))
    ax = fig.subplots()
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    texts = place_station_labels(ax, [(s.name, s.lon_deg, s.lat_deg) for s in stations])
    renderer = fig.canvas.get_renderer()
    for t in texts:
        t.update_positions(renderer)
    boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the text, not its leader
    names = " / ".join(t.get_text() for t in texts)
    assert "RSGS Miyun / NAOC Miyun" in names
    assert all(s.name in names for s in stations)
    overlaps = [(a, b) for a, b in itertools.combinations(range(len(boxes)), 2)
                if boxes[a].overlaps(boxes[b])]  # fmt: skip
    assert overlaps == [], [(texts[a].get_text(), texts[b].get_text()) for a, b in overlaps]


def test_the_queue_length_title_stays_inside_the_figure(toy_result):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from agents.episode_plots import queue_length_figure
    from agents.report_html import scenario_world

    world = scenario_world(toy_result.config)
    episode = toy_result.episodes[0]
    title = (f"{episode.scenario}, maskable_ppo:/home/someone/experiments/2026-11-30/"
             "star_compute_12/distillation/round_3/best_model.zip, load 1, seed 0: jobs on "
             "board per satellite")  # fmt: skip
    fig = queue_length_figure(episode.jobs, world, title=title)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    box = ax.title.get_window_extent(canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1
    assert "dotted: buffer size" in ax.get_title()
