"""``observation="dict"``: the observation's parts, and ``FlattenDispatch`` back to one vector."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from envs.dispatch_env import SYSTEM_FEATURES, ConstellationDispatchEnv
from envs.errors import ConfigError
from envs.wrappers import CanonicalDispatch, FlattenDispatch, flatten_observation

CASES = [
    ("toy", {}),
    ("toy", {"dispatch.allow_defer": False}),
    ("star_compute_12", {"episode.duration_s": 600.0}),
    ("generated:7", {}),
]


def _play(env, seed: int, steps: int = 400):
    """Observations and masks under a seeded random valid policy."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    out = [(obs, env.action_masks())]
    for _ in range(steps):
        mask = env.action_masks()
        action = int(rng.choice(np.flatnonzero(mask))) if mask.any() else 0
        obs, _, term, trunc, _ = env.step(action)
        out.append((obs, env.action_masks()))
        if term or trunc:
            break
    return out


@pytest.mark.parametrize(("scenario", "overrides"), CASES)
def test_dict_parts_flatten_to_the_flat_observation_bit_for_bit(scenario, overrides) -> None:
    flat_env = ConstellationDispatchEnv(scenario, observation="flat", **overrides)
    dict_env = ConstellationDispatchEnv(scenario, world=flat_env.world, observation="dict",
                                        **overrides)  # fmt: skip
    wrapped = FlattenDispatch(
        ConstellationDispatchEnv(scenario, world=flat_env.world, observation="dict", **overrides)
    )
    flat, parts, back = _play(flat_env, 3), _play(dict_env, 3), _play(wrapped, 3)
    assert len(flat) == len(parts) == len(back) > 1
    for (f, fm), (d, dm), (b, bm) in zip(flat, parts, back, strict=True):
        assert dict_env.observation_space.contains(d)
        assert wrapped.observation_space.contains(b)
        assert f.tobytes() == flatten_observation(d).tobytes() == b.tobytes()
        assert (d["action_mask"].astype(bool) == dm).all() and (fm == dm).all() and (bm == dm).all()
        assert d["candidates"].shape == (dict_env.k, dict_env.n_features)
        assert d["global"].shape == (len(SYSTEM_FEATURES),)


def test_parts_of_one_observation_do_not_share_memory_with_the_next() -> None:
    env = ConstellationDispatchEnv("toy", observation="dict")
    first, _ = env.reset(seed=0)
    kept = {k: v.copy() for k, v in first.items()}
    for _ in range(5):
        mask = env.action_masks()
        env.step(int(np.flatnonzero(mask)[0]) if mask.any() else 0)
    assert all((first[k] == kept[k]).all() for k in kept)


def test_dict_env_passes_gymnasiums_checker() -> None:
    check_env(ConstellationDispatchEnv("toy", observation="dict"), skip_render_check=True)


def test_canonical_layout_is_the_same_over_either_form() -> None:
    a = CanonicalDispatch(ConstellationDispatchEnv("toy", observation="flat"), k_max=6)
    b = CanonicalDispatch(ConstellationDispatchEnv("toy", observation="dict"), k_max=6)
    for (x, _), (y, _) in zip(_play(a, 1), _play(b, 1), strict=True):
        assert x.tobytes() == y.tobytes()


def test_multi_input_policy_trains_on_the_dict_form() -> None:
    from sb3_contrib import MaskablePPO

    env = ConstellationDispatchEnv("toy", observation="dict")
    model = MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0)
    model.learn(64)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
    assert env.action_masks()[int(action)]


def test_the_default_form_is_the_dict() -> None:
    env = ConstellationDispatchEnv("toy")
    obs, _ = env.reset(seed=0)
    assert env.observation == "dict" and isinstance(env.observation_space, spaces.Dict)
    assert env.observation_space.contains(obs)
    assert obs["action_mask"].tolist() == env.action_masks().astype(np.int8).tolist()


def test_bad_observation_form_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"^observation: expected 'flat' or 'dict', got 'box'$"):
        ConstellationDispatchEnv("toy", observation="box")


def test_flatten_wrapper_refuses_a_flat_env() -> None:
    with pytest.raises(ConfigError, match="observation='dict'"):
        FlattenDispatch(ConstellationDispatchEnv("toy", observation="flat"))


def test_v1_gives_the_dict_and_the_legacy_v0_the_flat_vector() -> None:
    import gymnasium as gym

    import envs

    new = gym.make(envs.ENV_ID, scenario="toy", cache_dir=None)
    old = gym.make(envs.LEGACY_ENV_ID, scenario="toy", cache_dir=None)
    obs_new, _ = new.reset(seed=0)
    obs_old, _ = old.reset(seed=0)
    assert isinstance(obs_new, dict) and obs_old.shape == new.unwrapped.flat_observation_space.shape
    assert flatten_observation(obs_new).tobytes() == obs_old.tobytes()
