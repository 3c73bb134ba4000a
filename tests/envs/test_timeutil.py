"""envs.timeutil: ISO 8601 output with four-digit years and the SGP4 range of start times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from envs.errors import ConfigError
from envs.timeutil import SGP4_FIRST, SGP4_LAST, check_sgp4_range, format_utc, parse_utc

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
UTC = timezone.utc


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.floats(-1e12, 1e12, allow_nan=False),
)
def test_written_times_are_iso_8601_with_four_digit_years_or_a_one_line_error(moment, seconds):
    try:
        text = format_utc(moment, seconds)
    except ConfigError as exc:
        assert "\n" not in str(exc) and "outside the years 1-9999" in str(exc)
        return
    assert ISO.fullmatch(text), text
    back = parse_utc(text)
    want = moment + timedelta(seconds=seconds)
    assert timedelta(0) <= want - back < timedelta(milliseconds=1)


def test_year_one_is_written_with_four_digits():
    assert format_utc(datetime(1, 1, 1, tzinfo=UTC), 5962.759) == "0001-01-01T01:39:22.759Z"


@example(datetime(9982, 11, 17, 0, 59, tzinfo=UTC), 540342060.0)
@given(st.datetimes(timezones=st.just(UTC)), st.floats(0.0, 1e9))
def test_only_horizons_inside_the_tle_years_are_accepted(start, horizon_s):
    # Compare durations, not dates: start + horizon may leave the calendar (year 9999).
    inside = start >= SGP4_FIRST and timedelta(seconds=horizon_s) <= SGP4_LAST - start
    if inside:
        assert check_sgp4_range(start, horizon_s, "--start") == start
    else:
        with pytest.raises(ConfigError, match=r"^--start: .*(1957-01-01\.\.|ends after 2056)"):
            check_sgp4_range(start, horizon_s, "--start")


@pytest.mark.parametrize(
    "text", ["0001-01-01", "9999-12-31T23:00:00Z", "1956-12-31T23:59:59.999Z", "2057-01-01"]
)
def test_starts_outside_1957_2056_are_refused(text):
    with pytest.raises(ConfigError, match=r"outside 1957-01-01\.\.2056-12-31"):
        check_sgp4_range(parse_utc(text))


def test_the_first_and_last_tle_years_are_accepted():
    check_sgp4_range(parse_utc("1957-01-01T00:00:00Z"), 3600.0)
    check_sgp4_range(parse_utc("2056-12-31T00:00:00Z"), 3600.0)


def test_an_offset_that_leaves_the_calendar_is_a_one_line_error():
    with pytest.raises(ConfigError, match="outside the years 1-9999"):
        parse_utc("0001-01-01T00:00:00+05:00", "--start")
