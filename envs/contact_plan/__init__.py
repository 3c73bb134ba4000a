"""Contact plans: every satellite–ground-station pass over a horizon, found fast and exactly.

See ``envs.contact_plan.search`` for the algorithm and its guarantee against missed short
passes, and ``envs.contact_plan.plan`` for the queries the simulator uses.
"""

from envs.contact_plan.build import (
    ALGORITHM_VERSION,
    CacheWarning,
    compute_contact_plan,
    default_cache_dir,
    plan_key,
)
from envs.contact_plan.passes import PassArrays
from envs.contact_plan.plan import CSV_COLUMNS, ContactPlan
from envs.contact_plan.search import HIDDEN_PEAK_MARGIN, find_passes

__all__ = [
    "ALGORITHM_VERSION",
    "CSV_COLUMNS",
    "HIDDEN_PEAK_MARGIN",
    "CacheWarning",
    "ContactPlan",
    "PassArrays",
    "compute_contact_plan",
    "default_cache_dir",
    "find_passes",
    "plan_key",
]
