"""The distribution installs whole: every package, every shipped data file, PEP 639 metadata.

The fast tests read ``pyproject.toml``; one test builds the wheel from a copy of the sources
(offline, no build isolation: it needs setuptools >= 77 in the test environment) and looks
inside. CI (``.ci/run``) also installs that wheel into a fresh venv and runs
``scripts/smoke_installed.py`` from outside the repository.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _shipped(package: str, folder: Path) -> list[str]:
    """Files under ``folder`` that the package-data globs of ``package`` match."""
    globs = SETUPTOOLS["package-data"][package]
    return sorted(
        rel
        for rel in (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        if any(fnmatch.fnmatchcase(rel, g) and rel.count("/") == g.count("/") for g in globs)
    )


def _data_files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_every_package_folder_of_the_source_tree_is_in_the_distribution():
    code = find_packages(where=REPO, include=["envs*", "agents*"])
    assert sorted(SETUPTOOLS["packages"]) == sorted([*code, "envs.configs"])


def test_the_top_level_configs_folder_installs_as_envs_configs():
    assert SETUPTOOLS["package-dir"] == {"envs.configs": "configs"}
    assert _shipped("envs.configs", REPO / "configs") == _data_files(REPO / "configs")


def test_the_pretrained_policies_are_package_data():
    shipped = _shipped("agents", REPO / "agents")
    zips = sorted(p.relative_to(REPO / "agents").as_posix() for p in REPO.glob("agents/*/*.zip"))
    assert zips and set(zips) <= set(shipped)


def test_the_licence_is_a_pep639_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert "setuptools>=77" in " ".join(PYPROJECT["build-system"]["requires"])


def test_the_version_is_set_once_and_has_a_changelog_entry():
    version = PYPROJECT["project"]["version"]
    assert version == "0.2.0"
    assert "version" not in PYPROJECT["project"].get("dynamic", [])
    headings = re.findall(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), flags=re.M)
    assert headings[0] == version


def test_the_video_extra_declares_moviepy():
    video = PYPROJECT["project"]["optional-dependencies"]["video"]
    assert any(req.startswith("moviepy") for req in video)


def _setuptools_can_build() -> bool:
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return False
    return major >= 77


@pytest.mark.skipif(not _setuptools_can_build(), reason="needs setuptools >= 77 installed")
def test_the_built_wheel_holds_the_configs_the_policies_and_the_metadata(tmp_path):
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    for folder in ("envs", "agents", "configs"):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(tmp_path / "dist"), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in _data_files(REPO / "configs"):
        assert f"envs/configs/{rel}" in names, rel
    for path in REPO.glob("agents/pretrained/*.zip"):
        assert f"agents/pretrained/{path.name}" in names
    assert not any(n.startswith(("configs/", "tests/", "scripts/")) for n in names)
    dist_info = wheel.name.split("-py3")[0] + ".dist-info"
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "Version: 0.2.0" in metadata
    assert "License-Expression: Apache-2.0" in metadata
    assert f"{dist_info}/licenses/LICENSE" in names
    assert "agents/cli/__init__.py" in names and "agents/cli/__main__.py" in names
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "constellation-dispatch = agents.cli:main" in entry_points


def test_ci_smoke_tests_the_installed_wheel_after_the_readme_test_command():
    text = (REPO / ".ci" / "run").read_text().splitlines()
    lines = [line for line in text if not line.lstrip().startswith("#")]
    readme = next(i for i, line in enumerate(lines) if line.startswith("pip install torch"))
    wheel = next(i for i, line in enumerate(lines) if "pip wheel" in line)
    install = next(i for i, line in enumerate(lines) if "constellation_dispatch-*.whl" in line)
    smoke = next(i for i, line in enumerate(lines) if "scripts/smoke_installed.py" in line)
    assert readme < wheel < install < smoke
    assert "deactivate" in lines[wheel:install]  # a second venv, not the editable one
