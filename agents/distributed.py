"""Ray plumbing shared by the Ray backends: connect to a cluster (or start one), run tasks.

``ray`` is an optional dependency (``pip install -e '.[ray]'``); importing this module does
not import it. :func:`ray_session` connects to an existing cluster (``address``: ``auto``,
``HOST:PORT`` of a ``ray start --head`` node, or ``ray://HOST:10001`` for Ray Client) or
starts a local instance with ``cpus`` CPUs and no dashboard, and shuts down only what it
started; inside a session that is already open (``ray.init`` called by the caller) it
reuses it. Local instances never report usage statistics (``RAY_USAGE_STATS_ENABLED=0``
unless set): runs stay offline.

:func:`run_on_ray` is the Ray twin of :func:`agents.lifeline.run_in_workers`: ``fn(*task)``
for every task as a ``ray.remote`` function (one CPU each), results to ``on_result`` as
they complete. Workers on another machine must import the project: install it on every
node (or give a ``runtime_env`` when connecting).

>>> check_address("auto"), check_address("ray://head:10001"), check_address("10.0.0.1:6379")
('auto', 'ray://head:10001', '10.0.0.1:6379')
>>> check_address("head")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
envs.errors.ConfigError: --address: expected auto, HOST:PORT or ray://HOST:PORT, got 'head'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from envs.errors import ConfigError, first_line

__all__ = ["INSTALL_HINT", "check_address", "import_ray", "ray_session", "run_on_ray"]

INSTALL_HINT = "pip install -e '.[ray]'"
_ADDRESS = re.compile(r"(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


def import_ray(what: str = "backend 'ray'") -> Any:
    """``import ray``; a one-line ``ConfigError`` with the install command if it is missing."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"{what}: ray is not installed; install it with: {INSTALL_HINT}"
        ) from None
    return ray


def check_address(address: str) -> str:
    """``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` (stripped); ``ConfigError`` otherwise."""
    text = address.strip()
    if text != "auto" and not _ADDRESS.fullmatch(text):
        raise ConfigError(
            f"--address: expected auto, HOST:PORT or ray://HOST:PORT, got {address!r}"
        )
    return text


@contextmanager
def ray_session(address: str | None = None, cpus: int | None = None) -> Iterator[Any]:
    """An open Ray session: the caller's, the cluster at ``address``, or a local instance.

    Args:
        address: A running cluster (see :func:`check_address`); ``None`` starts a local
            instance (no dashboard) unless Ray is already initialised in this process.
        cpus: CPUs of the local instance (``None``: every core); not used with ``address``.

    Yields:
        The ``ray`` module.

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached (naming it).
    """
    ray = import_ray("--address" if address else "backend 'ray'")
    if ray.is_initialized():
        yield ray
        return
    if address is not None:
        address = check_address(address)
        try:
            ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # ConnectionError, ValueError, gRPC errors: all one line
            raise ConfigError(
                f"--address: cannot connect to Ray at {address!r}: {first_line(exc)}"
            ) from None
    else:
        # Offline: a local instance reports no usage statistics (an opt-out of Ray's).
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # address='local': a new instance even when a cluster runs on this machine.
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_on_ray(
    fn: Callable[..., Any],
    tasks: Iterable[tuple],
    workers: int,
    on_result: Callable[[Any], None],
    *,
    address: str | None = None,
) -> None:
    """``fn(*task)`` for every task as Ray tasks; results reach ``on_result`` as they complete.

    Without an open session and ``address``, a local instance of ``workers`` CPUs runs them.
    On an interruption the pending tasks are cancelled.
    """
    with ray_session(address, cpus=workers) as ray:
        remote = ray.remote(num_cpus=1)(fn)
        pending = [remote.remote(*task) for task in tasks]
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                on_result(ray.get(ready[0]))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
