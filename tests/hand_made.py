"""Hand-made contact plans for tests whose answers are worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np

from envs.contact_plan import ContactPlan, PassArrays

EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)


def hand_plan(
    passes: Sequence[tuple[int, int, float, float]],
    *,
    satellite_names: Sequence[str],
    station_names: Sequence[str],
    station_networks: Sequence[str],
    horizon_s: float,
    range_km: float = 700.0,
    epoch: datetime = EPOCH,
) -> ContactPlan:
    """A plan from ``(satellite, station, rise_s, set_s)`` tuples, sorted by rise.

    Station ``i`` belongs to network ``station_networks[i]`` (networks numbered in order of
    first appearance); every pass culminates at mid-pass at 45° and ``range_km``.
    """
    arr = np.array(sorted(passes, key=lambda p: p[2]), dtype=float).reshape(-1, 4)
    n = len(arr)
    networks = tuple(dict.fromkeys(station_networks))
    return ContactPlan(
        epoch=epoch,
        horizon_s=horizon_s,
        satellite_names=tuple(satellite_names),
        station_names=tuple(station_names),
        station_network=np.array([networks.index(x) for x in station_networks]),
        network_names=networks,
        passes=PassArrays(
            arr[:, 0].astype(np.int64),
            arr[:, 1].astype(np.int64),
            arr[:, 2],
            arr[:, 3],
            0.5 * (arr[:, 2] + arr[:, 3]),
            np.full(n, 45.0),
            np.full(n, range_km),
            np.zeros(n, bool),
            np.zeros(n, bool),
        ),
    )
