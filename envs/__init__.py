"""constellation-dispatch environments: orbits, ground networks, contact plans and the simulator.

Importing ``envs`` registers the Gymnasium environment ``ConstellationDispatch-v0``:

>>> import gymnasium as gym
>>> import envs
>>> "ConstellationDispatch-v0" in gym.registry
True
"""

from gymnasium.envs.registration import register, registry

from envs.errors import ConfigError, ConstellationDispatchError, TLEError

__all__ = ["ENV_ID", "ConfigError", "ConstellationDispatchError", "TLEError"]

ENV_ID = "ConstellationDispatch-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="envs.dispatch_env:ConstellationDispatchEnv")
