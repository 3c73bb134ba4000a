"""A size-independent candidate-scoring policy for ``MaskablePPO`` and SB3 ``PPO``.

Every candidate satellite is scored by the same network, so one set of parameters serves any
number ``K`` of candidates (``K`` is read off the observation length at forward time) and
permuting the candidates permutes the action logits. Actor, per decision::

    ctx      = MLP_g(global features)                        # hidden
    e_i      = MLP_c(candidate i features)                   # hidden, shared over i
    pool     = [mean_i e_i, max_i e_i] over valid candidates
    score_i  = MLP_s([e_i, ctx, pool])                       # logit of action i
    defer    = MLP_d([ctx, pool])                            # logit of action K (if allowed)

The critic has its own ``MLP_g`` and ``MLP_c`` and reads ``[ctx, pool]``. Masking is left to
the maskable distribution (``action_masks``); with ``mask_invalid=True`` (default) candidates
whose valid flag (feature 0) is off also get a ``-1e8`` logit, so plain ``PPO`` never picks
them either. With ``room_feature`` set (the buffer-commitment feature; :func:`policy_kwargs_for`
sets it), a candidate whose buffer is fully committed (feature ``>= 1``) gets a ``-1e8`` logit
while another valid candidate has room: the job would most likely be dropped on arrival
there, and ECT, ``earliest_uplink`` and ``least_loaded`` never choose it either. Cloned from
ECT on ``star_compute_12``'s 64-job buffers, the rule did not carry over to ``walker_100``'s
256-job buffers, so it is built in. The network lives in ``mlp_extractor`` (``forward_actor``
returns the logits, ``action_net`` is the identity), so SB3's own ``forward``,
``evaluate_actions``, save and load are used unchanged.

A model trained with one ``K`` runs on an env with another: load it with
``custom_objects={"observation_space": env.observation_space, "action_space":
env.action_space}``, or call :func:`adapt_to_env` on a model in memory.

>>> from sb3_contrib import MaskablePPO
>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = ConstellationDispatchEnv("toy", cache_dir=None, candidates=8)
>>> model = MaskablePPO(CandidateScoringPolicy, env, policy_kwargs=policy_kwargs_for(env))
>>> small = ConstellationDispatchEnv("toy", cache_dir=None, candidates=4)
>>> model = adapt_to_env(model, small)
>>> obs, _ = small.reset(seed=0)
>>> action, _ = model.predict(obs, action_masks=small.action_masks(), deterministic=True)
>>> bool(small.action_masks()[action])
True

Size: about 440 lines, just above the house's ~400, because the feature extractor, the
scorer, the SB3 policy class and its adapters to another K change together: a saved model's
parameters and constructor arguments name all of them.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.distributions import (
    MaskableCategoricalDistribution,
    make_masked_proba_distribution,
)
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

from envs.dispatch_env import CANDIDATE_FEATURES

__all__ = [
    "CandidateScorer",
    "CandidateScoringPolicy",
    "DispatchFeatures",
    "adapt_to_env",
    "policy_kwargs_for",
]

_MASKED_LOGIT = -1e8  # the value sb3-contrib's MaskableCategorical gives masked logits


def _mlp(sizes: list[int], activation_fn: type[nn.Module], *, last_activation: bool) -> nn.Module:
    layers: list[nn.Module] = []
    for n_in, n_out in pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), activation_fn()]
    return nn.Sequential(*(layers if last_activation else layers[:-1]))


def _pools(emb: th.Tensor, valid: th.Tensor) -> th.Tensor:
    """Mean and max of ``emb`` (B, K, H) over valid candidates (zeros when none): (B, 2H)."""
    w = valid.unsqueeze(-1)
    mean = (emb * w).sum(1) / w.sum(1).clamp_min(1)
    top = emb.masked_fill(~w, float("-inf")).amax(1)
    top = th.where(valid.any(1, keepdim=True), top, th.zeros_like(top))
    return th.cat([mean, top], dim=1)


Parts = tuple[th.Tensor, th.Tensor]  # global and job features (B, G), candidates (B, K, F)


class DispatchFeatures(BaseFeaturesExtractor):
    """The observation's structure for :class:`CandidateScorer`: ``(global, candidates)``.

    The one place a policy reads the observation's layout, as SB3's ``CombinedExtractor``
    reads a ``Dict``: from the env's ``observation="dict"`` form it takes ``global`` and
    ``job`` (concatenated, ``(B, n_global)``) and ``candidates`` ``(B, K, n_features)`` as
    they are; from the flat form it cuts the same two parts. ``K`` is read at forward time.
    ``features_dim`` is nominal: the scorer consumes the parts, not a vector.
    """

    def __init__(self, observation_space: spaces.Space, n_global: int, n_features: int):
        super().__init__(observation_space, features_dim=1)
        self.n_global, self.n_features = int(n_global), int(n_features)

    def forward(self, observations: th.Tensor | dict[str, th.Tensor]) -> Parts:
        """``(global (B, n_global), candidates (B, K, n_features))``."""
        if isinstance(observations, dict):
            glob = th.cat([observations["global"], observations["job"]], dim=1)
            return glob, observations["candidates"]
        return split_flat(observations, self.n_global, self.n_features)


def split_flat(obs: th.Tensor, n_global: int, n_features: int) -> Parts:
    """The two parts of flat observations ``(B, n_global + K n_features)``."""
    b, size = obs.shape
    k, rest = divmod(size - n_global, n_features)
    if rest or k < 1:
        raise ValueError(
            f"observation: length {size} is not n_global ({n_global}) + "
            f"K * n_features ({n_features}) for any K >= 1"
        )
    return obs[:, :n_global], obs[:, n_global:].reshape(b, k, n_features)


class CandidateScorer(nn.Module):
    """The actor and critic networks; stands in for SB3's ``MlpExtractor``.

    ``forward_actor`` returns the action logits ``(B, K [+ 1])``, ``forward_critic`` a
    ``(B, hidden)`` latent for ``value_net``. Parameters do not depend on ``K``.
    """

    def __init__(
        self,
        n_global: int,
        n_features: int,
        *,
        allow_defer: bool,
        hidden: int,
        activation_fn: type[nn.Module],
        mask_invalid: bool,
        room_feature: int | None = None,
    ):
        super().__init__()
        self.n_global, self.n_features = n_global, n_features
        self.allow_defer, self.mask_invalid = allow_defer, mask_invalid
        self.room_feature = room_feature
        self.latent_dim_vf = hidden
        h, act = hidden, activation_fn
        self.pi_global = _mlp([n_global, h, h], act, last_activation=True)
        self.pi_candidate = _mlp([n_features, h, h], act, last_activation=True)
        self.pi_score = _mlp([4 * h, h, 1], act, last_activation=False)
        self.pi_defer = _mlp([3 * h, h, 1], act, last_activation=False) if allow_defer else None
        self.vf_global = _mlp([n_global, h, h], act, last_activation=True)
        self.vf_candidate = _mlp([n_features, h, h], act, last_activation=True)
        self.vf_head = _mlp([3 * h, h], act, last_activation=True)

    def split(self, features: Parts | th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Global (B, n_global), candidates (B, K, n_features) and valid (B, K).

        ``features`` are :class:`DispatchFeatures`' parts, or flat observations.
        """
        if isinstance(features, th.Tensor):
            features = split_flat(features, self.n_global, self.n_features)
        glob, cand = features
        return glob, cand, cand[..., 0] > 0.5

    def blocked(self, cand: th.Tensor, valid: th.Tensor) -> th.Tensor:
        """Candidates (B, K) the room rule rules out: full while a valid one has room."""
        if self.room_feature is None:
            return th.zeros_like(valid)
        full = valid & (cand[..., self.room_feature] >= 1.0)
        return full & (valid & ~full).any(1, keepdim=True)

    def blocked_actions(self, obs: Parts | th.Tensor) -> th.Tensor:
        """Actions (B, K [+ 1]) the built-in rules give a ``-1e8`` logit (deferral never)."""
        _, cand, valid = self.split(obs)
        out = self.blocked(cand, valid)
        if self.mask_invalid:
            out = out | ~valid
        if self.pi_defer is not None:
            out = th.cat([out, th.zeros_like(out[:, :1])], dim=1)
        return out

    def forward_actor(self, features: Parts | th.Tensor) -> th.Tensor:
        """Action logits ``[score_0 .. score_{K-1}, defer]`` before the env's mask."""
        glob, cand, valid = self.split(features)
        emb = self.pi_candidate(cand)
        ctx = th.cat([self.pi_global(glob), _pools(emb, valid)], dim=1)
        pairs = th.cat([emb, ctx.unsqueeze(1).expand(-1, emb.shape[1], -1)], dim=2)
        scores = self.pi_score(pairs).squeeze(-1)
        if self.mask_invalid:
            scores = scores.masked_fill(~valid, _MASKED_LOGIT)
        scores = scores.masked_fill(self.blocked(cand, valid), _MASKED_LOGIT)
        if self.pi_defer is not None:
            scores = th.cat([scores, self.pi_defer(ctx)], dim=1)
        return scores

    def forward_critic(self, features: Parts | th.Tensor) -> th.Tensor:
        """Value latent from the global context and pooled candidate embeddings."""
        glob, cand, valid = self.split(features)
        pooled = _pools(self.vf_candidate(cand), valid)
        return self.vf_head(th.cat([self.vf_global(glob), pooled], dim=1))

    def forward(self, features: Parts | th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """``(forward_actor, forward_critic)``, as SB3's ``MlpExtractor``."""
        return self.forward_actor(features), self.forward_critic(features)


class CandidateScoringPolicy(MaskableActorCriticPolicy):
    """Permutation-equivariant actor-critic over ``K`` candidates (any ``K``).

    Args:
        observation_space: ``Box`` of shape ``(n_global + K * n_features,)``.
        action_space: ``Discrete(K + 1)`` with deferral, ``Discrete(K)`` without.
        lr_schedule: learning-rate schedule (given by the algorithm).
        n_global: global and job features before the candidate blocks (``env.n_global``).
        n_features: features per candidate; feature 0 is the valid flag.
        allow_defer: whether the last action defers the job.
        hidden: width of every hidden layer.
        mask_invalid: give candidates with valid flag 0 a ``-1e8`` logit.
        room_feature: index of the buffer-commitment candidate feature; a fully committed
            candidate gets a ``-1e8`` logit while a valid one has room (``None``: no rule).
        activation_fn: activation between layers.
        ortho_init: SB3's orthogonal initialisation (output layers at gain 0.01 and 1).
        optimizer_class: optimiser class.
        optimizer_kwargs: optimiser keyword arguments (Adam ``eps=1e-5`` by default).
        use_sde: must be ``False``; accepted because SB3 ``PPO`` passes it.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        *,
        n_global: int,
        n_features: int = 12,
        allow_defer: bool = True,
        hidden: int = 64,
        mask_invalid: bool = True,
        room_feature: int | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        use_sde: bool = False,
    ):
        if use_sde:
            raise ValueError("use_sde: CandidateScoringPolicy has discrete actions, got True")
        if n_global < 0 or n_features < 1 or hidden < 1:
            raise ValueError(
                f"policy_kwargs: need n_global >= 0, n_features >= 1, hidden >= 1, got "
                f"{n_global}, {n_features}, {hidden}"
            )
        self.n_global, self.n_features = int(n_global), int(n_features)
        self.allow_defer, self.hidden = bool(allow_defer), int(hidden)
        self.mask_invalid = bool(mask_invalid)
        if room_feature is not None and not 0 < int(room_feature) < self.n_features:
            raise ValueError(
                f"policy_kwargs: room_feature must index a candidate feature in 1..."
                f"{self.n_features - 1}, got {room_feature}"
            )
        self.room_feature = None if room_feature is None else int(room_feature)
        self.check_spaces(observation_space, action_space)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            activation_fn=activation_fn,
            ortho_init=ortho_init,
            features_extractor_class=DispatchFeatures,
            features_extractor_kwargs={"n_global": self.n_global, "n_features": self.n_features},
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    def check_spaces(self, observation_space: spaces.Space, action_space: spaces.Space) -> int:
        """The number of candidates ``K`` the spaces imply; ``ValueError`` if they don't fit.

        The observation space is the env's flat ``Box`` or its ``Dict`` form.
        """
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"action_space: expected Discrete, got {action_space}")
        if isinstance(observation_space, spaces.Dict):
            k = _dict_candidates(observation_space, self.n_global, self.n_features)
        elif isinstance(observation_space, spaces.Box) and len(observation_space.shape) == 1:
            size = observation_space.shape[0]
            k, rest = divmod(size - self.n_global, self.n_features)
            if rest or k < 1:
                raise ValueError(
                    f"observation_space: length {size} is not n_global ({self.n_global}) + "
                    f"K * n_features ({self.n_features})"
                )
        else:
            raise ValueError(
                f"observation_space: expected a 1-D Box or the env's Dict, got {observation_space}"
            )
        if int(action_space.n) != k + self.allow_defer:
            raise ValueError(
                f"action_space: expected Discrete({k + self.allow_defer}) for K={k} and "
                f"allow_defer={self.allow_defer}, got {action_space}"
            )
        return k

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = CandidateScorer(
            self.n_global,
            self.n_features,
            allow_defer=self.allow_defer,
            hidden=self.hidden,
            activation_fn=self.activation_fn,
            mask_invalid=self.mask_invalid,
            room_feature=self.room_feature,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        """Build the networks (no ``Linear`` action head: the logits come out of the scorer)."""
        self._build_mlp_extractor()
        self.action_net = nn.Identity()
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        if self.ortho_init:
            self.mlp_extractor.apply(lambda m: self.init_weights(m, gain=np.sqrt(2)))
            heads = [self.mlp_extractor.pi_score, self.mlp_extractor.pi_defer]
            for head in filter(None, heads):
                self.init_weights(head[-1], gain=0.01)
            self.init_weights(self.value_net, gain=1.0)
        self.optimizer = self.optimizer_class(
            self.parameters(),
            lr=lr_schedule(1),  # type: ignore[call-arg]
            **self.optimizer_kwargs,
        )

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor) -> MaskableCategoricalDistribution:
        # The action count follows the observation, not the space the policy was built with.
        logits = self.action_net(latent_pi)
        dist = MaskableCategoricalDistribution(logits.shape[-1])
        return dist.proba_distribution(action_logits=logits)

    def action_logits(self, obs: th.Tensor) -> th.Tensor:
        """Logits ``(B, K [+ 1])`` for a batch of observations, before the env's mask."""
        return self.mlp_extractor.forward_actor(self.extract_features(obs))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return dict(
            observation_space=self.observation_space,
            action_space=self.action_space,
            lr_schedule=self._dummy_schedule,
            n_global=self.n_global,
            n_features=self.n_features,
            allow_defer=self.allow_defer,
            hidden=self.hidden,
            mask_invalid=self.mask_invalid,
            room_feature=self.room_feature,
            activation_fn=self.activation_fn,
            ortho_init=self.ortho_init,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
        )


def _dict_candidates(space: spaces.Dict, n_global: int, n_features: int) -> int:
    """``K`` of the env's ``Dict`` observation space; ``ValueError`` if it does not fit."""
    missing = {"global", "job", "candidates"} - set(space.spaces)
    if missing:
        raise ValueError(f"observation_space: Dict without {sorted(missing)}, got {space}")
    g = space["global"].shape[0] + space["job"].shape[0]
    shape = space["candidates"].shape
    if g != n_global or len(shape) != 2 or shape[1] != n_features or shape[0] < 1:
        raise ValueError(
            f"observation_space: global + job ({g}) and candidates {shape} do not fit "
            f"n_global {n_global} and K × {n_features}"
        )
    return int(shape[0])


def policy_kwargs_for(env: gym.Env | VecEnv, **extra: Any) -> dict[str, Any]:
    """``policy_kwargs`` for :class:`CandidateScoringPolicy` on ``env`` (plus ``extra``).

    The room rule is on (``room_feature`` is the buffer-commitment feature); pass
    ``room_feature=None`` to leave it to learning.

    >>> from envs.dispatch_env import ConstellationDispatchEnv
    >>> policy_kwargs_for(ConstellationDispatchEnv("toy", cache_dir=None), hidden=32)
    {'n_global': 9, 'n_features': 14, 'allow_defer': True, 'room_feature': 11, 'hidden': 32}
    """
    if isinstance(env, VecEnv):
        n_global, n_features, k = (env.get_attr(a, [0])[0] for a in ("n_global", "n_features", "k"))
    else:
        u = env.unwrapped
        n_global, n_features, k = u.n_global, u.n_features, u.k
    n = int(env.action_space.n)
    if n not in (k, k + 1):
        raise ValueError(f"env: action_space Discrete({n}) fits neither K={k} nor K+1")
    return {
        "n_global": int(n_global),
        "n_features": int(n_features),
        "allow_defer": n == k + 1,
        "room_feature": CANDIDATE_FEATURES.index("buffer_used"),
        **extra,
    }


def adapt_to_env(model: BaseAlgorithm, env: gym.Env | VecEnv) -> BaseAlgorithm:
    """Point ``model`` (a PPO or MaskablePPO with this policy) at an env with another ``K``.

    Swaps the model's and policy's spaces, attaches ``env`` (the next ``learn`` resets it) and
    rebuilds the rollout buffer; the parameters are untouched. Returns ``model``.
    """
    policy = model.policy
    if not isinstance(policy, CandidateScoringPolicy):
        raise TypeError(f"model: policy must be CandidateScoringPolicy, got {type(policy)}")
    obs_space, act_space = env.observation_space, env.action_space
    policy.check_spaces(obs_space, act_space)
    policy.observation_space, policy.action_space = obs_space, act_space
    policy.action_dist = make_masked_proba_distribution(act_space)
    policy.features_extractor = DispatchFeatures(obs_space, policy.n_global, policy.n_features)
    policy.pi_features_extractor = policy.vf_features_extractor = policy.features_extractor
    policy.features_dim = policy.features_extractor.features_dim
    model.observation_space, model.action_space = obs_space, act_space
    model.n_envs = env.num_envs if isinstance(env, VecEnv) else 1
    model.set_env(env)
    if hasattr(model, "rollout_buffer"):
        model.rollout_buffer = model.rollout_buffer_class(
            model.n_steps,
            obs_space,
            act_space,
            device=model.device,
            gamma=model.gamma,
            gae_lambda=model.gae_lambda,
            n_envs=model.n_envs,
            **model.rollout_buffer_kwargs,
        )
    return model
