"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    override = os.environ.get("CONSTELLATION_DISPATCH_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Third-party data in ``../shared/data`` (never copied into the repo); skips when absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"shared third-party data not found at {path} "
            "(expected ../shared/data beside the repo, or set CONSTELLATION_DISPATCH_SHARED_DATA)"
        )
    return path


@pytest.fixture(scope="session")
def iridium_tle_path(shared_data: Path) -> Path:
    """The Iridium NEXT TLE snapshot from ``../shared/data/tle``."""
    path = shared_data / "tle" / "iridium_next_20260103.tle"
    if not path.is_file():
        pytest.skip(f"Iridium NEXT TLE snapshot missing: {path}")
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Contact plans computed by tests are cached in a temporary folder, not ~/.cache."""
    previous = os.environ.get("CONSTELLATION_DISPATCH_CACHE")
    os.environ["CONSTELLATION_DISPATCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("CONSTELLATION_DISPATCH_CACHE", None)
    else:
        os.environ["CONSTELLATION_DISPATCH_CACHE"] = previous
