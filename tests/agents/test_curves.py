"""Learning curves of training runs (``agents.curves``)."""

from __future__ import annotations

import math

from agents.curves import CURVE_COLUMNS, read_learning_curve, smooth, write_learning_curve


def test_the_curve_round_trips_through_its_csv_and_draws(tmp_path):
    rows = [{"timesteps": 20 * i, "return": -2.5 * i, "length": 7, "jobs_arrived": 5,
             "cost_per_job_h": 0.5 * i} for i in range(1, 30)]  # fmt: skip
    csv_path, png = write_learning_curve(rows, tmp_path)
    assert read_learning_curve(csv_path) == rows
    assert csv_path.read_text().splitlines()[0] == ",".join(CURVE_COLUMNS)
    assert png.stat().st_size > 10_000


def test_an_empty_run_still_writes_its_curve(tmp_path):
    csv_path, png = write_learning_curve([], tmp_path)
    assert read_learning_curve(csv_path) == [] and png.is_file()
    assert read_learning_curve(tmp_path / "missing.csv") == []


def test_smoothing_is_a_trailing_mean():
    assert smooth([1.0, 3.0, 5.0, 7.0], 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    assert math.isclose(smooth([4.0], 10)[0], 4.0)
