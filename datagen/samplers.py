"""The per-regime samplers: draw one random scenario of a sampler config.

The regimes are ``chainnet_like``/``large``, ``edge`` and ``placer`` (see
:mod:`datagen.sampling` for their rules).

Every sampler takes its config and an ``rng`` it advances, so a scenario is a pure function of
the generator's state. Dispatched by :func:`datagen.sampling.sample_scenario`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache

import numpy as np

from datagen.packing import FIT_TRIES, Packing, greedy, place_fragments
from datagen.sampler_configs import (
    PLACER_STRATEGIES,
    ChainLikeConfig,
    EdgeConfig,
    PlacerConfig,
)
from datagen.walk import device_capacity, offered_load, placed_services, walk
from datagen.world import (
    Device,
    DNNProfile,
    Fragment,
    Link,
    Placement,
    Scenario,
    Service,
)

__all__ = [
    "MAX_TRIES",
    "unit_loads",
    "chainnet_device_name",
    "chainnet_fragment_name",
    "chainnet_service_name",
    "sample_chainlike",
    "sample_edge",
    "sample_placer",
]

#: Draws of a whole scenario before a sampler gives up (the config's ranges are infeasible).
MAX_TRIES = 1000


def chainnet_device_name(index: int) -> str:
    """Canonical name of device ``index`` (1-based, as in the ChainNet files): ``"d<index>"``."""
    return f"d{index}"


def chainnet_service_name(index: int) -> str:
    """Canonical name of service ``index`` (1-based within a sample): ``"s<index>"``."""
    return f"s{index}"


def chainnet_fragment_name(index: int) -> str:
    """Canonical name of fragment ``index`` (1-based within a service): ``"f<index>"``."""
    return f"f{index}"


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
    for _ in range(MAX_TRIES):
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
        f"no valid structure found in {MAX_TRIES} draws for sampler config {config.regime!r}; "
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


def sample_chainlike(config: ChainLikeConfig, rng: np.random.Generator) -> Scenario:
    """Draw a ``chainnet_like`` (or ``large``) scenario: unit-speed devices, no links."""
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


def sample_edge(config: EdgeConfig, rng: np.random.Generator) -> Scenario:
    """Draw an ``edge`` scenario: zoo DNNs on catalog devices, rates set by the bottleneck.

    Raises:
        ValueError: If no memory-feasible scenario is found in :data:`MAX_TRIES` draws.
    """
    from datagen.catalog import get_device

    for _ in range(MAX_TRIES):
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
        f"no memory-feasible edge scenario found in {MAX_TRIES} draws; add larger device kinds "
        f"or smaller profiles to the config"
    )


def unit_loads(scenario: Scenario) -> tuple[dict[str, float], dict[str, float]]:
    """Utilisation of each resource at the current rates, and each service's unloaded latency.

    Returns:
        ``(load, base_latency)``: the :func:`~datagen.walk.offered_load` of every device
        (``0.0`` when idle) followed by the utilisation of every link a request crosses, by
        name; and the latency of each service without queueing (its slowest branch), by name.
    """
    load = offered_load(scenario.devices, placed_services(scenario))
    speed = {d.name: d.effective_speed for d in scenario.devices}
    base_latency: dict[str, float] = {}
    for svc, _, branches in walk(scenario):
        lam = svc.arrival_rate
        branch_time = []
        for hops in branches:
            t = 0.0
            for hop in hops:
                link = hop.link
                if link is None:
                    t += svc.fragments[hop.fragment].macs / speed[hop.device]
                    continue
                tx = hop.nbytes / link.bandwidth
                load[link.name] = load.get(link.name, 0.0) + lam * tx
                t += tx + link.delay
            branch_time.append(t)
        base_latency[svc.name] = max(branch_time)
    return load, base_latency


def _scale_edge_rates(
    scenario: Scenario, config: EdgeConfig, rng: np.random.Generator
) -> Scenario:
    load, base = unit_loads(scenario)
    target = float(
        rng.uniform(config.min_bottleneck_utilization, config.max_bottleneck_utilization)
    )
    factor = _link_capped(target / max(load.values()), load, scenario, config.max_link_utilization)
    slas = [
        base[svc.name] * float(rng.uniform(config.min_sla_factor, config.max_sla_factor))
        for svc in scenario.services
    ]
    return _rescaled(scenario, factor, slas)


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


def sample_placer(config: PlacerConfig, rng: np.random.Generator) -> Scenario:
    """Draw a ``placer`` scenario: a placer request and a placement from its search.

    Raises:
        ValueError: If no memory-feasible scenario is found in :data:`MAX_TRIES` draws.
    """
    from datagen.catalog import get_device

    kinds, names = config.device_kinds, config.profiles
    probs = np.cumsum([getattr(config, f"{s}_probability") for s in PLACER_STRATEGIES])
    log_cap = (math.log(config.min_capacity), math.log(config.max_capacity + 1))
    log_speed = (math.log(config.min_speed_factor), math.log(config.max_speed_factor))
    for _ in range(MAX_TRIES):
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
        speed = device_capacity(devices)
        rates = _placer_rates(config, macs, float(speed.sum()), rng)
        frag_rates = np.concatenate(
            [np.full(len(t.fragments), r) for t, r in zip(templates, rates)]
        )
        packing = Packing(
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
        for _ in range(FIT_TRIES):
            a = place_fragments(packing, strategy, config, rng)
            if a is not None and packing.can_complete(a):
                break
            a = None
        if a is None:
            a = greedy(packing)
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
        f"no memory-feasible placer scenario found in {MAX_TRIES} draws; add device kinds with "
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
    load, base = unit_loads(scenario)
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
