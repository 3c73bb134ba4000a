"""The discrete-event core: jobs flow uplink → on-board compute → downlink.

Events are plain tuples ``(time, priority, seq, kind, job)`` on a heap, ties broken by
priority then insertion order (SimPy's rule), so runs are deterministic and the whole state
pickles and deep-copies (no generators).

Stages, per satellite:

* **Uplink**: one FIFO link per (satellite, origin station) — or per (satellite, network)
  with terrestrial backhaul. A job's bytes move only while the satellite is in contact with
  the job's origin station (or, with backhaul, any station of the origin's network after the
  backhaul delay), at that station's uplink rate; a transfer that does not fit in one pass
  continues in the next (``envs.sim.links.walk``). Jobs from different stations do not
  block each other (a job waiting hours for its station's pass must not hold the satellite's
  receiver).
* **Compute**: ``servers`` parallel servers, FIFO in order of arrival on board; service =
  model swap (if the server holds another model) + prefill + decode; with a power model
  (``sunlit_only``, ``battery``) work progresses only inside the satellite's compute windows
  (``World.compute_windows``). A job arriving at a full on-board buffer
  is dropped (``buffer_full``).
* **Downlink**: one transmitter, FIFO in order of completion, during contacts with any
  downlink-permitted station at the best rate available at each instant. With
  inter-satellite links (``isl.enabled``, ``envs.sim.isl``) a finished result may first be
  relayed over up to ``max_hops`` links to the neighbour that delivers it earliest; it then
  joins that satellite's queue (``relay``, ``isl_hops``). A relayed result frees its buffer
  slot on the computing satellite and takes none on the relay: the buffer bounds jobs
  awaiting compute or downlink on their own satellite, and a relayed result is a few
  kilobytes in the relay's mass memory (counting it against the relay's buffer would make
  dispatchers shun exactly the satellites over a station).

Link and server time is reserved when a stage starts (FIFO makes the schedule known then);
a job dropped later (deadline) does not give its reservation back.

Drops: ``deadline_missed`` (the deadline passes before delivery), ``no_contact`` (no window
left in the horizon to finish a stage), ``buffer_full``, ``satellite_failure`` (the job's
satellite failed: :meth:`Sim.fail`, called by the failure events the fault plan schedules;
see ``envs.sim.faults``, whose ``FaultedWorld`` also cuts the windows for station outages and
degraded links). Invariant at every event:
``arrived == completed + dropped + in_flight`` (``check_invariants``). Only this module
changes a ``Sim``'s state.

Size: about 560 lines, above the house's ~400, because it is one state machine (the ``Sim``
class, its events and their handlers); its pieces share every attribute, and splitting
them over modules would spread that state instead of containing it.
"""

from __future__ import annotations

import heapq
from array import array
from collections import deque

import numpy as np

from envs.jobs import JobBatch
from envs.scenario.schema import Scenario
from envs.sim.links import INF, walk
from envs.sim.world import World

__all__ = ["DROP_REASONS", "STATUS", "Sim"]

DROP_REASONS = ("deadline_missed", "no_contact", "buffer_full", "satellite_failure")
STATUS = ("future", "pending", "in_flight", "completed", "dropped")
_FUTURE, _PENDING, _IN_FLIGHT, _COMPLETED, _DROPPED = range(5)
# Event kinds double as tie-break priorities: completions before new work at equal times.
# A satellite failure comes last: work finishing at the failure instant is not lost.
DOWNLINK_DONE, COMPUTE_DONE, UPLINK_DONE, DEFER_RETURN, DEADLINE, SAT_FAILURE = range(6)
# The events of a job's stages: a job assigned to a satellite has exactly one on the heap.
_STAGES = (UPLINK_DONE, COMPUTE_DONE, DOWNLINK_DONE)
_TIMELINE = ("dispatch", "uplink_start", "uplink_end", "compute_start", "compute_end",
             "downlink_start", "delivered", "dropped_at")  # fmt: skip


def _isnan(x: float) -> bool:
    return x != x


def _doubles(values: np.ndarray) -> array:
    return array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def _ints(values: np.ndarray) -> array:
    return array("q", np.ascontiguousarray(values, dtype=np.int64).tobytes())


#: Per-job inputs (attribute, ``JobBatch`` field, typed-array maker): no event changes them.
_JOB_INPUTS = (("arrival", "arrival_s", _doubles), ("origin", "origin", _ints),
               ("model", "model", _ints), ("in_tokens", "input_tokens", _ints),
               ("out_tokens", "output_tokens", _ints), ("in_bytes", "input_bytes", _doubles),
               ("out_bytes", "output_bytes", _doubles),
               ("deadline", "deadline_s", _doubles))  # fmt: skip


def _job_state(n: int, isl: bool) -> dict:
    """The per-job state events change, for ``n`` jobs that have not arrived yet."""
    state = {
        "status": bytearray(n),  # _FUTURE == 0
        "sat": _ints(np.full(n, -1)),
        "timeline": {name: _doubles(np.full(n, np.nan)) for name in _TIMELINE},
        "drop_code": bytearray(n),  # 0 = not dropped, else 1 + index into DROP_REASONS
    }
    if isl:  # with inter-satellite links only
        state["relay"] = _ints(np.full(n, -1))  # satellite that downlinks the result
        state["isl_hops"] = _ints(np.zeros(n, np.int64))
        state["relay_arrival"] = _doubles(np.full(n, np.nan))  # when it reached ``relay``
    return state


class Sim:
    """One episode of the simulator. Drive it with ``advance()`` and ``dispatch()``."""

    def __init__(
        self, world: World, jobs: JobBatch, *, check: bool = False, scenario: Scenario | None = None
    ):
        """Start an episode of ``jobs`` in ``world``.

        ``scenario`` supplies the per-episode settings (backhaul delay, defer time, payload
        sizes); it defaults to the world's own and must share its static part.
        """
        self.world = world
        self.check = check
        self.scenario = sc = world.scenario if scenario is None else scenario
        self.backhaul_s = sc.ground.backhaul_delay_s
        self.defer_s = sc.dispatch.defer_s
        self.horizon_s = world.horizon_s
        n, n_sat = len(jobs.arrival_s), world.n_sats
        # Per-job inputs and state in compact typed arrays (8 bytes a value, not a Python
        # object): a 24 h episode of the 2,800-satellite preset has millions of jobs.
        for name, field, make in _JOB_INPUTS:
            setattr(self, name, make(getattr(jobs, field)))
        self.n_jobs = n
        self.isl = world.isl  # None: no inter-satellite links, and no per-job relay columns
        self.__dict__.update(_job_state(n, self.isl is not None))
        self.busy_up: dict[int, float] = {}  # uplink link key -> time its queue empties
        # Per-satellite counters and times in typed arrays: list-like to the event loop, and
        # readable without copies by the compiled observation (``envs.sim.compiled``).
        self.busy_down = array("d", bytes(8 * n_sat))
        classes = sc.classes
        self.free_at = [[0.0] * classes[c].servers for c in world.sat_class_list]
        self.loaded = [[-1] * classes[c].servers for c in world.sat_class_list]
        self.onboard = array("q", bytes(8 * n_sat))
        self.committed = array("q", bytes(8 * n_sat))  # dispatched, not delivered or dropped
        # Mirrors for the compiled observation, written where their sources change: the first
        # free server's time and model (``_uplink_done``) and, without backhaul, ``busy_up``
        # as a flat (satellite, station) table (``dispatch``).
        self.first_free = array("d", bytes(8 * n_sat))
        self.first_model = array("q", [-1]) * n_sat
        self.busy_up_flat = (
            array("d", bytes(8 * n_sat * world.n_stations)) if self.backhaul_s is None else None
        )
        # Per satellite: jobs still in uplink to it -> when their uplink ends (estimates that
        # count the compute and buffer slots those jobs will take ahead of a new one).
        self.uplinking: list[dict[int, float]] = [{} for _ in range(n_sat)]
        # Per satellite: bumped whenever its uplink list, servers or loaded models change
        # (``SimView`` caches the queue ahead of new jobs per satellite under it).
        self.queue_version = [0] * n_sat
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.pending: deque[int] = deque()
        self.next_arrival = 0
        self.arrival_limit = n  # jobs from this index on never arrive (``stop_arrivals``)
        self.arrivals_stopped = False
        self.now = 0.0
        self.arrived = self.completed = self.dropped = 0
        self.job_seconds = 0.0  # accrued since the last ``take_accrued()``
        self.drops_since = 0
        self.redispatched = 0  # jobs sent back to the pending queue by a satellite failure
        for time, sat in world.failures:  # none without faults (``envs.sim.faults``)
            if time <= self.horizon_s:
                self._push(time, SAT_FAILURE, sat)

    # ------------------------------------------------------------------ forking
    #: Per-job inputs no event changes: a fork shares them instead of copying.
    SHARED = frozenset({"world", "check", "scenario", "backhaul_s", "defer_s", "horizon_s",
                        "n_jobs", "isl", *(name for name, _, _ in _JOB_INPUTS)})  # fmt: skip

    def fork(self) -> Sim:
        """An independent copy that evolves bit for bit like this one under the same actions.

        The future arrivals are part of the state (the whole job table is drawn at reset) and
        the fault plan is the world's, so a fork sees the same arrivals and the same fault
        events. Per-job inputs and the static world are shared; everything an event changes
        (statuses, timelines, queues, reservations, the heap, counters) is copied, and a
        ``FaultedWorld`` copies its set of failed satellites and its window caches. Cost:
        linear in the number of jobs (typed-array copies), no Python loop over jobs.
        """
        new = Sim.__new__(Sim)
        state = new.__dict__
        for name, value in vars(self).items():
            if name in self.SHARED:
                state[name] = value
            elif isinstance(value, (array, bytearray, deque)):
                state[name] = value.__copy__() if isinstance(value, array) else type(value)(value)
            elif isinstance(value, dict):  # busy_up (floats) or timeline (arrays)
                state[name] = {
                    k: v.__copy__() if isinstance(v, array) else v for k, v in value.items()
                }
            elif isinstance(value, list):  # heap (tuples), busy_down, free_at, uplinking, ...
                state[name] = [v.copy() if isinstance(v, (list, dict)) else v for v in value]
            elif isinstance(value, (int, float)) or value is None:
                state[name] = value
            else:  # a new kind of state must say how it forks
                raise TypeError(f"Sim.fork: no copy rule for attribute {name!r} ({type(value)})")
        new.world = self.world.fork()
        return new

    def replace_future(self, jobs: JobBatch) -> int:
        """Replace the jobs that have not arrived by ``jobs``' arrivals after ``now``.

        For planning without clairvoyance (``ConstellationDispatchEnv.fork(future_seed=…)``):
        a fork whose future is another draw of the arrival process prices a decision against
        a future the dispatcher could have expected, not the one that will happen. Jobs
        already arrived keep their rows and state, and so do jobs whose arrival time is ``now``
        or earlier but which the event loop has not reached yet (the rest of a burst).
        The shared per-job inputs are rebuilt, never changed in place, so call it on a fork
        and the original is untouched. After ``stop_arrivals`` there is no future to replace
        and nothing changes. Returns the number of jobs in the new future.
        """
        if self.arrivals_stopped:
            return 0
        keep = self.next_arrival
        while keep < self.n_jobs and self.arrival[keep] <= self.now:
            keep += 1
        tail = np.flatnonzero(np.asarray(jobs.arrival_s) > self.now)
        for name, field, make in _JOB_INPUTS:
            setattr(self, name, getattr(self, name)[:keep] + make(getattr(jobs, field)[tail]))
        m = len(tail)
        for name, blank in _job_state(m, self.isl is not None).items():
            old = getattr(self, name)
            if isinstance(blank, dict):  # the timeline, column by column
                setattr(self, name, {k: old[k][:keep] + v for k, v in blank.items()})
            else:
                setattr(self, name, old[:keep] + blank)
        self.n_jobs = self.arrival_limit = keep + m
        return m

    # ------------------------------------------------------------------ bookkeeping
    @property
    def in_flight(self) -> int:
        """Jobs arrived and neither completed nor dropped (pending ones included)."""
        return self.arrived - self.completed - self.dropped

    @property
    def done(self) -> bool:
        """No pending job, no future arrival and no event left."""
        return not self.pending and not self.heap and self.next_arrival >= self.arrival_limit

    def stop_arrivals(self) -> None:
        """No further job arrives: the episode drains the jobs already arrived.

        For truncated rollouts (``agents.planning``): a fork that stops arrivals and runs to
        the end measures what the jobs in the system still cost. Jobs that never arrive keep
        the status ``future`` and cost nothing.
        """
        self.arrival_limit = self.next_arrival
        self.arrivals_stopped = True

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if a job was lost or counted twice."""
        counts = [self.status.count(s) for s in range(5)]
        if not (counts[_COMPLETED] == self.completed and counts[_DROPPED] == self.dropped):
            raise AssertionError(f"counters {self.completed}/{self.dropped} != statuses {counts}")
        if counts[_PENDING] + counts[_IN_FLIGHT] != self.in_flight or counts[_FUTURE] != (
            self.n_jobs - self.arrived
        ):
            raise AssertionError(f"arrived {self.arrived} != completed+dropped+in_flight {counts}")
        if counts[_PENDING] != len(set(self.pending)) or len(self.pending) != len(
            set(self.pending)
        ):
            raise AssertionError("pending queue out of step with job statuses")
        if any(o < 0 or o > c for o, c in zip(self.onboard, self.committed, strict=True)):
            raise AssertionError(f"buffer counts out of range: {self.onboard} / {self.committed}")
        for sat, jobs in enumerate(self.uplinking):
            for job in jobs:
                if self.sat[job] != sat or self.status[job] != _IN_FLIGHT or not _isnan(
                    self.timeline["uplink_end"][job]
                ):
                    raise AssertionError(f"job {job} listed in uplink to satellite {sat}")

    def take_accrued(self) -> tuple[float, int]:
        """Job-seconds and drops accumulated since the previous call (then reset)."""
        out = (self.job_seconds, self.drops_since)
        self.job_seconds, self.drops_since = 0.0, 0
        return out

    def _push(self, time: float, kind: int, job: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (time, kind, self.seq, kind, job))

    def _clock(self, t: float) -> None:
        self.job_seconds += (self.arrived - self.completed - self.dropped) * (t - self.now)
        self.now = t

    def holder(self, job: int) -> int:
        """The satellite holding the job: its relay once relayed, else the one it was sent to."""
        if self.isl is not None and self.relay[job] >= 0:
            return self.relay[job]
        return self.sat[job]

    def _relayed_away(self, job: int) -> bool:
        """Whether the job's result left its satellite over a link (its slot is freed)."""
        return self.isl is not None and self.relay[job] >= 0 and self.relay[job] != self.sat[job]

    def _drop(self, job: int, reason: str) -> None:
        tl = self.timeline
        if self.sat[job] >= 0 and self.uplinking[self.sat[job]].pop(job, None) is not None:
            self.queue_version[self.sat[job]] += 1
        sat = -1 if self._relayed_away(job) else self.sat[job]
        if sat >= 0 and not _isnan(tl["compute_start"][job]) and _isnan(tl["delivered"][job]):
            self.onboard[sat] -= 1  # it was holding a buffer slot
        if sat >= 0:
            self.committed[sat] -= 1
        self.status[job] = _DROPPED
        self.drop_code[job] = 1 + DROP_REASONS.index(reason)
        tl["dropped_at"][job] = self.now
        self.dropped += 1
        self.drops_since += 1

    def fail(self, sat: int, reason: str = "satellite_failure") -> None:
        """Satellite ``sat`` fails now: its windows go and the jobs assigned to it are resolved.

        The world records the failure (``FaultedWorld.mark_failed``; a failure already
        recorded changes nothing). Every job assigned to the satellite has exactly one stage
        event on the heap (uplink, compute or downlink done); those events are removed and the
        jobs dropped with ``reason`` or, when the world's faults say ``redispatch``, put back in
        the pending queue if their uplink had not finished (in job order, i.e. arrival order).
        The ``SAT_FAILURE`` events of the world's fault plan call this.
        """
        if reason not in DROP_REASONS:
            raise ValueError(f"Sim.fail: reason must be one of {DROP_REASONS}, got {reason!r}")
        if not self.world.mark_failed(sat):
            return
        heap, hit, keep = self.heap, [], []
        for event in heap:
            kind, job = event[3], event[4]
            on_sat = (
                kind in _STAGES
                and (self.holder(job) if kind == DOWNLINK_DONE else self.sat[job]) == sat
            )
            if on_sat:
                if self.status[job] == _IN_FLIGHT:
                    hit.append((job, kind))
            else:
                keep.append(event)
        heap[:] = keep  # in place: the event loop holds a reference to the list
        heapq.heapify(heap)
        for job, kind in sorted(hit):
            if self.world.redispatch and kind == UPLINK_DONE and self.origin[job] >= 0:
                self.committed[sat] -= 1
                del self.uplinking[sat][job]
                self.queue_version[sat] += 1
                self.sat[job] = -1
                self.timeline["dispatch"][job] = self.timeline["uplink_start"][job] = np.nan
                self.status[job] = _PENDING
                self.pending.append(job)
                self.redispatched += 1
            else:
                self._drop(job, reason)

    # ------------------------------------------------------------------ decisions
    def head(self) -> int:
        """The pending job awaiting a decision (``-1`` when none)."""
        return self.pending[0] if self.pending else -1

    def dispatch(self, sat: int) -> None:
        """Send the head job to ``sat``: it joins the satellite's uplink queue now."""
        job = self.pending.popleft()
        self.status[job] = _IN_FLIGHT
        self.sat[job] = sat
        self.committed[sat] += 1
        self.timeline["dispatch"][job] = self.now
        start, end = self.uplink_plan(job, sat)
        if end == INF:
            self._drop(job, "satellite_failure" if sat in self.world.failed else "no_contact")
            return
        if self.origin[job] >= 0:
            link = self.uplink_link(job, sat)
            self.busy_up[link] = end
            if self.busy_up_flat is not None:
                self.busy_up_flat[link] = end
        self.timeline["uplink_start"][job] = start
        self.uplinking[sat][job] = end
        self.queue_version[sat] += 1
        self._push(end, UPLINK_DONE, job)

    def defer(self) -> None:
        """Put the head job aside; it comes back for a new decision after ``defer_s``."""
        back = self.now + self.defer_s
        if back > self.horizon_s:
            self.reject("no_contact")
            return
        job = self.pending.popleft()
        self.status[job] = _IN_FLIGHT
        self._push(back, DEFER_RETURN, job)

    def reject(self, reason: str) -> None:
        """Drop the head job without dispatching it (e.g. no satellite can serve it)."""
        job = self.pending.popleft()
        self.status[job] = _IN_FLIGHT
        self._drop(job, reason)

    def unserved_reason(self, job: int) -> str:
        """Why a job no satellite can serve is dropped: its own satellite failed, or no contact."""
        sat = -1 - self.origin[job]
        return "satellite_failure" if sat >= 0 and sat in self.world.failed else "no_contact"

    def uplink_link(self, job: int, sat: int) -> int | None:
        """Key of the FIFO uplink the job would use on ``sat``: (sat, station) or (sat, network).

        ``None`` for a job generated on board (it uses no uplink).
        """
        w = self.world
        if self.origin[job] < 0:
            return None
        if self.backhaul_s is None:
            return sat * w.n_stations + self.origin[job]
        return -1 - (sat * len(w.networks) + w.station_network[self.origin[job]])

    def uplink_plan(self, job: int, sat: int) -> tuple[float, float]:
        """(start, end) of the job's uplink to ``sat`` if it joined the queue now.

        A job generated on board (negative origin) needs no uplink on its own satellite and
        cannot reach any other (inter-satellite links carry results only).
        """
        w = self.world
        origin = self.origin[job]
        if origin < 0:
            ok = sat == -1 - origin and sat not in w.failed
            return (self.now, self.now) if ok else (INF, INF)
        if self.backhaul_s is None:
            windows = w.uplink_windows(sat, self.origin[job])
            ready = self.now
        else:
            windows = w.network_uplink_windows(sat, w.station_network[self.origin[job]])
            ready = self.now + self.backhaul_s
        busy = self.busy_up.get(self.uplink_link(job, sat), 0.0)
        return walk(windows, max(ready, busy), self.in_bytes[job])

    # ------------------------------------------------------------------ event loop
    def advance(self) -> None:
        """Process events until a job awaits a decision or nothing is left."""
        heap = self.heap
        while not self.pending:
            t_arr = (
                self.arrival[self.next_arrival] if self.next_arrival < self.arrival_limit else INF
            )
            if heap and heap[0][0] <= t_arr:
                time, _, _, kind, job = heapq.heappop(heap)
                self._clock(time)
                self._handle(kind, job)
            elif t_arr < INF:
                job = self.next_arrival
                self.next_arrival += 1
                self._clock(t_arr)
                self.arrived += 1
                self.status[job] = _PENDING
                self.pending.append(job)
                if self.deadline[job] < INF:
                    self._push(self.deadline[job], DEADLINE, job)
            else:
                break
            if self.check:
                self.check_invariants()

    def _handle(self, kind: int, job: int) -> None:
        if kind == SAT_FAILURE:  # ``job`` is the satellite here
            self.fail(job)
            return
        if self.status[job] == _DROPPED:
            return  # a reservation outliving its job (dropped at its deadline)
        if kind == UPLINK_DONE:
            self._uplink_done(job)
        elif kind == COMPUTE_DONE:
            self._compute_done(job)
        elif kind == DOWNLINK_DONE:
            self.timeline["delivered"][job] = self.now
            self.status[job] = _COMPLETED
            if not self._relayed_away(job):
                self.onboard[self.sat[job]] -= 1
                self.committed[self.sat[job]] -= 1
            self.completed += 1
        elif kind == DEFER_RETURN:
            self.status[job] = _PENDING
            self.pending.append(job)
        elif kind == DEADLINE and self.status[job] in (_PENDING, _IN_FLIGHT):
            if self.status[job] == _PENDING:
                self.pending.remove(job)
                self.status[job] = _IN_FLIGHT
            self._drop(job, "deadline_missed")

    def _uplink_done(self, job: int) -> None:
        sat = self.sat[job]
        del self.uplinking[sat][job]
        self.queue_version[sat] += 1
        self.timeline["uplink_end"][job] = self.now
        if self.onboard[sat] >= self.world.buffer_jobs[self.world.sat_class_list[sat]]:
            self._drop(job, "buffer_full")
            return
        free = self.free_at[sat]
        server = min(range(len(free)), key=free.__getitem__)
        start = max(self.now, free[server])
        service = self.service_s(job, sat, self.out_tokens[job], server)
        power = self.world.compute_windows[sat]
        if power is not None:
            start, end = walk(power, start, service)
        else:
            end = start + service
        self.onboard[sat] += 1
        self.timeline["compute_start"][job] = start
        if end == INF:
            self._drop(job, "no_contact")
            return
        free[server] = end
        loaded = self.loaded[sat]
        loaded[server] = self.model[job]
        first = min(free)
        self.first_free[sat] = first
        self.first_model[sat] = loaded[free.index(first)]
        self._push(end, COMPUTE_DONE, job)

    def service_s(self, job: int, sat: int, out_tokens: float, server: int) -> float:
        """Compute time of ``job`` on ``sat``'s ``server`` for a given output length."""
        w, m = self.world, self.model[job]
        c = w.sat_class_list[sat]
        swap = w.swap_s[c] if self.loaded[sat][server] != m else 0.0
        return (
            swap
            + self.in_tokens[job] * w.prefill_s_per_token[c][m]
            + out_tokens * w.decode_s_per_token[c][m]
        )

    def _compute_done(self, job: int) -> None:
        sat = self.sat[job]
        self.timeline["compute_end"][job] = self.now
        if self.isl is None:
            start, end = walk(
                self.world.downlink_windows(sat),
                max(self.now, self.busy_down[sat]),
                self.out_bytes[job],
            )
        else:
            start, end, relay, hops = self.isl.best_relay(
                self.world, sat, self.now, self.out_bytes[job], self.busy_down
            )
        if end == INF:
            self._drop(job, "no_contact")
            return
        if self.isl is not None:
            self.relay[job], self.isl_hops[job] = relay, hops
            self.relay_arrival[job] = self.now + hops * self.isl.hop_s(self.out_bytes[job])
            if relay != sat:  # the result leaves: its buffer slot is free (see the docstring)
                self.onboard[sat] -= 1
                self.committed[sat] -= 1
            sat = relay
        self.busy_down[sat] = end
        self.timeline["downlink_start"][job] = start
        self._push(end, DOWNLINK_DONE, job)
