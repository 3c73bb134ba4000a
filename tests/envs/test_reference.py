"""envs.scenario.reference: the scenario YAML reference generated from the schema."""

from __future__ import annotations

import pytest

from envs.scenario import fields, reference
from envs.scenario.reference import reference_markdown, reference_rows


def test_every_key_the_loader_accepts_is_documented_with_a_meaning():
    rows = reference_rows()
    keys = [r.key for r in rows]
    assert len(keys) == len(set(keys))
    for key in ("episode.epoch", "constellation.tle_file", "constellation.tle_class",
                "ground.station_files", "workload.arrivals.trace_file", "isl.max_hops",
                "faults.link_degradation[].factor", "classes.*.buffer_jobs"):  # fmt: skip
        assert key in keys, key
    assert [r.key for r in rows if not r.meaning] == []


def test_units_and_defaults_come_from_the_schema():
    rows = {r.key: r for r in reference_rows()}
    assert (rows["episode.duration_s"].unit, rows["episode.duration_s"].default) == ("s", "21600")
    assert rows["ground.min_elevation_deg"].unit == "deg"
    assert rows["isl.rate_bps"].unit == "bit/s"
    assert rows["ground.station_files"].default == "required"
    assert rows["dispatch.allow_defer"].default == "true"
    assert rows["reward.drop_penalty_s"].default == "86400"


def test_a_loader_key_without_a_schema_field_fails_the_generator(monkeypatch):
    tree = {**fields.KEY_TREE, "episode": {**fields.KEY_TREE["episode"], "warp_factor": None}}
    monkeypatch.setattr(reference, "KEY_TREE", tree)
    with pytest.raises(KeyError, match=r"episode\.warp_factor: no schema field documents this key"):
        reference_rows()


def test_the_page_has_one_table_row_per_key():
    page = reference_markdown()
    assert page.startswith("# Scenario reference")
    assert sum(line.startswith("| `") for line in page.splitlines()) == len(reference_rows())
