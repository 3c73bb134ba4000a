"""scripts/smoke_installed.py: refuses a source tree, checks presets, frames and policies."""

from __future__ import annotations

import sys

import pytest

from tests import scripts_loader


def test_refuses_to_pass_when_the_packages_come_from_the_source_tree(capsys):
    script = scripts_loader.load_script("smoke_installed")
    assert script.main(["--steps", "1"]) == 1
    assert "envs imported from the source tree" in capsys.readouterr().err


def test_steps_every_preset_draws_a_frame_and_plays_every_policy(tmp_path, monkeypatch, capsys):
    script = scripts_loader.load_script("smoke_installed")
    monkeypatch.setattr(script, "REPO", tmp_path)  # as if installed: the check passes
    # The console script of this source tree is its module form (no wheel installed here).
    monkeypatch.setattr(script, "console_command", lambda: [sys.executable, "-m", "agents.cli"])
    assert script.main(["--steps", "2", "--skip", "star_compute_2800,walker_100"]) == 0
    out = capsys.readouterr().out
    assert "--help and a one-episode evaluate ran" in out
    assert "preset toy: 2 steps, frame (540, 960, 3)" in out
    assert "preset walker_100: skipped" in out
    assert "pretrained star_compute_12_outcome: loaded, 2 steps" in out
    assert out.rstrip().endswith("smoke: ok")


def test_fails_when_the_console_command_is_missing(tmp_path, monkeypatch, capsys):
    script = scripts_loader.load_script("smoke_installed")
    monkeypatch.setattr(script, "REPO", tmp_path)
    monkeypatch.setattr(script, "console_command", lambda: None)
    assert script.main(["--steps", "1", "--skip", "star_compute_2800,walker_100"]) == 1
    assert "console command constellation-dispatch not installed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["--steps", "0"], "error: --steps: must be >= 1, got 0"),
     (["--skip", "nope"], "error: --skip: unknown preset(s) nope (known: star_compute_12")],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_error_line(tmp_path, monkeypatch, capsys, argv, match):
    script = scripts_loader.load_script("smoke_installed")
    monkeypatch.setattr(script, "REPO", tmp_path)
    assert script.run_cli(script.main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(match) and err.count("\n") == 1
