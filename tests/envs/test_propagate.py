"""Propagation and sunlit flags, cross-checked against skyfield."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from skyfield.api import EarthSatellite
from skyfield.framelib import itrs

from envs.errors import ConfigError
from envs.orbits import (
    Constellation,
    Shell,
    load_ephemeris,
    propagate_ecef,
    shells_tles,
    sun_ecef_km,
    sunlit,
    time_grid,
)
from envs.timeutil import builtin_timescale

EPOCH = datetime(2025, 6, 1, 6, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ts():
    return builtin_timescale()


@pytest.fixture(scope="module")
def tles():
    return shells_tles(
        [
            Shell(500.0, planes=1, sats_per_plane=6, inclination_deg=None, ltan_hours=10.5),
            Shell(
                1200.0,
                planes=2,
                sats_per_plane=2,
                inclination_deg=87.9,
                name_prefix="P",
                first_catnr=93001,
            ),
        ],
        EPOCH,
    )


def test_earth_fixed_states_match_skyfield_itrs(tles, ts):
    cons = Constellation.from_tles(tles)
    t_s = np.linspace(0, 2 * 86400.0, 97)
    grid = time_grid(EPOCH, t_s, ts=ts)
    states = propagate_ecef(cons, grid)
    assert states.r_km.shape == (len(tles), len(t_s), 3)
    t = ts.from_datetime(EPOCH) + t_s / 86400.0
    for i, tle in enumerate(tles):
        sat = EarthSatellite(tle.line1, tle.line2, tle.name, ts)
        r, v = sat.at(t).frame_xyz_and_velocity(itrs)
        np.testing.assert_allclose(states.r_km[i], r.km.T, atol=1e-6)  # 1 mm
        np.testing.assert_allclose(states.v_km_s[i], v.km_per_s.T, atol=1e-6)


def test_chunked_propagation_equals_whole(tles, ts):
    cons = Constellation.from_tles(tles)
    grid = time_grid(EPOCH, [0.0, 600.0, 1200.0], ts=ts)
    whole = propagate_ecef(cons, grid)
    part = propagate_ecef(cons, grid, start=2, stop=5)
    np.testing.assert_array_equal(whole.r_km[2:5], part.r_km)


def test_sunlit_matches_skyfield_is_sunlit(tles, ts):
    eph = load_ephemeris()
    cons = Constellation.from_tles(tles)
    t_s = np.arange(0, 86400.0, 30.0)
    states = propagate_ecef(cons, time_grid(EPOCH, t_s, ts=ts))
    lit = sunlit(states.r_km, sun_ecef_km(EPOCH, t_s, ephemeris=eph, ts=ts))
    t = ts.from_datetime(EPOCH) + t_s / 86400.0
    mismatches = 0
    for i, tle in enumerate(tles):
        ref = EarthSatellite(tle.line1, tle.line2, tle.name, ts).at(t).is_sunlit(eph)
        mismatches += int((lit[i] != ref).sum())
    # The SSO at 500 km with a 10:30 node is eclipsed on every orbit: both states occur.
    assert lit.any() and (~lit).any()
    # Only samples within a fraction of a second of a shadow boundary may differ.
    assert mismatches <= 2, f"{mismatches} of {lit.size} samples disagree with skyfield"


def test_failed_propagation_gives_nan_not_garbage(ts):
    # A decaying orbit (very high drag term) makes SGP4 fail after a while.
    tle = shells_tles([Shell(160.0, planes=1, sats_per_plane=1, inclination_deg=51.6)], EPOCH)[0]
    line1 = tle.line1[:53] + " 99999-0" + tle.line1[61:68]
    from envs.orbits.tle import TLE, tle_checksum

    line1 = line1 + str(tle_checksum(line1))
    cons = Constellation.from_tles([TLE(tle.name, line1, tle.line2)])
    states = propagate_ecef(cons, time_grid(EPOCH, np.arange(0, 30 * 86400.0, 3600.0), ts=ts))
    failed = states.error[0] != 0
    assert failed.any()
    assert np.isnan(states.r_km[0][failed]).all()
    assert np.isfinite(states.r_km[0][~failed]).all()


def test_empty_constellation_is_a_clear_error():
    with pytest.raises(ConfigError, match="at least one satellite"):
        Constellation.from_tles([])


def test_a_constellation_refuses_two_satellites_with_one_name():
    """Two shells with the default prefix both make SAT-01-01: rows could not be told apart."""
    epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)
    tles = shells_tles(
        [Shell(500.0, 1, 2, 53.0), Shell(600.0, 1, 2, 53.0, first_catnr=91001)], epoch
    )
    with pytest.raises(
        ConfigError, match=r"'SAT-01-01' is used by catalogue numbers 90001 and 91001"
    ):
        Constellation.from_tles(tles)
