"""agents.results sits below the runner: the figures and the report pages never import it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agents.results import BOUND_LABEL, short_label
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    "module", ["agents.plots", "agents.episode_plots", "agents.report_html", "agents.results"]
)
def test_figures_and_pages_import_without_the_runner(module):
    code = f"import sys, {module}; assert 'agents.evaluate' not in sys.modules, sorted(sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_saved_models_are_labelled_by_file_name_and_others_as_given():
    assert short_label("maskable_ppo:runs/a/best_model.zip") == "maskable_ppo:best_model.zip"
    assert short_label("scoring:runs/distill/model.zip") == "scoring:model.zip"
    assert short_label("rollout:ect:10") == "rollout:ect:10"
    assert short_label(BOUND_LABEL) == "bound"
