"""scripts/estimate_error.py on the toy scenario: errors measured, bad input refused."""

from __future__ import annotations

import json

import pytest

from envs.errors import ConfigError
from tests import scripts_loader


def test_writes_one_row_per_load_with_errors_in_range(tmp_path, capsys):
    script = scripts_loader.load_script("estimate_error")
    out = tmp_path / "err.json"
    argv = ["--scenario", "toy", "--load", "1,3", "--seed", "2", "--out", str(out)]
    assert script.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["agent"] == "ect" and [r["load"] for r in result["loads"]] == [1.0, 3.0]
    for r in result["loads"]:
        assert r["completed"] > 0 and 0.0 <= r["share_late_1h"] <= 1.0
        assert r["mean_compute_start_error_s"] >= 0.0  # queues only delay what ECT foresaw
    assert "later than estimated" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["--load", "0"], "--load: loads must be > 0"), (["--load", "x"], "--load: expected"),
     (["--agent", "fastest"], "unknown name 'fastest'")],
)  # fmt: skip
def test_bad_input_names_the_option(tmp_path, argv, match):
    script = scripts_loader.load_script("estimate_error")
    with pytest.raises(ConfigError, match=match):
        script.main(["--scenario", "toy", "--out", str(tmp_path / "e.json"), *argv])
