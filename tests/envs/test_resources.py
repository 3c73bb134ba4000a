"""``envs.resources``: the shipped data is found in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

import envs.resources as resources
from envs.errors import ConfigError
from envs.scenario import PRESET_DIR

REPO = Path(__file__).resolve().parents[2]


def test_a_checkout_uses_the_top_level_configs_folder():
    assert resources.configs_dir() == REPO / "configs"
    assert PRESET_DIR == REPO / "configs" / "scenarios"


def _fake_package(root: Path, *, installed: bool, checkout: bool) -> Path:
    pkg = root / "site" / "envs"
    pkg.mkdir(parents=True)
    if installed:
        (pkg / "configs" / "scenarios").mkdir(parents=True)
    if checkout:
        (root / "site" / "configs" / "scenarios").mkdir(parents=True)
    return pkg


def test_an_installed_wheel_uses_envs_configs_first(tmp_path, monkeypatch):
    pkg = _fake_package(tmp_path, installed=True, checkout=True)
    monkeypatch.setattr(resources, "package_dir", lambda name: pkg)
    assert resources.configs_dir() == pkg / "configs"


def test_without_envs_configs_the_folder_beside_the_package_is_used(tmp_path, monkeypatch):
    pkg = _fake_package(tmp_path, installed=False, checkout=True)
    monkeypatch.setattr(resources, "package_dir", lambda name: pkg)
    assert resources.configs_dir() == pkg.parent / "configs"


def test_a_broken_install_names_both_places_looked_in(tmp_path, monkeypatch):
    pkg = _fake_package(tmp_path, installed=False, checkout=False)
    monkeypatch.setattr(resources, "package_dir", lambda name: pkg)
    with pytest.raises(ConfigError) as info:
        resources.configs_dir()
    text = str(info.value)
    assert text.startswith("configs: shipped data folder not found")
    assert str(pkg / "configs") in text and str(pkg.parent / "configs") in text


def test_package_dir_is_the_imported_package_folder():
    assert resources.package_dir("envs") == REPO / "envs"
