"""The per-decision observation compiled with numba, when numba is installed.

Building a decision's observation is most of an environment step: the candidate search
over the origin station's passes, then for each of the K candidates the what-if estimates
(uplink, compute and downlink walks over the contact windows, ``SimView.estimates``) and a
row of squashed features (``ConstellationDispatchEnv._candidate_rows``), then the global
features. In Python that is about 75 µs of a ~105 µs step at 12 satellites. :func:`observe`
does all of it in one compiled call (``envs.sim.kernel``) over arrays the simulator keeps
anyway (``Sim.busy_down``, ``committed``, ``onboard`` and the mirrors ``first_free``,
``first_model``, ``busy_up_flat``) and a :class:`WindowPool` of the world's window and pass
lists, packed on first use.

It is an accelerator, not a second model: the Python path stays the reference, and the
compiled one repeats its float operations in the same order, so observations, masks and
estimates are bit for bit the same (``tests/envs/test_compiled.py`` compares them across
scenarios, loads and power models). It runs where the reference has no special case:
without faults, inter-satellite links or backhaul, and for jobs from the ground; elsewhere
the environment keeps the Python path. Install numba (the ``fast`` extra) to use it; set
``CONSTELLATION_DISPATCH_COMPILED=0`` to switch it off.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import warnings
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from envs.sim.world import World

if TYPE_CHECKING:
    from envs.sim.core import Sim

__all__ = ["ENABLED", "WindowPool", "applies", "kernel", "observe", "sim_arrays"]

#: Whether the compiled path is used where it applies: numba is installed and
#: ``CONSTELLATION_DISPATCH_COMPILED`` is not ``0``. Tests switch it to compare both paths.
ENABLED = (
    os.environ.get("CONSTELLATION_DISPATCH_COMPILED", "1") != "0"
    and importlib.util.find_spec("numba") is not None
)


@functools.cache
def kernel() -> Callable | None:
    """The compiled kernel (``envs.sim.kernel``), imported on first use; ``None`` if numba fails.

    numba installed but unusable (built for another numpy: ``ImportError``; no writable
    folder for its cache: ``RuntimeError``) is warned about once, and the Python path is used.
    """
    try:
        from envs.sim import kernel as compiled_kernel
    except (ImportError, RuntimeError, OSError) as exc:
        warnings.warn(f"numba could not be imported ({exc}); the observation stays in Python",
                      RuntimeWarning, stacklevel=2)  # fmt: skip
        return None
    return compiled_kernel.observe


def applies(world: World, sim: Sim) -> bool:
    """Whether the compiled observation covers this episode (see the module docstring)."""
    return (
        ENABLED
        and type(world) is World
        and world.isl is None
        and sim.busy_up_flat is not None
        and kernel() is not None
    )


class WindowPool:
    """A world's windows and pass lists packed into flat arrays, filled on first use.

    ``win`` holds four rows: window starts, ends and rates (bytes/s, or 1 for compute) and,
    for the station pass lists the candidate search walks, the passing satellite (rises in
    the first row, sets in the second). Uplink windows are indexed by ``sat * n_stations +
    station`` (the simulator's uplink key without backhaul) in ``up``, downlink and compute
    windows by satellite in ``sat`` (rows: downlink offset and length, compute offset and
    length, class, buffer size), pass lists by station in ``station``. An offset of -1 means
    "not packed yet" (the compiled call then asks for it); a compute length of -1 means "no
    power model" (computes any time). The pool belongs to one world, which never changes its
    windows (faulted worlds do not use it), so every episode and fork shares it.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        n_sats, n_st = world.n_sats, world.n_stations
        self.win = np.empty((4, 1024))
        self.size = 0
        self.up = np.full((2, n_sats * n_st), -1, np.int64)
        self.sat = np.full((6, n_sats), -1, np.int64)
        self.station = np.full((2, n_st), -1, np.int64)
        for sat, power in enumerate(world.compute_windows):
            if power is not None:
                self.sat[2:4, sat] = self._add(*power)
        self.sat[4] = world.sat_class_list
        self.sat[5] = world.sat_buffer_jobs
        self.swap = np.asarray(world.swap_s, np.float64)
        self.per_token = np.asarray([world.prefill_s_per_token, world.decode_s_per_token])
        self.serves = np.ascontiguousarray(world.serves)

    @classmethod
    def of(cls, world: World) -> WindowPool:
        """The world's pool, made on first use and kept on the world."""
        pool = world.__dict__.get("_window_pool")
        if pool is None:
            pool = world.__dict__["_window_pool"] = cls(world)
        return pool

    def _add(self, *rows: list) -> tuple[int, int]:
        """Append parallel lists (the first ``len(rows)`` rows of ``win``); (offset, length)."""
        n, at = len(rows[0]), self.size
        if at + n > self.win.shape[1]:
            grown = np.empty((4, max(2 * self.win.shape[1], at + n)))
            grown[:, :at] = self.win[:, :at]
            self.win = grown
        for row, values in enumerate(rows):
            self.win[row, at : at + n] = values
        self.size = at + n
        return at, n

    def pack(self, origin: int, sats: np.ndarray) -> None:
        """Pack the origin's pass list and the windows ``sats`` need from it, if missing."""
        w = self.world
        if self.station[0, origin] < 0:
            rises, sets, pass_sats = w.station_pass_lists(origin)
            self.station[:, origin] = self._add(rises, sets, [0.0] * len(rises), pass_sats)
        for sat in sats.tolist():
            key = sat * w.n_stations + origin
            if self.up[0, key] < 0:
                self.up[:, key] = self._add(*w.uplink_windows(sat, origin))
            if self.sat[0, sat] < 0:
                self.sat[:2, sat] = self._add(*w.downlink_windows(sat))


def sim_arrays(sim: Sim) -> tuple[np.ndarray, ...]:
    """Zero-copy numpy views of the simulator state :func:`observe` reads (made per ``Sim``)."""

    def view(values: array) -> np.ndarray:
        return np.frombuffer(values, dtype=np.float64 if values.typecode == "d" else np.int64)

    sources = (sim.busy_up_flat, sim.busy_down, sim.first_free, sim.first_model,
               sim.committed, sim.onboard)  # fmt: skip
    return tuple(view(v) for v in sources)


def observe(pool: WindowPool, views: tuple[np.ndarray, ...], job: tuple, k: int,
            consts: np.ndarray, sats: np.ndarray, est: np.ndarray, out: np.ndarray,
            mask: np.ndarray) -> tuple[int, int]:  # fmt: skip
    """One decision's candidates, estimates, observation and mask: ``(candidates, valid)``.

    ``job`` is ``(now, origin, in_bytes, in_tokens, model, expected output tokens and
    bytes, arrival, deadline, pending jobs, jobs in flight)``; ``views`` is
    :func:`sim_arrays` of the running simulator; ``consts`` the environment's constants
    (day fraction of the epoch, episode duration, buffer capacity, longest pass, then the
    squash scales: 1 / log1p(day), log1p(day), the pending scale, log1p(token scale)).
    ``out`` is the zeroed flat observation. Whatever is missing from the pool is packed and
    the call repeated. Call it only where :func:`applies` is true.
    """
    run = kernel()
    while True:
        n, valid = run(*job, k, consts, pool.win, pool.up, pool.sat, pool.station, pool.swap,
                       pool.per_token, pool.serves, *views, sats, est, out, mask)  # fmt: skip
        if valid >= 0:
            return n, valid
        pool.pack(job[1], sats[:n])
