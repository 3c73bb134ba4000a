"""The pretrained policies shipped in ``agents/pretrained`` (package data of the wheel).

Found through :func:`importlib.resources.files` (``envs.resources.package_dir``), so they load
the same from a checkout, an editable install and an installed wheel.

>>> list_pretrained()
['dispatch_policy', 'star_compute_12_maskable_ppo', 'star_compute_12_outcome']
>>> pretrained_path("star_compute_12_outcome").name
'star_compute_12_outcome.zip'
"""

from __future__ import annotations

import os
from pathlib import Path

from envs.errors import ConfigError
from envs.resources import package_dir

__all__ = ["list_pretrained", "pretrained_dir", "pretrained_path", "shipped_model_path"]


def pretrained_dir() -> Path:
    """The folder of the shipped pretrained policies (``agents/pretrained``)."""
    return package_dir("agents") / "pretrained"


def list_pretrained() -> list[str]:
    """Names (file stems) of the shipped pretrained policies, sorted."""
    return sorted(p.stem for p in pretrained_dir().glob("*.zip"))


def shipped_model_path(name: str | os.PathLike[str]) -> Path | None:
    """The shipped policy a name stands for, or ``None`` if it names none.

    A name stands for a shipped policy when it is a name from :func:`list_pretrained` (with or
    without ``.zip``) or a path ending in ``pretrained/<name>.zip``, such as the repository
    path ``agents/pretrained/<name>.zip`` the docs use.
    """
    raw = Path(name)
    stem = raw.name.removesuffix(".zip")
    if (len(raw.parts) == 1 or raw.parent.name == "pretrained") and stem in list_pretrained():
        return pretrained_dir() / f"{stem}.zip"
    return None


def pretrained_path(name: str | os.PathLike[str]) -> Path:
    """The file of a shipped pretrained policy.

    Args:
        name: A name from :func:`list_pretrained`, with or without ``.zip``.

    Returns:
        The absolute path of the policy file.

    Raises:
        ConfigError: No shipped policy has that name (the message lists the known ones).
    """
    path = shipped_model_path(name)
    if path is None:
        known = ", ".join(list_pretrained())
        raise ConfigError(f"pretrained: no shipped policy {os.fspath(name)!r} (known: {known})")
    return path
