"""Where the shipped data lives: presets, station networks, traces, TLEs and agent configs.

The repository keeps the data in its top-level ``configs/`` folder; the distribution maps that
folder into the package as ``envs/configs`` (``pyproject.toml``: ``package-dir``). Every
lookup goes through :func:`importlib.resources.files` (here, and for the pretrained policies
in ``agents.shipped``), so the same code finds the data in a checkout, an editable install
(``pip install -e .``) and an installed wheel:

* installed wheel: ``<site-packages>/envs/configs``;
* checkout or editable install: ``<repo>/configs`` (beside the ``envs`` package).

>>> sorted(p.name for p in configs_dir().iterdir() if p.is_dir())  # doctest: +NORMALIZE_WHITESPACE
['agents', 'distributions', 'ground_stations', 'scenarios', 'suites', 'sweeps', 'tle', 'traces',
 'zoo']
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from envs.errors import ConfigError

__all__ = ["configs_dir", "package_dir"]

#: Subfolders of ``configs/`` the code reads; their presence identifies the data folder.
_MARKER = "scenarios"


def package_dir(package: str) -> Path:
    """The folder of an imported package (regular packages on disk only: wheels install so)."""
    here = files(package)
    if not isinstance(here, Path):  # e.g. imported from a zip archive
        raise ConfigError(f"{package}: shipped data must be on disk, got the package at {here}")
    return here


def configs_dir() -> Path:
    """The shipped ``configs`` folder (``scenarios/``, ``ground_stations/``, ``agents/``, …).

    Returns:
        ``envs/configs`` of an installed wheel, else ``configs/`` beside the ``envs`` package.

    Raises:
        ConfigError: Neither folder exists (a broken install), naming both places looked in.
    """
    pkg = package_dir("envs")
    tries = (pkg / "configs", pkg.parent / "configs")
    for root in tries:
        if (root / _MARKER).is_dir():
            return root
    raise ConfigError(
        f"configs: shipped data folder not found (looked for {', '.join(map(str, tries))})"
    )
