"""The discrete-event simulator (no gymnasium here): world, faults, event core, view, metrics."""

from envs.sim.core import DROP_REASONS, STATUS, Sim
from envs.sim.faults import FaultedWorld, FaultPlan, sample_fault_plan
from envs.sim.links import INF, merge_max_rate, walk
from envs.sim.metrics import METRIC_KEYS, job_costs_s, job_table, metrics
from envs.sim.view import Estimate, SimView
from envs.sim.world import NoContactWarning, World, WorldCache, build_world, world_key

__all__ = [
    "DROP_REASONS",
    "INF",
    "METRIC_KEYS",
    "STATUS",
    "Estimate",
    "FaultPlan",
    "FaultedWorld",
    "NoContactWarning",
    "Sim",
    "SimView",
    "World",
    "WorldCache",
    "build_world",
    "job_costs_s",
    "job_table",
    "merge_max_rate",
    "metrics",
    "sample_fault_plan",
    "walk",
    "world_key",
]
