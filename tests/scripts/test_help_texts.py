"""Every command's --help reads as written: no doubled %% left by %-escaping in a description."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import agents.cli

WITH_PARSER = sorted(
    m.name for m in pkgutil.iter_modules(agents.cli.__path__)
    if not m.name.startswith("_")
    and hasattr(importlib.import_module(f"agents.cli.{m.name}"), "build_parser")
)  # fmt: skip


def test_the_commands_with_a_parser_are_found():
    assert {"evaluate", "study_isl", "study_turnaround"} <= set(WITH_PARSER)


@pytest.mark.parametrize("name", WITH_PARSER)
def test_help_text_shows_no_doubled_percent_sign(name):
    text = importlib.import_module(f"agents.cli.{name}").build_parser().format_help()
    assert "%%" not in text, name
