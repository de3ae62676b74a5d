r"""Sampler configs: one frozen, validated dataclass per regime, plus the labelling settings.

:class:`ChainLikeConfig` (``chainnet_like`` and ``large``), :class:`EdgeConfig` and
:class:`PlacerConfig` hold the ranges a sampler draws from; :class:`SimulationConfig` how each
sampled scenario is labelled. Every constructor checks types and ranges and raises a
:class:`ValueError` naming the field, the value and the rule. See :mod:`datagen.sampling` for
the regimes and for loading configs from YAML. Re-exported by :mod:`datagen.sampling`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from datagen.splitting import MAX_BRANCHES
from datagen.validation import finite_float, is_int, show_value

__all__ = [
    "REGIMES",
    "SimulationConfig",
    "ChainLikeConfig",
    "EdgeConfig",
    "PlacerConfig",
    "PLACER_STRATEGIES",
    "SamplerConfig",
    "MAX_CONFIG_INT",
]

REGIMES: tuple[str, ...] = ("chainnet_like", "large", "edge", "placer")

#: Largest value of an integer field of a sampler config (counts, capacities, walk moves; the
#: simulation section's request counts may reach ``1000 * MAX_CONFIG_INT``).
MAX_CONFIG_INT: int = 1_000_000


# --------------------------------------------------------------------------------------------
# Configuration dataclasses
# --------------------------------------------------------------------------------------------


def _err(cfg: str, name: str, value: Any, rule: str) -> ValueError:
    return ValueError(f"{name} must be {rule} in sampler config {cfg!r}, got {show_value(value)}")


def _check_regime(cfg: Any, regimes: tuple[str, ...], cls_name: str) -> str:
    """Check ``cfg.regime`` against the regimes of its class, then normalise its fields."""
    c = cfg.regime
    if c not in regimes:
        names = " or ".join(repr(r) for r in regimes)
        raise _err(c, "regime", c, f"{names} for {cls_name}")
    _normalise_fields(cfg, c)
    return str(c)


def _normalise_fields(cfg: object, name: str, int_max: int = MAX_CONFIG_INT) -> None:
    """Check the numeric fields of a config dataclass and normalise its fields, in place.

    The type is that of the field's default: integer fields take integers (numpy ones too) in
    ``[.., int_max]``; float fields (and ``None``-default ones, when set) take finite real
    numbers. Numpy scalars become Python numbers; Python ints and floats are kept as given.
    Tuple fields (``profiles``, ``device_kinds``) take any sequence and are stored as tuples,
    once the numbers are checked. Lower bounds and cross-field rules are checked by each config
    afterwards.

    Raises:
        ValueError: Naming the field, the value and the rule.
    """
    sequences: list[str] = []
    for f in fields(cfg):  # type: ignore[arg-type]
        value = getattr(cfg, f.name)
        if f.name == "simulation":
            if not isinstance(value, SimulationConfig):
                raise _err(name, f.name, value, "a SimulationConfig (a mapping in YAML)")
            continue
        default = f.default
        if isinstance(default, tuple):
            sequences.append(f.name)
            continue
        if isinstance(default, (bool, str)):
            continue
        if isinstance(default, int):
            if not is_int(value):
                raise _err(name, f.name, value, "an integer")
            if int(value) > int_max:
                raise _err(name, f.name, value, f"an integer <= {int_max:,}")
            object.__setattr__(cfg, f.name, int(value))
        elif isinstance(default, float) or (default is None and value is not None):
            x = finite_float(value)
            if x is None:
                rule = "a finite number" + (" or null" if default is None else "")
                raise _err(name, f.name, value, rule)
            if not isinstance(value, (int, float)):  # numpy scalars, Fractions, ...
                object.__setattr__(cfg, f.name, x)
    for field_name in sequences:
        object.__setattr__(cfg, field_name, tuple(getattr(cfg, field_name)))


def _check_range(cfg: Any, stem: str, minimum: float) -> None:
    """Check ``min_<stem> >= minimum`` and ``max_<stem> >= min_<stem>`` of a config."""
    c, lo_name, hi_name = cfg.regime, f"min_{stem}", f"max_{stem}"
    lo, hi = getattr(cfg, lo_name), getattr(cfg, hi_name)
    if lo < minimum:
        raise _err(c, lo_name, lo, f">= {minimum}")
    if hi < lo:
        raise ValueError(
            f"{hi_name} must be >= {lo_name} in sampler config {c!r}, got {hi_name}={hi} < "
            f"{lo_name}={lo}"
        )


def _check_structure(cfg: EdgeConfig | PlacerConfig, min_branches: int) -> None:
    """Ranges of the deployment's size, shared by the ``edge`` and ``placer`` regimes."""
    c = cfg.regime
    _check_range(cfg, "services", 1)
    _check_range(cfg, "devices", 1)
    _check_range(cfg, "fragments", 1)
    _check_range(cfg, "branches", min_branches)
    if cfg.max_branches > MAX_BRANCHES:
        raise _err(c, "max_branches", cfg.max_branches, f"<= {MAX_BRANCHES} (MAX_BRANCHES)")
    _check_range(cfg, "capacity", 1)


def _check_service_and_links(cfg: EdgeConfig | PlacerConfig) -> None:
    """Service-time SCV, link and SLA ranges, shared by the ``edge`` and ``placer`` regimes."""
    c = cfg.regime
    if cfg.max_scv < 0:
        raise _err(c, "max_scv", cfg.max_scv, ">= 0")
    _check_range(cfg, "bandwidth", 1e-9)
    _check_range(cfg, "delay", 0.0)
    if not 0 < cfg.max_link_utilization < 1:
        raise _err(c, "max_link_utilization", cfg.max_link_utilization, "in (0, 1)")
    _check_range(cfg, "sla_factor", 1e-9)


@dataclass(frozen=True)
class SimulationConfig:
    r"""How each sampled scenario is labelled by :func:`datagen.sim.simulate`.

    With a precision target set, labelling stops sequentially: after a run of ``n`` requests
    the standard errors are estimated from the simulator's 95% batch-means half-widths,

    .. math::
        \widehat{se}_{\text{rel}}(\text{respt}) = \max_c
            \frac{h(\bar R_c)}{1.96\,\bar R_c}, \qquad
        \widehat{se}(\text{tput}) = \max_c \frac{h(\text{loss}_c)}{1.96},

    (the relative SE of ``respt_ratio`` equals that of the mean latency ``R``), and if one
    exceeds its target the first run is a pilot: the scenario is simulated again, with the
    same seed (the sample path is extended), at
    :math:`n' = \lceil m\, n \max_i (\widehat{se}_i / \text{target}_i)^2 \rceil`
    (:math:`m = 1.35` after the pilot, 1.2 after a later run) capped at
    ``max_num_requests``, for at most ``max_rounds`` runs in all: the policy of
    :class:`datagen.sim.runner.SequentialStopping`, shared with ``simulate(target_rel_ci=...)``.

    Args:
        num_requests: Requests of the slowest service in the first run (default: ``20_000``).
        warmup: Fraction of the run discarded as warm-up, in [0, 1) (default: ``0.1``).
        engine: Simulator engine name (default: ``"fast"``).
        target_rel_se_respt: Target relative SE of ``respt_ratio``, or ``None`` for a single
            run (default: ``None``).
        target_abs_se_tput: Target absolute SE of ``tput_ratio``, or ``None``
            (default: ``None``).
        max_num_requests: Cap of ``num_requests`` for the reruns (default: ``200_000``).
        max_rounds: Most runs per scenario, the first included (default: ``3``).
    """

    num_requests: int = 20_000
    warmup: float = 0.1
    engine: str = "fast"
    target_rel_se_respt: float | None = None
    target_abs_se_tput: float | None = None
    max_num_requests: int = 200_000
    max_rounds: int = 3

    def __post_init__(self) -> None:
        from datagen.sim.runner import ENGINES

        _normalise_fields(self, "simulation", int_max=1000 * MAX_CONFIG_INT)
        if self.num_requests < 10:
            raise _err("simulation", "num_requests", self.num_requests, ">= 10")
        if self.max_num_requests < self.num_requests:
            raise _err("simulation", "max_num_requests", self.max_num_requests,
                       f">= num_requests={self.num_requests}")
        if not 1 <= self.max_rounds <= 1000:
            raise _err("simulation", "max_rounds", self.max_rounds, "in [1, 1000]")
        if not 0 <= self.warmup < 1:
            raise _err("simulation", "warmup", self.warmup, "in [0, 1)")
        if not isinstance(self.engine, str) or self.engine not in ENGINES:
            raise _err("simulation", "engine", self.engine, f"one of {ENGINES}")
        for name in ("target_rel_se_respt", "target_abs_se_tput"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise _err("simulation", name, value, "a number > 0 or null")

    @property
    def adaptive(self) -> bool:
        """Whether a precision target is set (sequential stopping)."""
        return self.target_rel_se_respt is not None or self.target_abs_se_tput is not None


@dataclass(frozen=True)
class ChainLikeConfig:
    """Sampler of the ChainNet generator (regimes ``chainnet_like`` and ``large``).

    Integer ranges are inclusive; float ranges are uniform on the open interval.

    Args:
        regime: ``"chainnet_like"`` or ``"large"`` (default: ``"chainnet_like"``).
        min_services: Fewest services per scenario (default: ``1``).
        max_services: Most services per scenario (default: ``3``).
        min_devices: Fewest devices (default: ``2``).
        max_devices: Most devices (default: ``10``).
        min_fragments: Fewest fragments per service (default: ``2``).
        max_fragments: Most fragments per service (default: ``6``).
        max_fragments_per_device: Most fragments hosted by one device (default: ``3``).
        min_capacity: Smallest device capacity ``K`` (default: ``1``).
        max_capacity: Largest device capacity ``K`` (default: ``50``).
        min_interarrival: Lower end of the mean inter-arrival time ``1/lambda`` (time units)
            (default: ``0.1``).
        max_interarrival: Upper end of ``1/lambda`` (time units) (default: ``10.0``).
        min_service_time: Lower end of the deterministic service time ``S`` (time units)
            (default: ``0.0``).
        max_service_time: Upper end of ``S`` (time units) (default: ``2.0``).
        simulation: Labelling settings (default: :class:`SimulationConfig`).
    """

    regime: str = "chainnet_like"
    min_services: int = 1
    max_services: int = 3
    min_devices: int = 2
    max_devices: int = 10
    min_fragments: int = 2
    max_fragments: int = 6
    max_fragments_per_device: int = 3
    min_capacity: int = 1
    max_capacity: int = 50
    min_interarrival: float = 0.1
    max_interarrival: float = 10.0
    min_service_time: float = 0.0
    max_service_time: float = 2.0
    simulation: SimulationConfig = field(default_factory=SimulationConfig)

    def __post_init__(self) -> None:
        c = _check_regime(self, ("chainnet_like", "large"), "ChainLikeConfig")
        _check_range(self, "services", 1)
        _check_range(self, "devices", 1)
        _check_range(self, "fragments", 1)
        if self.max_fragments_per_device < 1:
            raise _err(c, "max_fragments_per_device", self.max_fragments_per_device, ">= 1")
        _check_range(self, "capacity", 1)
        _check_range(self, "interarrival", 0.0)
        if self.max_interarrival <= 0:
            raise _err(c, "max_interarrival", self.max_interarrival, "> 0")
        _check_range(self, "service_time", 0.0)
        if self.max_service_time <= 0:
            raise _err(c, "max_service_time", self.max_service_time, "> 0")
        if self.min_fragments > self.max_devices:
            raise ValueError(
                f"min_fragments={self.min_fragments} exceeds max_devices={self.max_devices} in "
                f"sampler config {c!r}: a service never visits a device twice"
            )
        most = self.max_services * self.max_fragments
        if most < self.min_devices:
            raise ValueError(
                f"min_devices={self.min_devices} cannot be covered by at most {most} fragments "
                f"in sampler config {c!r}; lower min_devices"
            )


@dataclass(frozen=True)
class EdgeConfig:
    """Sampler of realistic edge deployments (regime ``edge``).

    Args:
        regime: Always ``"edge"`` (default: ``"edge"``).
        profiles: Zoo profile names to draw services from (default: a few CNNs).
        device_kinds: Catalog device kinds to draw devices from (default: edge boards).
        min_services: Fewest services (default: ``1``).
        max_services: Most services (default: ``4``).
        min_devices: Fewest devices (default: ``2``).
        max_devices: Most devices (default: ``6``).
        min_fragments: Fewest fragments of a layer split (default: ``2``).
        max_fragments: Most fragments of a layer split (default: ``5``).
        min_branches: Fewest branches of a semantic split (default: ``2``).
        max_branches: Most branches of a semantic split (default: ``4``).
        semantic_probability: Probability that a service uses a semantic split
            (default: ``0.3``).
        min_capacity: Smallest device capacity (default: ``2``).
        max_capacity: Largest device capacity (default: ``30``).
        max_scv: Service-time SCV is drawn uniformly in ``[0, max_scv]`` (default: ``2.0``).
        link_probability: Probability that a pair of devices is joined by a link
            (default: ``1.0``).
        min_bandwidth: Lower end of the log-uniform link bandwidth (bytes/s)
            (default: ``1.25e6``, 10 Mbit/s).
        max_bandwidth: Upper end of the link bandwidth (bytes/s) (default: ``1.25e8``).
        min_delay: Lower end of the uniform link delay (s) (default: ``0.0005``).
        max_delay: Upper end of the link delay (s) (default: ``0.02``).
        min_bottleneck_utilization: Lightest bottleneck utilisation (default: ``0.1``).
        max_bottleneck_utilization: Most overloaded bottleneck utilisation (default: ``1.5``).
        max_link_utilization: Cap of every link's offered utilisation, in (0, 1). Links have
            unlimited waiting room, so an overloaded link never reaches steady state and its
            simulated latency would only grow with the run length (default: ``0.9``).
        min_sla_factor: SLA is this factor (at least) times the unloaded latency
            (default: ``2.0``).
        max_sla_factor: SLA factor upper end (default: ``10.0``).
        simulation: Labelling settings (default: :class:`SimulationConfig`).
    """

    regime: str = "edge"
    profiles: tuple[str, ...] = ("mobilenet_v2", "resnet18", "resnet50", "vgg16")
    device_kinds: tuple[str, ...] = ("rpi3", "rpi4", "jetson_nano", "jetson_xavier_nx",
                                     "edge_server")
    min_services: int = 1
    max_services: int = 4
    min_devices: int = 2
    max_devices: int = 6
    min_fragments: int = 2
    max_fragments: int = 5
    min_branches: int = 2
    max_branches: int = 4
    semantic_probability: float = 0.3
    min_capacity: int = 2
    max_capacity: int = 30
    max_scv: float = 2.0
    link_probability: float = 1.0
    min_bandwidth: float = 1.25e6
    max_bandwidth: float = 1.25e8
    min_delay: float = 0.0005
    max_delay: float = 0.02
    min_bottleneck_utilization: float = 0.1
    max_bottleneck_utilization: float = 1.5
    max_link_utilization: float = 0.9
    min_sla_factor: float = 2.0
    max_sla_factor: float = 10.0
    simulation: SimulationConfig = field(default_factory=SimulationConfig)

    def __post_init__(self) -> None:
        c = _check_regime(self, ("edge",), "EdgeConfig")
        if not self.profiles:
            raise _err(c, "profiles", self.profiles, "a non-empty list of zoo profile names")
        if not self.device_kinds:
            raise _err(c, "device_kinds", self.device_kinds, "a non-empty list of device kinds")
        _check_structure(self, min_branches=2)
        if not 0 <= self.semantic_probability <= 1:
            raise _err(c, "semantic_probability", self.semantic_probability, "in [0, 1]")
        if not 0 <= self.link_probability <= 1:
            raise _err(c, "link_probability", self.link_probability, "in [0, 1]")
        _check_service_and_links(self)
        _check_range(self, "bottleneck_utilization", 1e-6)



#: Placement strategies of the ``placer`` regime; ``<name>_probability`` is a PlacerConfig field.
PLACER_STRATEGIES: tuple[str, ...] = (
    "random", "greedy", "local_search", "colocated", "slow_device"
)


@dataclass(frozen=True)
class PlacerConfig:
    r"""Sampler of the candidates a placer evaluates, bad ones included (regime ``placer``).

    A scenario mirrors a placement request of :mod:`placement` (catalog devices with jittered
    speed, zoo DNNs split by :func:`~datagen.splitting.make_service` as the placer splits them,
    no request source) and one candidate placement of it. Arrival rates put the cluster at a
    utilisation :math:`u` (drawn in ``[saturation_utilization, max_cluster_utilization]`` with
    probability ``saturation_probability``, else in the whole range) shared by a Dirichlet:

    .. math::
        \lambda_c = \frac{u\, \pi_c \sum_d s_d}{O_c}, \qquad
        \pi \sim \mathrm{Dir}(\alpha, \dots, \alpha),

    with :math:`s_d` the device speeds (MAC/s) and :math:`O_c` the MACs of one request of
    service :math:`c`. Rates below :math:`\max_c \lambda_c / r_{\max}` are raised to it and
    all are rescaled to keep :math:`u`. The placement is drawn by one strategy, picked with the
    ``*_probability`` fields (they sum to 1): ``random`` (randomised first fit over devices
    with memory room), ``greedy`` (heaviest work first to the least utilised device after it),
    ``local_search`` (1-6 random single-fragment moves from a random or greedy placement),
    ``colocated`` (a run of consecutive fragments of a service, or all of them, on one device)
    and ``slow_device`` (first fit preferring slow devices, weight :math:`1/s_d^2`). Every
    placement fits in memory. Finally all rates are scaled down, if needed, so that the most
    loaded device has utilisation at most ``max_bottleneck_utilization`` (one above it is
    brought to a level uniform in ``[1, max_bottleneck_utilization]``) and every link at most
    ``max_link_utilization``; overloaded devices (:math:`\rho > 1`) remain on purpose.

    Args:
        regime: Always ``"placer"`` (default: ``"placer"``).
        profiles: Zoo profile names to draw services from (default: MobileNetV2, ResNet-18,
            ResNet-50 and the three SplitPlace CNNs).
        device_kinds: Catalog device kinds to draw devices from (default: ``rpi3``, ``rpi4``,
            ``orangepi_zero``, ``jetson_nano``, ``jetson_xavier_nx``, ``edge_server``).
        min_services: Fewest services, new and running alike (default: ``1``).
        max_services: Most services (default: ``4``).
        min_devices: Fewest devices (default: ``2``).
        max_devices: Most devices (default: ``6``).
        min_fragments: Fewest fragments ``k`` of a layer split (default: ``1``).
        max_fragments: Most fragments of a layer split, capped at the profile's layers
            (default: ``5``).
        semantic_probability: Probability that a service uses a semantic split
            (default: ``0.3``).
        default_branches_probability: Probability that a semantic split keeps the splitter's
            default number of branches (5, as a request without ``branches``) (default:
            ``0.5``).
        min_branches: Fewest branches otherwise (default: ``2``).
        max_branches: Most branches otherwise (default: ``4``).
        min_capacity: Smallest device capacity ``K`` (default: ``2``).
        max_capacity: Largest device capacity; ``K`` is log-uniform, so mostly small
            (default: ``16``).
        min_speed_factor: Lower end of the log-uniform speed jitter of catalog devices
            (default: ``0.5``).
        max_speed_factor: Upper end of the speed jitter (default: ``2.0``).
        tight_memory_probability: Probability that device memories are scaled to the DNNs'
            weights instead of the catalog's: each device gets ``W / max(1, N // 2)`` bytes
            times a uniform factor, with ``W`` the weight bytes of the services' profiles
            (default: ``0.4``).
        min_memory_factor: Lower end of that factor (default: ``0.4``).
        max_memory_factor: Upper end of that factor (default: ``1.5``).
        zero_scv_probability: Probability that a service is deterministic (SCV 0, the
            placer's default) (default: ``0.5``).
        max_scv: Otherwise the SCV is uniform in ``[0, max_scv]`` (default: ``1.0``).
        link_probability: Probability that a scenario has links, one per pair of devices;
            otherwise transfers are instantaneous (default: ``0.5``).
        min_bandwidth: Lower end of the log-uniform link bandwidth (bytes/s)
            (default: ``1.25e6``, 10 Mbit/s).
        max_bandwidth: Upper end of the link bandwidth (bytes/s) (default: ``1.25e8``).
        min_delay: Lower end of the uniform link delay (s) (default: ``0.0005``).
        max_delay: Upper end of the link delay (s) (default: ``0.02``).
        max_link_utilization: Cap of every link's utilisation, in (0, 1): links have unlimited
            waiting room and must stay stable (default: ``0.9``).
        min_cluster_utilization: Lowest cluster utilisation ``u`` (offered MAC/s over the
            devices' total MAC/s) (default: ``0.1``).
        max_cluster_utilization: Highest ``u`` (default: ``1.2``).
        saturation_probability: Probability that ``u`` is drawn near saturation, in
            ``[saturation_utilization, max_cluster_utilization]`` (default: ``0.5``).
        saturation_utilization: Lower end of the near-saturation range (default: ``0.6``).
        rate_concentration: Dirichlet concentration ``alpha`` of the services' shares of the
            offered work (default: ``2.0``).
        max_rate_ratio: Largest ratio between two services' arrival rates, ``r_max``; the
            simulation length grows with it (default: ``10.0``).
        max_bottleneck_utilization: Cap of the most loaded device's utilisation, so that
            every service still completes requests (default: ``3.0``).
        infinite_sla_probability: Probability that a service has no deadline
            (default: ``0.2``).
        min_sla_factor: Otherwise the SLA is a uniform factor times the unloaded latency
            (default: ``2.0``).
        max_sla_factor: SLA factor upper end (default: ``10.0``).
        random_probability: Probability of the ``random`` strategy (default: ``0.2``).
        greedy_probability: Probability of the ``greedy`` strategy (default: ``0.25``).
        local_search_probability: Probability of the ``local_search`` strategy
            (default: ``0.3``).
        colocated_probability: Probability of the ``colocated`` strategy (default: ``0.15``).
        slow_device_probability: Probability of the ``slow_device`` strategy
            (default: ``0.1``).
        min_walk_moves: Fewest moves of a ``local_search`` trajectory (default: ``1``).
        max_walk_moves: Most moves of a trajectory (default: ``6``).
        simulation: Labelling settings (default: :class:`SimulationConfig`).
    """

    regime: str = "placer"
    profiles: tuple[str, ...] = ("mobilenet_v2", "resnet18", "resnet50", "splitplace_mnist",
                                 "splitplace_fashionmnist", "splitplace_cifar100")
    device_kinds: tuple[str, ...] = ("rpi3", "rpi4", "orangepi_zero", "jetson_nano",
                                     "jetson_xavier_nx", "edge_server")
    min_services: int = 1
    max_services: int = 4
    min_devices: int = 2
    max_devices: int = 6
    min_fragments: int = 1
    max_fragments: int = 5
    semantic_probability: float = 0.3
    default_branches_probability: float = 0.5
    min_branches: int = 2
    max_branches: int = 4
    min_capacity: int = 2
    max_capacity: int = 16
    min_speed_factor: float = 0.5
    max_speed_factor: float = 2.0
    tight_memory_probability: float = 0.4
    min_memory_factor: float = 0.4
    max_memory_factor: float = 1.5
    zero_scv_probability: float = 0.5
    max_scv: float = 1.0
    link_probability: float = 0.5
    min_bandwidth: float = 1.25e6
    max_bandwidth: float = 1.25e8
    min_delay: float = 0.0005
    max_delay: float = 0.02
    max_link_utilization: float = 0.9
    min_cluster_utilization: float = 0.1
    max_cluster_utilization: float = 1.2
    saturation_probability: float = 0.5
    saturation_utilization: float = 0.6
    rate_concentration: float = 2.0
    max_rate_ratio: float = 10.0
    max_bottleneck_utilization: float = 3.0
    infinite_sla_probability: float = 0.2
    min_sla_factor: float = 2.0
    max_sla_factor: float = 10.0
    random_probability: float = 0.2
    greedy_probability: float = 0.25
    local_search_probability: float = 0.3
    colocated_probability: float = 0.15
    slow_device_probability: float = 0.1
    min_walk_moves: int = 1
    max_walk_moves: int = 6
    simulation: SimulationConfig = field(default_factory=SimulationConfig)

    def __post_init__(self) -> None:
        from datagen.catalog import get_device
        from datagen.zoo import list_profiles

        c = _check_regime(self, ("placer",), "PlacerConfig")
        known = list_profiles()
        if not self.profiles or any(p not in known for p in self.profiles):
            raise _err(c, "profiles", list(self.profiles),
                       f"a non-empty list of zoo profile names from {known}")
        if not self.device_kinds:
            raise _err(c, "device_kinds", self.device_kinds, "a non-empty list of device kinds")
        for kind in self.device_kinds:
            try:
                get_device(kind)
            except ValueError as exc:
                raise _err(c, "device_kinds", list(self.device_kinds),
                           f"a list of catalog device kinds ({exc})") from None
        _check_structure(self, min_branches=2)
        _check_range(self, "speed_factor", 1e-9)
        _check_range(self, "memory_factor", 1e-9)
        for name in ("semantic_probability", "default_branches_probability",
                     "tight_memory_probability", "zero_scv_probability", "link_probability",
                     "saturation_probability", "infinite_sla_probability",
                     *(f"{s}_probability" for s in PLACER_STRATEGIES)):
            if not 0 <= getattr(self, name) <= 1:
                raise _err(c, name, getattr(self, name), "in [0, 1]")
        total = sum(getattr(self, f"{s}_probability") for s in PLACER_STRATEGIES)
        if abs(total - 1.0) > 1e-6:
            terms = " + ".join(f"{s}_probability" for s in PLACER_STRATEGIES)
            raise ValueError(
                f"{terms} must sum to 1 in sampler config {c!r}, got {total:g}; adjust them"
            )
        _check_service_and_links(self)
        _check_range(self, "cluster_utilization", 1e-6)
        if not (self.min_cluster_utilization <= self.saturation_utilization
                <= self.max_cluster_utilization):
            raise _err(c, "saturation_utilization", self.saturation_utilization,
                       f"in [min_cluster_utilization, max_cluster_utilization] = "
                       f"[{self.min_cluster_utilization}, {self.max_cluster_utilization}]")
        if not self.rate_concentration > 0:
            raise _err(c, "rate_concentration", self.rate_concentration, "> 0")
        if not self.max_rate_ratio >= 1:
            raise _err(c, "max_rate_ratio", self.max_rate_ratio, ">= 1")
        if not self.max_bottleneck_utilization > 0:
            raise _err(c, "max_bottleneck_utilization", self.max_bottleneck_utilization, "> 0")
        _check_range(self, "walk_moves", 0)


SamplerConfig = ChainLikeConfig | EdgeConfig | PlacerConfig


