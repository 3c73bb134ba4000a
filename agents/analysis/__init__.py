"""Analyses: studies that run agents and read the contact plan, and report what they find.

They live under ``agents`` because they use agents (the runner, the heuristics) and the
environment, as ``agents`` does, while nothing in ``envs`` may import them (``envs`` never
imports ``agents``); and they are not agents, so they have their own package. The project's
top-level packages are ``envs`` and ``agents`` only.

* :mod:`agents.analysis.capacity` — contact statistics and downlink capacity of a ground
  network, from a contact plan;
* :mod:`agents.analysis.ground_network` — the ground-network study (capacity for each
  choice of networks and antennas);
* :mod:`agents.analysis.turnaround` — each job classified against the contact plan (pass
  timing, one contact, stages) and the share tables;
* :mod:`agents.analysis.turnaround_study` — the turnaround study (paired episodes,
  classified, tabulated);
* :mod:`agents.analysis.isl` — the inter-satellite link study (links off versus on, paired);
* :mod:`agents.analysis.figures` — the studies' figures (object-oriented matplotlib).

The commands (``constellation-dispatch study ...``, ``agents.cli.study_*``) parse options,
show progress and write the files; the contention-free bound stays in ``envs.sim.bounds``,
beside the simulator whose state it reads.
"""
