"""``VotingDispatch``: the canonical layout plus which heuristic picks which candidate.

No single heuristic wins every scenario: ``ect_queue`` (earliest queue-aware delivery) is
cheapest where passes are sparse and the system keeps up, ``earliest_uplink`` (get the job
on board now) where a dense constellation is overloaded and idle servers cost throughput,
``uplink_ect`` (on board now, on the satellite in view that delivers first) where on-board
compute is the bottleneck of a constellation always in view, ``least_loaded`` where buffers
are what runs out; ``regime_ect`` takes ``uplink_ect``'s or ``ect_room``'s choice by what it
reads of the regime (sustained or burst arrivals, compute- or contact-bound, model swaps). A learned
policy that should be at least as good as the best of them in every scenario needs to *see*
their choices: this wrapper appends one indicator per voter to each candidate slot of
``envs.wrappers.CanonicalDispatch`` (1 on the candidate the heuristic would choose, else
0). The network can then follow one rule, another, or neither, depending on the state, and
rollout labels teach it which (``agents.iteration``).

The votes are the heuristics' own ``choose`` on the decision's valid candidates, so they
are the same rules ``evaluate.py`` runs; the estimates they read are computed once per
decision by the env (``decision_estimates``) and cached per satellite
(``SimView.queue_estimates``), so a vote costs a few key comparisons per candidate.

>>> from envs.dispatch_env import ConstellationDispatchEnv
>>> env = VotingDispatch(ConstellationDispatchEnv("toy", cache_dir=None), k_max=4)
>>> obs, _ = env.reset(seed=0)
>>> obs.shape, env.n_features - CanonicalDispatch.n_features
((92,), 5)
>>> votes = env.votes_of(obs)
>>> votes.sum(axis=0).tolist()  # each voter picks exactly one candidate
[1.0, 1.0, 1.0, 1.0, 1.0]

Policies saved with an earlier set of voters keep working: :func:`layout_for` finds the
layout from the number of candidate features a saved network reads
(:class:`VotingDispatch4` and :class:`VotingDispatch3`: the first four and three voters, the
layouts of the earlier 0.2.0 policies).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from agents.heuristics import make_heuristic
from envs.wrappers import CanonicalDispatch

__all__ = ["VOTERS", "VotingDispatch", "VotingDispatch3", "VotingDispatch4", "layout_for"]

#: The heuristics whose choices are candidate features, in column order.
VOTERS = ("ect_queue", "earliest_uplink", "least_loaded", "uplink_ect", "regime_ect")


class VotingDispatch(CanonicalDispatch):
    """:class:`~envs.wrappers.CanonicalDispatch` with one vote column per heuristic.

    Args:
        env: A ``ConstellationDispatchEnv`` (or a wrapper of one that keeps its spaces).
        k_max: Candidate slots (>= the env's ``K``).
        defer: Offer deferral at overload (see ``CanonicalDispatch``).
    """

    #: The voters of this layout, in column order.
    voters: tuple[str, ...] = VOTERS
    n_features = CanonicalDispatch.n_features + len(voters)

    def __init__(self, env: gym.Env, k_max: int = 16, *, defer: bool = False):
        super().__init__(env, k_max, defer=defer)
        base = self.env.unwrapped
        self._voters = [make_heuristic(name, base) for name in self.voters]

    def canonical(self, obs: np.ndarray) -> np.ndarray:
        """The canonical observation with each voter's pick marked in its column."""
        out = super().canonical(obs)
        base = self.env.unwrapped
        valid = [int(i) for i in np.flatnonzero(self._mask[: base.k])]
        if not valid:
            return out
        blocks = out[self.n_global :].reshape(self.k_max, self.n_features)
        first = CanonicalDispatch.n_features
        for j, voter in enumerate(self._voters):
            blocks[voter.choose(valid), first + j] = 1.0
        return out

    def votes_of(self, obs: np.ndarray) -> np.ndarray:
        """The vote columns of a canonical observation, ``(k_max, len(self.voters))``."""
        blocks = np.asarray(obs)[self.n_global :].reshape(self.k_max, self.n_features)
        return blocks[:, CanonicalDispatch.n_features :]


class VotingDispatch4(VotingDispatch):
    """The voting layout of the 0.2.0 policies before ``regime_ect`` voted, kept so they load.

    Its voters are the first four of :data:`VOTERS` (no ``regime_ect``).
    """

    voters = VOTERS[:4]
    n_features = CanonicalDispatch.n_features + len(voters)


class VotingDispatch3(VotingDispatch):
    """The voting layout of the earlier 0.2.0 policies, kept so that their networks load.

    Its voters are ``ect_queue``, ``earliest_uplink`` and ``least_loaded`` (no ``uplink_ect``).
    """

    voters = VOTERS[:3]
    n_features = CanonicalDispatch.n_features + len(voters)


def layout_for(n_features: int) -> type[CanonicalDispatch] | None:
    """The wrapper whose candidate block has ``n_features`` columns (``None``: no such layout).

    >>> layout_for(VotingDispatch.n_features).__name__, layout_for(3)
    ('VotingDispatch', None)
    >>> layout_for(VotingDispatch.n_features - 1).__name__
    'VotingDispatch4'
    """
    for layout in (VotingDispatch, VotingDispatch4, VotingDispatch3, CanonicalDispatch):
        if layout.n_features == n_features:
            return layout
    return None
