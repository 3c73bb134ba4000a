"""Killing evaluate.py or train.py leaves no process behind (agents.lifeline).

Each script runs in a session of its own (its process group id is its pid); once its worker
processes are up it gets ``SIGTERM`` or ``SIGKILL``, and then no live process of the group may
remain: not the workers, not the forkserver, not the resource tracker. Processes are read from
``/proc`` (Linux only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def group_members(pgid: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes of process group ``pgid``: ``(pid, command line)``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue  # ended meanwhile
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in (b"Z", b"X"):
            out.append((int(entry.name), cmd.strip()))
    return out


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def start(script: str, args: list[str], tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    return subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / script), *args],
        cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def kill_and_check(proc: subprocess.Popen, sig: int, workers: int) -> str:
    """Once ``workers`` worker processes run, send ``sig``; return stderr. Asserts cleanup."""
    pgid = proc.pid
    try:
        # main + forkserver + workers (the resource tracker too, usually)
        up = wait_for(lambda: len(group_members(pgid)) >= 2 + workers, 180.0)
        assert up, (proc.poll(), group_members(pgid))
        time.sleep(1.0)  # let the workers get busy
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        gone = wait_for(lambda: not group_members(pgid), 15.0)
        assert gone, group_members(pgid)
        return err.decode(errors="replace")
    finally:
        if group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)  # never leak processes into the test run
        if proc.poll() is None:
            proc.kill()
            proc.wait()


EVALUATE = ["--scenario", "toy", "--agents", "random,ect", "--episodes", "2000", "--workers",
            "2", "--quiet", "--out", "eval"]  # fmt: skip
TRAIN = ["--scenario", "toy", "--algo", "maskable_ppo", "--timesteps", "1000000", "--n-envs",
         "2", "--no-progress", "--out", "run", "--hp", "bc=null", "--hp", "n_steps=64",
         "--hp", "batch_size=32", "--hp", "eval_freq=1000000", "--hp",
         "checkpoint_freq=1000000"]  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killing_evaluate_leaves_no_worker_forkserver_or_tracker(tmp_path, sig):
    proc = start("evaluate.py", EVALUATE, tmp_path)
    err = kill_and_check(proc, sig, workers=2)
    assert proc.returncode == (128 + signal.SIGTERM if sig == signal.SIGTERM else -sig), err
    assert "Traceback" not in err
    assert not (tmp_path / "eval").exists()  # nothing half-written


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_killing_train_leaves_no_vec_env_worker(tmp_path, sig):
    proc = start("train.py", TRAIN, tmp_path)
    err = kill_and_check(proc, sig, workers=2)
    assert proc.returncode == (128 + signal.SIGTERM if sig == signal.SIGTERM else -sig), err
    assert not (tmp_path / "run").exists()
    if sig == signal.SIGTERM:  # no checkpoint yet: the partial folder is not kept either
        assert not list(tmp_path.glob("run.partial-*")), list(tmp_path.iterdir())
