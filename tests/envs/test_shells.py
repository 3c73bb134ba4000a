"""Tests for envs.orbits.shells: Walker and sun-synchronous geometry measured through sgp4."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.api import Satrec
from skyfield.api import load

from envs.errors import ConfigError
from envs.orbits.shells import (
    ElementSet,
    Shell,
    shell_elements,
    shell_tles,
    shells_tles,
    sso_inclination_deg,
)
from envs.orbits.tle import (
    MAX_CATNR,
    TLE,
    format_tles,
    parse_tles,
    tle_checksum,
    tle_to_satrec,
)

EPOCH = datetime(2025, 6, 1, 6, 30, tzinfo=timezone.utc)
MU_KM3_PER_S2 = 398600.8
R_KM = 6378.135
WALKER = Shell(550.0, planes=6, sats_per_plane=5, inclination_deg=53.0, phasing=2)
SSO = Shell(500.0, planes=4, sats_per_plane=3, ltan_hours=10.5, name_prefix="SSO")


def satrecs(shell: Shell) -> list[Satrec]:
    return [tle_to_satrec(t) for t in shell_tles(shell, EPOCH)]


def propagate(satrec: Satrec, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    jd = np.full(minutes.shape, satrec.jdsatepoch)
    fr = satrec.jdsatepochF + minutes / 1440.0
    return satrec.sgp4_array(jd, fr)


def angle_diff_deg(a: float, b: float) -> float:
    """Signed a - b wrapped to (-180, 180]."""
    return (a - b + 180.0) % 360.0 - 180.0


def test_generated_tles_pass_checksum_and_reparse() -> None:
    tles = shell_tles(WALKER, EPOCH)
    assert len(tles) == WALKER.size == 30
    for tle in tles:
        assert len(tle.line1) == len(tle.line2) == 69
        assert int(tle.line1[68]) == tle_checksum(tle.line1)
        assert int(tle.line2[68]) == tle_checksum(tle.line2)
    assert parse_tles(format_tles(tles)) == tles
    assert parse_tles(format_tles(tles, three_line=False)) == [
        TLE(str(t.catnr), t.line1, t.line2) for t in tles
    ]


def test_names_catalogue_numbers_and_epoch() -> None:
    epoch = datetime(2025, 6, 1, 12, 34, 56, 789_400, tzinfo=timezone.utc)
    tles = shell_tles(WALKER, epoch)
    assert [t.name for t in tles[:6]] == [
        "SAT-01-01", "SAT-01-02", "SAT-01-03", "SAT-01-04", "SAT-01-05", "SAT-02-01",
    ]  # fmt: skip
    assert [t.catnr for t in tles] == list(range(90001, 90031))
    assert all(abs(t.epoch - epoch) < timedelta(milliseconds=1) for t in tles)


def test_names_widen_when_planes_need_three_digits() -> None:
    tles = shell_tles(Shell(550.0, planes=100, sats_per_plane=1, inclination_deg=53.0), EPOCH)
    assert (tles[0].name, tles[-1].name) == ("SAT-001-001", "SAT-100-001")


def test_catalogue_numbers_above_99999_use_alpha5() -> None:
    tles = shell_tles(Shell(550.0, 1, 2, 53.0, first_catnr=99999), EPOCH)
    assert [t.catnr for t in tles] == [99999, 100000]
    assert tles[1].line1[2:7] == tles[1].line2[2:7] == "A0000"
    assert tle_to_satrec(tles[1]).satnum == 100000


@pytest.mark.parametrize("shell", [WALKER, SSO], ids=["walker", "sso"])
def test_satrecs_propagate_for_24_hours_without_error(shell: Shell) -> None:
    minutes = np.arange(0.0, 1440.0 + 1.0, 5.0)
    for satrec in satrecs(shell):
        error, r_km, v_km_s = propagate(satrec, minutes)
        assert not error.any()
        assert np.isfinite(r_km).all() and np.isfinite(v_km_s).all()
        radius_km = np.linalg.norm(r_km, axis=1)
        assert np.all(np.abs(radius_km - (R_KM + shell.altitude_km)) < 25.0)


@pytest.mark.parametrize("altitude_km", [300.0, 550.0, 1200.0, 20200.0, 35786.0])
def test_period_from_mean_motion_matches_kepler(altitude_km: float) -> None:
    (satrec,) = satrecs(Shell(altitude_km, 1, 1, 55.0))
    period_min = 2.0 * math.pi / satrec.no_kozai
    kepler_min = 2.0 * math.pi * math.sqrt((R_KM + altitude_km) ** 3 / MU_KM3_PER_S2) / 60.0
    assert period_min == pytest.approx(kepler_min, rel=0.002)


@pytest.mark.parametrize(
    "shell",
    [WALKER, SSO, Shell(1200.0, 3, 2, inclination_deg=87.9), Shell(700.0, 2, 2, 30.0)],
    ids=["walker53", "sso", "polar", "low_inclination"],
)
def test_inclination_of_angular_momentum_matches_request(shell: Shell) -> None:
    requested = shell.effective_inclination_deg
    minutes = np.linspace(0.0, 1440.0, 289)
    for satrec in satrecs(shell):
        _, r_km, v_km_s = propagate(satrec, minutes)
        h = np.cross(r_km, v_km_s)
        inclination_deg = np.degrees(np.arccos(h[:, 2] / np.linalg.norm(h, axis=1)))
        assert np.max(np.abs(inclination_deg - requested)) < 0.05


@pytest.mark.parametrize("spread_deg", [360.0, 180.0, 90.0])
def test_raan_spacing_between_planes_is_spread_over_planes(spread_deg: float) -> None:
    shell = Shell(550.0, 6, 5, 53.0, phasing=2, raan_spread_deg=spread_deg, raan0_deg=350.0)
    nodes_deg = [math.degrees(s.nodeo) for s in satrecs(shell)]
    first_of_plane = nodes_deg[:: shell.sats_per_plane]
    assert first_of_plane[0] == pytest.approx(350.0, abs=1e-4)
    for p in range(1, shell.planes):
        step = angle_diff_deg(first_of_plane[p], first_of_plane[p - 1])
        assert step == pytest.approx(spread_deg / shell.planes, abs=0.01)
    for p in range(shell.planes):  # all satellites of a plane share its node
        plane = nodes_deg[p * shell.sats_per_plane : (p + 1) * shell.sats_per_plane]
        assert max(plane) - min(plane) < 1e-9


def test_in_plane_spacing_and_walker_phase_offset_from_mean_anomaly() -> None:
    mo_deg = np.degrees([s.mo for s in satrecs(WALKER)]).reshape(WALKER.planes, -1)
    planes, per_plane, total = WALKER.planes, WALKER.sats_per_plane, WALKER.size
    for p in range(planes):
        for s in range(1, per_plane):
            assert angle_diff_deg(mo_deg[p, s], mo_deg[p, s - 1]) == pytest.approx(
                360.0 / per_plane, abs=0.001
            )
        if p:
            offset = angle_diff_deg(mo_deg[p, 0], mo_deg[p - 1, 0])
            assert offset == pytest.approx(WALKER.phasing * 360.0 / total, abs=0.001)


def test_shell_elements_batch_is_plane_major() -> None:
    els = shell_elements(WALKER, EPOCH)
    assert isinstance(els, ElementSet)
    assert all(len(column) == WALKER.size for column in els)
    assert els.plane.tolist() == [p for p in range(6) for _ in range(5)]
    assert els.slot.tolist() == list(range(5)) * 6
    assert np.all((els.raan_deg >= 0) & (els.raan_deg < 360))
    assert np.all((els.mean_anomaly_deg >= 0) & (els.mean_anomaly_deg < 360))


def test_angles_that_round_to_360_are_written_as_zero() -> None:
    (tle,) = shell_tles(Shell(550.0, 1, 1, 53.0, raan0_deg=-1e-6), EPOCH)
    assert tle.line2[17:25] == "  0.0000"


@pytest.mark.parametrize(("altitude_km", "expected_deg"), [(500.0, 97.40), (800.0, 98.60)])
def test_sso_inclination_matches_reference_values(altitude_km: float, expected_deg: float) -> None:
    assert sso_inclination_deg(altitude_km) == pytest.approx(expected_deg, abs=0.05)


@pytest.mark.parametrize("altitude_km", [300.0, 500.0, 800.0, 1500.0])
def test_sso_nodal_precession_follows_the_mean_sun(altitude_km: float) -> None:
    (satrec,) = satrecs(Shell(altitude_km, 1, 1))
    nodal_deg_per_day = math.degrees(satrec.nodedot) * 1440.0
    assert nodal_deg_per_day == pytest.approx(360.0 / 365.2422, rel=0.01)


def test_sso_inclination_is_rejected_above_the_sso_altitude_limit() -> None:
    with pytest.raises(ConfigError, match=r"altitude_km: no sun-synchronous orbit .* 6000"):
        sso_inclination_deg(6000.0)
    with pytest.raises(ConfigError, match=r"^Shell\.inclination_deg: no sun-synchronous"):
        Shell(6000.0, 1, 1)
    assert Shell(6000.0, 1, 1, inclination_deg=60.0).size == 1


def test_ltan_sets_raan_from_the_mean_sun() -> None:
    # At J2000.0 (2000-01-01 12:00 UT) the mean sun's RA is 280.460 deg.
    j2000 = datetime(2000, 1, 1, 12, tzinfo=timezone.utc)
    noon = shell_elements(Shell(500.0, 1, 1, ltan_hours=12.0), j2000)
    assert noon.raan_deg[0] == pytest.approx(280.460, abs=1e-6)
    for ltan_hours in (6.0, 10.5, 22.5):
        els = shell_elements(Shell(500.0, 1, 1, ltan_hours=ltan_hours), j2000)
        expected = 280.460 + (ltan_hours - 12.0) * 15.0
        assert angle_diff_deg(els.raan_deg[0], expected) == pytest.approx(0.0, abs=1e-6)


def test_ltan_raan_agrees_with_skyfield_mean_solar_time() -> None:
    # Mean sun hour angle at Greenwich = 15 deg/h * (UT - 12 h), so RA_mean_sun = GMST - that.
    ts = load.timescale(builtin=True)
    for epoch in (EPOCH, datetime(2031, 11, 17, 21, 5, tzinfo=timezone.utc)):
        t = ts.from_datetime(epoch)
        ut_hours = epoch.hour + epoch.minute / 60.0
        mean_sun_ra_deg = t.gmst * 15.0 - 15.0 * (ut_hours - 12.0)
        els = shell_elements(Shell(500.0, 1, 1, ltan_hours=12.0), epoch)
        assert abs(angle_diff_deg(els.raan_deg[0], mean_sun_ra_deg)) < 0.02


def test_shells_tles_concatenates_in_order() -> None:
    tles = shells_tles([WALKER, Shell(500.0, 4, 3, first_catnr=91001)], EPOCH)
    assert len(tles) == 42
    assert tles[29].catnr == 90030 and tles[30].catnr == 91001


def test_shells_tles_rejects_overlapping_catalogue_numbers_naming_both_shells() -> None:
    other = Shell(800.0, 2, 2, name_prefix="POLAR", first_catnr=90030)
    with pytest.raises(ConfigError) as info:
        shells_tles([WALKER, Shell(500.0, 1, 1, first_catnr=95000), other], EPOCH)
    message = str(info.value)
    assert message.startswith("shells[0] ('SAT', catalogue numbers 90001-90030) and shells[2]")
    assert "'POLAR', catalogue numbers 90030-90033" in message


def test_naive_epoch_is_rejected() -> None:
    with pytest.raises(ConfigError, match="epoch"):
        shell_tles(WALKER, datetime(2025, 6, 1))
    with pytest.raises(ConfigError, match="epoch"):
        shell_elements(WALKER, datetime(2025, 6, 1))


BAD_SHELLS = {
    "altitude_negative": ({"altitude_km": -5}, "altitude_km", "-5"),
    "altitude_too_low": ({"altitude_km": 100.0}, "altitude_km", "100.0"),
    "altitude_too_high": ({"altitude_km": 40001.0}, "altitude_km", "40001.0"),
    "altitude_nan": ({"altitude_km": float("nan")}, "altitude_km", "nan"),
    "altitude_text": ({"altitude_km": "550"}, "altitude_km", "'550'"),
    "planes_zero": ({"planes": 0}, "planes", "0"),
    "planes_float": ({"planes": 2.5}, "planes", "2.5"),
    "sats_per_plane_zero": ({"sats_per_plane": 0}, "sats_per_plane", "0"),
    "phasing_equal_to_planes": ({"phasing": 3}, "phasing", "3"),
    "phasing_negative": ({"phasing": -1}, "phasing", "-1"),
    "inclination_above_180": ({"inclination_deg": 180.5}, "inclination_deg", "180.5"),
    "inclination_negative": ({"inclination_deg": -1.0}, "inclination_deg", "-1.0"),
    "raan_spread_zero": ({"raan_spread_deg": 0.0}, "raan_spread_deg", "0.0"),
    "raan_spread_above_360": ({"raan_spread_deg": 400.0}, "raan_spread_deg", "400.0"),
    "raan0_infinite": ({"raan0_deg": float("inf")}, "raan0_deg", "inf"),
    "ltan_24": ({"ltan_hours": 24.0}, "ltan_hours", "24.0"),
    "ltan_negative": ({"ltan_hours": -0.5}, "ltan_hours", "-0.5"),
    "ltan_with_raan0": ({"ltan_hours": 10.5, "raan0_deg": 30.0}, "raan0_deg", "30.0"),
    "empty_prefix": ({"name_prefix": ""}, "name_prefix", "''"),
    "catnr_zero": ({"first_catnr": 0}, "first_catnr", "0"),
    "catnr_overflow": ({"first_catnr": 339995}, "first_catnr", "339995"),
}


@pytest.mark.parametrize(("changes", "field", "shown"), BAD_SHELLS.values(), ids=BAD_SHELLS.keys())
def test_bad_shell_parameters_raise_config_error_naming_the_field(
    changes: dict[str, object], field: str, shown: str
) -> None:
    params: dict[str, object] = {"altitude_km": 550.0, "planes": 3, "sats_per_plane": 2}
    params.update(changes)
    with pytest.raises(ConfigError) as info:
        Shell(**params)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"Shell.{field}: "), message
    assert message.endswith(f"got {shown}"), message
    assert "\n" not in message


def assert_catalogue_numbers_survive_export(first: int, size: int) -> None:
    shell = Shell(550.0, 1, size, 53.0, first_catnr=first)
    tles = shell_tles(shell, EPOCH)
    want = list(range(first, first + size))
    assert [t.catnr for t in tles] == want
    assert [tle_to_satrec(t).satnum for t in tles] == want
    assert parse_tles(format_tles(tles)) == tles


@pytest.mark.parametrize("first", [180000, 189998, 230000, 239998, 179999, 229999, 339998])
def test_catalogue_numbers_where_alpha5_skips_i_and_o_export(first) -> None:
    """sgp4 writes 'I0000' / 'O0000' for these; the exported TLEs carry J and P."""
    assert_catalogue_numbers_survive_export(first, 2)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, MAX_CATNR - 1))
def test_any_valid_first_catnr_round_trips_through_the_exported_tle(first) -> None:
    assert_catalogue_numbers_survive_export(first, 2)
