"""The import structure of ``envs`` and ``agents``: no cycles, no private names taken from
another module, and ``envs`` never imports ``agents`` (the environment stands alone).

Read from the source (every import statement, those inside functions and under
``TYPE_CHECKING`` included), so a cycle hidden in a lazy import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "agents")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, dict[str, list[str]]]:
    """``module -> {imported project module: [names]}``."""

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, list[str]]] = {m: {} for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = owner(full if full in modules else node.module)
                    if target and target != module:
                        graph[module].setdefault(target, []).append(alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    target = owner(alias.name)
                    if target and target != module:
                        graph[module].setdefault(target, []).append(alias.name)
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_modules_import_each_other_without_cycles():
    assert _cycles(_imports(_modules())) == []


def test_envs_never_imports_agents():
    upward = [
        f"{module} imports {target}"
        for module, targets in _imports(_modules()).items()
        if module.startswith("envs")
        for target in targets
        if target.startswith("agents")
    ]
    assert upward == []


def test_no_module_imports_a_private_name_of_another():
    private = [
        f"{module} imports {name} from {target}"
        for module, targets in _imports(_modules()).items()
        for target, names in targets.items()
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_module_above_400_lines_says_why_in_its_docstring():
    # The house keeps modules to about 400 lines; a longer one states its reason (a sentence
    # naming the ~400 lines) where a reader meets it, the module docstring.
    silent = []
    for name, path in _modules().items():
        source = path.read_text()
        if len(source.splitlines()) > 400:
            doc = ast.get_docstring(ast.parse(source)) or ""
            if "400" not in doc:
                silent.append(f"{name} ({len(source.splitlines())} lines)")
    assert silent == []
