"""Inter-satellite links: the neighbour graph of a constellation and the relay of results.

With ``isl.enabled`` (:class:`~envs.scenario.schema.IslSpec`) a finished result need not
wait for its own satellite's next pass: it may cross up to ``max_hops`` laser links to a
satellite that meets a station sooner, and joins that satellite's downlink queue.

**Planes.** Satellites are grouped into orbital planes, and planes into shells. Generated
shells use their own structure (plane and slot indices, ``envs.orbits.shells``). Satellites
of a TLE file are grouped from their SGP4 state at the episode epoch: orbit normals within
``PLANE_TOL_DEG`` and radii within ``SHELL_TOL_KM`` share a plane; planes whose inclinations
and radii agree as closely form a shell. In a plane, satellites are ordered by argument of
latitude; in a shell, planes by RAAN. Planes spread evenly all round (Walker delta) wrap
around; otherwise the widest RAAN gap is a seam (Walker star) that no link crosses.

**Links.** ``in_plane``: each satellite to the ones ahead and behind in its plane.
``cross_plane``: each satellite to the satellite of the next plane of its shell whose
argument of latitude is nearest; links are two-way, so it also has the one of the previous
plane that chose it (exactly one each way in a Walker shell). The graph is that of the epoch
and static for the episode (a real cross-plane link re-points as partners drift over an
orbit; here the epoch's partner is kept), and separate shells are never linked.

**Neighbourhoods.** A breadth-first search from every satellite, once per world, lists the
satellites within ``max_hops`` links by hop count then index, with the path found; an event
visits only that list (at most 2h² + 2h + 1 satellites on a grid), never the constellation.

**Relay.** :meth:`IslGraph.best_relay` tries each neighbour ``r`` at ``h`` hops (``r`` is the
computing satellite at ``h = 0``): the result reaches ``r`` at
``t + h × (latency_s + 8 × bytes / rate_bps)`` and goes down in ``r``'s first contact after
that and after the results already queued on ``r``'s transmitter. The earliest delivery wins;
ties go to fewer hops, then to the lower index, so a result stays put when relaying gains
nothing. Link contention is not modelled (results are kilobytes, links gigabits per second).
A failed satellite is neither a relay nor on a relay path: a neighbour whose path crosses one
is skipped (other paths of the same length are not searched).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from envs.orbits import Constellation, shell_elements, time_grid
from envs.scenario.schema import IslSpec, Scenario
from envs.sim.links import INF, Windows, walk

__all__ = [
    "PLANE_TOL_DEG",
    "SHELL_TOL_KM",
    "DownlinkSource",
    "IslGraph",
    "Planes",
    "plane_structure",
]

#: Orbit normals closer than this share a plane (TLE satellites); inclinations of a shell too.
PLANE_TOL_DEG = 2.0
#: Orbit radii closer than this share a plane or shell (TLE satellites).
SHELL_TOL_KM = 25.0


class DownlinkSource(Protocol):
    """What :meth:`IslGraph.best_relay` reads of a world (``envs.sim.world.World`` is one).

    Attributes:
        failed: Satellites that have failed (a relay path may not cross them).
    """

    failed: Collection[int]

    def downlink_windows(self, sat: int) -> Windows:
        """Contacts of ``sat`` with any downlink-permitted station, best rate per instant."""
        ...


@dataclass(frozen=True, slots=True)
class Planes:
    """The orbital structure the links follow.

    Attributes:
        plane: Plane id of every satellite, shape (n,).
        u_deg: Argument of latitude of every satellite at the epoch, in [0, 360).
        shells: Per shell, its plane ids in RAAN order and whether the last plane links to the
            first (planes spread all round, no seam).
    """

    plane: np.ndarray
    u_deg: np.ndarray
    shells: tuple[tuple[tuple[int, ...], bool], ...]


def plane_structure(scenario: Scenario, constellation: Constellation) -> Planes:
    """Planes of a scenario's satellites (TLE file first, then its shells, as ``World`` orders).

    >>> from envs.scenario import load_scenario
    >>> from envs.orbits import Constellation
    >>> from envs.sim.world import scenario_tles
    >>> sc = load_scenario("walker_100")
    >>> p = plane_structure(sc, Constellation.from_tles(scenario_tles(sc)[0]))
    >>> p.plane[:12].tolist(), len(p.shells), p.shells[0][1]
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 1, True)
    """
    n = len(constellation)
    specs = scenario.constellation.shells
    n_file = n - sum(s.shell.size for s in specs)
    if n_file < 0:
        raise ValueError(f"plane_structure: {n} satellites, fewer than the scenario's shells")
    plane = np.zeros(n, np.int64)
    u_deg = np.zeros(n)
    shells: list[tuple[tuple[int, ...], bool]] = []
    if n_file:
        plane[:n_file], u_deg[:n_file], shells = _tle_planes(constellation, scenario, n_file)
    first, start = (int(plane[:n_file].max()) + 1 if n_file else 0), n_file
    for spec in specs:
        shell = spec.shell
        els = shell_elements(shell, scenario.episode.epoch)
        plane[start : start + shell.size] = first + els.plane
        u_deg[start : start + shell.size] = els.mean_anomaly_deg  # circular: u = M
        raan = els.raan_deg[:: shell.sats_per_plane]
        order, wraps = _shell_order(raan)
        shells.append((tuple(first + i for i in order), wraps))
        first, start = first + shell.planes, start + shell.size
    return Planes(plane, u_deg, tuple(shells))


def _tle_planes(
    constellation: Constellation, scenario: Scenario, n: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[tuple[int, ...], bool]]]:
    """Planes and shells of the first ``n`` satellites from their SGP4 states at the epoch."""
    grid = time_grid(scenario.episode.epoch, [0.0])
    err, r, v = constellation.subset(0, n).sgp4(grid.jd_whole, grid.jd_frac)
    r, v = r[:, 0], v[:, 0]
    h = np.cross(r, v)
    ok = (err[:, 0] == 0) & np.isfinite(h).all(axis=1)
    h = np.where(ok[:, None], h, [0.0, 0.0, 1.0])
    normal = h / np.linalg.norm(h, axis=1, keepdims=True)
    radius = np.where(ok, np.linalg.norm(r, axis=1), np.nan)
    node = np.stack([-normal[:, 1], normal[:, 0], np.zeros(n)], axis=1)
    node_len = np.linalg.norm(node, axis=1)
    cos_u = np.einsum("ij,ij->i", node, r) / np.maximum(node_len * radius, 1e-12)
    u = np.degrees(np.arccos(np.clip(cos_u, -1.0, 1.0)))
    u = np.where(r[:, 2] < 0.0, 360.0 - u, u)
    u = np.where(node_len < 1e-9, np.degrees(np.arctan2(r[:, 1], r[:, 0])), u)  # equatorial
    u = np.nan_to_num(np.mod(u, 360.0))
    raan = np.mod(np.degrees(np.arctan2(normal[:, 0], -normal[:, 1])), 360.0)
    cos_tol = math.cos(math.radians(PLANE_TOL_DEG))
    plane = np.zeros(n, np.int64)
    reps: list[int] = []  # first member of each plane
    for i in range(n):  # once per world, over the TLE file's satellites
        j = -1
        if ok[i] and reps:
            close = (normal[reps] @ normal[i] >= cos_tol) & (
                np.abs(radius[reps] - radius[i]) <= SHELL_TOL_KM
            )
            j = int(np.argmax(close)) if close.any() else -1
        if j < 0:  # a new plane (a satellite SGP4 cannot place is a plane of its own)
            j = len(reps)
            reps.append(i)
        plane[i] = j
    incl = np.degrees(np.arccos(np.clip(normal[reps, 2], -1.0, 1.0)))
    groups: list[list[int]] = []
    for p, rep in enumerate(reps):
        for g in groups:
            q = reps[g[0]]
            same = ok[rep] and ok[q] and abs(incl[p] - incl[g[0]]) <= PLANE_TOL_DEG
            if same and abs(radius[rep] - radius[q]) <= SHELL_TOL_KM:
                g.append(p)
                break
        else:
            groups.append([p])
    shells = []
    for g in groups:
        order, wraps = _shell_order(raan[[reps[p] for p in g]])
        shells.append((tuple(g[i] for i in order), wraps))
    return plane, u, shells


def _shell_order(raan_deg: np.ndarray) -> tuple[list[int], bool]:
    """Planes by RAAN, starting after the seam, and whether they wrap round (no seam).

    The planes wrap when the widest gap between consecutive RAANs (circularly) is at most
    1.5 times the median gap; otherwise the order starts after the widest gap.

    >>> _shell_order(np.array([0.0, 90.0, 180.0, 270.0]))
    ([0, 1, 2, 3], True)
    >>> _shell_order(np.array([100.0, 0.0, 50.0]))   # a Walker star: seam from 100 to 0
    ([1, 2, 0], False)
    """
    n = len(raan_deg)
    order = np.argsort(raan_deg, kind="stable")
    if n < 3:
        return order.tolist(), False  # two planes are adjacent once, not twice
    ordered = raan_deg[order]
    gaps = np.diff(np.r_[ordered, ordered[0] + 360.0])
    widest = int(np.argmax(gaps))
    if gaps[widest] <= 1.5 * float(np.median(gaps)):
        return order.tolist(), True
    return np.roll(order, -(widest + 1)).tolist(), False


def _edges(planes: Planes, spec: IslSpec) -> list[list[int]]:
    """Sorted adjacency lists of the link graph."""
    n = len(planes.plane)
    order = np.lexsort((planes.u_deg, planes.plane))
    bounds = np.flatnonzero(np.diff(planes.plane[order])) + 1
    members = {int(planes.plane[m[0]]): m for m in np.split(order, bounds) if len(m)}
    adj: list[set[int]] = [set() for _ in range(n)]

    def link(a: np.ndarray, b: np.ndarray) -> None:
        for i, j in zip(a.tolist(), b.tolist(), strict=True):
            if i != j:
                adj[i].add(j)
                adj[j].add(i)

    if spec.in_plane:
        for m in members.values():
            link(m, np.roll(m, -1))  # each to the one ahead (and so to the one behind)
    if spec.cross_plane:
        for shell, wraps in planes.shells:
            pairs = list(itertools.pairwise(shell))
            if wraps:
                pairs.append((shell[-1], shell[0]))
            for pa, pb in pairs:
                a, b = members.get(pa), members.get(pb)
                if a is None or b is None:
                    continue
                d = np.mod(planes.u_deg[b][None, :] - planes.u_deg[a][:, None] + 180.0, 360.0)
                link(a, b[np.argmin(np.abs(np.round(d - 180.0, 9)), axis=1)])
    return [sorted(s) for s in adj]


def _neighbourhoods(
    adj: list[list[int]], max_hops: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(relay, hops, via)``: per satellite, those within ``max_hops`` and their paths.

    Rows are padded with -1; ``via[s, k]`` lists the intermediate satellites of the path
    from ``s`` to ``relay[s, k]`` (``max(max_hops - 1, 1)`` columns).
    """
    rows: list[list[tuple[int, int, tuple[int, ...]]]] = []
    for s in range(len(adj)):  # once per world
        parent = {s: -1}
        found = [(s, 0)]
        queue = deque(found)
        while queue:
            node, h = queue.popleft()
            if h == max_hops:
                continue
            for nxt in adj[node]:
                if nxt not in parent:
                    parent[nxt] = node
                    found.append((nxt, h + 1))
                    queue.append((nxt, h + 1))
        row = []
        for node, h in sorted(found, key=lambda x: (x[1], x[0])):
            path, p = [], parent[node]
            while p not in (s, -1):
                path.append(p)
                p = parent[p]
            row.append((node, h, tuple(reversed(path))))
        rows.append(row)
    k = max(len(r) for r in rows)
    width = max(max_hops - 1, 1)
    relay = np.full((len(rows), k), -1, np.int64)
    hops = np.full((len(rows), k), -1, np.int64)
    via = np.full((len(rows), k, width), -1, np.int64)
    for s, row in enumerate(rows):
        for i, (node, h, path) in enumerate(row):
            relay[s, i], hops[s, i] = node, h
            via[s, i, : len(path)] = path
    return relay, hops, via


class IslGraph:
    """A world's inter-satellite links: neighbours, hop-limited neighbourhoods, relay choice.

    Attributes:
        spec: The scenario's ``isl`` settings.
        planes: The orbital structure the links follow.
        neighbours: Directly linked satellites, shape (n, max degree), padded with -1.
        relay: Satellites within ``max_hops`` of each one (itself first), by hops then index,
            shape (n, K), padded with -1.
        hops: Hop count of each ``relay`` entry (-1 in padding).
        via: Intermediate satellites of the path to each ``relay`` entry, padded with -1.

    >>> from envs.scenario import load_scenario
    >>> from envs.sim import build_world
    >>> w = build_world(load_scenario("toy", {"isl.enabled": True}))
    >>> w.isl.neighbours.tolist(), w.isl.relay.tolist(), w.isl.hops.tolist()
    ([[1], [0]], [[0, 1], [1, 0]], [[0, 1], [0, 1]])
    """

    def __init__(self, spec: IslSpec, planes: Planes):
        self.spec = spec
        self.planes = planes
        adj = _edges(planes, spec)
        degree = max((len(a) for a in adj), default=0)
        self.neighbours = np.full((len(adj), max(degree, 1)), -1, np.int64)
        for s, a in enumerate(adj):
            self.neighbours[s, : len(a)] = a
        self.relay, self.hops, self.via = _neighbourhoods(adj, spec.max_hops)
        # Per satellite, plain lists of (relay, hops, path) for the event loop.
        rows = zip(self.relay.tolist(), self.hops.tolist(), self.via.tolist(), strict=True)
        self._rows = [
            [
                (r, h, tuple(v for v in path if v >= 0))
                for r, h, path in zip(rr, hh, vv, strict=True)
                if r >= 0
            ]
            for rr, hh, vv in rows
        ]

    @classmethod
    def build(cls, scenario: Scenario, constellation: Constellation) -> IslGraph:
        """The graph of a scenario's satellites under its ``isl`` settings."""
        return cls(scenario.isl, plane_structure(scenario, constellation))

    def hop_s(self, nbytes: float) -> float:
        """Time for a result of ``nbytes`` bytes to cross one link."""
        return self.spec.latency_s + nbytes * 8.0 / self.spec.rate_bps

    def best_relay(
        self,
        world: DownlinkSource,
        sat: int,
        t: float,
        nbytes: float,
        busy_down: list[float] | None,
    ) -> tuple[float, float, int, int]:
        """Where a result ready on ``sat`` at ``t`` goes down soonest.

        Args:
            world: The (episode's) world: downlink windows and failed satellites.
            sat: The satellite holding the result.
            t: When the result is ready.
            nbytes: Result size in bytes.
            busy_down: When each transmitter's queue empties (``None``: all idle).

        Returns:
            ``(downlink_start, delivered, relay, hops)``; ``(inf, inf, sat, 0)`` when no
            neighbour can deliver within the horizon.
        """
        per_hop = self.hop_s(nbytes)
        failed = world.failed
        best = (INF, INF, sat, 0)
        for r, h, path in self._rows[sat]:
            if failed and (r in failed or any(v in failed for v in path)):
                continue
            ready = t + h * per_hop
            if busy_down is not None and busy_down[r] > ready:
                ready = busy_down[r]
            start, end = walk(world.downlink_windows(r), ready, nbytes)
            if end < best[1]:
                best = (start, end, r, h)
        return best
