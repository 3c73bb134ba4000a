"""The README's set-up commands and CI stay in step."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bash_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_the_main_job_and_the_test_command():
    first, second = bash_blocks()[:2]
    assert first.startswith("pip install torch==2.13.0 && pip install -e . && python scripts/")
    assert second.startswith('pip install torch==2.13.0 && pip install -e ".[dev]"')
    assert "pytest" in second


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = bash_blocks()[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_main_job_inputs_are_shipped():
    first = bash_blocks()[0]
    for path in re.findall(r"(configs/\S+)", first):
        assert (REPO / path).is_file(), path
