"""Building contact plans, with an on-disk cache keyed by a hash of every input."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from skyfield.timelib import Timescale

from envs.contact_plan.plan import ContactPlan
from envs.contact_plan.search import HIDDEN_PEAK_MARGIN, find_passes
from envs.errors import ConfigError, first_line
from envs.ground import Station, station_arrays
from envs.orbits.propagate import Constellation
from envs.orbits.tle import check_epoch_distance
from envs.timeutil import check_sgp4_range, require_utc

__all__ = [
    "ALGORITHM_VERSION",
    "CacheWarning",
    "compute_contact_plan",
    "default_cache_dir",
    "plan_key",
]

#: Bump when the search algorithm changes results, so stale cache entries are not reused.
ALGORITHM_VERSION = 1


class CacheWarning(UserWarning):
    """A contact-plan cache entry was unreadable (and is recomputed) or could not be written."""


def default_cache_dir() -> Path:
    """``$CONSTELLATION_DISPATCH_CACHE``, else ``~/.cache/constellation-dispatch``."""
    env = os.environ.get("CONSTELLATION_DISPATCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "constellation-dispatch"


def plan_key(
    constellation: Constellation,
    stations: Sequence[Station],
    epoch: datetime,
    horizon_s: float,
    step_s: float,
) -> str:
    """SHA-256 of everything a contact plan depends on (TLEs, stations, times, algorithm)."""
    payload = {
        "algorithm": ALGORITHM_VERSION,
        "hidden_peak_margin": HIDDEN_PEAK_MARGIN,
        "tles": [(t.name, t.line1, t.line2) for t in constellation.tles],
        "stations": [
            (s.name, s.lat_deg, s.lon_deg, s.alt_m, s.min_elevation_deg, s.network)
            for s in stations
        ],
        "epoch": require_utc(epoch).isoformat(),
        "horizon_s": float(horizon_s),
        "step_s": float(step_s),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def compute_contact_plan(
    constellation: Constellation,
    stations: Sequence[Station],
    epoch: datetime,
    horizon_s: float,
    *,
    step_s: float = 180.0,
    ts: Timescale | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> ContactPlan:
    """Compute (or load from the cache) the contact plan of a constellation over stations.

    Args:
        constellation: The satellites.
        stations: The ground stations; each uses its own ``min_elevation_deg`` mask.
        epoch: Start of the horizon, tz-aware UTC.
        horizon_s: Length of the horizon, seconds.
        step_s: Coarse search grid step, seconds (see ``envs.contact_plan.search``).
        ts: Skyfield timescale (default: a fresh built-in one; nothing is downloaded).
        cache_dir: Folder for cached plans (``default_cache_dir()`` is a good choice);
            ``None`` disables caching. Entries are keyed by ``plan_key``. An unreadable
            entry (empty, truncated, missing or ragged arrays) is recomputed and rewritten,
            and a folder that cannot be written means no cache; both with a ``CacheWarning``.
        progress: Show a progress bar.
        workers: Processes for the search (``find_passes``; ``None`` chooses by the size of
            the job). The plan does not depend on it.

    Returns:
        The contact plan (possibly empty: no pass is a valid answer).

    Raises:
        ConfigError: No stations; a horizon outside 1957-2056 (``check_sgp4_range``); an
            element set more than ``TLE_REFUSE_AGE_DAYS`` from the horizon.

    >>> from datetime import datetime, timezone
    >>> from envs.ground import Station
    >>> from envs.orbits.shells import Shell, shell_tles
    >>> epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)
    >>> sats = Constellation.from_tles(shell_tles(Shell(500.0, planes=2, sats_per_plane=3), epoch))
    >>> kiruna = Station("Kiruna", 67.86, 20.96, 400.0, min_elevation_deg=10.0)
    >>> plan = compute_contact_plan(sats, [kiruna], epoch, 86400.0)
    >>> len(plan) > 0, bool((plan.passes.max_elevation_deg >= 10.0).all())
    (True, True)
    """
    if len(stations) == 0:
        raise ConfigError("stations: need at least one ground station, got an empty list")
    epoch = check_sgp4_range(epoch, horizon_s, "epoch")
    check_epoch_distance(constellation.tles, epoch, horizon_s, "constellation")
    path = None
    if cache_dir is not None:
        key = plan_key(constellation, stations, epoch, horizon_s, step_s)
        path = Path(cache_dir) / f"contact_plan_{key[:32]}.npz"
        if path.is_file():
            try:
                plan = ContactPlan.load(path)
                return _matching(plan, path, constellation, stations, epoch, horizon_s)
            except ConfigError as exc:
                warnings.warn(
                    f"contact-plan cache: {exc}; recomputing it", CacheWarning, stacklevel=2
                )
    arrays = station_arrays(stations)
    passes = find_passes(
        constellation,
        arrays,
        epoch,
        horizon_s,
        step_s=step_s,
        ts=ts,
        progress=progress,
        workers=workers,
    )
    plan = ContactPlan(
        epoch=epoch,
        horizon_s=float(horizon_s),
        satellite_names=constellation.names,
        station_names=tuple(s.name for s in stations),
        station_network=arrays.network_index,
        network_names=tuple(arrays.networks),
        passes=passes,
    )
    if path is not None:
        _save_to_cache(plan, path)
    return plan


def _matching(
    plan: ContactPlan,
    path: Path,
    constellation: Constellation,
    stations: Sequence[Station],
    epoch: datetime,
    horizon_s: float,
) -> ContactPlan:
    """``plan`` if it is the plan of these inputs, else a ``ConfigError`` (a stale entry)."""
    want = (constellation.names, tuple(s.name for s in stations), epoch, float(horizon_s))
    if (plan.satellite_names, plan.station_names, plan.epoch, plan.horizon_s) != want:
        raise ConfigError(f"{path}: the plan is for other satellites, stations or times")
    return plan


def _save_to_cache(plan: ContactPlan, path: Path) -> None:
    """Write ``plan`` to the cache; a folder that cannot be written is a warning, not an error."""
    try:
        plan.save(path)
    except OSError as exc:
        warnings.warn(
            f"contact-plan cache folder {path.parent}: cannot write "
            f"({exc.strerror or first_line(exc)}); continuing without the cache",
            CacheWarning,
            stacklevel=3,
        )
