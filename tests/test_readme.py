"""The README stays short, its set-up commands and CI stay in step, and its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bash_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_the_main_job_and_the_test_command():
    first, second = bash_blocks()[:2]
    assert first.startswith(
        'pip install torch==2.13.0 && pip install -e ".[fast]" && python scripts/'
    )
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


def test_readme_stays_under_12000_bytes():
    size = len((REPO / "README.md").read_bytes())
    assert size <= 12_000, f"README.md is {size} bytes: move detail to docs/"


def test_readme_links_into_the_docs_resolve():
    links = re.findall(r"\]\((docs/[^)#]+)", (REPO / "README.md").read_text())
    assert "docs/bring-your-own.md" in links and "docs/history.md" in links
    assert [link for link in links if not (REPO / link).is_file()] == []


def test_ci_builds_the_docs_after_the_test_command():
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    test_line = lines.index(bash_blocks()[1])
    docs = [i for i, line in enumerate(lines) if "mkdocs build --strict" in line]
    assert docs and docs[0] > test_line
