"""A read-only view of the simulator for the environment's features and for heuristics.

Heuristic schedulers (``agents.heuristics``) read the simulator only through this view:
the head job's visible attributes, the candidate satellites, and what-if estimates of each
stage if the job were sent to a satellite now. The hidden output length of a job is not
exposed, except through ``oracle_estimate``, which exists for the reference Oracle only.

Size: about 410 lines, above the house's ~400, because every question a heuristic may ask
of the simulator (room, estimates, the queue ahead, model swaps) is answered here, on the
one schedule of the jobs in uplink that those answers share.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from envs.sim.core import Sim
from envs.sim.links import INF, walk

__all__ = ["Estimate", "SimView"]


class Estimate(NamedTuple):
    """What would happen to a job sent to ``sat`` now (times in seconds since the epoch).

    Every field is ``inf`` from the first stage that cannot finish within the horizon. With
    inter-satellite links the downlink is that of the relay the simulator would pick if the
    result were ready at ``compute_end`` with the transmitters' queues as they are now.
    """

    sat: int
    uplink_start: float
    uplink_end: float
    compute_start: float
    compute_end: float
    downlink_start: float
    delivered: float


class SimView:
    """Read-only access to a running ``Sim`` (documented; heuristics use nothing else)."""

    def __init__(self, sim: Sim, expected_output_tokens: float):
        self._sim = sim
        self._world = sim.world
        self.expected_output_tokens = out = float(expected_output_tokens)
        work = sim.scenario.workload
        self._bytes_per_token, self._overhead = work.bytes_per_token, work.overhead_bytes
        self.expected_output_bytes = out * work.bytes_per_token + work.overhead_bytes  # estimated
        self.n_sats = sim.world.n_sats
        self._ahead_cache: dict[int, tuple[int, float, tuple]] = {}
        self._queue_memo: tuple[tuple, list[Estimate], list[int]] | None = None

    # ---------------------------------------------------------------- state
    @property
    def now(self) -> float:
        """Simulation time, seconds since the epoch."""
        return self._sim.now

    @property
    def head(self) -> int:
        """Id of the job awaiting a decision, ``-1`` when none."""
        return self._sim.head()

    def job(self, job: int) -> dict[str, float]:
        """Visible attributes of a job (no output length)."""
        s = self._sim
        return {
            "arrival_s": s.arrival[job],
            "origin": s.origin[job],
            "model": s.model[job],
            "input_tokens": s.in_tokens[job],
            "input_bytes": s.in_bytes[job],
            "deadline_s": s.deadline[job],
        }

    def compute_backlog_s(self, sat: int) -> float:
        """Time until the satellite's first server is free."""
        return max(0.0, min(self._sim.free_at[sat]) - self._sim.now)

    def onboard(self, sat: int) -> int:
        """Jobs holding a slot in the satellite's on-board buffer."""
        return self._sim.onboard[sat]

    def committed(self, sat: int) -> int:
        """Jobs dispatched to the satellite and not yet delivered or dropped.

        ``committed - onboard`` are still in uplink: they will need buffer slots too, so a
        satellite with ``committed >= buffer_jobs`` will likely drop the next job
        (``buffer_full``) unless results leave first.
        """
        return self._sim.committed[sat]

    def buffer_jobs(self, sat: int) -> int:
        """Size of the satellite's on-board buffer."""
        return self._world.sat_buffer_jobs[sat]

    def has_room(self, sat: int, jobs: int | None = None) -> bool:
        """The room rule: whether ``sat`` can take one more job without dropping it.

        A satellite whose buffer is already fully promised (``jobs``, by default the jobs
        committed to it, at least its ``buffer_jobs``) would most likely drop one more job
        on arrival (``buffer_full``); heuristics and the canonical layout's deferral rule
        choose it only when no candidate has room.
        """
        taken = self._sim.committed[sat] if jobs is None else jobs
        return taken < self._world.sat_buffer_jobs[sat]

    def buffer_share(self) -> float:
        """Jobs committed to all satellites over all their buffer slots.

        Above 1 the constellation has promised more jobs than it can hold at once: sustained
        overload, where some jobs will be dropped wherever they go.
        """
        return sum(self._sim.committed) / self._world.total_buffer_jobs

    def worth_waiting(self, sats: Sequence[int], jobs: Sequence[int]) -> bool:
        """The deferral rule: no satellite of ``sats`` has room, but the constellation has.

        ``jobs[i]`` is the count :meth:`has_room` tests for ``sats[i]`` (e.g. the ``taken``
        of :meth:`queue_estimates`). When every candidate would drop the job on arrival
        (``buffer_full``) while the constellation as a whole has free buffer slots
        (:meth:`buffer_share` below 1), a job deferred now meets, after ``defer_s``,
        satellites that have room: a burst at one origin, or candidates that happen to be
        full. Under sustained overload (share at 1 or more) waiting finds no room and only
        adds time, so the rule says no. ``wait_for_room`` and the shipped policy follow it.
        """
        if any(self.has_room(s, n) for s, n in zip(sats, jobs, strict=True)):
            return False
        return self.buffer_share() < 1.0

    def can_compute_now(self, sat: int) -> bool:
        """Whether the satellite's power model lets it compute now (always without one)."""
        power = self._world.compute_windows[sat]
        if power is None:
            return True
        starts, ends, _ = power
        i = bisect_right(ends, self._sim.now)
        return i < len(starts) and starts[i] <= self._sim.now

    @property
    def failed(self) -> frozenset[int]:
        """Satellites that have failed this episode (never candidates; none without faults)."""
        return frozenset(self._world.failed)

    def serves(self, sat: int, model: int) -> bool:
        """Whether the satellite's class can run the model."""
        return bool(self._world.serves[self._world.sat_class_list[sat], model])

    def swap_s(self, job: int, sat: int, uplink_end: float) -> float:
        """The model swap the job would pay on ``sat`` if its uplink ended at ``uplink_end``.

        The class's ``model_swap_s`` when the server the job would start on (queue-aware, as
        :meth:`queue_estimates` assigns it) holds another model, else 0.
        """
        swap = self._world.swap_s[self._world.sat_class_list[sat]]
        if swap == 0.0:
            return 0.0
        model = self._queue_ahead(sat, uplink_end, self.expected_output_tokens)[1]
        return 0.0 if model == self._sim.model[job] else float(swap)

    # ---------------------------------------------------------------- candidates
    def candidates(self, job: int, k: int) -> list[int]:
        """Up to ``k`` satellites that serve the job's model, by earliest uplink opportunity.

        Without backhaul the order is that of the next pass over the job's origin station
        (passes in progress first); the search walks the station's sorted pass list, so
        its cost does not grow with the constellation. With backhaul every satellite's next
        contact with the origin's network is ranked (one vectorised query). A failed
        satellite is never a candidate; under station outages the pass lists are those of
        the cut windows (``envs.sim.faults``).
        """
        s, w = self._sim, self._world
        model = s.model[job]
        serves_row = w.serves[:, model]
        cls = w.sat_class_list
        origin = s.origin[job]
        if origin < 0:  # generated on board: only its own satellite (links carry results only)
            sat = -1 - origin
            return [sat] if serves_row[cls[sat]] and sat not in w.failed else []
        if s.backhaul_s is not None:
            t = s.now + s.backhaul_s
            sats = np.arange(w.n_sats)
            start, _ = w.plan.next_window(sats, w.station_network[s.origin[job]], t)
            start = np.where(serves_row[w.sat_class], start, np.inf)
            if w.failed:
                start[list(w.failed)] = np.inf
            order = np.lexsort((sats, start))[:k]
            return [int(i) for i in order if np.isfinite(start[i])]
        rises, sets, pass_sats = w.station_pass_lists(s.origin[job])
        i = bisect_left(rises, s.now - w.plan.max_pass_duration_s)
        out: list[int] = []
        seen: set[int] = set()
        n = len(rises)
        while i < n and len(out) < k:
            sat = pass_sats[i]
            if sets[i] > s.now and sat not in seen and serves_row[cls[sat]]:
                seen.add(sat)
                out.append(sat)
            i += 1
        return out

    # ---------------------------------------------------------------- what-if
    def estimate(self, job: int, sat: int) -> Estimate:
        """Stage times if ``job`` went to ``sat`` now, with the expected output length."""
        return self._estimates(job, [sat], self.expected_output_tokens)[0]

    def oracle_estimate(self, job: int, sat: int) -> Estimate:
        """Like ``estimate`` but with the job's true (hidden) output length: Oracle only."""
        return self._estimates(job, [sat], float(self._sim.out_tokens[job]))[0]

    def estimates(self, job: int, sats: list[int]) -> list[Estimate]:
        """``estimate`` for several satellites (the environment's per-decision hot path)."""
        return self._estimates(job, sats, self.expected_output_tokens)

    def queue_estimates(self, job: int, sats: list[int]) -> tuple[list[Estimate], list[int]]:
        """Estimates that also count the jobs still in uplink ahead of this one.

        ``estimates`` starts the job's compute when a server is free of the work already on
        board; a job still in uplink to the satellite whose uplink ends first will be served
        first, so here those jobs are queued ahead on the servers (with the expected output
        length) before this one. Also returns, per satellite, the buffer slots taken when
        the job would arrive: jobs on board plus those ahead of it in uplink (results leaving
        before then are not counted). Costs a sort of the satellite's uplink list.
        """
        s = self._sim
        # The wrappers and the voting heuristics of one decision ask the same question; the
        # key changes with any event, dispatch, deferral or drop, so a hit is always current.
        key = (job, tuple(sats), s.now, s.seq, s.arrived, s.dropped, s.completed)
        memo = self._queue_memo
        if memo is not None and memo[0] == key:
            return list(memo[1]), list(memo[2])
        ahead: list[int] = []
        estimates = self._estimates(job, sats, self.expected_output_tokens, ahead)
        self._queue_memo = (key, estimates, ahead)
        return list(estimates), list(ahead)

    def _estimates(
        self, job: int, sats: list[int], out_tokens: float, ahead: list[int] | None = None
    ) -> list[Estimate]:
        """The one implementation of the what-if estimates; per-job lookups are hoisted.

        With an ``ahead`` list the jobs in uplink ahead of this one are queued first
        (``queue_estimates``) and the buffer slots taken on arrival appended to it.
        """
        s, w = self._sim, self._world
        now = s.now
        model = s.model[job]
        in_tokens = s.in_tokens[job]
        in_bytes = s.in_bytes[job]
        out_bytes = out_tokens * self._bytes_per_token + self._overhead
        origin = s.origin[job]
        busy_up = s.busy_up
        if s.backhaul_s is None or origin < 0:
            ready = now
            link_base, link_sign = origin, 1
            net = -1
        else:
            ready = now + s.backhaul_s
            net = w.station_network[origin]
            link_base, link_sign = net, -1
        n_links = w.n_stations if s.backhaul_s is None else len(w.networks)
        cls_of, swap = w.sat_class_list, w.swap_s
        pre, dec = w.prefill_s_per_token, w.decode_s_per_token
        power_windows, busy_down = w.compute_windows, s.busy_down
        free_at, loaded = s.free_at, s.loaded
        isl = w.isl
        result = []
        for sat in sats:
            if origin < 0:
                up_s, up_e = s.uplink_plan(job, sat)
            else:
                key = sat * n_links + link_base
                if link_sign < 0:
                    key = -1 - key
                    windows = w.network_uplink_windows(sat, net)
                else:
                    windows = w.uplink_windows(sat, origin)
                busy = busy_up.get(key, 0.0)
                up_s, up_e = walk(windows, busy if busy > ready else ready, in_bytes)
            if up_e == INF:
                if ahead is not None:
                    ahead.append(s.onboard[sat])
                result.append(Estimate(sat, up_s, INF, INF, INF, INF, INF))
                continue
            free = free_at[sat]
            c = cls_of[sat]
            if ahead is None:
                first = min(free)
                server_model = loaded[sat][free.index(first)]
            else:
                first, server_model, n_ahead = self._queue_ahead(sat, up_e, out_tokens)
                ahead.append(s.onboard[sat] + n_ahead)
            c_s = up_e if up_e > first else first
            service = (  # same association as Sim.service_s, so results are bit-identical
                (swap[c] if server_model != model else 0.0)
                + in_tokens * pre[c][model]
                + out_tokens * dec[c][model]
            )
            c_e = c_s + service
            power = power_windows[sat]
            if power is not None:
                c_s, c_e = walk(power, c_s, c_e - c_s)
                if c_e == INF:
                    result.append(Estimate(sat, up_s, up_e, c_s, INF, INF, INF))
                    continue
            if isl is None:
                busy = busy_down[sat]
                d_s, d_e = walk(w.downlink_windows(sat), c_e if c_e > busy else busy, out_bytes)
            else:  # the relay the simulator would choose now (neighbourhood-sized)
                d_s, d_e, _, _ = isl.best_relay(w, sat, c_e, out_bytes, busy_down)
            result.append(Estimate(sat, up_s, up_e, c_s, c_e, d_s, d_e))
        return result

    def _queue_ahead(self, sat: int, up_end: float, out_tokens: float) -> tuple[float, int, int]:
        """Servers after the jobs whose uplink to ``sat`` ends by ``up_end``.

        Returns when the first server is free, the model it then holds, and how many jobs
        were queued ahead. Each job takes the first free server at its uplink end, as
        ``Sim`` assigns them, for its expected service time. The schedule of the whole uplink
        list is built once per change of the satellite's queue (``Sim.queue_version``) and
        queried by bisection.
        """
        ends, firsts, models, _ = self._ahead_table(sat, out_tokens)
        i = bisect_right(ends, up_end)
        return firsts[i], models[i], i

    def overfills(self, sat: int, up_end: float) -> bool:
        """Whether a job arriving on board ``sat`` at ``up_end`` would push a job to a full buffer.

        The room rule of :meth:`has_room` counts the jobs arriving *before* this one; a job
        that overtakes jobs dispatched earlier (its uplink ends first, e.g. from a station
        whose pass comes sooner) also takes a slot they were counting on, and when they
        arrive at a full buffer they are dropped (``buffer_full``). This replays the
        satellite's buffer over the arrivals still in uplink with this job inserted: each
        arrival takes a slot; a result frees its slot when its compute is estimated to end
        (the queue schedule of :meth:`queue_estimates`, with the expected output length;
        the downlink is taken as instant, so the estimate leans towards room), and the jobs
        on board now hold their slots until the last compute reserved on the satellite's
        servers ends. True when some arrival, this one included, would find every slot
        taken; without jobs in uplink behind this one it is :meth:`has_room`'s question with
        the queued jobs' departures counted.
        """
        s = self._sim
        ends, _, _, finishes = self._ahead_table(sat, self.expected_output_tokens)
        buffer = self._world.sat_buffer_jobs[sat]
        onboard = s.onboard[sat]
        if onboard + len(ends) + 1 <= buffer:
            return False  # every arrival fits even if nothing ever leaves
        last = max(s.free_at[sat])
        i = bisect_right(ends, up_end)
        for n, t in enumerate((up_end, *ends[i:])):
            # arrivals before this one: the i in uplink ahead of the job, then the job and
            # the n - 1 after it; less the queued jobs whose compute has ended by then
            held = (onboard if t < last else 0) + i + n - bisect_right(finishes, t)
            if held >= buffer:
                return True
        return False

    def no_room(self, sat: int, uplink_end: float, taken: int) -> bool:
        """The room rule with overtaking: no slot for a job reaching ``sat`` at ``uplink_end``.

        Full on arrival with ``taken`` slots (:meth:`has_room`) or overfilling (:meth:`overfills`);
        ``ect_wait`` and the shipped policy defer a job when no valid candidate has room.
        """
        return not self.has_room(sat, taken) or self.overfills(sat, uplink_end)

    def _ahead_table(
        self, sat: int, out_tokens: float
    ) -> tuple[list[float], list[float], list[int], list[float]]:
        """The schedule of the jobs in uplink to ``sat``, in order of arrival.

        Returns the uplink ends, the first free server and its model after each prefix, and
        the jobs' estimated compute ends (sorted).
        """
        s, w = self._sim, self._world
        version = s.queue_version[sat]
        hit = self._ahead_cache.get(sat)
        if hit is not None and hit[0] == version and hit[1] == out_tokens:
            return hit[2]
        free, loaded = list(s.free_at[sat]), list(s.loaded[sat])
        first = min(free)
        ends, firsts, models = [], [first], [loaded[free.index(first)]]
        finishes: list[float] = []
        jobs = s.uplinking[sat]
        if jobs:
            c = w.sat_class_list[sat]
            swap, pre, dec = w.swap_s[c], w.prefill_s_per_token[c], w.decode_s_per_token[c]
            power = w.compute_windows[sat]
            for end, j in sorted((end, j) for j, end in jobs.items()):
                i = free.index(first)
                m = s.model[j]
                start = end if end > first else first
                service = (
                    (swap if loaded[i] != m else 0.0)
                    + s.in_tokens[j] * pre[m]
                    + (out_tokens * dec[m])
                )
                if power is not None:
                    start, finish = walk(power, start, service)
                else:
                    finish = start + service
                free[i], loaded[i] = finish, m
                finishes.append(finish)
                first = min(free)
                ends.append(end)
                firsts.append(first)
                models.append(loaded[free.index(first)])
        finishes.sort()
        table = (ends, firsts, models, finishes)
        self._ahead_cache[sat] = (version, out_tokens, table)
        return table
