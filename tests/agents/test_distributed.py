"""The Ray backends: evaluation on a local 2-CPU Ray instance equals the process pool."""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
import pytest

from agents.distributed import check_address, import_ray, ray_session, run_on_ray
from agents.evaluate import evaluate
from envs.errors import ConfigError

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="ray is not installed (pip install -e '.[ray]')",
)


@needs_ray
def test_an_address_without_a_cluster_is_a_one_line_error():
    # Before the module's local instance starts (ray_session reuses an open session).
    import ray

    assert not ray.is_initialized()
    with (
        pytest.raises(ConfigError, match=r"--address: cannot connect to Ray at 'auto'"),
        ray_session("auto"),
    ):
        pass


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance with 2 CPUs and no dashboard for the module's tests."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield ray
        finally:
            ray.shutdown()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@needs_ray
def test_ray_backend_gives_the_process_backends_results(local_ray):
    kw = dict(loads=[1.0], episodes=2, seed=0, workers=2, progress=False)
    on_ray = evaluate("toy", ["ect", "least_loaded"], backend="ray", **kw)
    on_pool = evaluate("toy", ["ect", "least_loaded"], backend="process", **kw)
    assert local_ray.is_initialized()  # evaluate used the open session, did not shut it
    assert [(e.agent, e.seed) for e in on_ray.episodes] == [
        (e.agent, e.seed) for e in on_pool.episodes
    ]
    for a, b in zip(on_ray.episodes, on_pool.episodes, strict=True):
        assert a.metrics.keys() == b.metrics.keys()
        assert all(_same(a.metrics[k], b.metrics[k]) for k in a.metrics), a.agent
        for column in a.jobs:
            floats = a.jobs[column].dtype.kind == "f"
            assert np.array_equal(a.jobs[column], b.jobs[column], equal_nan=floats), column
    for ra, rb in zip(on_ray.summary, on_pool.summary, strict=True):
        assert all(_same(ra[k], rb[k]) for k in ra), ra["agent"]
    assert on_ray.config == on_pool.config


def _square(n: int) -> tuple[int, int]:
    return n, n * n


@needs_ray
def test_run_on_ray_returns_every_task_once(local_ray):
    got: list[tuple[int, int]] = []
    run_on_ray(_square, [(n,) for n in range(5)], 2, got.append)
    assert sorted(got) == [(n, n * n) for n in range(5)]


def test_addresses_that_are_not_a_ray_address_are_refused():
    for bad in ("head", "http://head:8265", "ray://head", ""):
        with pytest.raises(ConfigError, match="--address"):
            check_address(bad)


def test_without_ray_the_error_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(
        ConfigError, match=r"sweep: ray is not installed; .*pip install -e '\.\[ray\]'"
    ):
        import_ray("sweep")
    with pytest.raises(ConfigError, match="backend 'ray': ray is not installed"):
        evaluate("toy", ["ect"], episodes=1, backend="ray", progress=False)


@needs_ray
def test_ray_labels_equal_serial_labels(local_ray, monkeypatch):
    from agents.iteration import Cell, RolloutLabels, collect_labels

    def no_pool(*args, **kwargs):
        raise AssertionError("backend='ray' used the process pool")

    monkeypatch.setattr("agents.lifeline.run_in_workers", no_pool)

    toy = Cell("toy", 12.0, {"classes.inference.buffer_jobs": 6})
    kw = {"label_share": 0.5, "horizon": 5, "k_max": 4, "progress": False}
    serial = collect_labels([toy], [1, 2], workers=1, **kw)
    on_ray = collect_labels([toy], [1, 2], workers=2, backend="ray", **kw)
    for f in RolloutLabels.__slots__:
        np.testing.assert_array_equal(getattr(serial, f), getattr(on_ray, f))
