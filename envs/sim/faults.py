"""One episode's faults: station outages and degraded links cut the windows, satellites fail.

``sample_fault_plan`` resolves a scenario's ``FaultsSpec`` (``envs.scenario.faults``) into a
:class:`FaultPlan`: scheduled entries as given, random ones drawn with the episode's fault
generator. :class:`FaultedWorld` is the episode's view of the shared ``World``:

* **Station outages and degraded links** are applied to the contact windows before the
  simulator walks them: every pass over a station is cut where the station is down and its
  rate multiplied where the link is degraded, then passes are merged as without faults. The
  event loop is unchanged, and the what-if estimates of ``SimView`` walk the same windows,
  so they agree with what happens. The cut windows are part of the episode's contact plan:
  a dispatcher sees a scheduled or random outage in advance, as it sees passes.
* **A satellite failure** is a simulator event (unforeseen: nothing sees it coming). From
  then on the satellite has no windows, is never a candidate, and every job assigned to it
  and not yet delivered is dropped (``satellite_failure``) — or, with
  ``on_satellite_failure: redispatch``, returns to the pending queue if its input is still
  on the ground (uplink not finished; a partial upload is lost). A job whose input is on
  board (uplinked, computing, or awaiting downlink) cannot be re-dispatched (inter-satellite
  links carry results only). A result already relayed to another satellite
  (``envs.sim.isl``) belongs to that satellite: it is lost if the relay fails, not if the
  satellite that computed it does; a failed satellite is never chosen as a relay or path.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from envs.constants import DAY_S
from envs.errors import ConfigError
from envs.scenario.fault_specs import FaultsSpec
from envs.sim.links import Windows
from envs.sim.world import World

__all__ = ["FaultPlan", "FaultedWorld", "cut_windows", "sample_fault_plan"]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The faults of one episode, resolved to station and satellite indices.

    Attributes:
        outages: ``(station, start_s, end_s)`` of every outage, scheduled and random.
        uplink: Per affected station, its uplink rate factor as ``(starts, ends, factors)``
            (sorted, non-overlapping; 0 = down; factor 1 elsewhere).
        downlink: The same for the downlink.
        failures: ``(time_s, sat)`` of each satellite failure, by time (one per satellite).
        redispatch: Re-dispatch ground-side jobs of a failed satellite instead of dropping.
    """

    outages: tuple[tuple[int, float, float], ...] = ()
    uplink: dict[int, Windows] | None = None
    downlink: dict[int, Windows] | None = None
    failures: tuple[tuple[float, int], ...] = ()
    redispatch: bool = False


def sample_fault_plan(spec: FaultsSpec, world: World, rng: np.random.Generator) -> FaultPlan:
    """Resolve scheduled faults and draw random ones for one episode.

    Random station outages and random satellite failures use two independent streams
    spawned from ``rng`` (``Generator.spawn``), so enabling one does not change the other.

    Args:
        spec: The scenario's faults.
        world: The world the episode runs in (station and satellite indices, horizon).
        rng: The episode's fault generator (independent of the arrival stream).

    Raises:
        ConfigError: A station, network or satellite the world does not have (the loader
            has checked names already; this guards scenarios built in code).
    """
    horizon = world.horizon_s
    outage_rng, failure_rng = rng.spawn(2)
    outages = [(_station(world, o.station), o.start_s, o.end_s) for o in spec.station_outages]
    rso = spec.random_station_outages
    if rso is not None and rso.rate_per_day > 0:
        counts = outage_rng.poisson(rso.rate_per_day * horizon / DAY_S, size=world.n_stations)
        total = int(counts.sum())
        starts = outage_rng.uniform(0.0, horizon, size=total)
        ends = starts + outage_rng.exponential(rso.mean_duration_s, size=total)
        stations = np.repeat(np.arange(world.n_stations), counts)
        outages += zip(stations.tolist(), starts.tolist(), ends.tolist(), strict=True)
    up: dict[int, list[tuple[float, float, float]]] = {}
    down: dict[int, list[tuple[float, float, float]]] = {}
    for g, start, end in outages:
        up.setdefault(g, []).append((start, end, 0.0))
        down.setdefault(g, []).append((start, end, 0.0))
    for d in spec.link_degradation:
        if d.station is not None:
            targets = [_station(world, d.station)]
        else:
            if d.network not in world.networks:
                raise ConfigError(f"faults.link_degradation: unknown network {d.network!r}")
            net = world.networks.index(d.network)
            targets = [g for g, n in enumerate(world.station_network) if n == net]
        for g in targets:
            if d.direction in ("both", "uplink"):
                up.setdefault(g, []).append((d.start_s, d.end_s, d.factor))
            if d.direction in ("both", "downlink"):
                down.setdefault(g, []).append((d.start_s, d.end_s, d.factor))
    first: dict[int, float] = {}
    for f in spec.satellite_failures:
        sat = _satellite(world, f.satellite)
        first[sat] = min(f.time_s, first.get(sat, np.inf))
    rsf = spec.random_satellite_failures
    if rsf is not None and rsf.rate_per_day > 0:
        times = failure_rng.exponential(DAY_S / rsf.rate_per_day, size=world.n_sats)
        for sat in np.flatnonzero(times < horizon).tolist():
            first[sat] = min(float(times[sat]), first.get(sat, np.inf))
    return FaultPlan(
        outages=tuple(outages),
        uplink={g: _profile(v) for g, v in up.items()},
        downlink={g: _profile(v) for g, v in down.items()},
        failures=tuple(sorted((t, sat) for sat, t in first.items())),
        redispatch=spec.on_satellite_failure == "redispatch",
    )


def _station(world: World, name: str) -> int:
    try:
        return world.station_names.index(name)
    except ValueError:
        raise ConfigError(f"faults: unknown station {name!r}") from None


def _satellite(world: World, sat: int | str) -> int:
    names = world.plan.satellite_names
    if isinstance(sat, str):
        if sat not in names:
            raise ConfigError(f"faults.satellite_failures: unknown satellite {sat!r}")
        return names.index(sat)
    if not 0 <= sat < len(names):
        raise ConfigError(f"faults.satellite_failures: satellite index {sat} out of range")
    return int(sat)


def _profile(intervals: list[tuple[float, float, float]]) -> Windows:
    """Rate factor over time from (start, end, factor) intervals: factors multiply.

    Only the pieces where the factor is not 1 are kept.

    >>> _profile([(0.0, 10.0, 0.5), (5.0, 20.0, 0.5), (30.0, 40.0, 0.0)])
    ([0.0, 5.0, 10.0, 30.0], [5.0, 10.0, 20.0, 40.0], [0.5, 0.25, 0.5, 0.0])
    """
    s = np.array([i[0] for i in intervals])[:, None]
    e = np.array([i[1] for i in intervals])[:, None]
    f = np.array([i[2] for i in intervals])[:, None]
    edges = np.unique(np.concatenate([s[:, 0], e[:, 0]]))
    mid = 0.5 * (edges[:-1] + edges[1:])[None, :]
    factor = np.where((s <= mid) & (mid < e), f, 1.0).prod(axis=0)
    out: Windows = ([], [], [])
    for lo, hi, x in zip(edges[:-1].tolist(), edges[1:].tolist(), factor.tolist(), strict=True):
        if x == 1.0:
            continue
        if out[1] and out[1][-1] == lo and out[2][-1] == x:
            out[1][-1] = hi
        else:
            out[0].append(lo)
            out[1].append(hi)
            out[2].append(x)
    return out


def cut_windows(
    starts: np.ndarray,
    ends: np.ndarray,
    rates: np.ndarray,
    keys: np.ndarray,
    profiles: dict[int, Windows],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apply rate-factor profiles to windows: cut where the factor is 0, scale elsewhere.

    Args:
        starts: Window starts (e.g. pass rises).
        ends: Window ends.
        rates: Window rates.
        keys: The profile each window follows (e.g. its station); windows whose key has no
            profile are kept as they are.
        profiles: ``key -> (starts, ends, factors)``, as built by ``sample_fault_plan``.

    Returns:
        ``(starts, ends, rates, index)`` of the pieces, sorted by start (stable), where
        ``index`` is the input window each piece comes from.

    >>> cut = cut_windows(np.array([0.0, 50.0]), np.array([100.0, 60.0]), np.array([8.0, 8.0]),
    ...                   np.array([0, 1]), {0: ([20.0, 70.0], [40.0, 90.0], [0.0, 0.5])})
    >>> [a.tolist() for a in cut]
    [[0.0, 40.0, 50.0, 70.0, 90.0], [20.0, 70.0, 60.0, 90.0, 100.0], [8.0, 8.0, 8.0, 4.0, 8.0], [0, 0, 1, 0, 0]]
    """  # noqa: E501
    out_s: list[float] = []
    out_e: list[float] = []
    out_r: list[float] = []
    out_i: list[int] = []

    def emit(lo: float, hi: float, rate: float, i: int) -> None:
        if hi > lo and rate > 0.0:
            out_s.append(lo)
            out_e.append(hi)
            out_r.append(rate)
            out_i.append(i)

    for i, (lo, hi, rate, key) in enumerate(
        zip(starts.tolist(), ends.tolist(), rates.tolist(), keys.tolist(), strict=True)
    ):
        prof = profiles.get(key)
        if prof is None:
            emit(lo, hi, rate, i)
            continue
        p_s, p_e, p_f = prof
        j = bisect_right(p_e, lo)
        t = lo
        while j < len(p_s) and p_s[j] < hi:
            a, b = max(p_s[j], lo), min(p_e[j], hi)
            emit(t, a, rate, i)
            emit(a, b, rate * p_f[j], i)
            t = b
            j += 1
        emit(t, hi, rate, i)
    order = np.argsort(np.array(out_s), kind="stable")
    return (
        np.array(out_s)[order],
        np.array(out_e)[order],
        np.array(out_r)[order],
        np.array(out_i, dtype=np.int64)[order],
    )


class FaultedWorld(World):
    """One episode's view of a ``World`` under a ``FaultPlan``.

    It shares the base world's static data (contact plan, rates, classes) and keeps its own
    window caches, built lazily from the cut passes; the base world and other episodes are
    untouched. It schedules the satellite failures (``failures``) and records them
    (``mark_failed``); the simulator resolves the failed satellite's jobs (``Sim.fail``).

    Args:
        base: The scenario's shared world.
        plan: This episode's faults.
    """

    def __init__(self, base: World, plan: FaultPlan):
        vars(self).update(vars(base))  # static data shared; the caches are replaced below
        self.base = base
        self.fault_plan = plan
        self.failures = plan.failures
        self.redispatch = plan.redispatch
        self.failed: set[int] = set()
        self._up_profiles = plan.uplink or {}
        self._down_profiles = plan.downlink or {}
        # Windows of stations without faults are those of the base world: start from its cache.
        self._pair_windows = {
            k: v for k, v in base._pair_windows.items() if k[1] not in self._up_profiles
        }
        self._down_windows = {} if self._down_profiles else dict(base._down_windows)
        self._net_up_windows = {} if self._up_profiles else dict(base._net_up_windows)
        self._station_lists = {
            k: v for k, v in base._station_lists.items() if k not in self._up_profiles
        }

    def fork(self) -> FaultedWorld:
        """A copy for a forked episode: its own failed set and window caches.

        The cached windows themselves are never changed in place (a failure replaces or drops
        entries), so the copies share them.
        """
        new = copy.copy(self)
        new.failed = set(self.failed)
        for name in ("_pair_windows", "_down_windows", "_net_up_windows", "_station_lists"):
            setattr(new, name, dict(getattr(self, name)))
        return new

    def _pieces(
        self, idx: np.ndarray, *, uplink: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The base passes with failed satellites removed, cut and scaled by the profiles."""
        p = self.plan.passes
        if self.failed:
            idx = idx[~np.isin(p.sat[idx], list(self.failed))]
        starts, ends, rates, sats = World._pieces(self, idx, uplink=uplink)
        profiles = self._up_profiles if uplink else self._down_profiles
        if not profiles or len(idx) == 0:
            return starts, ends, rates, sats
        starts, ends, rates, piece = cut_windows(starts, ends, rates, p.station[idx], profiles)
        return starts, ends, rates, sats[piece]

    def mark_failed(self, sat: int) -> bool:
        """Record that ``sat`` failed: its windows leave the caches (``False``: it already had).

        Called by ``Sim.fail``, which resolves the satellite's jobs; the world only keeps what
        a failure changes about contacts.
        """
        if sat in self.failed:
            return False
        self.failed.add(sat)
        self._pair_windows = {k: v for k, v in self._pair_windows.items() if k[0] != sat}
        self._net_up_windows = {k: v for k, v in self._net_up_windows.items() if k[0] != sat}
        self._down_windows.pop(sat, None)
        self._station_lists.clear()
        return True
