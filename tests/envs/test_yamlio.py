"""envs.yamlio: yaml.safe_load semantics, plus duplicate keys refused with both lines."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from envs.errors import ConfigError
from envs.yamlio import parse_yaml, read_yaml

KEYS = st.sampled_from(["a", "b", "name", "lat_deg", "duration_s", "1", "true"])
SCALARS = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y z", "1.5", "null"]))


@given(st.lists(st.tuples(KEYS, SCALARS), min_size=1, max_size=8), st.integers(0, 2))
def test_a_repeated_key_is_refused_at_any_depth_else_safe_load_wins(pairs, depth):
    """Mappings from generated key lists, nested ``depth`` levels deep in a document."""
    indent = "  " * depth
    head = "".join(f"{'  ' * d}level{d}:\n" for d in range(depth))
    text = head + "".join(f"{indent}{k}: {v}\n" for k, v in pairs)
    seen: dict[object, int] = {}
    duplicate = None
    for line, (key, _) in enumerate(pairs, start=depth + 1):
        parsed = yaml.safe_load(f"{key}: 0")  # the key as YAML constructs it ("1" is an int)
        (value,) = parsed
        if value in seen:
            duplicate = (value, seen[value], line)
            break
        seen[value] = line
    if duplicate is None:
        assert parse_yaml(text, "g.yaml") == yaml.safe_load(text)
    else:
        key, first, again = duplicate
        with pytest.raises(ConfigError) as info:
            parse_yaml(text, "g.yaml")
        assert str(info.value) == f"g.yaml:{again}: duplicate key {key!r} (first at g.yaml:{first})"


def test_merge_keys_may_still_be_overridden():
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 5\n"
    assert (
        parse_yaml(text)
        == yaml.safe_load(text)
        == {
            "base": {"x": 1, "y": 2},
            "d": {"x": 5, "y": 2},
        }
    )


def test_python_tags_are_refused_as_by_safe_load():
    with pytest.raises(ConfigError, match=r"line 1.*python/object/apply:os\.system"):
        parse_yaml("a: !!python/object/apply:os.system [ls]\n", "t.yaml")


def test_a_file_with_a_repeated_key_names_it_and_both_lines(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("episode:\n  duration_s: 60\n  drain_s: 0\n  duration_s: 3600\n")
    with pytest.raises(ConfigError) as info:
        read_yaml(path, "s.yaml")
    assert str(info.value) == "s.yaml:4: duplicate key 'duration_s' (first at s.yaml:2)"
