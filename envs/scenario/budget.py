"""What a scenario would allocate, checked against ``envs.limits`` when it is loaded.

Numbers that pass the loader's range checks can still describe a run that cannot finish;
:func:`check_budget` estimates, from the validated scenario alone, the jobs of an episode
(arrival rate × load × arrival window; a trace's rows are counted when it is replayed, in
``envs.jobs``), the time points of the contact-plan grid (and of the sunlit grid when a class
has a power model), the grid cells searched for passes, the on-board servers, the candidates
per decision, the random station outages and the inter-satellite relay paths, and refuses a
scenario over a limit in one line that names the field to change. Limits are raised with
environment variables (``envs.limits``).

>>> from envs.scenario import load_scenario
>>> load_scenario("toy", {"workload.arrivals.rate_per_s": 1e6})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
envs.errors.ConfigError: toy.yaml: workload.arrivals.rate_per_s: ... limit of 2,000,000 ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.constants import DAY_S, SUNLIT_STEP_S
from envs.limits import check_count

if TYPE_CHECKING:
    from envs.scenario.schema import Scenario

__all__ = ["check_budget"]


def check_budget(sc: Scenario) -> None:
    """Refuse a scenario whose run would allocate more than ``envs.limits`` allows.

    Raises:
        ConfigError: One line naming the field, its value and the estimate.
    """
    e = sc.episode
    horizon = e.duration_s + e.drain_s
    longest = "episode.duration_s" if e.duration_s >= e.drain_s else "episode.drain_s"
    span = f"duration_s {e.duration_s:g} s + drain_s {e.drain_s:g} s"
    steps = horizon / e.contact_step_s
    check_count("grid_steps", steps, longest, f"{span} at contact_step_s {e.contact_step_s:g} s")
    if any(c.power != "always" for c in sc.classes):
        check_count(
            "grid_steps", horizon / SUNLIT_STEP_S, longest,
            f"{span} on the {SUNLIT_STEP_S:g} s sunlit grid of a power model",
        )  # fmt: skip
    w = sc.workload
    if w.arrivals.process in ("poisson", "diurnal"):
        peak = 1.0 + (w.arrivals.amplitude if w.arrivals.process == "diurnal" else 0.0)
        jobs = w.arrivals.rate_per_s * peak * w.load * e.duration_s
        what = "" if peak == 1.0 else f" × peak {peak:g}"
        check_count(
            "jobs", jobs, "workload.arrivals.rate_per_s",
            f"{w.arrivals.rate_per_s:g} jobs/s{what} × load {w.load:g} × duration_s "
            f"{e.duration_s:g} s",
        )  # fmt: skip
    check_count("candidates", sc.dispatch.candidates, "dispatch.candidates", "")
    per_class = _satellites_per_class(sc)
    for cls in sc.classes:
        n = per_class.get(cls.name, 0)
        check_count(
            "servers", cls.servers * n, f"classes.{cls.name}.servers",
            f"{cls.servers} servers × {n} satellites",
        )  # fmt: skip
    n_sats = sum(per_class.values())
    g = sc.ground
    n_stations = sum(1 for s in g.file_stations() if g.networks is None or s.network in g.networks)
    check_count(
        "grid_cells", (steps + 1) * n_sats * n_stations, longest,
        f"{span} at contact_step_s {e.contact_step_s:g} s over {n_sats} satellites × "
        f"{n_stations} stations",
    )  # fmt: skip
    isl = sc.isl
    if isl.enabled:  # envs.sim.isl: per satellite, its neighbours within max_hops and paths
        h = isl.max_hops
        reach = 2 * h * h + 2 * h + 1 if isl.in_plane and isl.cross_plane else 2 * h + 1
        entries = n_sats * min(n_sats, reach) * max(h - 1, 1)
        check_count(
            "isl_paths", entries, "isl.max_hops",
            f"{h} hops over {n_sats} satellites (up to {min(n_sats, reach)} neighbours each)",
        )  # fmt: skip
    outages = sc.faults.random_station_outages
    if outages is not None:
        count = outages.rate_per_day * horizon / DAY_S * n_stations
        check_count(
            "outages", count, "faults.random_station_outages.rate_per_day",
            f"{outages.rate_per_day:g} a day × {horizon / DAY_S:.3g} days × {n_stations} "
            "stations",
        )  # fmt: skip


def _satellites_per_class(sc: Scenario) -> dict[str, int]:
    c = sc.constellation
    out: dict[str, int] = {}
    if c.tle_file is not None:
        out[c.tle_class] = len(c.file_tles())
    for s in c.shells:
        out[s.sat_class] = out.get(s.sat_class, 0) + s.shell.size
    return out
