r"""Scenario samplers: random deployments to label by simulation, configured by YAML.

Four regimes ship under ``datagen/configs/`` (load them by name or pass a path):

- ``chainnet_like``: the generator of the public ChainNet dataset (Niu, Roveri, Casale,
  DSN 2024). 1-3 services, 2-10 devices, 2-6 fragments per service, capacity
  :math:`K \sim U\{1..50\}`, :math:`1/\lambda \sim U(0.1, 10)`, :math:`S \sim U(0, 2)`;
  at most 3 fragments per device, every device hosts at least one fragment, a service never
  visits a device twice; deterministic service, one server, no links. Time is unitless: every
  device has speed 1 MAC/s and a fragment's MACs equal its service time ``S``.
- ``large``: the same rules scaled up (the public ``test_TypeII`` split): up to 12 services,
  up to 67 devices, 12 fragments per service, ``K`` up to 100.
- ``edge``: realistic deployments: DNN profiles from :mod:`datagen.zoo`, layer and semantic
  splits from :mod:`datagen.splitting`, devices from :mod:`datagen.catalog`, memory-feasible
  placements, links with bandwidth and delay, gamma service times with SCV in [0, 2], and
  arrival rates scaled so that the bottleneck (device or link) utilisation

  .. math::
      \rho_{\max} = \max_{r} \sum_{c} \lambda_c \, \sum_{k:\, r_k = r} \tau_{c,k},

  with :math:`\tau` the mean service (or transfer) time at resource :math:`r`, is drawn
  uniformly between a light and an overloaded level.
- ``placer``: what the placer (:mod:`placement`) evaluates, bad candidates included: the
  requests it is given (jittered catalog devices, sometimes tight memory, zoo DNNs split as it
  splits them, cluster utilisation up to saturation and beyond) and placements drawn from its
  search (random, greedy, local-search trajectories with poor moves, colocated runs of
  fragments, work piled on slow devices). See :class:`PlacerConfig`.

Each YAML file holds a ``regime`` key, the sampler fields of that regime and a ``simulation``
section (``num_requests``, ``warmup``) used by :func:`datagen.dataset.generate`.

Sampling of the ``chainnet_like``/``large`` structure: draw the number of services ``C``
and each length ``L_c``; then draw the number of devices ``N`` uniformly over the values that
admit a valid placement, i.e. :math:`\max(N_{\min}, \lceil \sum L / 3 \rceil, \max L)
\le N \le \min(N_{\max}, \sum L)` (redrawing ``C`` and ``L`` if that range is empty).
Fragments are then dealt to devices: a random permutation of ``N`` fragments covers every
device once, and the other fragments go to a uniformly chosen device that the service has not
visited yet and that holds fewer than 3 fragments (restarting on a dead end).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from datagen.splitting import MAX_BRANCHES
from datagen.world import (
    Device,
    DNNProfile,
    Fragment,
    Link,
    Placement,
    Scenario,
    Service,
    finite_float,
    is_real,
    show_value,
)

__all__ = [
    "REGIMES",
    "SimulationConfig",
    "ChainLikeConfig",
    "EdgeConfig",
    "PlacerConfig",
    "PLACER_STRATEGIES",
    "SamplerConfig",
    "load_sampler_config",
    "config_from_dict",
    "config_to_dict",
    "list_configs",
    "sample_scenario",
    "chainnet_device_name",
    "chainnet_service_name",
    "chainnet_fragment_name",
    "MAX_CONFIG_INT",
]

REGIMES: tuple[str, ...] = ("chainnet_like", "large", "edge", "placer")

_MAX_TRIES = 1000

#: Largest value of an integer field of a sampler config (counts, capacities, walk moves; the
#: simulation section's request counts may reach ``1000 * MAX_CONFIG_INT``).
MAX_CONFIG_INT: int = 1_000_000


def chainnet_device_name(index: int) -> str:
    """Canonical name of device ``index`` (1-based, as in the ChainNet files): ``"d<index>"``."""
    return f"d{index}"


def chainnet_service_name(index: int) -> str:
    """Canonical name of service ``index`` (1-based within a sample): ``"s<index>"``."""
    return f"s{index}"


def chainnet_fragment_name(index: int) -> str:
    """Canonical name of fragment ``index`` (1-based within a service): ``"f<index>"``."""
    return f"f{index}"


# --------------------------------------------------------------------------------------------
# Configuration dataclasses
# --------------------------------------------------------------------------------------------


def _err(cfg: str, name: str, value: Any, rule: str) -> ValueError:
    return ValueError(f"{name} must be {rule} in sampler config {cfg!r}, got {show_value(value)}")




def _normalise_numbers(cfg: object, name: str, int_max: int = MAX_CONFIG_INT) -> None:
    """Check the type and range of every numeric field of a config dataclass, in place.

    The type is that of the field's default: integer fields take integers (numpy ones too) in
    ``[.., int_max]``; float fields (and ``None``-default ones, when set) take finite real
    numbers. Numpy scalars become Python numbers; Python ints and floats are kept as given.
    Lower bounds and cross-field rules are checked by each config afterwards.

    Raises:
        ValueError: Naming the field, the value and the rule.
    """
    for f in fields(cfg):  # type: ignore[arg-type]
        value = getattr(cfg, f.name)
        if f.name == "simulation":
            if not isinstance(value, SimulationConfig):
                raise _err(name, f.name, value, "a SimulationConfig (a mapping in YAML)")
            continue
        default = f.default
        if isinstance(default, bool) or isinstance(default, (str, tuple)):
            continue
        if isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
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


def _check_range(
    cfg: str, lo_name: str, lo: float, hi_name: str, hi: float, minimum: float
) -> None:
    if lo < minimum:
        raise _err(cfg, lo_name, lo, f">= {minimum}")
    if hi < lo:
        raise ValueError(
            f"{hi_name} must be >= {lo_name} in sampler config {cfg!r}, got {hi_name}={hi} < "
            f"{lo_name}={lo}"
        )


def _check_structure(cfg: EdgeConfig | PlacerConfig, min_branches: int) -> None:
    """Ranges of the deployment's size, shared by the ``edge`` and ``placer`` regimes."""
    c = cfg.regime
    _check_range(c, "min_services", cfg.min_services, "max_services", cfg.max_services, 1)
    _check_range(c, "min_devices", cfg.min_devices, "max_devices", cfg.max_devices, 1)
    _check_range(c, "min_fragments", cfg.min_fragments, "max_fragments", cfg.max_fragments, 1)
    _check_range(c, "min_branches", cfg.min_branches, "max_branches", cfg.max_branches,
                 min_branches)
    if cfg.max_branches > MAX_BRANCHES:
        raise _err(c, "max_branches", cfg.max_branches, f"<= {MAX_BRANCHES} (MAX_BRANCHES)")
    _check_range(c, "min_capacity", cfg.min_capacity, "max_capacity", cfg.max_capacity, 1)


def _check_service_and_links(cfg: EdgeConfig | PlacerConfig) -> None:
    """Service-time SCV, link and SLA ranges, shared by the ``edge`` and ``placer`` regimes."""
    c = cfg.regime
    if cfg.max_scv < 0:
        raise _err(c, "max_scv", cfg.max_scv, ">= 0")
    _check_range(c, "min_bandwidth", cfg.min_bandwidth, "max_bandwidth", cfg.max_bandwidth, 1e-9)
    _check_range(c, "min_delay", cfg.min_delay, "max_delay", cfg.max_delay, 0.0)
    if not 0 < cfg.max_link_utilization < 1:
        raise _err(c, "max_link_utilization", cfg.max_link_utilization, "in (0, 1)")
    _check_range(c, "min_sla_factor", cfg.min_sla_factor, "max_sla_factor", cfg.max_sla_factor,
                 1e-9)


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

        _normalise_numbers(self, "simulation", int_max=1000 * MAX_CONFIG_INT)
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
        c = self.regime
        if c not in ("chainnet_like", "large"):
            raise _err(c, "regime", c, "'chainnet_like' or 'large' for ChainLikeConfig")
        _normalise_numbers(self, c)
        _check_range(c, "min_services", self.min_services, "max_services", self.max_services, 1)
        _check_range(c, "min_devices", self.min_devices, "max_devices", self.max_devices, 1)
        _check_range(
            c, "min_fragments", self.min_fragments, "max_fragments", self.max_fragments, 1
        )
        if self.max_fragments_per_device < 1:
            raise _err(c, "max_fragments_per_device", self.max_fragments_per_device, ">= 1")
        _check_range(c, "min_capacity", self.min_capacity, "max_capacity", self.max_capacity, 1)
        _check_range(
            c,
            "min_interarrival",
            self.min_interarrival,
            "max_interarrival",
            self.max_interarrival,
            0.0,
        )
        if self.max_interarrival <= 0:
            raise _err(c, "max_interarrival", self.max_interarrival, "> 0")
        _check_range(
            c,
            "min_service_time",
            self.min_service_time,
            "max_service_time",
            self.max_service_time,
            0.0,
        )
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
        c = self.regime
        if c != "edge":
            raise _err(c, "regime", c, "'edge' for EdgeConfig")
        _normalise_numbers(self, c)
        object.__setattr__(self, "profiles", tuple(self.profiles))
        object.__setattr__(self, "device_kinds", tuple(self.device_kinds))
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
        _check_range(
            c,
            "min_bottleneck_utilization",
            self.min_bottleneck_utilization,
            "max_bottleneck_utilization",
            self.max_bottleneck_utilization,
            1e-6,
        )



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

        c = self.regime
        if c != "placer":
            raise _err(c, "regime", c, "'placer' for PlacerConfig")
        _normalise_numbers(self, c)
        object.__setattr__(self, "profiles", tuple(self.profiles))
        object.__setattr__(self, "device_kinds", tuple(self.device_kinds))
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
        _check_range(c, "min_speed_factor", self.min_speed_factor, "max_speed_factor",
                     self.max_speed_factor, 1e-9)
        _check_range(c, "min_memory_factor", self.min_memory_factor, "max_memory_factor",
                     self.max_memory_factor, 1e-9)
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
        _check_range(c, "min_cluster_utilization", self.min_cluster_utilization,
                     "max_cluster_utilization", self.max_cluster_utilization, 1e-6)
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
        _check_range(c, "min_walk_moves", self.min_walk_moves, "max_walk_moves",
                     self.max_walk_moves, 0)


SamplerConfig = ChainLikeConfig | EdgeConfig | PlacerConfig


def config_to_dict(config: SamplerConfig) -> dict[str, Any]:
    """Return a YAML/JSON-ready dict of ``config``; :func:`config_from_dict` inverts it."""
    out = asdict(config)
    for key, value in out.items():
        if isinstance(value, tuple):
            out[key] = list(value)
    return out


def config_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> SamplerConfig:
    """Build a sampler config from a mapping (parsed YAML).

    Args:
        data: Mapping with a ``regime`` key, sampler fields and an optional ``simulation``
            mapping.
        source: Where the mapping came from, for error messages (default: ``"<dict>"``).

    Returns:
        A :class:`ChainLikeConfig`, an :class:`EdgeConfig` or a :class:`PlacerConfig`.

    Raises:
        ValueError: On an unknown regime, an unknown key or an invalid value.
    """
    if not isinstance(data, Mapping):
        raise ValueError(
            f"sampler config {source} must be a mapping with a 'regime' key, got "
            f"{type(data).__name__}"
        )
    if "regime" not in data:
        close = difflib.get_close_matches("regime", [str(k) for k in data], n=1)
        hint = f" (is {close[0]!r} a misspelling?)" if close else ""
        raise ValueError(
            f"regime is missing in sampler config {source}{hint}; add regime: one of {REGIMES}"
        )
    regime = data["regime"]
    if not isinstance(regime, str) or regime not in REGIMES:
        raise ValueError(
            f"regime in sampler config {source} must be one of {REGIMES}, got {regime!r}"
            + _did_you_mean(regime, REGIMES)
        )
    cls: type[ChainLikeConfig] | type[EdgeConfig] | type[PlacerConfig] = {
        "edge": EdgeConfig, "placer": PlacerConfig
    }.get(regime, ChainLikeConfig)
    _check_keys(data, [f.name for f in fields(cls)], f"sampler config {source} (regime "
                f"{regime!r})")
    kwargs = dict(data)
    sim = kwargs.pop("simulation", None) or {}
    if not isinstance(sim, Mapping):
        raise ValueError(f"simulation in sampler config {source} must be a mapping, got {sim!r}")
    _check_keys(sim, [f.name for f in fields(SimulationConfig)],
                f"the simulation section of sampler config {source}")
    defaults = cls()
    for key, value in kwargs.items():
        kwargs[key] = _coerce(source, key, getattr(defaults, key), value)
    sim_defaults = SimulationConfig()
    sim = {k: _coerce(source, f"simulation.{k}", getattr(sim_defaults, k), v)
           for k, v in sim.items()}
    try:
        return cls(**kwargs, simulation=SimulationConfig(**sim))
    except TypeError as exc:
        raise ValueError(f"invalid sampler config {source}: {exc}") from exc


def _did_you_mean(word: Any, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_keys(data: Mapping[Any, Any], known: Sequence[str], where: str) -> None:
    """Refuse keys not in ``known``, naming each and the closest known key."""
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(known), n=1)
            if close:
                hints.append(f"{close[0]!r} for {key!r}")
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise ValueError(f"unknown keys {unknown} in {where}{hint} (known keys: {sorted(known)})")


def _coerce(source: str, key: str, default: Any, value: Any) -> Any:
    """Check ``value`` against the type of the field's default (ints are accepted as floats).

    Numpy scalars are accepted where Python numbers are; a number beyond the float range, NaN
    or inf is refused.
    """
    if isinstance(default, bool) or isinstance(default, str):
        if not isinstance(value, type(default)):
            raise ValueError(f"{key} in sampler config {source} must be a "
                             f"{type(default).__name__}, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{key} in sampler config {source} must be an integer, got {value!r}")
        return int(value)
    if default is None:
        if value is None:
            return None
        x = finite_float(value)
        if x is None:
            raise ValueError(f"{key} in sampler config {source} must be a finite number or null, "
                             f"got {show_value(value)}")
        return x
    if isinstance(default, float):
        if not is_real(value):
            raise ValueError(
                f"{key} in sampler config {source} must be a number, got {value!r} (write "
                f"exponents with a sign and a dot, e.g. 1.25e+6, or YAML reads a string)"
            )
        x = finite_float(value)
        if x is None:
            raise ValueError(
                f"{key} in sampler config {source} must be a finite number, got {show_value(value)}"
            )
        return x
    if isinstance(default, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{key} in sampler config {source} must be a list, got {value!r}")
        return tuple(value)
    return value


def list_configs() -> list[str]:
    """Names of the packaged sampler configs (``datagen/configs/*.yaml``)."""
    root = resources.files("datagen") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_sampler_config(path_or_name: str | Path) -> SamplerConfig:
    """Load a sampler config from a YAML file or by packaged name.

    Args:
        path_or_name: A path to a YAML file, or the name of a packaged config
            (``"chainnet_like"``, ``"large"``, ``"edge"``, ``"placer"``).

    Returns:
        The validated config.

    Raises:
        ValueError: If the file does not exist, is not valid YAML or holds an invalid config.
    """
    import yaml

    text: str
    source = str(path_or_name)
    path = Path(path_or_name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read sampler config {source!r}: {exc}") from exc
    else:
        res = resources.files("datagen") / "configs" / f"{source}.yaml"
        if not res.is_file():
            raise ValueError(
                f"unknown sampler config {source!r}: not a file and not one of the packaged "
                f"configs {list_configs()}"
            )
        text = res.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"sampler config {source!r} is not valid YAML: {exc}") from exc
    return config_from_dict(data, source=repr(source))


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def sample_scenario(config: SamplerConfig, rng: np.random.Generator) -> Scenario:
    """Draw one scenario.

    Args:
        config: A :class:`ChainLikeConfig`, an :class:`EdgeConfig` or a :class:`PlacerConfig`.
        rng: The random generator (advanced in place).

    Returns:
        A valid :class:`~datagen.world.Scenario`.

    Raises:
        ValueError: If ``config`` is not a sampler config, or no valid scenario is found in
            1000 draws (the ranges are infeasible).
    """
    if isinstance(config, ChainLikeConfig):
        return _sample_chainlike(config, rng)
    if isinstance(config, EdgeConfig):
        return _sample_edge(config, rng)
    if isinstance(config, PlacerConfig):
        return _sample_placer(config, rng)
    raise ValueError(
        f"config must be a ChainLikeConfig, EdgeConfig or PlacerConfig, got "
        f"{type(config).__name__}"
    )


def _uniform_open(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Uniform draw on (lo, hi): resamples the (measure-zero) endpoint ``lo``."""
    while True:
        x = float(rng.uniform(lo, hi))
        if x > lo or lo == hi:
            return x


def _sample_structure(
    config: ChainLikeConfig, rng: np.random.Generator
) -> tuple[int, list[list[int]]]:
    """Draw N and the (0-based) device of each fragment of each service."""
    cap = config.max_fragments_per_device
    for _ in range(_MAX_TRIES):
        num_services = int(rng.integers(config.min_services, config.max_services + 1))
        lengths = rng.integers(config.min_fragments, config.max_fragments + 1, size=num_services)
        total, longest = int(lengths.sum()), int(lengths.max())
        lo = max(config.min_devices, -(-total // cap), longest)
        hi = min(config.max_devices, total)
        if lo > hi:
            continue
        n = int(rng.integers(lo, hi + 1))
        paths = _deal_fragments(lengths.tolist(), n, cap, rng)
        if paths is not None:
            return n, paths
    raise ValueError(
        f"no valid structure found in {_MAX_TRIES} draws for sampler config {config.regime!r}; "
        f"check the service/device/fragment ranges"
    )


def _deal_fragments(
    lengths: list[int], n: int, cap: int, rng: np.random.Generator
) -> list[list[int]] | None:
    slots = [c for c, length in enumerate(lengths) for _ in range(length)]
    for _ in range(20):
        order = rng.permutation(len(slots))
        paths: list[list[int]] = [[] for _ in lengths]
        load = [0] * n
        devices = rng.permutation(n)
        ok = True
        for pos, slot_idx in enumerate(order):
            c = slots[slot_idx]
            if pos < n:
                d = int(devices[pos])
            else:
                choices = [d for d in range(n) if load[d] < cap and d not in paths[c]]
                if not choices:
                    ok = False
                    break
                d = choices[int(rng.integers(len(choices)))]
            paths[c].append(d)
            load[d] += 1
        if ok:
            for p in paths:
                rng.shuffle(p)
            return paths
    return None


def _sample_chainlike(config: ChainLikeConfig, rng: np.random.Generator) -> Scenario:
    n, paths = _sample_structure(config, rng)
    caps = rng.integers(config.min_capacity, config.max_capacity + 1, size=n)
    devices = tuple(
        Device(name=chainnet_device_name(i + 1), speed=1.0, capacity=int(caps[i]))
        for i in range(n)
    )
    services = []
    placement: dict[str, tuple[str, ...]] = {}
    for c, path in enumerate(paths):
        name = chainnet_service_name(c + 1)
        interarrival = _uniform_open(rng, config.min_interarrival, config.max_interarrival)
        frags = tuple(
            Fragment(
                name=chainnet_fragment_name(k + 1),
                macs=_uniform_open(rng, config.min_service_time, config.max_service_time),
            )
            for k in range(len(path))
        )
        services.append(Service(name=name, fragments=frags, arrival_rate=1.0 / interarrival))
        placement[name] = tuple(chainnet_device_name(d + 1) for d in path)
    return Scenario(devices=devices, services=tuple(services), placement=Placement(placement))


# -- shared by the edge and placer regimes ------------------------------------------------------


@lru_cache(maxsize=64)
def _profile(name: str) -> DNNProfile:
    """The zoo profile ``name`` (cached: profiles are immutable and costly to build)."""
    from datagen.zoo import get_profile

    return get_profile(name)


@lru_cache(maxsize=1024)
def _split_template(profile: str, split: str, k: int | None, branches: int | None) -> Service:
    """A split service of a zoo profile at rate 1 (cached; rename it with ``replace``).

    ``branches=None`` keeps :func:`~datagen.splitting.make_service`'s default, as the placer
    does when a request leaves it unset.
    """
    from datagen.splitting import make_service

    if split == "semantic" and branches is not None:
        return make_service("template", _profile(profile), split, 1.0, branches=branches)
    return make_service("template", _profile(profile), split, 1.0, k=k)


def _draw_links(
    devices: list[Device],
    probability: float,
    config: EdgeConfig | PlacerConfig,
    rng: np.random.Generator,
) -> list[Link]:
    """Join each pair of devices with probability ``probability`` (log-uniform bandwidth)."""
    links = []
    n = len(devices)
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < probability:
                bw = math.exp(
                    rng.uniform(math.log(config.min_bandwidth), math.log(config.max_bandwidth))
                )
                delay = float(rng.uniform(config.min_delay, config.max_delay))
                links.append(Link(devices[i].name, devices[j].name, bw, delay))
    return links


def _link_capped(
    factor: float, load: Mapping[str, float], scenario: Scenario, max_link_utilization: float
) -> float:
    """Lower a rate factor so that no link's utilisation exceeds ``max_link_utilization``."""
    link_names = {link.name for link in scenario.links}
    link_load = max((v for k, v in load.items() if k in link_names), default=0.0)
    if link_load > 0:
        factor = min(factor, max_link_utilization / link_load)
    return factor


def _rescaled(scenario: Scenario, factor: float, slas: list[float]) -> Scenario:
    """Multiply every arrival rate by ``factor`` and set the SLAs (in service order)."""
    services = tuple(
        replace(svc, arrival_rate=svc.arrival_rate * factor, sla=sla)
        for svc, sla in zip(scenario.services, slas)
    )
    return scenario.replace(services=services)


# -- edge ---------------------------------------------------------------------------------------


def _sample_edge(config: EdgeConfig, rng: np.random.Generator) -> Scenario:
    from datagen.catalog import get_device

    for _ in range(_MAX_TRIES):
        n = int(rng.integers(config.min_devices, config.max_devices + 1))
        devices = []
        for i in range(n):
            kind = config.device_kinds[int(rng.integers(len(config.device_kinds)))]
            cap = int(rng.integers(config.min_capacity, config.max_capacity + 1))
            devices.append(get_device(kind, name=f"{kind}-{i}", capacity=cap))
        links = _draw_links(devices, config.link_probability, config, rng)
        num_services = int(rng.integers(config.min_services, config.max_services + 1))
        services: list[Service] = []
        placement: dict[str, tuple[str, ...]] = {}
        free = {d.name: d.memory for d in devices}
        ok = True
        for c in range(num_services):
            pname = config.profiles[int(rng.integers(len(config.profiles)))]
            profile = _profile(pname)
            scv = float(rng.uniform(0.0, config.max_scv))
            name = f"svc{c}-{pname}"
            if rng.random() < config.semantic_probability:
                b = int(rng.integers(config.min_branches, config.max_branches + 1))
                svc = _split_template(pname, "semantic", None, b)
            else:
                k = int(rng.integers(config.min_fragments, config.max_fragments + 1))
                k = min(k, len(profile.layers))
                svc = _split_template(pname, "layer", k, None)
            devs = []
            for frag in svc.fragments:
                fits = [d.name for d in devices if free[d.name] >= frag.weight_bytes]
                if not fits:
                    ok = False
                    break
                d = fits[int(rng.integers(len(fits)))]
                free[d] -= frag.weight_bytes
                devs.append(d)
            if not ok:
                break
            source = devices[int(rng.integers(n))].name
            input_bytes = int(profile.input_elems) * 4
            svc = replace(
                svc,
                name=name,
                scv=scv,
                source=source,
                input_bytes=input_bytes,
                arrival_rate=float(rng.uniform(0.5, 1.5)),
            )
            services.append(svc)
            placement[name] = tuple(devs)
        if not ok:
            continue
        scenario = Scenario(tuple(devices), tuple(services), Placement(placement), tuple(links))
        return _scale_edge_rates(scenario, config, rng)
    raise ValueError(
        f"no memory-feasible edge scenario found in {_MAX_TRIES} draws; add larger device kinds "
        f"or smaller profiles to the config"
    )


def _unit_loads(scenario: Scenario) -> tuple[dict[str, float], dict[str, float]]:
    """Utilisation of each resource at the current rates, and each service's unloaded latency."""
    load: dict[str, float] = {}
    base_latency: dict[str, float] = {}
    for svc in scenario.services:
        devs = scenario.placement[svc.name]
        lam = svc.arrival_rate
        branch_time = []
        for branch in svc.branch_indices():
            t = 0.0
            prev = svc.source
            prev_bytes = svc.input_bytes
            for k in branch:
                d = devs[k]
                dev = scenario.device(d)
                if prev is not None and prev != d:
                    link = scenario.link_between(prev, d)
                    if link is not None:
                        tx = prev_bytes / link.bandwidth
                        load[link.name] = load.get(link.name, 0.0) + lam * tx
                        t += tx + link.delay
                s = svc.fragments[k].macs / dev.effective_speed
                load[d] = load.get(d, 0.0) + lam * s / dev.servers
                t += s
                prev, prev_bytes = d, svc.fragments[k].output_bytes
            branch_time.append(t)
        base_latency[svc.name] = max(branch_time)
    return load, base_latency


def _scale_edge_rates(
    scenario: Scenario, config: EdgeConfig, rng: np.random.Generator
) -> Scenario:
    load, base = _unit_loads(scenario)
    target = float(
        rng.uniform(config.min_bottleneck_utilization, config.max_bottleneck_utilization)
    )
    factor = _link_capped(target / max(load.values()), load, scenario, config.max_link_utilization)
    slas = [
        base[svc.name] * float(rng.uniform(config.min_sla_factor, config.max_sla_factor))
        for svc in scenario.services
    ]
    return _rescaled(scenario, factor, slas)


# -- placer -------------------------------------------------------------------------------------

#: Restarts of a randomised first fit before a placement strategy gives up.
_FIT_TRIES = 5


@dataclass(frozen=True)
class _Packing:
    """What the placement strategies see: fragments (weights, offered work) and devices.

    Args:
        weights: Weight bytes of each fragment, services in order, shape ``(F,)``.
        work: Offered work of each fragment, rate x MACs (MAC/s), shape ``(F,)``.
        speed: Device speed x servers (MAC/s), shape ``(D,)``.
        memory: Device memory (bytes), shape ``(D,)``.
        capacity: Device capacity ``K``, shape ``(D,)``.
        offsets: First fragment of each service, then ``F``, length ``S + 1``.
        semantic: Whether each service is a semantic split, length ``S``.
    """

    weights: np.ndarray
    work: np.ndarray
    speed: np.ndarray
    memory: np.ndarray
    capacity: np.ndarray
    offsets: tuple[int, ...]
    semantic: tuple[bool, ...]

    def used(self, a: np.ndarray) -> np.ndarray:
        # Weights are integers, so these sums are exact and agree with Scenario.validate.
        return np.bincount(a, weights=self.weights, minlength=self.speed.size)

    def can_complete(self, a: np.ndarray) -> bool:
        """Whether no service is lost for certain.

        A semantic split's branches reach their devices at once, so ``K`` or more of them on
        one device lose every request (or nearly, with the room taken by other work), and such
        a scenario has no latency label.
        """
        for s, semantic in enumerate(self.semantic):
            if semantic:
                hosted = np.bincount(a[self.offsets[s] : self.offsets[s + 1]],
                                     minlength=self.capacity.size)
                if np.any(hosted >= self.capacity):
                    return False
        return True


def _first_fit(
    p: _Packing, rng: np.random.Generator, preference: np.ndarray | None = None
) -> np.ndarray | None:
    """Randomised first fit: fragments in random order, each to a device with room left.

    The device is uniform among those with room (``preference=None``, like the placer's
    ``CandidateSpace.random_assignment``) or drawn with probability proportional to
    ``preference``. Returns ``None`` after :data:`_FIT_TRIES` dead ends.
    """
    n_frag = p.weights.size
    for _ in range(_FIT_TRIES):
        used = np.zeros(p.speed.size)
        a = np.empty(n_frag, dtype=np.int64)
        for j in rng.permutation(n_frag):
            room = np.flatnonzero(used + p.weights[j] <= p.memory)
            if room.size == 0:
                break
            if preference is None:
                d = int(room[rng.integers(room.size)])
            else:
                cum = np.cumsum(preference[room])
                pos = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
                d = int(room[min(pos, room.size - 1)])
            a[j] = d
            used[d] += p.weights[j]
        else:
            return a
    return None


def _greedy(p: _Packing) -> np.ndarray | None:
    """Load balancing: heaviest work first, to the least utilised device after it (with room).

    The rule of the placer's ``CandidateSpace.greedy_assignment``; ``None`` if a fragment fits
    nowhere.
    """
    used = np.zeros(p.speed.size)
    util = np.zeros(p.speed.size)
    a = np.empty(p.weights.size, dtype=np.int64)
    for j in np.argsort(-p.work, kind="stable"):
        room = used + p.weights[j] <= p.memory
        if not room.any():
            return None
        d = int(np.argmin(np.where(room, util + p.work[j] / p.speed, np.inf)))
        a[j] = d
        used[d] += p.weights[j]
        util[d] += p.work[j] / p.speed[d]
    return a


def _random_walk(p: _Packing, moves: int, rng: np.random.Generator) -> np.ndarray | None:
    """A local-search trajectory: ``moves`` single-fragment moves, good or bad.

    The start is a random or (with probability 1/2) the greedy placement; each move sends a
    uniformly drawn fragment to a uniformly drawn other device with memory room.
    """
    a = _greedy(p) if rng.random() < 0.5 else _first_fit(p, rng)
    if a is None:
        return None
    used = p.used(a)
    devices = np.arange(p.speed.size)
    for _ in range(moves):
        j = int(rng.integers(a.size))
        cand = np.flatnonzero((used + p.weights[j] <= p.memory) & (devices != a[j]))
        if cand.size:
            d = int(cand[rng.integers(cand.size)])
            used[a[j]] -= p.weights[j]
            used[d] += p.weights[j]
            a[j] = d
    return a


def _colocated(p: _Packing, rng: np.random.Generator) -> np.ndarray | None:
    """Runs of consecutive fragments on one device.

    From a random placement, one service (and each other with probability 1/2) gets a run of
    2 or more of its fragments (possibly all of them) moved together to a device with room.
    """
    a = _first_fit(p, rng)
    if a is None:
        return None
    used = p.used(a)
    n_svc = len(p.offsets) - 1
    first = int(rng.integers(n_svc))
    for s in range(n_svc):
        if s != first and rng.random() >= 0.5:
            continue
        lo, hi = p.offsets[s], p.offsets[s + 1]
        if hi - lo < 2:
            continue
        r = int(rng.integers(2, hi - lo + 1))
        start = lo + int(rng.integers(hi - lo - r + 1))
        run = slice(start, start + r)
        rest = used - np.bincount(a[run], weights=p.weights[run], minlength=used.size)
        need = float(p.weights[run].sum())
        cand = np.flatnonzero(rest + need <= p.memory)
        if cand.size:
            d = int(cand[rng.integers(cand.size)])
            a[run] = d
            used = rest
            used[d] += need
    return a


def _place(
    p: _Packing, strategy: int, config: PlacerConfig, rng: np.random.Generator
) -> np.ndarray | None:
    """Assignment of one of :data:`PLACER_STRATEGIES` (index ``strategy``), ``None`` if stuck."""
    if strategy == 0:
        return _first_fit(p, rng)
    if strategy == 1:
        return _greedy(p)
    if strategy == 2:
        moves = int(rng.integers(config.min_walk_moves, config.max_walk_moves + 1))
        return _random_walk(p, moves, rng)
    if strategy == 3:
        return _colocated(p, rng)
    return _first_fit(p, rng, preference=1.0 / p.speed**2)


def _placer_rates(
    config: PlacerConfig, macs: np.ndarray, capacity: float, rng: np.random.Generator
) -> np.ndarray:
    """Arrival rates putting the cluster at a drawn utilisation (see :class:`PlacerConfig`)."""
    if rng.random() < config.saturation_probability:
        u = float(rng.uniform(config.saturation_utilization, config.max_cluster_utilization))
    else:
        u = float(rng.uniform(config.min_cluster_utilization, config.max_cluster_utilization))
    shares = rng.dirichlet(np.full(macs.size, config.rate_concentration))
    rates = u * capacity * shares / macs
    # The simulator runs until the slowest service has num_requests arrivals: bound the spread
    # of rates, or one fast service would cost millions of simulated requests.
    rates = np.maximum(rates, rates.max() / config.max_rate_ratio)
    return rates * (u * capacity / float(rates @ macs))


def _sample_placer(config: PlacerConfig, rng: np.random.Generator) -> Scenario:
    from datagen.catalog import get_device

    kinds, names = config.device_kinds, config.profiles
    probs = np.cumsum([getattr(config, f"{s}_probability") for s in PLACER_STRATEGIES])
    log_cap = (math.log(config.min_capacity), math.log(config.max_capacity + 1))
    log_speed = (math.log(config.min_speed_factor), math.log(config.max_speed_factor))
    for _ in range(_MAX_TRIES):
        # Devices: catalog kinds with jittered speed, mostly small capacities.
        n = int(rng.integers(config.min_devices, config.max_devices + 1))
        devices = []
        for i in range(n):
            kind = kinds[int(rng.integers(len(kinds)))]
            cap = min(config.max_capacity, int(math.exp(rng.uniform(*log_cap))))
            dev = get_device(kind, name=f"{kind}-{i}", capacity=cap)
            jitter = math.exp(rng.uniform(*log_speed))
            devices.append(replace(dev, speed=dev.speed * jitter))
        # Services: zoo profiles split as the placer splits them.
        num_services = int(rng.integers(config.min_services, config.max_services + 1))
        templates: list[Service] = []
        svc_names: list[str] = []
        scvs: list[float] = []
        for c in range(num_services):
            pname = names[int(rng.integers(len(names)))]
            if rng.random() < config.semantic_probability:
                b = None
                if rng.random() >= config.default_branches_probability:
                    b = int(rng.integers(config.min_branches, config.max_branches + 1))
                tpl = _split_template(pname, "semantic", None, b)
            else:
                k = int(rng.integers(config.min_fragments, config.max_fragments + 1))
                positive = sum(1 for layer in _profile(pname).layers if layer.macs > 0)
                tpl = _split_template(pname, "layer", min(k, positive), None)
            zero = rng.random() < config.zero_scv_probability
            scvs.append(0.0 if zero else float(rng.uniform(0.0, config.max_scv)))
            templates.append(tpl)
            svc_names.append(f"svc{c}-{pname}")
        if rng.random() < config.tight_memory_probability:
            # As the placement report's requests: memory scaled to the DNNs' weights.
            total = sum(_profile(t.profile or "").weight_bytes for t in templates)
            scale = total / max(1, n // 2)
            devices = [
                replace(d, memory=scale * float(
                    rng.uniform(config.min_memory_factor, config.max_memory_factor)))
                for d in devices
            ]
        has_links = rng.random() < config.link_probability
        links = _draw_links(devices, 1.0, config, rng) if has_links else []
        # Rates from a cluster utilisation, then a placement by one of the strategies.
        macs = np.array([t.total_macs for t in templates])
        speed = np.array([d.effective_speed * d.servers for d in devices])
        rates = _placer_rates(config, macs, float(speed.sum()), rng)
        frag_rates = np.concatenate(
            [np.full(len(t.fragments), r) for t, r in zip(templates, rates)]
        )
        packing = _Packing(
            weights=np.array([f.weight_bytes for t in templates for f in t.fragments], float),
            work=frag_rates * np.array([f.macs for t in templates for f in t.fragments]),
            speed=speed,
            memory=np.array([d.memory for d in devices]),
            capacity=np.array([d.capacity for d in devices]),
            offsets=tuple(np.cumsum([0] + [len(t.fragments) for t in templates]).tolist()),
            semantic=tuple(t.split == "semantic" for t in templates),
        )
        strategy = int(np.searchsorted(probs, rng.random() * probs[-1], side="right"))
        strategy = min(strategy, len(PLACER_STRATEGIES) - 1)
        a = None
        for _ in range(_FIT_TRIES):
            a = _place(packing, strategy, config, rng)
            if a is not None and packing.can_complete(a):
                break
            a = None
        if a is None:
            a = _greedy(packing)
            if a is not None and not packing.can_complete(a):
                a = None
        if a is None:
            continue  # no room (memory, or capacity for the branches): redraw everything
        dev_names = [d.name for d in devices]
        services = []
        placement: dict[str, tuple[str, ...]] = {}
        for s, (tpl, name, scv, rate) in enumerate(zip(templates, svc_names, scvs, rates)):
            services.append(replace(tpl, name=name, scv=scv, arrival_rate=float(rate)))
            lo, hi = packing.offsets[s], packing.offsets[s + 1]
            placement[name] = tuple(dev_names[d] for d in a[lo:hi])
        scenario = Scenario(tuple(devices), tuple(services), Placement(placement), tuple(links))
        return _cap_placer_rates(scenario, config, rng)
    raise ValueError(
        f"no memory-feasible placer scenario found in {_MAX_TRIES} draws; add device kinds with "
        f"more memory, smaller profiles, more fragments (max_fragments, max_branches), or lower "
        f"tight_memory_probability / raise min_memory_factor"
    )


def _cap_placer_rates(
    scenario: Scenario, config: PlacerConfig, rng: np.random.Generator
) -> Scenario:
    """Scale rates so that no device exceeds ``max_bottleneck_utilization``; draw the SLAs.

    A bottleneck above that cap is brought to a level uniform in ``[min(1, cap), cap]``, and
    rates are lowered further if a link would exceed ``max_link_utilization``.
    """
    load, base = _unit_loads(scenario)
    worst = max(load[d.name] for d in scenario.devices if d.name in load)
    cap = config.max_bottleneck_utilization
    factor = 1.0
    if worst > cap:
        # Draw the overload level instead of pinning it at the cap (a point mass there).
        factor = float(rng.uniform(min(1.0, cap), cap)) / worst
    factor = _link_capped(factor, load, scenario, config.max_link_utilization)
    slas = [
        math.inf if rng.random() < config.infinite_sla_probability
        else base[svc.name] * float(rng.uniform(config.min_sla_factor, config.max_sla_factor))
        for svc in scenario.services
    ]
    return _rescaled(scenario, factor, slas)
