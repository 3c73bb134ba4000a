"""constellation-dispatch environments: orbits, ground networks, contact plans and the simulator."""

from envs.errors import ConfigError, ConstellationDispatchError, TLEError

__all__ = ["ConfigError", "ConstellationDispatchError", "TLEError"]
