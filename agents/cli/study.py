"""``constellation-dispatch study``: the studies, one subcommand each.

``ground-network`` (capacity of ground-network choices, ``agents.cli.study_ground_network``),
``turnaround`` (where turnaround goes, ``agents.cli.study_turnaround``) and ``isl``
(inter-satellite links off and on, ``agents.cli.study_isl``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["STUDIES", "main"]

#: Study → (module with ``main(argv, prog)``, one line of help).
STUDIES: Mapping[str, tuple[str, str]] = {
    "ground-network": (
        "agents.cli.study_ground_network",
        "Per day and ground-network choice: contact time, passes, downlink capacity.",
    ),
    "turnaround": (
        "agents.cli.study_turnaround",
        "Where turnaround goes (waiting for contacts, transfer, queue, compute) per agent.",
    ),
    "isl": (
        "agents.cli.study_isl",
        "Each agent with inter-satellite links off and on, on the same seeds.",
    ),
}


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the study named by ``argv[0]`` with the rest of ``argv``."""
    from agents.cli import dispatch

    return dispatch(
        STUDIES,
        argv,
        prog or "constellation-dispatch study",
        "Studies built on the environment and the agents. Run '%(prog)s STUDY --help' for a "
        "study's options.",
    )
