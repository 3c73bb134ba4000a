"""The contact plan: every pass of a scenario, with fast sorted-array queries.

Queries the simulator needs run in O(log P) with ``np.searchsorted`` and accept arrays of
satellites, so the dispatch loop never iterates over the whole constellation:

* ``next_pass(sat, station, t)``: first pass of a satellite over one station ending after t;
* ``next_window(sat, network, t)``: first contact window of a satellite with *any* station of
  a network (overlapping passes over different stations merged) ending after t;
* ``in_view(station, t)``: satellites above the station's mask at t.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from envs.atomic import atomic_write
from envs.contact_plan.passes import PassArrays
from envs.errors import ConfigError, first_line
from envs.timeutil import format_utc, parse_utc

__all__ = ["CSV_COLUMNS", "ContactPlan"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CSV_COLUMNS = ("satellite", "station", "rise_utc", "set_utc", "max_elevation_deg")
_FORMAT_VERSION = 1


def _group_keys(group: IntArray, t_s: FloatArray, span: float) -> FloatArray:
    """Monotone keys so one ``searchsorted`` call serves many (group, time) queries."""
    return group.astype(np.float64) * span + t_s


def _merge_windows(
    group: IntArray, start: FloatArray, end: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Union of overlapping intervals within each group; input sorted by (group, start)."""
    if len(group) == 0:
        return group, start, end
    # Running maximum of end within a group (groups are contiguous and start-sorted).
    span = float(np.nanmax(end) - np.nanmin(start)) + 1.0
    offset = (group - group.min()).astype(np.float64) * span * 4.0
    run_end = np.maximum.accumulate(end + offset) - offset
    new = np.ones(len(group), bool)
    new[1:] = (group[1:] != group[:-1]) | (start[1:] > run_end[:-1])
    first = np.nonzero(new)[0]
    # Exact window ends (the offset trick above is only used to decide where windows split).
    return group[first], start[first], np.maximum.reduceat(end, first)


@dataclass(frozen=True, eq=False)
class ContactPlan:
    """Every (satellite, station) pass over a horizon, sorted by rise, with fast queries.

    Times are seconds since ``epoch`` (UTC). Build one with
    ``envs.contact_plan.compute_contact_plan``.

    Attributes:
        epoch: Start of the horizon.
        horizon_s: Length of the horizon.
        satellite_names: Name of each satellite index.
        station_names: Name of each station index.
        station_network: Network index of each station.
        network_names: Name of each network index.
        passes: The passes (``PassArrays``), sorted by (rise, satellite, station).
    """

    epoch: datetime
    horizon_s: float
    satellite_names: tuple[str, ...]
    station_names: tuple[str, ...]
    station_network: IntArray
    network_names: tuple[str, ...]
    passes: PassArrays
    _index: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        p = self.passes
        n_sat, n_sta, n_net = (
            len(self.satellite_names),
            len(self.station_names),
            len(self.network_names),
        )
        span = self.horizon_s + 1.0
        # Per (satellite, station) pair: passes sorted by rise (set times are then sorted too).
        pair = p.sat * n_sta + p.station
        order = np.lexsort((p.rise_s, pair))
        self._index["pair_order"] = order
        self._index["pair_sorted"] = pair[order]
        self._index["pair_set_key"] = _group_keys(pair[order], p.set_s[order], span)
        # Per station: passes sorted by rise, plus the longest pass for the in-view window.
        order = np.lexsort((p.rise_s, p.station))
        self._index["station_order"] = order
        self._index["station_sorted"] = p.station[order]
        self._index["station_rise_key"] = _group_keys(p.station[order], p.rise_s[order], span)
        dur = p.set_s - p.rise_s
        self._index["max_duration_s"] = float(dur.max()) if len(dur) else 0.0
        # Per (satellite, network): merged contact windows.
        net = self.station_network[p.station] if len(p.sat) else np.zeros(0, np.int64)
        group = p.sat * n_net + net
        order = np.lexsort((p.rise_s, group))
        g, ws, we = _merge_windows(group[order], p.rise_s[order], p.set_s[order])
        self._index["window_start"] = ws
        self._index["window_end"] = we
        self._index["window_end_key"] = _group_keys(g, we, span)
        self._index["window_group"] = g
        self._index["span"] = span
        self._index["shape"] = (n_sat, n_sta, n_net)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.passes.sat)

    def network_index(self, network: str | int) -> int:
        """Index of a network given its name (or index)."""
        if isinstance(network, (int, np.integer)):
            if not 0 <= network < len(self.network_names):
                raise ConfigError(
                    f"network: index {network} out of range 0..{len(self.network_names) - 1}"
                )
            return int(network)
        try:
            return self.network_names.index(network)
        except ValueError:
            raise ConfigError(
                f"network: unknown network {network!r}; known: {list(self.network_names)}"
            ) from None

    def pair_passes(self, sat: int, station: int) -> IntArray:
        """Indices (into ``passes``) of every pass of ``sat`` over ``station``, by rise.

        The passes of one pair never overlap, so their set times are sorted too.
        """
        _, n_sta, _ = self._index["shape"]
        key = sat * n_sta + station
        keys = self._index["pair_sorted"]
        lo, hi = np.searchsorted(keys, [key, key + 1])
        return self._index["pair_order"][lo:hi]

    def station_passes(self, station: int) -> IntArray:
        """Indices (into ``passes``) of every pass over ``station``, sorted by rise."""
        keys = self._index["station_sorted"]
        lo, hi = np.searchsorted(keys, [station, station + 1])
        return self._index["station_order"][lo:hi]

    def sat_passes(self, sat: int) -> IntArray:
        """Indices (into ``passes``) of every pass of ``sat`` over any station, sorted by rise."""
        _, n_sta, _ = self._index["shape"]
        keys = self._index["pair_sorted"]
        lo, hi = np.searchsorted(keys, [sat * n_sta, (sat + 1) * n_sta])
        idx = self._index["pair_order"][lo:hi]
        return idx[np.argsort(self.passes.rise_s[idx], kind="stable")]

    @property
    def max_pass_duration_s(self) -> float:
        """The longest pass in the plan (bounds ``in_view`` and candidate searches)."""
        return self._index["max_duration_s"]

    def next_pass(self, sat: ArrayLike, station: ArrayLike, t_s: ArrayLike) -> IntArray:
        """Index (into ``passes``) of the first pass of ``sat`` over ``station`` with set > t.

        Arguments broadcast; the result is -1 where there is no such pass in the horizon.
        """
        _, n_sta, _ = self._index["shape"]
        sat, station, t = np.broadcast_arrays(
            np.asarray(sat), np.asarray(station), np.asarray(t_s, float)
        )
        pair = sat * n_sta + station
        keys = self._index["pair_set_key"]
        pos = np.searchsorted(keys, _group_keys(pair, t, self._index["span"]), side="right")
        ok = pos < len(keys)
        order = self._index["pair_order"]
        found = (
            np.where(ok, order[np.minimum(pos, len(keys) - 1)], -1)
            if len(keys)
            else np.full(pair.shape, -1)
        )
        same = np.array(found >= 0)  # an array even for scalar arguments
        same[same] = (self.passes.sat[found[same]] == sat[same]) & (
            self.passes.station[found[same]] == station[same]
        )
        return np.where(same, found, -1)

    def next_window(
        self, sat: ArrayLike, network: str | int, t_s: ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Earliest contact of ``sat`` with any station of ``network`` that ends after t.

        Returns ``(start_s, end_s)`` arrays (broadcast over ``sat`` and ``t_s``), where
        ``start_s = max(t, window start)`` and both are ``inf`` when there is none.
        """
        _, _, n_net = self._index["shape"]
        net = self.network_index(network)
        sat, t = np.broadcast_arrays(np.asarray(sat), np.asarray(t_s, float))
        group = sat * n_net + net
        keys = self._index["window_end_key"]
        pos = np.searchsorted(keys, _group_keys(group, t, self._index["span"]), side="right")
        if len(keys) == 0:
            inf = np.full(group.shape, np.inf)
            return inf, inf.copy()
        clipped = np.minimum(pos, len(keys) - 1)
        ok = (pos < len(keys)) & (self._index["window_group"][clipped] == group)
        start = np.where(ok, np.maximum(t, self._index["window_start"][clipped]), np.inf)
        end = np.where(ok, self._index["window_end"][clipped], np.inf)
        return start, end

    def in_view(self, station: int, t_s: float) -> IntArray:
        """Satellites above ``station``'s elevation mask at time ``t_s`` (sorted indices)."""
        keys = self._index["station_rise_key"]
        span = self._index["span"]
        hi = np.searchsorted(keys, station * span + t_s, side="right")
        lo = np.searchsorted(
            keys, station * span + max(t_s - self._index["max_duration_s"], 0.0) - 1e-9
        )
        idx = self._index["station_order"][lo:hi]
        p = self.passes
        idx = idx[(p.station[idx] == station) & (p.set_s[idx] > t_s)]
        return np.unique(p.sat[idx])

    # ------------------------------------------------------------------ output
    def rows(self) -> list[tuple[str, str, str, str, float]]:
        """Rows for ``CSV_COLUMNS`` (satellite, station, rise UTC, set UTC, max elevation)."""
        p = self.passes
        return [
            (
                self.satellite_names[p.sat[j]],
                self.station_names[p.station[j]],
                format_utc(self.epoch, p.rise_s[j]),
                format_utc(self.epoch, p.set_s[j]),
                round(float(p.max_elevation_deg[j]), 3),
            )
            for j in range(len(self))
        ]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the plan to a ``.npz`` file atomically (write to a temp file, then rename)."""
        path = Path(path)
        meta = {
            "format_version": _FORMAT_VERSION,
            "epoch": self.epoch.isoformat(),
            "horizon_s": self.horizon_s,
            "satellite_names": list(self.satellite_names),
            "station_names": list(self.station_names),
            "network_names": list(self.network_names),
        }
        with atomic_write(path, "wb") as fh:
            np.savez(
                fh,
                meta=np.array(json.dumps(meta)),
                station_network=self.station_network,
                **self.passes._asdict(),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ContactPlan:
        """Read a plan written by ``save``.

        Raises:
            ConfigError: One line naming the file if it cannot be read or is not a complete,
                consistent plan (empty, truncated, missing arrays, ragged or out-of-range
                arrays, another format version).
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                passes = PassArrays(*(np.asarray(data[name]) for name in PassArrays._fields))
                station_network = np.asarray(data["station_network"])
            if not isinstance(meta, dict):
                raise ValueError("meta is not a mapping")
            if meta.get("format_version") != _FORMAT_VERSION:
                raise ValueError(f"format {meta.get('format_version')} is not {_FORMAT_VERSION}")
            names = {
                key: tuple(meta[key])
                for key in ("satellite_names", "station_names", "network_names")
            }
            if not all(isinstance(n, str) for v in names.values() for n in v):
                raise ValueError("names must be strings")
            epoch = parse_utc(meta["epoch"], "epoch")
            horizon_s = float(meta["horizon_s"])
            _check_arrays(passes, station_network, horizon_s, **names)
            return cls(
                epoch,
                horizon_s,
                names["satellite_names"],
                names["station_names"],
                station_network,
                names["network_names"],
                passes,
            )
        except Exception as exc:
            # A damaged file fails in many ways: EOFError, BadZipFile, NotImplementedError for
            # a garbled compression method, KeyError, ValueError, MemoryError for a huge shape.
            raise ConfigError(
                f"{path}: not a readable contact plan ({type(exc).__name__}: {first_line(exc)})"
            ) from None


def _check_arrays(
    passes: PassArrays,
    station_network: NDArray[Any],
    horizon_s: float,
    *,
    satellite_names: tuple[str, ...],
    station_names: tuple[str, ...],
    network_names: tuple[str, ...],
) -> None:
    """Raise ``ValueError`` unless the arrays of a loaded plan are complete and consistent."""
    n = len(passes.sat)
    for name, column in zip(PassArrays._fields, passes, strict=True):
        if column.ndim != 1 or len(column) != n:
            raise ValueError(f"{name} has shape {column.shape}, expected ({n},)")
        kind = "b" if name.endswith("clipped") else ("i" if name in ("sat", "station") else "f")
        if column.dtype.kind != kind:
            raise ValueError(f"{name} has dtype {column.dtype}")
    if station_network.shape != (len(station_names),) or station_network.dtype.kind != "i":
        raise ValueError(f"station_network has shape {station_network.shape}")
    if not np.isfinite(horizon_s) or horizon_s <= 0:
        raise ValueError(f"horizon_s is {horizon_s}")
    for name, column, size in (
        ("sat", passes.sat, len(satellite_names)),
        ("station", passes.station, len(station_names)),
        ("station_network", station_network, len(network_names)),
    ):
        if len(column) and (column.min() < 0 or column.max() >= size):
            raise ValueError(f"{name} index out of range 0..{size - 1}")
    if n and not (
        np.all(passes.rise_s >= 0)
        and np.all(passes.rise_s <= passes.set_s)
        and np.all(passes.set_s <= horizon_s)
    ):
        raise ValueError("pass times outside the horizon")
