"""Typed, validated scenario configuration (the objects ``configs/scenarios/*.yaml`` load into).

Every value here has already been checked by the loader (``envs.scenario.loader``); the
simulator and the environment only read these frozen records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from envs.constants import DAY_S, HOUR_S
from envs.ground import load_networks
from envs.orbits.elements import load_elements
from envs.orbits.shells import Shell
from envs.orbits.tle import TLE
from envs.scenario.fault_specs import FaultsSpec
from envs.station import Station
from envs.traces import Trace, load_trace

__all__ = [
    "ArrivalSpec",
    "ConstellationSpec",
    "DispatchSpec",
    "EpisodeSpec",
    "FaultsSpec",
    "GroundSpec",
    "IslSpec",
    "ModelSpec",
    "RewardSpec",
    "SatelliteClass",
    "Scenario",
    "ShellSpec",
    "TokenSpec",
    "WorkloadSpec",
]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """An inference model the satellites can serve.

    Attributes:
        name: Model name (e.g. ``llm-8b``).
        prefill_tokens_per_s: Prompt processing rate on one server of a class with
            ``throughput_scale`` 1.
        decode_tokens_per_s: Generation rate on one such server.
        memory_gb: Memory the loaded weights take.
    """

    name: str
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    memory_gb: float


@dataclass(frozen=True, slots=True)
class SatelliteClass:
    """Compute payload shared by a group of satellites (e.g. ``inference``, ``training``).

    Attributes:
        name: Class name.
        models: Models this class serves (a model must also fit in ``memory_gb``).
        servers: Jobs computed in parallel (accelerators).
        throughput_scale: Multiplies every model's prefill and decode rates.
        memory_gb: Accelerator memory per server; a model larger than this cannot run.
        model_swap_s: Time to load a different model onto a server.
        buffer_jobs: On-board buffer: jobs whose input is on board and whose result has not
            yet been downlinked; a job arriving at a full buffer is dropped (``buffer_full``).
        power: ``always`` (compute any time), ``sunlit_only`` (compute progresses only in
            sunlight; eclipses pause it) or ``battery`` (in sunlight, plus the first
            ``battery_wh × 3600 / compute_w`` seconds of each eclipse; the battery is taken
            to recharge fully in every sunlit spell, which LEO power budgets are sized for).
        battery_wh: Usable battery energy for compute in eclipse (``battery``).
        compute_w: Power drawn by the compute payload while it works (``battery``).
    """

    name: str
    models: tuple[str, ...]
    servers: int = 1
    throughput_scale: float = 1.0
    memory_gb: float = 32.0
    model_swap_s: float = 0.0
    buffer_jobs: int = 64
    power: str = "always"
    battery_wh: float = 0.0
    compute_w: float = 100.0

    @property
    def eclipse_compute_s(self) -> float | None:
        """Compute seconds available per eclipse (``None``: unlimited, ``0``: none)."""
        if self.power == "always":
            return None
        if self.power == "sunlit_only":
            return 0.0
        return self.battery_wh * HOUR_S / self.compute_w


@dataclass(frozen=True, slots=True)
class ShellSpec:
    """A generated shell and the class of its satellites."""

    shell: Shell
    sat_class: str


@dataclass(frozen=True, slots=True)
class ConstellationSpec:
    """Satellites: a TLE file (all of one class) and/or generated shells.

    Attributes:
        tle_file: TLE or CelesTrak OMM (JSON, CSV, XML) file, resolved to an absolute path
            by the loader.
        tle_class: Class of the TLE file's satellites.
        shells: Generated shells, in order after the TLE satellites.
        loaded: ``(tle_file, its element sets)`` as the loader read them, so that the file
            is read once per scenario (not compared, not shown; ``None``: not read yet).
    """

    tle_file: Path | None = None
    tle_class: str = "inference"
    shells: tuple[ShellSpec, ...] = ()
    loaded: tuple[Path, tuple[TLE, ...]] | None = field(default=None, compare=False, repr=False)

    def file_tles(self) -> list[TLE]:
        """The element sets of ``tle_file`` (none without one), read once by the loader."""
        if self.tle_file is None:
            return []
        if self.loaded is not None and self.loaded[0] == self.tle_file:
            return list(self.loaded[1])
        return load_elements(self.tle_file)


@dataclass(frozen=True, slots=True)
class GroundSpec:
    """Ground stations and who may use them.

    Attributes:
        station_files: Station files: YAML, GeoJSON or CSV (absolute paths).
        networks: Networks used (stations of other networks are ignored); ``None`` = all.
        uplink_networks: Networks whose stations originate jobs; ``None`` = all used ones.
        downlink_networks: Networks that may receive results; ``None`` = all used ones.
        min_elevation_deg: Overrides every station's mask when set.
        backhaul_delay_s: If set, a job may be uplinked from any station of its origin's
            network after this terrestrial delay (otherwise only from its origin station).
        rate_model: ``fixed`` (station rate during the whole pass) or ``range`` (the rate
            scales with (reference range / slant range at culmination)², capped at 1).
        reference_range_km: Range at which the ``range`` model gives the full station rate.
        uplink_rate_scale: Multiplies every station's uplink rate (``uplink_bps``).
        downlink_rate_scale: Multiplies every station's downlink rate (``downlink_bps``).
        loaded: ``(station_files, every station in them)`` as the loader read them, so that
            each file is read once per scenario (not compared, not shown).
    """

    station_files: tuple[Path, ...]
    networks: tuple[str, ...] | None = None
    uplink_networks: tuple[str, ...] | None = None
    downlink_networks: tuple[str, ...] | None = None
    min_elevation_deg: float | None = None
    backhaul_delay_s: float | None = None
    rate_model: str = "fixed"
    reference_range_km: float = 1000.0
    uplink_rate_scale: float = 1.0
    downlink_rate_scale: float = 1.0
    loaded: tuple[tuple[Path, ...], tuple[Station, ...]] | None = field(
        default=None, compare=False, repr=False
    )

    def file_stations(self) -> list[Station]:
        """Every station of ``station_files`` (all networks), read once by the loader."""
        if self.loaded is not None and self.loaded[0] == self.station_files:
            return list(self.loaded[1])
        return load_networks(self.station_files)


@dataclass(frozen=True, slots=True)
class ArrivalSpec:
    """How jobs arrive.

    Attributes:
        process: ``poisson``, ``diurnal`` or ``trace``.
        rate_per_s: Mean arrival rate over the whole network (poisson, diurnal).
        amplitude: Diurnal modulation depth in [0, 1]: rate ∝ 1 + A cos(2π (h − peak)/24)
            with h the origin's local solar hour.
        peak_hour: Local solar hour of the diurnal peak.
        trace_file: CSV ``TIMESTAMP,ContextTokens,GeneratedTokens`` (process ``trace``).
        time_scale: Trace replay speed (2 = twice as fast).
        loop: Repeat the trace when the episode is longer than it.
        trace_start: Trace row the replay starts at: ``first`` (row 0, every episode) or
            ``random`` (a row drawn from the episode's generator at each reset; the replay
            wraps around the end of the trace to the rows before the start).
        loaded: ``(trace_file, its trace)`` as the loader read it (process ``trace``), so that
            no reset reads the file again (not compared, not shown).
    """

    process: str = "poisson"
    rate_per_s: float = 0.01
    amplitude: float = 0.5
    peak_hour: float = 14.0
    trace_file: Path | None = None
    time_scale: float = 1.0
    loop: bool = True
    trace_start: str = "first"
    loaded: tuple[Path, Trace] | None = field(default=None, compare=False, repr=False)

    def trace(self) -> Trace:
        """The trace of ``trace_file``, read once by the loader (``trace_file`` must be set)."""
        return _trace(self.trace_file, self.loaded)


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """Prompt and output lengths (for ``poisson``/``diurnal``; a trace brings its own).

    Attributes:
        source: ``lognormal`` (medians and sigmas below) or ``trace`` (resample the
            (context, generated) pairs of ``trace_file`` jointly).
        input_median: Median prompt tokens.
        input_sigma: Log-space standard deviation of prompt tokens.
        output_median: Median generated tokens.
        output_sigma: Log-space standard deviation of generated tokens.
        max_tokens: Upper clip for both, and for token counts read from a trace (rows above
            it are clipped with a ``TraceTokensWarning``).
        trace_file: Trace to resample (``source: trace``).
        loaded: ``(trace_file, its trace)`` as the loader read it (source ``trace``), so that
            no reset reads the file again (not compared, not shown).
    """

    source: str = "lognormal"
    input_median: float = 1000.0
    input_sigma: float = 1.0
    output_median: float = 200.0
    output_sigma: float = 0.8
    max_tokens: int = 16384
    trace_file: Path | None = None
    loaded: tuple[Path, Trace] | None = field(default=None, compare=False, repr=False)

    def trace(self) -> Trace:
        """The trace of ``trace_file``, read once by the loader (``trace_file`` must be set)."""
        return _trace(self.trace_file, self.loaded)


def _trace(path: Path | None, loaded: tuple[Path, Trace] | None) -> Trace:
    """The loaded trace if it is ``path``'s, else ``path`` read now."""
    if path is None:
        raise ValueError("trace(): the spec has no trace_file")
    if loaded is not None and loaded[0] == path:
        return loaded[1]
    return load_trace(path)


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """The stream of inference jobs.

    Attributes:
        arrivals: Arrival process.
        tokens: Token-length distribution.
        models: Model name → share of jobs.
        origins: Station names jobs originate at (``None`` = every uplink station).
        origin_weights: Relative weights of ``origins`` (``None`` = equal).
        bytes_per_token: Payload bytes per token (text plus framing).
        overhead_bytes: Fixed bytes per request and per result (headers, encryption).
        deadline_s: Relative deadline (``None`` = no deadline).
        load: Multiplier on the arrival rate (evaluation sweeps set it).
        onboard_fraction: Share of jobs generated on board from Earth-observation data: their
            input is already on a random satellite (of a class serving the workload's
            models), so they skip the uplink and are computed there (inter-satellite links,
            ``isl``, relay results only).
    """

    arrivals: ArrivalSpec = field(default_factory=ArrivalSpec)
    tokens: TokenSpec = field(default_factory=TokenSpec)
    models: tuple[tuple[str, float], ...] = ()
    origins: tuple[str, ...] | None = None
    origin_weights: tuple[float, ...] | None = None
    bytes_per_token: float = 4.0
    overhead_bytes: float = 1024.0
    deadline_s: float | None = None
    load: float = 1.0
    onboard_fraction: float = 0.0


@dataclass(frozen=True, slots=True)
class EpisodeSpec:
    """Episode timing.

    Attributes:
        epoch: Start of the episode (UTC).
        duration_s: Jobs arrive during ``[0, duration_s)``.
        drain_s: Extra time for jobs in flight to finish; the contact plan covers
            ``duration_s + drain_s`` and later work is dropped as ``no_contact``.
        contact_step_s: Grid step of the contact-plan search.
        max_decisions: Truncate the episode after this many decisions (``None`` = no limit).
    """

    epoch: datetime
    duration_s: float = 6 * HOUR_S
    drain_s: float = 12 * HOUR_S
    contact_step_s: float = 180.0
    max_decisions: int | None = None


@dataclass(frozen=True, slots=True)
class DispatchSpec:
    """The decision.

    Attributes:
        candidates: K, satellites offered per decision (ranked by earliest uplink start).
        allow_defer: Whether action K (defer) is available.
        defer_s: A deferred job comes back for a new decision after this long.
    """

    candidates: int = 8
    allow_defer: bool = True
    defer_s: float = 60.0


@dataclass(frozen=True, slots=True)
class RewardSpec:
    """Reward: −(job-seconds since the previous decision) − drop_penalty_s per drop.

    The unit (hours by default) and the form of the reward are the env's ``reward=`` argument
    (``envs.reward``); the scenario sets what a drop costs.

    Attributes:
        drop_penalty_s: Job-seconds charged for each dropped job (86,400: a dropped job costs
            as much as one that waited a day), so that dropping never pays.
    """

    drop_penalty_s: float = DAY_S


@dataclass(frozen=True, slots=True)
class IslSpec:
    """Inter-satellite laser links that relay a finished result towards a station.

    Off by default. When enabled, a result computed on satellite ``s`` may be forwarded over
    up to ``max_hops`` links to a satellite ``r`` of its neighbourhood (``r = s`` included)
    and joins ``r``'s downlink queue; the simulator picks the ``r`` that delivers earliest
    (``envs.sim.isl``). Links: ``in_plane`` to the satellites ahead and behind in the same
    orbital plane, ``cross_plane`` to the nearest satellite of each adjacent plane of the
    same shell. Only results travel over the links (job inputs stay where they are uplinked
    or generated), and link contention is not modelled: a result is kilobytes, a laser
    link carries gigabits per second.

    Attributes:
        enabled: Whether results may be relayed.
        in_plane: Links to the neighbours ahead and behind in the plane.
        cross_plane: Links to the nearest satellite in each adjacent plane.
        rate_bps: Data rate of every link (bit/s).
        latency_s: Fixed delay per hop (light time over the link, pointing and switching).
            A result of ``b`` bytes crosses ``h`` hops in ``h × (latency_s + 8 b / rate_bps)``.
        max_hops: Longest relay path, in links.

    Example YAML (``isl.enabled=true`` as an override turns it on in any preset):

    .. code-block:: yaml

        isl: {enabled: true, in_plane: true, cross_plane: true,
              rate_bps: 1.0e+10, latency_s: 0.05, max_hops: 3}
    """

    enabled: bool = False
    in_plane: bool = True
    cross_plane: bool = True
    rate_bps: float = 1.0e10
    latency_s: float = 0.05
    max_hops: int = 3


@dataclass(frozen=True, slots=True)
class Scenario:
    """A complete, validated scenario.

    ``faults``: see ``envs.scenario.faults``; ``isl``: :class:`IslSpec` (off by default).
    """

    name: str
    episode: EpisodeSpec
    constellation: ConstellationSpec
    classes: tuple[SatelliteClass, ...]
    models: tuple[ModelSpec, ...]
    ground: GroundSpec
    workload: WorkloadSpec
    dispatch: DispatchSpec = field(default_factory=DispatchSpec)
    reward: RewardSpec = field(default_factory=RewardSpec)
    faults: FaultsSpec = field(default_factory=FaultsSpec)
    isl: IslSpec = field(default_factory=IslSpec)
    description: str = ""
    source: Path | None = None

    def model_index(self, name: str) -> int:
        """Index of a model by name."""
        return [m.name for m in self.models].index(name)

    def class_index(self, name: str) -> int:
        """Index of a satellite class by name."""
        return [c.name for c in self.classes].index(name)
