"""Import a file of ``scripts/`` as a module (to call its ``main`` in-process); read its CSVs."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str, module_name: str | None = None) -> ModuleType:
    """``scripts/<name>.py`` as a fresh module (a thin wrapper: ``main`` and ``run_cli``);
    ``sys.path`` is restored afterwards."""
    spec = importlib.util.spec_from_file_location(module_name or name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file the scripts or the harness wrote, as dicts of strings."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))
