"""Worker processes that end with the process that started them.

A pool worker blocked on a pipe outlives a parent killed by ``SIGTERM`` or ``SIGKILL``:
it is reparented to PID 1 and waits forever, and so do the forkserver and the resource
tracker that hold its file descriptors. :func:`die_with` makes a worker end when its parent
does. It runs in the worker (as a pool initializer, or in a vector env's factory):

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill the worker when the
  process that forked it (the forkserver, for the forkserver start method) ends;
* everywhere, a daemon thread checks every :data:`WATCH_INTERVAL_S` seconds that the
  starting process (``parent_pid``) is alive, and ends the worker (``os._exit``) once it is
  not, which also covers the forkserver and spawn start methods, whose workers are not
  children of the starting process.

:func:`stop_processes` is the other half, for the parent: terminate and join workers when
the run is interrupted (``SIGTERM``, ``Ctrl-C``, an error), instead of waiting for them.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = [
    "WATCH_INTERVAL_S",
    "die_with",
    "parent_alive",
    "run_in_workers",
    "run_ordered",
    "stop_processes",
]

#: How often a worker checks that its parent is alive (seconds).
WATCH_INTERVAL_S = 0.5
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def parent_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a killed, not yet reaped process).

    >>> parent_alive(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): os.kill said it exists
    return state not in (b"Z", b"X")


def die_with(parent_pid: int) -> None:
    """End this (worker) process when ``parent_pid`` ends; call it in the worker.

    Args:
        parent_pid: The process that started the run (``os.getpid()`` in the parent).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watch thread below still covers it
    if not parent_alive(parent_pid):  # the parent ended before the worker started
        os._exit(1)
    watch = threading.Thread(target=_watch, args=(parent_pid,), name="parent-watch", daemon=True)
    watch.start()


def _watch(parent_pid: int) -> None:
    while parent_alive(parent_pid):
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)  # no cleanup: the results have nowhere to go


def stop_processes(processes: Iterable[Any], timeout_s: float = 5.0) -> None:
    """Terminate (then kill, after ``timeout_s``) and join ``multiprocessing`` processes."""
    procs = [p for p in processes if p is not None]
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + timeout_s
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)


def run_in_workers(
    fn: Callable[..., Any],
    tasks: Iterable[tuple],
    workers: int,
    on_result: Callable[[Any], None],
) -> None:
    """``fn(*task)`` for every task on a process pool whose workers end with this process.

    Results reach ``on_result`` as they complete (any order). Workers run :func:`die_with`
    first, so a ``SIGKILL`` of this process leaves none behind; on any interruption here
    (``SIGTERM`` raised as ``SystemExit`` by the scripts, ``Ctrl-C``, an error) the workers
    are terminated instead of finishing their tasks.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=die_with, initargs=(os.getpid(),)
    )
    futures = []
    try:
        futures = [pool.submit(fn, *task) for task in tasks]
        for future in as_completed(futures):
            on_result(future.result())
    except BaseException:
        for f in futures:
            f.cancel()
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        stop_processes(processes)
        raise
    pool.shutdown()


def run_ordered(
    fn: Callable[..., tuple[int, Any]],
    tasks: Sequence[tuple],
    workers: int,
    *,
    desc: str = "",
    progress: bool = True,
    run: Callable[..., None] | None = None,
) -> list[Any]:
    """Values of ``fn(*task)`` for every task, in task order, with a progress bar.

    Task ``n``'s first item is ``n`` and ``fn`` returns ``(n, value)``, so results that
    complete in any order are put back in order. ``workers`` <= 1 runs here, in order;
    otherwise :func:`run_in_workers` runs them, or ``run`` (same signature, e.g.
    ``agents.distributed.run_on_ray``).
    """
    from tqdm.auto import tqdm

    found: dict[int, Any] = {}
    with tqdm(total=len(tasks), desc=desc, disable=not progress) as bar:

        def done(result: tuple[int, Any]) -> None:
            found[result[0]] = result[1]
            bar.update()

        if workers <= 1:
            for t in tasks:
                done(fn(*t))
        else:
            (run or run_in_workers)(fn, tasks, workers, done)
    return [found[n] for n in range(len(tasks))]
