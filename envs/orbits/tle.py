"""Two-line element sets: the `TLE` record, parsing with validation, and export.

Reads CelesTrak-style files in the 3-line format (a name line, then the lines starting
``1 `` and ``2 ``), the 2-line format (pairs only), or a mix of both; CRLF or LF line ends,
trailing whitespace, blank lines and a leading ``0 `` on name lines (Space-Track's 3LE) are
accepted. Every problem is reported as a one-line `TLEError` naming the source, the 1-based
line number and the offending value, e.g.
``iridium.tle line 7: checksum mismatch (expected 3, found 5)``.

Column positions follow the CelesTrak "NORAD Two-Line Element Set Format" description.

Size: about 570 lines, above the house's ~400, because it is one format: the record, its
column rules, the parser's line-by-line validation and the export all share those rules;
splitting them would put one specification in several places. (Alpha-5 catalogue numbers and
the epoch-distance checks are small parts of the same format.)
"""

from __future__ import annotations

import calendar
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sgp4.api import SGP4_ERRORS, WGS72, Satrec

from envs.atomic import atomic_write
from envs.constants import DAY_S
from envs.errors import TLEError

__all__ = [
    "MAX_CATNR",
    "TLE",
    "TLE_MAX_AGE_DAYS",
    "TLE_REFUSE_AGE_DAYS",
    "TLEEpochWarning",
    "check_epoch_age",
    "check_epoch_distance",
    "check_unique_names",
    "format_catnr",
    "format_tles",
    "load_tles",
    "parse_tles",
    "tle_checksum",
    "tle_to_satrec",
    "write_tles",
]

TLE_LINE_LENGTH = 69
#: Element sets used further than this from their epoch trigger a `TLEEpochWarning`. SGP4
#: errors grow by roughly a kilometre or more per day away from the epoch; two weeks is the
#: usual rule of thumb for when a TLE should be refreshed.
TLE_MAX_AGE_DAYS = 14.0
#: Element sets used further than this from their epoch are refused (`check_epoch_distance`):
#: a year of SGP4 extrapolation puts a LEO satellite thousands of kilometres off.
TLE_REFUSE_AGE_DAYS = 366.0
_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # Alpha-5 skips I and O.
#: Largest catalogue number a TLE can carry: Alpha-5 ``Z9999`` (24 letters x 10000 above 99999).
MAX_CATNR = (len(_ALPHA5_LETTERS) + 10) * 10000 - 1
_DIGITS = "0123456789"
# Byte -> checksum contribution: digits count their value, "-" counts 1, everything else 0.
_CHECKSUM_VALUES = bytes(
    (b - 48) if 48 <= b <= 57 else (1 if b == ord("-") else 0) for b in range(256)
)
_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)\s*", re.ASCII)

# (line, field name, 0-based slice start, stop); columns are 1-based inclusive in messages.
_FIELDS = (
    (1, "epoch year", 18, 20),
    (1, "epoch day", 20, 32),
    (2, "inclination", 8, 16),
    (2, "RAAN", 17, 25),
    (2, "eccentricity", 26, 33),
    (2, "argument of perigee", 34, 42),
    (2, "mean anomaly", 43, 51),
    (2, "mean motion", 52, 63),
)


@dataclass(frozen=True, slots=True)
class TLE:
    """One two-line element set with the satellite's name.

    Construction validates the lines (length, prefix, checksums, numeric fields, ranges) and
    the name (one line, no surrounding blanks, cannot be mistaken for a TLE line), so every
    `TLE` can be formatted and parsed back unchanged.

    Attributes:
        name: The name line, stripped (3-line format), or the catalogue number as a string
            for sets read from a 2-line file.
        line1: Line 1, exactly 69 characters.
        line2: Line 2, exactly 69 characters.

    >>> tle = TLE(
    ...     "SAT-01-01",
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07",
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05",
    ... )
    >>> tle.catnr, tle.epoch.isoformat()
    (90001, '2025-06-01T00:00:00+00:00')
    """

    name: str
    line1: str
    line2: str

    def __post_init__(self) -> None:
        where = f"TLE {self.name!r}"
        if not all(isinstance(value, str) for value in (self.name, self.line1, self.line2)):
            raise TLEError(f"{where}: name, line1 and line2 must be str")
        name_problem = _name_problem(self.name)
        if name_problem:
            raise TLEError(f"{where}: {name_problem}")
        problem = _pair_problem(self.line1, self.line2)
        if problem:
            raise TLEError(f"{where} line {problem[0]}: {problem[1]}")

    @property
    def catnr(self) -> int:
        """Catalogue (NORAD) number from line 1; Alpha-5 ``A0001`` reads as 100001."""
        return _catnr(self.line1[2:7])

    @property
    def epoch(self) -> datetime:
        """Epoch as a tz-aware UTC datetime (two-digit years 57-99 are 19xx, else 20xx)."""
        return _epoch(self.line1[18:20], self.line1[20:32])


class TLEEpochWarning(UserWarning):
    """Element sets are used far from their epoch, where SGP4 positions are unreliable."""


def check_epoch_age(
    tles: Sequence[TLE],
    start: datetime,
    source: str = "<TLEs>",
    *,
    max_age_days: float = TLE_MAX_AGE_DAYS,
) -> float:
    """Warn once if any epoch is more than ``max_age_days`` from ``start``; return the largest.

    The single `TLEEpochWarning` names ``source``, the satellite furthest from ``start``, its
    age in days (positive: the epoch is before ``start``) and how many satellites are affected.

    Args:
        tles: The element sets.
        start: When they are used (a tz-aware UTC datetime, e.g. the scenario start).
        source: How the message names the file.
        max_age_days: The threshold (default `TLE_MAX_AGE_DAYS`).

    Returns:
        The largest ``|start - epoch|`` in days (0 for no element sets).

    >>> tle = TLE(
    ...     "SAT-01-01",
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07",
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05",
    ... )
    >>> check_epoch_age([tle], datetime(2025, 6, 3, tzinfo=timezone.utc))
    2.0
    """
    check_epoch_distance(tles, start, 0.0, source)
    ages = [(start - t.epoch).total_seconds() / DAY_S for t in tles]
    if not ages:
        return 0.0
    worst = max(range(len(ages)), key=lambda i: abs(ages[i]))
    stale = sum(abs(a) > max_age_days for a in ages)
    if stale:
        tle, age = tles[worst], ages[worst]
        warnings.warn(
            f"{source}: TLE {tle.name!r} (catalogue number {tle.catnr}): epoch "
            f"{tle.epoch:%Y-%m-%dT%H:%M:%SZ} is {abs(age):.1f} days "
            f"{'before' if age > 0 else 'after'} the start {start:%Y-%m-%dT%H:%M:%SZ} "
            f"({stale} of {len(ages)} satellites more than {max_age_days:g} days away; SGP4 "
            "positions degrade away from the epoch: use element sets from near the start)",
            TLEEpochWarning,
            stacklevel=2,
        )
    return abs(ages[worst])


def check_epoch_distance(
    tles: Sequence[TLE],
    start: datetime,
    horizon_s: float = 0.0,
    source: str = "<TLEs>",
    *,
    max_days: float = TLE_REFUSE_AGE_DAYS,
) -> None:
    """Refuse element sets used more than ``max_days`` from their epoch within a horizon.

    Raises:
        TLEError: One line naming ``source``, the satellite furthest away and the distance.

    >>> tle = TLE(
    ...     "SAT-01-01",
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07",
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05",
    ... )
    >>> check_epoch_distance([tle], datetime(2025, 7, 1, tzinfo=timezone.utc))
    >>> check_epoch_distance([tle], datetime(2035, 6, 1, tzinfo=timezone.utc), source="a.tle")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envs.errors.TLEError: a.tle: TLE 'SAT-01-01' (catalogue number 90001): epoch ...
    """
    if not tles:
        return
    end = start + timedelta(seconds=float(horizon_s))
    days = [
        max(abs((start - t.epoch).total_seconds()), abs((end - t.epoch).total_seconds())) / DAY_S
        for t in tles
    ]
    worst = max(range(len(days)), key=days.__getitem__)
    if days[worst] > max_days:
        tle = tles[worst]
        raise TLEError(
            f"{source}: TLE {tle.name!r} (catalogue number {tle.catnr}): epoch "
            f"{tle.epoch:%Y-%m-%dT%H:%M:%SZ} is {days[worst]:.1f} days from the horizon "
            f"{start.isoformat(timespec='seconds')} + {float(horizon_s):g} s; SGP4 is not "
            f"meaningful more than {max_days:g} days from an element set's epoch"
        )


def tle_checksum(line: str) -> int:
    """Return the mod-10 checksum of the first 68 characters (digits count, ``-`` counts 1).

    >>> tle_checksum("2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    0")
    5
    """
    return sum(line[:68].encode("latin-1", "replace").translate(_CHECKSUM_VALUES)) % 10


def parse_tles(text: str, source: str = "<string>") -> list[TLE]:
    r"""Parse 2-line and/or 3-line element sets from ``text``.

    Args:
        text: File contents; LF or CRLF line ends, blank lines and trailing blanks allowed.
        source: Name used in error messages (usually the file path).

    Returns:
        The element sets in file order; duplicate catalogue numbers are kept.

    Raises:
        TLEError: On the first problem found, naming ``source``, the line and the value;
            also when two element sets share a satellite name (for 2-line sets the name is
            the catalogue number), naming both lines.

    >>> text = (
    ...     "SAT-01-01\n"
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07\n"
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05\n"
    ... )
    >>> [(t.name, t.catnr) for t in parse_tles(text)]
    [('SAT-01-01', 90001)]
    >>> parse_tles(text.replace("SAT-01-01\n", ""))[0].name
    '90001'
    """
    tles: list[TLE] = []
    first_lines: list[int] = []  # line number where each element set starts
    name: tuple[int, str] | None = None  # (line number, raw name line)
    line1: tuple[int, str] | None = None
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.rstrip()
        if not line:
            continue
        if line1 is not None:
            if not line.startswith("2 "):
                raise TLEError(
                    f"{source} line {number}: expected line 2 (starting '2 ') after line 1 "
                    f"on line {line1[0]}, found {_show(line)}"
                )
            tles.append(_make_tle(source, name, line1, (number, line)))
            first_lines.append((name or line1)[0])
            name = line1 = None
        elif line.startswith("1 "):
            line1 = (number, line)
        elif line.startswith("2 "):
            if name is not None and len(name[1]) == TLE_LINE_LENGTH:  # a mangled line 1
                raise TLEError(
                    f"{source} line {name[0]}: line 1 must start with '1 ', found {_show(name[1])}"
                )
            raise TLEError(f"{source} line {number}: line 2 without a preceding line 1")
        elif name is not None:
            raise TLEError(
                f"{source} line {number}: expected line 1 (starting '1 ') after name line "
                f"{name[0]}, found {_show(line)}"
            )
        else:
            name = (number, line)
    if line1 is not None:
        raise TLEError(
            f"{source} line {line1[0]}: line 1 is not followed by a line 2 (end of file)"
        )
    if name is not None:
        raise TLEError(
            f"{source} line {name[0]}: name line {_show(name[1])} is not followed by a TLE "
            "(end of file)"
        )
    if not tles:
        raise TLEError(f"{source}: no TLEs found")
    check_unique_names(tles, [f"line {n}" for n in first_lines], source)
    return tles


def check_unique_names(tles: Sequence[TLE], places: Sequence[str], source: str) -> None:
    """Raise a one-line `TLEError` naming both places when two sets share a satellite name.

    Args:
        tles: The element sets of one file.
        places: Where each starts, e.g. ``"line 4"`` or ``"record 2"``.
        source: How messages name the file.
    """
    seen: dict[str, int] = {}
    for k, tle in enumerate(tles):
        j = seen.setdefault(tle.name, k)
        if j != k:
            raise TLEError(
                f"{source} {places[k]}: satellite name {tle.name!r} (catalogue number "
                f"{tle.catnr}) repeats {places[j]} (catalogue number {tles[j].catnr}); "
                "names must be unique so that contact-plan rows can be told apart"
            )


def load_tles(path: str | os.PathLike[str]) -> list[TLE]:
    r"""Read and parse a TLE file (UTF-8 or ASCII text); see `parse_tles`.

    Raises:
        TLEError: If the file is missing, unreadable, not text, or malformed.

    >>> import tempfile, pathlib
    >>> text = (
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07\n"
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05\n"
    ... )
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp, "one.tle")
    ...     _ = file.write_text(text)
    ...     [t.catnr for t in load_tles(file)]
    [90001]
    """
    source = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise TLEError(f"{source}: TLE file not found") from None
    except OSError as exc:
        raise TLEError(f"{source}: cannot read TLE file ({exc.strerror or exc})") from None
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise TLEError(f"{source} line {line}: NUL byte; expected a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TLEError(
            f"{source} line {line}: not UTF-8/ASCII text (byte 0x{data[exc.start]:02x})"
        ) from None
    return parse_tles(text, source)


def format_tles(tles: Sequence[TLE], *, three_line: bool = True) -> str:
    """Format element sets as text, one line each, ending in a newline.

    Args:
        tles: The element sets.
        three_line: Write a name line before each pair; with ``False`` names are dropped
            (a 2-line file reads back with catalogue numbers as names).

    >>> tle = TLE(
    ...     "SAT-01-01",
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07",
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05",
    ... )
    >>> print(format_tles([tle]), end="")
    SAT-01-01
    1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07
    2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05
    """
    lines: list[str] = []
    for tle in tles:
        if three_line:
            lines.append(tle.name)
        lines += (tle.line1, tle.line2)
    return "".join(line + "\n" for line in lines)


def write_tles(
    path: str | os.PathLike[str], tles: Sequence[TLE], *, three_line: bool = True
) -> None:
    """Write element sets atomically: a temporary file in the same folder, then `os.replace`.

    Raises:
        TLEError: If ``tles`` is empty (the file could not be read back).

    >>> import tempfile, pathlib
    >>> tle = TLE(
    ...     "SAT-01-01",
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07",
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05",
    ... )
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_tles(pathlib.Path(tmp, "out.tle"), [tle])
    ...     load_tles(pathlib.Path(tmp, "out.tle")) == [tle]
    True
    """
    target = Path(path)
    if len(tles) == 0:
        raise TLEError(f"{os.fspath(path)}: refusing to write an empty TLE file")
    text = format_tles(tles, three_line=three_line)
    with atomic_write(target, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def tle_to_satrec(tle: TLE) -> Satrec:
    """Initialise an sgp4 `Satrec` (WGS72 constants) from ``tle``.

    Raises:
        TLEError: Naming the satellite if sgp4 rejects the elements.

    >>> tle = TLE(
    ...     "SAT-01-01",
    ...     "1 90001U          25152.00000000  .00000000  00000-0  00000+0 0    07",
    ...     "2 90001  53.0000   0.0000 0000000   0.0000   0.0000 15.05491974    05",
    ... )
    >>> round(tle_to_satrec(tle).no_kozai * 1440 / (2 * 3.141592653589793), 8)
    15.05491974
    """
    where = f"TLE {tle.name!r} (catalogue number {tle.catnr})"
    try:
        satrec = Satrec.twoline2rv(tle.line1, tle.line2, WGS72)
    except (ValueError, RuntimeError) as exc:
        raise TLEError(f"{where}: sgp4 cannot read the elements ({exc})") from None
    if satrec.error:
        reason = SGP4_ERRORS.get(satrec.error, "unknown error")
        raise TLEError(f"{where}: sgp4 rejected the elements (error {satrec.error}: {reason})")
    return satrec


# --- validation helpers ------------------------------------------------------------------


def _show(line: str, limit: int = 40) -> str:
    """Quote a line for a one-line message, shortened to ``limit`` characters."""
    return repr(line if len(line) <= limit else line[:limit] + "...")


def _name_problem(name: str) -> str | None:
    if not name:
        return "name must not be empty"
    if name != name.strip() or "\n" in name or "\r" in name:
        return f"name must be one line without surrounding blanks, got {name!r}"
    if name[:2] in ("0 ", "1 ", "2 "):
        return f"name must not start with '0 ', '1 ' or '2 ', got {name!r}"
    return None


def _make_tle(
    source: str, name: tuple[int, str] | None, line1: tuple[int, str], line2: tuple[int, str]
) -> TLE:
    """Build one parsed `TLE`; on failure, report the problem with its file line number."""
    if name is not None:
        text = name[1].strip()
        text = text[2:].strip() if text[:2] == "0 " else text
    else:
        try:
            text = str(_catnr(line1[1][2:7]))
        except ValueError:
            text = "?"  # TLE() fails below and _pair_problem names the field
    try:
        return TLE(text, line1[1], line2[1])  # validates (once, on the fast path)
    except TLEError:
        pass
    problem = _pair_problem(line1[1], line2[1])
    if problem:
        raise TLEError(f"{source} line {(line1, line2)[problem[0] - 1][0]}: {problem[1]}")
    raise TLEError(f"{source} line {(name or line1)[0]}: {_name_problem(text)}")


def _pair_problem(line1: str, line2: str) -> tuple[int, str] | None:
    """First problem in a pair as (1 or 2, message), or None if the pair is valid."""
    for which, line in ((1, line1), (2, line2)):
        if not line.startswith(f"{which} "):
            return which, f"line {which} must start with '{which} ', found {_show(line)}"
        if len(line) != TLE_LINE_LENGTH:
            kind = "truncated" if len(line) < TLE_LINE_LENGTH else "too long"
            return which, f"line {which} has {len(line)} characters, expected 69 ({kind})"
        found, expected = line[68], tle_checksum(line)
        if found not in _DIGITS:
            return which, f"checksum character {found!r} is not a digit (expected {expected})"
        if int(found) != expected:
            return which, f"checksum mismatch (expected {expected}, found {found})"
        try:
            _catnr(line[2:7])
        except ValueError:
            return which, f"catalogue number (columns 3-7) is not a number: {line[2:7]!r}"
    if _catnr(line1[2:7]) != _catnr(line2[2:7]):
        return 2, f"catalogue number {line2[2:7]!r} differs from line 1 ({line1[2:7]!r})"
    values: dict[str, float] = {}
    for which, field, start, stop in _FIELDS:
        text = (line1, line2)[which - 1][start:stop]
        if field in ("epoch year", "eccentricity"):  # eccentricity: implied leading "0."
            ok = _is_digits(text.strip())
        else:
            ok = _NUMBER.fullmatch(text) is not None
        if not ok:
            return which, f"{field} (columns {start + 1}-{stop}) is not a number: {text!r}"
        values[field] = float(text) if field != "eccentricity" else float("0." + text.strip())
    try:
        _epoch(line1[18:20], line1[20:32])
    except ValueError as exc:
        return 1, str(exc)
    if not 0.0 <= values["inclination"] <= 180.0:
        return 2, f"inclination {line2[8:16].strip()} deg is outside [0, 180]"
    if not 0.0 <= values["eccentricity"] < 1.0:  # unreachable with 7 digits; kept as a guard
        return 2, f"eccentricity {values['eccentricity']} is outside [0, 1)"
    if not values["mean motion"] > 0.0:
        return 2, f"mean motion {line2[52:63].strip()} rev/day must be > 0"
    return None


def format_catnr(catnr: int) -> str:
    """Columns 3-7 of a TLE line for catalogue number ``catnr``: 5 digits, or Alpha-5.

    Alpha-5 writes 100000-339999 as a letter for the ten-thousands (A = 10 … Z = 33, skipping
    I and O) and four digits, so every number in ``1..MAX_CATNR`` has exactly one field.

    Raises:
        ValueError: If ``catnr`` is outside ``0..MAX_CATNR``.

    >>> format_catnr(90001), format_catnr(180000), format_catnr(230005), format_catnr(339999)
    ('90001', 'J0000', 'P0005', 'Z9999')
    """
    if isinstance(catnr, bool) or not 0 <= catnr <= MAX_CATNR:
        raise ValueError(f"catalogue number must be in [0, {MAX_CATNR}], got {catnr!r}")
    if catnr < 100000:
        return f"{catnr:05d}"
    high, low = divmod(int(catnr), 10000)
    return f"{_ALPHA5_LETTERS[high - 10]}{low:04d}"


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _catnr(field: str) -> int:
    """Catalogue number from columns 3-7 (digits, blank-padded digits, or Alpha-5).

    Raises:
        ValueError: If the field is neither.
    """
    if _is_digits(field.strip()):
        return int(field)
    if len(field) == 5 and field[0] in _ALPHA5_LETTERS and _is_digits(field[1:]):
        return (_ALPHA5_LETTERS.index(field[0]) + 10) * 10000 + int(field[1:])
    raise ValueError(f"not a catalogue number: {field!r}")


def _epoch(year_field: str, day_field: str) -> datetime:
    """UTC epoch from the two-digit year and day-of-year fields.

    Raises:
        ValueError: If the day is outside the year.
    """
    two_digit = int(year_field)
    year = two_digit + (1900 if two_digit >= 57 else 2000)
    day = float(day_field)
    last = 366.0 + calendar.isleap(year)
    if not 1.0 <= day < last:
        raise ValueError(f"epoch day {day_field.strip()} is outside year {year} [1, {last:.0f})")
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(days=day - 1.0)
