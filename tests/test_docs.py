"""The documentation site: its commands run, its generated pages are current, it builds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BRING_YOUR_OWN = REPO / "docs" / "bring-your-own.md"
#: Budgets of the page's commands and the tiny ones the test runs them with.
TINY = ((r"--timesteps \d+", "--timesteps 1024"), (r"--episodes \d+", "--episodes 1"))


def bash_blocks(path: Path) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)]


def tiny(command: str) -> str:
    for pattern, replacement in TINY:
        command = re.sub(pattern, replacement, command)
    return command


def run_page(blocks: list[str], cwd: Path) -> None:
    """Run each block with bash in ``cwd`` (a folder that looks like a checkout's root)."""
    for name in ("scripts", "configs"):
        (cwd / name).symlink_to(REPO / name)
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg",
           "CONSTELLATION_DISPATCH_CACHE": str(cwd / "cache")}  # fmt: skip
    bash = shutil.which("bash")
    assert bash is not None
    for block in blocks:
        command = tiny(block).replace("python ", f"{sys.executable} ")
        proc = subprocess.run([bash, "-euo", "pipefail", "-c", command], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        assert proc.returncode == 0, f"{block[:200]}\n--- stderr:\n{proc.stderr[-3000:]}"


def test_bring_your_own_page_walks_from_files_to_a_trained_policy_in_order():
    blocks = bash_blocks(BRING_YOUR_OWN)
    text = "\n".join(blocks)
    order = ["sats.tle", "stations.yaml", "trace.csv", "scenario.yaml", "contact_plan.py",
             "evaluate.py", "train.py", "maskable_ppo:my_constellation/run/"]  # fmt: skip
    positions = [text.find(word) for word in order]
    found = dict(zip(order, positions, strict=True))
    assert -1 not in positions and positions == sorted(positions), found
    assert "OMM" in BRING_YOUR_OWN.read_text() and "GeoJSON" in BRING_YOUR_OWN.read_text()


def test_bring_your_own_files_make_a_valid_scenario_with_passes(tmp_path):
    blocks = bash_blocks(BRING_YOUR_OWN)
    files = [b for b in blocks if b.startswith(("mkdir", "cat >")) or "contact_plan.py" in b]
    run_page(files, tmp_path)
    from envs.scenario import load_scenario

    sc = load_scenario(tmp_path / "my_constellation" / "scenario.yaml")
    assert sc.workload.arrivals.process == "trace"
    assert sc.constellation.tle_file.name == "sats.tle"
    passes = (tmp_path / "my_constellation" / "passes.csv").read_text().splitlines()
    assert passes[0] == "satellite,station,rise_utc,set_utc,max_elevation_deg"
    assert len(passes) > 10


@pytest.mark.expensive
def test_every_command_of_the_bring_your_own_page_runs(tmp_path):
    run_page(bash_blocks(BRING_YOUR_OWN), tmp_path)
    out = tmp_path / "my_constellation"
    assert (out / "run" / "best_model.zip").is_file()
    for name in ("eval/turnaround_cdf.png", "eval/contact_gantt.png", "eval_trained/summary.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "maskable_ppo" in (out / "eval_trained" / "summary.csv").read_text()


def test_scenario_reference_page_is_generated_from_the_schema():
    from envs.scenario.reference import reference_markdown

    committed = (REPO / "docs" / "scenarios.md").read_text()
    assert committed == reference_markdown(), (
        "docs/scenarios.md is stale: python -m envs.scenario.reference > docs/scenarios.md"
    )


def test_every_page_is_in_the_navigation():
    nav = (REPO / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert [p for p in pages if p not in nav] == []


def test_docs_never_point_at_files_users_do_not_have():
    for page in (REPO / "docs").glob("*.md"):
        assert "shared/DESIGN.md" not in page.read_text(), page.name
