"""``constellation-dispatch evaluate --address``: the Ray cluster option's bad inputs."""

from __future__ import annotations

import pytest

from agents.cli import main


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--address", "auto"], "--address: only with --backend ray, got --backend process"),
        (["--backend", "ray", "--address", "head"], "--address: expected auto, HOST:PORT"),
    ],
)
def test_a_bad_address_exits_2_before_any_episode(extra, fragment, tmp_path, capsys):
    argv = ["evaluate", "--scenario", "toy", "--agents", "ect", "--episodes", "1",
            "--out", str(tmp_path / "o"), "--quiet", *extra]  # fmt: skip
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert not (tmp_path / "o").exists()
