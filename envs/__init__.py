"""constellation-dispatch environments: orbits, ground networks, contact plans and the simulator.

Importing ``envs`` registers the Gymnasium environment ``ConstellationDispatch-v1`` (a ``Dict``
observation) and, for code written against the first version, ``ConstellationDispatch-v0``
(the same environment with the flat ``Box`` observation, ``observation="flat"``):

>>> import gymnasium as gym
>>> import envs
>>> "ConstellationDispatch-v1" in gym.registry
True
"""

from gymnasium.envs.registration import register, registry

from envs.errors import ConfigError, ConstellationDispatchError, TLEError

__all__ = ["ENV_ID", "LEGACY_ENV_ID", "ConfigError", "ConstellationDispatchError", "TLEError"]

ENV_ID = "ConstellationDispatch-v1"

#: The first version's id: the flat observation by default.
LEGACY_ENV_ID = "ConstellationDispatch-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="envs.dispatch_env:ConstellationDispatchEnv")
if LEGACY_ENV_ID not in registry:
    register(
        id=LEGACY_ENV_ID,
        entry_point="envs.dispatch_env:ConstellationDispatchEnv",
        kwargs={"observation": "flat"},
    )
