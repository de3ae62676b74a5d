r"""Scenario samplers: random deployments to label by simulation, configured by YAML.

Three regimes ship under ``datagen/configs/`` (load them by name or pass a path):

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

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from datagen.world import Device, Fragment, Link, Placement, Scenario, Service

__all__ = [
    "REGIMES",
    "SimulationConfig",
    "ChainLikeConfig",
    "EdgeConfig",
    "SamplerConfig",
    "load_sampler_config",
    "config_from_dict",
    "config_to_dict",
    "list_configs",
    "sample_scenario",
    "chainnet_device_name",
    "chainnet_service_name",
    "chainnet_fragment_name",
]

REGIMES: tuple[str, ...] = ("chainnet_like", "large", "edge")

_MAX_TRIES = 1000


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
    return ValueError(f"{name} must be {rule} in sampler config {cfg!r}, got {value!r}")


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
    exceeds its target the scenario is simulated again, with a fresh seed, at
    :math:`n' = \lceil 1.2\, n \max_i (\widehat{se}_i / \text{target}_i)^2 \rceil`
    capped at ``max_num_requests``, for at most ``max_rounds`` runs in all.

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
        for name in ("num_requests", "max_num_requests", "max_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _err("simulation", name, value, "an integer")
        if self.num_requests < 10:
            raise _err("simulation", "num_requests", self.num_requests, ">= 10")
        if self.max_num_requests < self.num_requests:
            raise _err("simulation", "max_num_requests", self.max_num_requests,
                       f">= num_requests={self.num_requests}")
        if self.max_rounds < 1:
            raise _err("simulation", "max_rounds", self.max_rounds, ">= 1")
        if not 0 <= self.warmup < 1:
            raise _err("simulation", "warmup", self.warmup, "in [0, 1)")
        for name in ("target_rel_se_respt", "target_abs_se_tput"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
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
        object.__setattr__(self, "profiles", tuple(self.profiles))
        object.__setattr__(self, "device_kinds", tuple(self.device_kinds))
        if not self.profiles:
            raise _err(c, "profiles", self.profiles, "a non-empty list of zoo profile names")
        if not self.device_kinds:
            raise _err(c, "device_kinds", self.device_kinds, "a non-empty list of device kinds")
        _check_range(c, "min_services", self.min_services, "max_services", self.max_services, 1)
        _check_range(c, "min_devices", self.min_devices, "max_devices", self.max_devices, 1)
        _check_range(
            c, "min_fragments", self.min_fragments, "max_fragments", self.max_fragments, 1
        )
        _check_range(c, "min_branches", self.min_branches, "max_branches", self.max_branches, 1)
        _check_range(c, "min_capacity", self.min_capacity, "max_capacity", self.max_capacity, 1)
        if not 0 <= self.semantic_probability <= 1:
            raise _err(c, "semantic_probability", self.semantic_probability, "in [0, 1]")
        if not 0 <= self.link_probability <= 1:
            raise _err(c, "link_probability", self.link_probability, "in [0, 1]")
        if self.max_scv < 0:
            raise _err(c, "max_scv", self.max_scv, ">= 0")
        _check_range(
            c, "min_bandwidth", self.min_bandwidth, "max_bandwidth", self.max_bandwidth, 1e-9
        )
        _check_range(c, "min_delay", self.min_delay, "max_delay", self.max_delay, 0.0)
        _check_range(
            c,
            "min_bottleneck_utilization",
            self.min_bottleneck_utilization,
            "max_bottleneck_utilization",
            self.max_bottleneck_utilization,
            1e-6,
        )
        if not 0 < self.max_link_utilization < 1:
            raise _err(c, "max_link_utilization", self.max_link_utilization, "in (0, 1)")
        _check_range(
            c, "min_sla_factor", self.min_sla_factor, "max_sla_factor", self.max_sla_factor, 1e-9
        )


SamplerConfig = ChainLikeConfig | EdgeConfig


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
        A :class:`ChainLikeConfig` or an :class:`EdgeConfig`.

    Raises:
        ValueError: On an unknown regime, an unknown key or an invalid value.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"sampler config {source} must be a mapping, got {type(data).__name__}")
    regime = data.get("regime")
    if regime not in REGIMES:
        raise ValueError(
            f"regime in sampler config {source} must be one of {REGIMES}, got {regime!r}"
        )
    cls: type[ChainLikeConfig] | type[EdgeConfig] = (
        EdgeConfig if regime == "edge" else ChainLikeConfig
    )
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown keys {unknown} in sampler config {source} (regime {regime!r}); known keys: "
            f"{sorted(known)}"
        )
    kwargs = dict(data)
    sim = kwargs.pop("simulation", None) or {}
    if not isinstance(sim, Mapping):
        raise ValueError(f"simulation in sampler config {source} must be a mapping, got {sim!r}")
    sim_known = {f.name for f in fields(SimulationConfig)}
    bad = sorted(set(sim) - sim_known)
    if bad:
        raise ValueError(
            f"unknown keys {bad} in the simulation section of sampler config {source}; known: "
            f"{sorted(sim_known)}"
        )
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


def _coerce(source: str, key: str, default: Any, value: Any) -> Any:
    """Check ``value`` against the type of the field's default (ints are accepted as floats)."""
    if isinstance(default, bool) or isinstance(default, str):
        if not isinstance(value, type(default)):
            raise ValueError(f"{key} in sampler config {source} must be a "
                             f"{type(default).__name__}, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key} in sampler config {source} must be an integer, got {value!r}")
        return value
    if default is None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{key} in sampler config {source} must be a number or null, got "
                             f"{value!r}")
        return None if value is None else float(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"{key} in sampler config {source} must be a number, got {value!r} (write "
                f"exponents with a sign and a dot, e.g. 1.25e+6, or YAML reads a string)"
            )
        return float(value)
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
            (``"chainnet_like"``, ``"large"``, ``"edge"``).

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
        config: A :class:`ChainLikeConfig` or an :class:`EdgeConfig`.
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
    raise ValueError(f"config must be a ChainLikeConfig or EdgeConfig, got {type(config).__name__}")


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


# -- edge ---------------------------------------------------------------------------------------


def _sample_edge(config: EdgeConfig, rng: np.random.Generator) -> Scenario:
    from datagen.catalog import get_device
    from datagen.splitting import make_service
    from datagen.zoo import get_profile

    for _ in range(_MAX_TRIES):
        n = int(rng.integers(config.min_devices, config.max_devices + 1))
        devices = []
        for i in range(n):
            kind = config.device_kinds[int(rng.integers(len(config.device_kinds)))]
            cap = int(rng.integers(config.min_capacity, config.max_capacity + 1))
            devices.append(get_device(kind, name=f"{kind}-{i}", capacity=cap))
        links = []
        for i in range(n):
            for j in range(i + 1, n):
                if rng.random() < config.link_probability:
                    bw = math.exp(
                        rng.uniform(math.log(config.min_bandwidth), math.log(config.max_bandwidth))
                    )
                    delay = float(rng.uniform(config.min_delay, config.max_delay))
                    links.append(Link(devices[i].name, devices[j].name, bw, delay))
        num_services = int(rng.integers(config.min_services, config.max_services + 1))
        services: list[Service] = []
        placement: dict[str, tuple[str, ...]] = {}
        free = {d.name: d.memory for d in devices}
        ok = True
        for c in range(num_services):
            pname = config.profiles[int(rng.integers(len(config.profiles)))]
            profile = get_profile(pname)
            scv = float(rng.uniform(0.0, config.max_scv))
            name = f"svc{c}-{pname}"
            if rng.random() < config.semantic_probability:
                b = int(rng.integers(config.min_branches, config.max_branches + 1))
                svc = make_service(name, profile, "semantic", 1.0, math.inf, branches=b, scv=scv)
            else:
                k = int(rng.integers(config.min_fragments, config.max_fragments + 1))
                k = min(k, len(profile.layers))
                svc = make_service(name, profile, "layer", 1.0, math.inf, k=k, scv=scv)
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
    factor = target / max(load.values())
    link_names = {link.name for link in scenario.links}
    link_load = max((v for k, v in load.items() if k in link_names), default=0.0)
    if link_load > 0:
        factor = min(factor, config.max_link_utilization / link_load)
    services = []
    for svc in scenario.services:
        sla = base[svc.name] * float(rng.uniform(config.min_sla_factor, config.max_sla_factor))
        services.append(replace(svc, arrival_rate=svc.arrival_rate * factor, sla=sla))
    return scenario.replace(services=tuple(services))
