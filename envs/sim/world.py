"""The static world of a scenario: satellites, stations, contact plan, link and power windows.

Built once per static scenario and shared by every episode, load and setting that does not
change it (:func:`world_key`, :class:`WorldCache`); window lists are built lazily per
satellite (or per satellite–station pair) the first time the simulator needs them and kept
on the instance, never in module-level state.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from envs.constants import SUNLIT_STEP_S
from envs.contact_plan import ContactPlan, compute_contact_plan
from envs.ground import Station
from envs.orbits import (
    Constellation,
    load_ephemeris,
    propagate_ecef,
    shells_tles,
    sun_ecef_km,
    sunlit,
    time_grid,
)
from envs.orbits.tle import TLE
from envs.scenario.schema import Scenario
from envs.sim.isl import IslGraph
from envs.sim.links import Windows, merge_max_rate, pass_rates_bytes_per_s

__all__ = [
    "SUNLIT_STEP_S",
    "NoContactWarning",
    "World",
    "WorldCache",
    "build_world",
    "origins_without_contact",
    "world_key",
]


class NoContactWarning(UserWarning):
    """Origin stations that no satellite passes over: every job they originate is dropped."""


#: Satellites propagated at a time for the sunlit windows (bounds the arrays' memory).
_SUNLIT_BATCH = 200


def scenario_tles(scenario: Scenario) -> tuple[list[TLE], list[str]]:
    """The scenario's satellites (TLE file first, then shells) and each one's class name."""
    spec = scenario.constellation
    tles: list[TLE] = []
    classes: list[str] = []
    if spec.tle_file is not None:
        file_tles = spec.file_tles()  # as the loader read it: each file is read once
        tles += file_tles
        classes += [spec.tle_class] * len(file_tles)
    for shell_spec in spec.shells:
        shell = shells_tles([shell_spec.shell], scenario.episode.epoch)
        tles += shell
        classes += [shell_spec.sat_class] * len(shell)
    return tles, classes


def scenario_stations(scenario: Scenario) -> list[Station]:
    """Stations of the networks the scenario uses, with the mask and rate overrides applied."""
    g = scenario.ground
    stations = g.file_stations()  # as the loader read them: each file is read once
    if g.networks is not None:
        stations = [s for s in stations if s.network in g.networks]
    if g.min_elevation_deg is not None:
        stations = [dataclasses.replace(s, min_elevation_deg=g.min_elevation_deg) for s in stations]
    if g.uplink_rate_scale != 1.0 or g.downlink_rate_scale != 1.0:
        stations = [
            dataclasses.replace(
                s,
                uplink_bps=s.uplink_bps * g.uplink_rate_scale,
                downlink_bps=s.downlink_bps * g.downlink_rate_scale,
            )
            for s in stations
        ]
    return stations


class World:
    """Everything about a scenario that does not change within or between episodes.

    Faults change per episode: ``envs.sim.faults.FaultedWorld`` is one episode's view of a
    ``World`` with its windows cut by outages and scaled by degradations.
    """

    #: Satellite failures the simulator schedules, ``(time_s, sat)`` (none without faults).
    failures: tuple[tuple[float, int], ...] = ()
    #: Satellites that have failed (never any without faults).
    failed: frozenset[int] | set[int] = frozenset()
    #: Whether jobs still uplinking to a failed satellite return to the pending queue.
    redispatch: bool = False

    def __init__(
        self,
        scenario: Scenario,
        constellation: Constellation,
        sat_classes: list[str],
        stations: list[Station],
        plan: ContactPlan,
        sunlit_windows: list[Windows] | None,
    ):
        self.scenario = scenario
        self.constellation = constellation
        self.stations = stations
        self.plan = plan
        self.n_sats = len(constellation)
        self.n_stations = len(stations)
        self.horizon_s = plan.horizon_s
        class_names = [c.name for c in scenario.classes]
        self.sat_class = np.array([class_names.index(c) for c in sat_classes], dtype=np.int64)
        self.sat_class_list: list[int] = self.sat_class.tolist()
        #: Each satellite's buffer size (jobs), read at every decision by the room rule.
        self.sat_buffer_jobs: list[int] = [
            scenario.classes[c].buffer_jobs for c in self.sat_class_list
        ]
        #: Buffer slots over the whole constellation (at least 1).
        self.total_buffer_jobs: int = max(1, sum(self.sat_buffer_jobs))
        n_cls, n_mod = len(scenario.classes), len(scenario.models)
        self.serves = np.zeros((n_cls, n_mod), bool)
        self.prefill_rate = np.zeros((n_cls, n_mod))
        self.decode_rate = np.zeros((n_cls, n_mod))
        for c, cls in enumerate(scenario.classes):
            for m, model in enumerate(scenario.models):
                ok = model.name in cls.models and model.memory_gb <= cls.memory_gb
                self.serves[c, m] = ok
                self.prefill_rate[c, m] = model.prefill_tokens_per_s * cls.throughput_scale
                self.decode_rate[c, m] = model.decode_tokens_per_s * cls.throughput_scale
        self.swap_s: list[float] = [c.model_swap_s for c in scenario.classes]
        self.buffer_jobs: list[int] = [c.buffer_jobs for c in scenario.classes]
        # Seconds per token as nested Python lists: the event loop reads scalars.
        self.prefill_s_per_token: list[list[float]] = (1.0 / self.prefill_rate).tolist()
        self.decode_s_per_token: list[list[float]] = (1.0 / self.decode_rate).tolist()
        self.station_names = [s.name for s in stations]
        networks = list(dict.fromkeys(s.network for s in stations))
        self.station_network = [networks.index(s.network) for s in stations]
        self.networks = networks
        up_nets = scenario.ground.uplink_networks
        down_nets = scenario.ground.downlink_networks
        self.uplink_station = [up_nets is None or s.network in up_nets for s in stations]
        self.downlink_station = [down_nets is None or s.network in down_nets for s in stations]
        g = scenario.ground
        model = {"rate_model": g.rate_model, "reference_range_km": g.reference_range_km}
        self._up_rate = pass_rates_bytes_per_s(plan, [s.uplink_bps for s in stations], **model)
        self._down_rate = pass_rates_bytes_per_s(plan, [s.downlink_bps for s in stations], **model)
        self.sunlit_windows = sunlit_windows
        # Per satellite: when its payload may compute (None = any time).
        self.compute_windows: list[Windows | None] = [None] * self.n_sats
        for sat, c in enumerate(self.sat_class_list):
            budget = scenario.classes[c].eclipse_compute_s
            if budget is not None:
                if sunlit_windows is None:
                    raise ValueError("World: a power-limited class needs sunlit windows")
                self.compute_windows[sat] = _with_eclipse_budget(sunlit_windows[sat], budget)
        # Inter-satellite links (``envs.sim.isl``): None when the scenario has them off.
        self.isl = IslGraph.build(scenario, constellation) if scenario.isl.enabled else None
        self._pair_windows: dict[tuple[int, int], Windows] = {}
        self._down_windows: dict[int, Windows] = {}
        self._net_up_windows: dict[tuple[int, int], Windows] = {}
        self._station_lists: dict[int, tuple[list[float], list[float], list[int]]] = {}

    def fork(self) -> World:
        """The world a forked episode uses: the same object (nothing here changes per episode).

        ``FaultedWorld`` overrides it: failures change its windows during an episode.
        """
        return self

    def mark_failed(self, sat: int) -> bool:
        """Record a satellite failure; a shared ``World`` has none (``FaultedWorld`` does).

        Raises:
            TypeError: Always: failures belong to one episode's ``FaultedWorld``.
        """
        raise TypeError(
            f"World: satellite {sat} cannot fail in the shared world; use a FaultedWorld"
        )

    # ------------------------------------------------------------ lazily built windows
    def uplink_windows(self, sat: int, station: int) -> Windows:
        """Passes of ``sat`` over ``station`` with the station's uplink rate (bytes/s)."""
        key = (sat, station)
        w = self._pair_windows.get(key)
        if w is None:
            rise, set_, rate, _ = self._pieces(self.plan.pair_passes(sat, station), uplink=True)
            w = (rise.tolist(), set_.tolist(), rate.tolist())
            self._pair_windows[key] = w
        return w

    def network_uplink_windows(self, sat: int, network: int) -> Windows:
        """Passes of ``sat`` over any station of ``network`` (backhaul), best rate per instant."""
        key = (sat, network)
        w = self._net_up_windows.get(key)
        if w is None:
            idx = self.plan.sat_passes(sat)
            nets = np.asarray(self.station_network)[self.plan.passes.station[idx]]
            w = merge_max_rate(*self._pieces(idx[nets == network], uplink=True)[:3])
            self._net_up_windows[key] = w
        return w

    def downlink_windows(self, sat: int) -> Windows:
        """Contacts of ``sat`` with any downlink-permitted station, best rate per instant."""
        w = self._down_windows.get(sat)
        if w is None:
            idx = self.plan.sat_passes(sat)
            allowed = np.asarray(self.downlink_station)[self.plan.passes.station[idx]]
            w = merge_max_rate(*self._pieces(idx[allowed], uplink=False)[:3])
            self._down_windows[sat] = w
        return w

    def station_pass_lists(self, station: int) -> tuple[list[float], list[float], list[int]]:
        """``(rises, sets, sats)`` of every pass over ``station``, sorted by rise."""
        lists = self._station_lists.get(station)
        if lists is None:
            rise, set_, _, sats = self._pieces(self.plan.station_passes(station), uplink=True)
            lists = (rise.tolist(), set_.tolist(), sats.tolist())
            self._station_lists[station] = lists
        return lists

    def _pieces(
        self, idx: np.ndarray, *, uplink: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(starts, ends, rates, sats)`` of the passes ``idx`` (by rise), in bytes/s.

        The one place windows come from: ``FaultedWorld`` overrides it to cut and scale.
        """
        p = self.plan.passes
        rates = self._up_rate if uplink else self._down_rate
        return p.rise_s[idx], p.set_s[idx], rates[idx], p.sat[idx]


def _with_eclipse_budget(sunlit: Windows, budget_s: float) -> Windows:
    """Extend each sunlit spell into the following eclipse by up to ``budget_s`` seconds."""
    starts, ends, _ = sunlit
    if budget_s <= 0.0 or not starts:
        return sunlit
    out_s: list[float] = []
    out_e: list[float] = []
    for i, (on, off) in enumerate(zip(starts, ends, strict=True)):
        end = off + budget_s
        if i + 1 < len(starts):
            end = min(end, starts[i + 1])
        if out_e and out_e[-1] >= on:
            out_e[-1] = end
        else:
            out_s.append(on)
            out_e.append(end)
    return out_s, out_e, [1.0] * len(out_s)


def _sunlit_windows(
    constellation: Constellation, scenario: Scenario, horizon_s: float
) -> list[Windows]:
    """Sunlit spells of every satellite on a ``SUNLIT_STEP_S`` grid, as window lists."""
    t = np.arange(0.0, horizon_s + SUNLIT_STEP_S, SUNLIT_STEP_S)
    grid = time_grid(scenario.episode.epoch, t)
    sun = sun_ecef_km(scenario.episode.epoch, t, ephemeris=load_ephemeris())
    out: list[Windows] = []
    for start in range(0, len(constellation), _SUNLIT_BATCH):
        states = propagate_ecef(constellation, grid, start=start, stop=start + _SUNLIT_BATCH)
        lit = sunlit(states.r_km, sun)
        for row in lit:
            edges = np.diff(np.r_[False, row, False].astype(np.int8))
            on = t[np.nonzero(edges == 1)[0]]
            off_idx = np.minimum(np.nonzero(edges == -1)[0], len(t) - 1)
            off = t[off_idx]
            out.append((on.tolist(), off.tolist(), [1.0] * len(on)))
    return out


def build_world(
    scenario: Scenario,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> World:
    """Build the static world of a scenario (the contact plan is cached in ``cache_dir``).

    Args:
        scenario: The validated scenario.
        cache_dir: Contact-plan cache folder (``None``: compute without caching).
        progress: Show a progress bar while the contact plan is computed.
    """
    tles, classes = scenario_tles(scenario)
    constellation = Constellation.from_tles(tles)
    stations = scenario_stations(scenario)
    horizon = scenario.episode.duration_s + scenario.episode.drain_s
    plan = compute_contact_plan(
        constellation,
        stations,
        scenario.episode.epoch,
        horizon,
        step_s=scenario.episode.contact_step_s,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        progress=progress,
    )
    needs_sun = any(c.power != "always" for c in scenario.classes)
    windows = _sunlit_windows(constellation, scenario, horizon) if needs_sun else None
    world = World(scenario, constellation, classes, stations, plan, windows)
    silent = origins_without_contact(world)
    if silent:
        warnings.warn(
            f"workload.origins: no satellite passes over {', '.join(silent)} within the "
            f"{horizon:g} s horizon, so every job originating there will be dropped "
            "(no_contact); leave them out of workload.origins or add satellites that see them",
            NoContactWarning,
            stacklevel=2,
        )
    return world


def origins_without_contact(world: World) -> list[str]:
    """Origin stations of the world's scenario with no pass in its plan, in origin order.

    The origins are ``workload.origins``, or every uplink station (``World.uplink_station``)
    when it is unset. With a backhaul (``ground.backhaul_delay_s``) a job may be uplinked from
    any station of its origin's network, so an origin counts as silent only if no station of
    that network has a pass. Unknown origin names are left to the job generator's own error.
    """
    stations = world.stations
    names = world.scenario.workload.origins
    if names is None:
        names = tuple(s.name for s, up in zip(stations, world.uplink_station, strict=True) if up)
    index = {s.name: i for i, s in enumerate(stations)}
    heard = [world.plan.station_passes(i).size > 0 for i in range(len(stations))]
    heard_nets = {s.network for s, h in zip(stations, heard, strict=True) if h}
    backhaul = world.scenario.ground.backhaul_delay_s is not None
    return [
        name
        for name in dict.fromkeys(names)
        if name in index
        and not (stations[index[name]].network in heard_nets if backhaul else heard[index[name]])
    ]


def world_key(scenario: Scenario) -> tuple[Any, ...]:
    """What a :class:`World` depends on: scenarios with equal keys can share one world.

    Everything but the workload (load included), dispatch, reward and faults settings and the
    backhaul delay, which take effect per episode; the horizon (arrival window plus drain) is
    in it, since the contact plan covers exactly that. The inter-satellite links are the
    world's.

    >>> from envs.scenario import load_scenario
    >>> world_key(load_scenario("toy", {"load": 2.0})) == world_key(load_scenario("toy"))
    True
    """
    ground = dataclasses.replace(scenario.ground, backhaul_delay_s=None)
    e = scenario.episode
    return (scenario.constellation, scenario.classes, scenario.models, ground, e.epoch,
            e.contact_step_s, scenario.isl, e.duration_s + e.drain_s)  # fmt: skip


class WorldCache:
    """Worlds by :func:`world_key`: scenarios that differ only per episode share one.

    Owned by its caller (a runner, a study, a training job), not global state. Worlds are
    read-only to episodes (faults get their own ``FaultedWorld`` view), so sharing them
    changes no result.

    Args:
        cache_dir: Contact-plan cache folder passed to :func:`build_world` (``None``: none).

    Example:
        >>> from envs.scenario import load_scenario
        >>> worlds = WorldCache()
        >>> a = worlds.get(load_scenario("toy", {"load": 0.5, "candidates": 1}))
        >>> a is worlds.get(load_scenario("toy", {"load": 3.0, "reward.drop_penalty_s": 1.0}))
        True
        >>> len(worlds)
        1
    """

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.cache_dir = cache_dir
        self._worlds: dict[tuple[Any, ...], World] = {}

    def get(self, scenario: Scenario) -> World:
        """The world of ``scenario``, built on the first request for its :func:`world_key`."""
        key = world_key(scenario)
        world = self._worlds.get(key)
        if world is None:
            world = self._worlds[key] = build_world(scenario, cache_dir=self.cache_dir)
        return world

    def __len__(self) -> int:
        """Number of worlds built."""
        return len(self._worlds)
