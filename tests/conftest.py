"""Shared pytest fixtures, hypothesis profiles, and no network for the test session.

Hypothesis profiles (``--hypothesis-profile=NAME``, or ``HYPOTHESIS_PROFILE=NAME``):

* ``ci`` (the default): 1,000 generated examples per property.
* ``long``: 10,000 examples per property, for a soak run before a release.
* ``dev``: 100 examples, for quick local iterations.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("ci", max_examples=1_000, deadline=None, print_blob=True)
settings.register_profile("long", settings.get_profile("ci"), max_examples=10_000)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))  # the option overrides this


def _shared_data_dir() -> Path:
    override = os.environ.get("CONSTELLATION_DISPATCH_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Third-party data in ``../shared/data`` (never copied into the repo); skips when absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"shared third-party data not found at {path} "
            "(expected ../shared/data beside the repo, or set CONSTELLATION_DISPATCH_SHARED_DATA)"
        )
    return path


@pytest.fixture(scope="session")
def iridium_tle_path(shared_data: Path) -> Path:
    """The Iridium NEXT TLE snapshot from ``../shared/data/tle``."""
    path = shared_data / "tle" / "iridium_next_20260103.tle"
    if not path.is_file():
        pytest.skip(f"Iridium NEXT TLE snapshot missing: {path}")
    return path


@pytest.fixture(scope="session")
def toy_world():
    """The ``toy`` preset's world, built once for the session (read-only in tests)."""
    from envs.scenario import load_scenario
    from envs.sim import build_world

    return build_world(load_scenario("toy"))


@pytest.fixture(scope="session")
def sc12_world():
    """The ``star_compute_12`` preset's world, built once for the session (read-only)."""
    from envs.scenario import load_scenario
    from envs.sim import build_world

    return build_world(load_scenario("star_compute_12"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Contact plans computed by tests are cached in a temporary folder, not ~/.cache."""
    previous = os.environ.get("CONSTELLATION_DISPATCH_CACHE")
    os.environ["CONSTELLATION_DISPATCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("CONSTELLATION_DISPATCH_CACHE", None)
    else:
        os.environ["CONSTELLATION_DISPATCH_CACHE"] = previous


# --- no network ----------------------------------------------------------------------------

_INET = (socket.AF_INET, socket.AF_INET6)
_LOCAL_NAMES = (None, "", "localhost")


class NetworkAccessError(OSError):
    """Raised by any attempt to reach the network while the tests run."""


class _OfflineSocket(socket.socket):
    """``socket.socket`` whose Internet (AF_INET/AF_INET6) connects and sends fail.

    Local sockets (AF_UNIX ``socketpair``, used by multiprocessing and ``SubprocVecEnv``) and
    OS pipes are untouched.
    """

    def _refuse(self, address: object) -> None:
        if self.family in _INET:
            raise NetworkAccessError(f"network access is disabled in the tests: {address!r}")

    def connect(self, address):
        self._refuse(address)
        return super().connect(address)

    def connect_ex(self, address):
        self._refuse(address)
        return super().connect_ex(address)

    def sendto(self, data, *args):
        self._refuse(args[-1])
        return super().sendto(data, *args)


def _offline_create_connection(address, *args, **kwargs):
    raise NetworkAccessError(f"network access is disabled in the tests: {address!r}")


def _offline_getaddrinfo(real):
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in _LOCAL_NAMES:
            try:
                ipaddress.ip_address(name)  # numeric: no lookup; connecting is refused later
            except ValueError:
                raise NetworkAccessError(
                    f"name lookups are disabled in the tests: {host!r}"
                ) from None
        return real(host, *args, **kwargs)

    return getaddrinfo


@pytest.fixture(scope="session", autouse=True)
def _no_network():
    """No test reaches the network: Internet connects and DNS lookups raise.

    Only this process is patched (subprocesses started by tests are not).
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "socket", _OfflineSocket)
        mp.setattr(socket, "create_connection", _offline_create_connection)
        mp.setattr(socket, "getaddrinfo", _offline_getaddrinfo(socket.getaddrinfo))
        yield
