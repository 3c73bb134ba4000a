"""Fixtures of the agents tests: one small evaluation on the toy scenario, shared."""

from __future__ import annotations

import pytest

from agents.evaluate import evaluate
from agents.report import write_results

#: The loads of :func:`toy_eval`.
LOADS = [1.0, 2.0]


@pytest.fixture(scope="session")
def toy_eval(tmp_path_factory):
    """``random`` and ``ect`` on toy, two seeds at two loads, and the folder it was written to."""
    out = tmp_path_factory.mktemp("eval")
    result = evaluate("toy", ["random", "ect"], LOADS, episodes=2, seed=0, progress=False)
    write_results(result, out)
    return result, out
