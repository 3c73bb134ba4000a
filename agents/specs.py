"""Agents named by text (``ect``, ``rollout:ect:10``, ``scoring:PATH``, ``maskable_ppo:PATH``).

The command lines, the suites and the runner name agents by text; :class:`AgentSpec` is the
parsed name and :func:`parse_agents` a checked list of them. The statistics need the
specs too (a ``reference_bound`` agent is marked in the summary), so they live here, below
both the runner (:mod:`agents.evaluate`) and the statistics (:mod:`agents.stats`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agents.heuristics import HEURISTICS
from agents.planning import ROLLOUT_PREFIX, SWITCH_PREFIX, parse_rollout_name, parse_switch_name
from agents.results import MODEL_KINDS
from envs.errors import ConfigError

__all__ = ["AgentSpec", "parse_agents"]


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent named on the command line: a heuristic, or ``kind:PATH`` for a saved model.

    >>> AgentSpec.parse("ect")
    AgentSpec(kind='ect', path=None)
    >>> AgentSpec.parse("maskable_ppo:runs/model.zip").label
    'maskable_ppo:runs/model.zip'
    """

    kind: str
    path: str | None = None

    @classmethod
    def parse(cls, text: str | AgentSpec) -> AgentSpec:
        """Parse ``"ect"`` or ``"maskable_ppo:PATH"``; ``ConfigError`` naming unknown agents."""
        if isinstance(text, AgentSpec):
            return text
        if not isinstance(text, str):
            raise ConfigError(f"agent: expected a name, got {text!r}")
        kind, sep, path = text.strip().partition(":")
        if sep and kind in MODEL_KINDS and path.strip():
            return cls(kind, path.strip())
        if not sep and kind in HEURISTICS:
            return cls(kind)
        if not sep and kind == "pretrained":
            return cls(kind)
        if sep and kind == "scoring" and path.strip():
            return cls(kind, path.strip())
        if sep and kind == ROLLOUT_PREFIX:
            parse_rollout_name(text.strip())  # one-line error naming the bad part
            return cls(text.strip())
        if sep and kind == SWITCH_PREFIX:
            parse_switch_name(text.strip())
            return cls(text.strip())
        known = ", ".join(
            [
                *HEURISTICS,
                f"{ROLLOUT_PREFIX}:BASE[:H]",
                f"{SWITCH_PREFIX}:BASES[:SEGMENT[:WINDOW]]",
                "pretrained",
                "scoring:PATH",
                *(f"{k}:PATH" for k in MODEL_KINDS),
            ]
        )
        raise ConfigError(f"agent: unknown agent {text!r} (known: {known})")

    @property
    def label(self) -> str:
        """The name used in tables and files (the text it was parsed from)."""
        return self.kind if self.path is None else f"{self.kind}:{self.path}"

    @property
    def reference_bound(self) -> bool:
        """True for agents that use information a real dispatcher lacks (``oracle``)."""
        cls = HEURISTICS.get(self.kind) if self.path is None else None
        return cls is not None and cls.reference_bound


def parse_agents(agents: Iterable[str | AgentSpec] | str) -> list[AgentSpec]:
    """Parse a list (or a comma-separated string) of agents; rejects unknown and repeated ones."""
    items = agents.split(",") if isinstance(agents, str) else list(agents)
    specs = [AgentSpec.parse(a) for a in items if not (isinstance(a, str) and not a.strip())]
    if not specs:
        raise ConfigError("agents: give at least one agent")
    twice = [s.label for i, s in enumerate(specs) if s in specs[:i]]
    if twice:
        raise ConfigError(f"agents: {twice[0]!r} is listed twice")
    return specs
