"""Every script's --help reads as written: no doubled %% left by %-escaping in a description."""

from __future__ import annotations

import pytest

from tests.scripts_loader import SCRIPTS, load_script

WITH_PARSER = sorted(
    p.stem for p in SCRIPTS.glob("*.py")
    if not p.stem.startswith("_") and "def build_parser" in p.read_text(encoding="utf-8")
)  # fmt: skip


def test_the_scripts_with_a_parser_are_found():
    assert {"evaluate", "isl_study", "turnaround_study"} <= set(WITH_PARSER)


@pytest.mark.parametrize("name", WITH_PARSER)
def test_help_text_shows_no_doubled_percent_sign(name):
    text = load_script(name, f"_help_{name}").build_parser().format_help()
    assert "%%" not in text, name
