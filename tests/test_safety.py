"""Safe by construction: no unsafe loaders, atomic outputs, no network while the tests run.

The source scans parse the code (``ast``), so comments, docstrings and strings never match.
A new use of a dangerous call, or a new file writer, fails here until it is reviewed.
"""

from __future__ import annotations

import ast
import multiprocessing
import socket
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CODE = ("envs", "agents", "scripts", "tests")
SHIPPED = ("envs", "agents", "scripts")

# Calls that can run code from their input: (module or object, function).
UNSAFE = {
    ("yaml", "load"), ("yaml", "load_all"), ("yaml", "unsafe_load"), ("yaml", "unsafe_load_all"),
    ("yaml", "full_load"), ("yaml", "full_load_all"),
    ("pickle", "load"), ("pickle", "loads"), ("cloudpickle", "load"), ("cloudpickle", "loads"),
    ("dill", "load"), ("dill", "loads"), ("marshal", "load"), ("marshal", "loads"),
    ("torch", "load"), ("shelve", "open"), ("jsonpickle", "decode"),
}  # fmt: skip
# Allowed uses, each with its reason: (file, call).
UNSAFE_ALLOWED = {
    ("tests/envs/test_sim.py", "pickle.loads"): "round trip of a simulator the test pickled itself",
    ("tests/envs/test_faults.py", "pickle.loads"): "round trip of a simulator the test pickled",
}
# Calls that write a file are atomic when they write into the handle of a
# ``with envs.atomic.atomic_write(...)`` block or into an ``io.BytesIO``; the others need a
# reason here.
WRITERS = {
    ("envs/atomic.py", "tempfile.mkstemp"): "atomic_write's own temporary file",
    ("envs/contact_plan/build.py", "plan.save"): "ContactPlan.save uses atomic_write",
    ("envs/atomic.py", "(stage / RUN_MARKER).write_text"): "marker inside staged_folder's fresh "
    "folder, which is swapped in whole",
    ("envs/atomic.py", "(stage / INCOMPLETE).write_text"): "marker inside staged_folder's fresh "
    "folder, which is swapped in whole",
}
_WRITE_FUNCTIONS = {"write_text", "write_bytes", "savefig", "save", "savez", "savez_compressed",
                    "tofile", "to_csv", "mkstemp", "NamedTemporaryFile", "dump_model"}  # fmt: skip


def sources(folders: tuple[str, ...]) -> list[tuple[str, ast.AST]]:
    return [
        (path.relative_to(REPO).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for folder in folders
        for path in sorted((REPO / folder).rglob("*.py"))
    ]


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _open_mode(call: ast.Call) -> str:
    for kw in call.keywords:
        if kw.arg == "mode" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    i = 1 if isinstance(call.func, ast.Name) else 0  # open(path, mode) / path.open(mode)
    if len(call.args) > i and isinstance(call.args[i], ast.Constant):
        return str(call.args[i].value)
    return "r"


def unsafe_in(tree: ast.AST) -> set[str]:
    """Unsafe loader calls and imports, eval/exec/compile, and ``np.load(allow_pickle=...)``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:  # from pickle import loads
            for alias in node.names:
                if (node.module.split(".")[0], alias.name) in UNSAFE:
                    found.add(f"from {node.module} import {alias.name}")
    for node, name in calls(tree):
        if tuple(name.split("."))[-2:] in UNSAFE or name in ("eval", "exec", "compile"):
            found.add(name)
        pickled = [k for k in node.keywords if k.arg == "allow_pickle"]
        if any(not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in pickled):
            found.add(f"{name}(allow_pickle=...)")
    return found


def unsafe_uses() -> set[tuple[str, str]]:
    return {(path, name) for path, tree in sources(CODE) for name in unsafe_in(tree)}


def writers_in(tree: ast.AST) -> set[str]:
    """Calls that write files, except into an ``atomic_write`` handle or an ``io.BytesIO``."""
    atomic: set[int] = set()  # calls inside ``with atomic_write(...)`` blocks
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and ast.unparse(item.context_expr.func).endswith("atomic_write")
            for item in node.items
        ):
            atomic.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    buffers = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func).endswith("BytesIO")
        for target in node.targets
        if isinstance(target, ast.Name)
    }  # fmt: skip
    found = set()
    for node, name in calls(tree):
        last = name.split(".")[-1]
        into_buffer = bool(node.args) and isinstance(node.args[0], ast.Name) and (
            node.args[0].id in buffers
        )
        writes = last == "open" and set(_open_mode(node)) & set("wax+")
        if (writes or last in _WRITE_FUNCTIONS) and id(node) not in atomic and not into_buffer:
            found.add(name)
    return found


def file_writers() -> set[tuple[str, str]]:
    return {(path, name) for path, tree in sources(SHIPPED) for name in writers_in(tree)}


def test_no_unsafe_deserialisation_or_eval_outside_the_reviewed_places():
    unexpected = unsafe_uses() - UNSAFE_ALLOWED.keys()
    assert not unexpected, f"unsafe loaders or eval (use yaml.safe_load / json): {unexpected}"


def test_yaml_is_only_read_with_safe_load():
    loaders = {
        name
        for path, tree in sources(CODE)
        for _, name in calls(tree)
        if name.startswith("yaml.") and "load" in name
    }
    assert loaders <= {"yaml.safe_load", "yaml.safe_load_all"}, loaders


def test_shipped_code_reads_yaml_only_through_the_strict_safe_loader():
    """One loader for every YAML the project reads: envs.yamlio's SafeLoader subclass."""
    from envs.yamlio import StrictSafeLoader

    assert issubclass(StrictSafeLoader, yaml.SafeLoader)
    assert not issubclass(StrictSafeLoader, (yaml.FullLoader, yaml.UnsafeLoader))
    direct = {
        (path, name)
        for path, tree in sources(SHIPPED)
        for _, name in calls(tree)
        if path != "envs/yamlio.py"
        and ((name.startswith("yaml.") and "load" in name) or name.endswith("Loader"))
    }
    assert not direct, f"read YAML with envs.yamlio.read_yaml / parse_yaml: {direct}"
    loaders = {name for _, name in calls(dict(sources(("envs",)))["envs/yamlio.py"])}
    assert "StrictSafeLoader" in loaders and not any(n.startswith("yaml.") for n in loaders)


def test_the_scan_finds_what_it_is_looking_for():
    code = (
        "from pickle import loads\nyaml.load(x)\nyaml.safe_load(x)\npickle.load(f)\neval(s)\n"
        "np.load(p, allow_pickle=True)\nnp.load(p, allow_pickle=False)\n'pickle.load(f)'\n"
    )
    assert unsafe_in(ast.parse(code)) == {
        "from pickle import loads", "yaml.load", "pickle.load", "eval",
        "np.load(allow_pickle=...)",
    }  # fmt: skip


def test_the_writer_scan_tells_atomic_writes_from_others():
    code = (
        "with atomic_write(p) as fh:\n    fig.savefig(fh)\n    np.savez(fh, a=a)\n"
        "buf = io.BytesIO()\nfig.savefig(buf)\nfig.savefig(path)\nmodel.save(path)\n"
        "open(p, 'w')\nopen(p)\np.open('a')\np.write_text('x')\n"
    )
    assert writers_in(ast.parse(code)) == {
        "fig.savefig", "model.save", "open", "p.open", "p.write_text"
    }


def test_every_file_writer_is_atomic_or_reviewed():
    unreviewed = file_writers() - WRITERS.keys()
    assert not unreviewed, f"write outputs with envs.atomic.atomic_write: {unreviewed}"


# --- no network at run time (the session fixture in conftest.py) --------------------------


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(lambda: socket.create_connection(("93.184.216.34", 80), timeout=1), id="tcp"),
        pytest.param(
            lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).connect(("::1", 80)),
            id="tcp6-loopback",
        ),
        pytest.param(
            lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("1.1.1.1", 53)),
            id="udp",
        ),
        pytest.param(lambda: socket.getaddrinfo("example.com", 443), id="dns"),
        pytest.param(
            lambda: __import__("urllib.request").request.urlopen("http://example.com", timeout=1),
            id="urllib",
        ),
    ],
)
def test_network_attempts_fail_during_the_tests(attempt):
    # conftest's NetworkAccessError is an OSError, so libraries report it as a failed
    # connection (urllib wraps it in URLError).
    with pytest.raises(OSError, match="disabled in the tests"):
        attempt()


def test_local_sockets_and_process_pipes_still_work():
    a, b = socket.socketpair()  # AF_UNIX: what multiprocessing and SubprocVecEnv use
    with a, b:
        a.sendall(b"ping")
        assert b.recv(4) == b"ping"
    left, right = multiprocessing.Pipe()
    left.send({"obs": [1, 2]})
    assert right.recv() == {"obs": [1, 2]}
    assert socket.getaddrinfo("localhost", None)
