r"""Bridge from INFIDA to the world model: a delivery problem on an edge path and its scenario."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from datagen.world import Device, Fragment, Link, Placement, Scenario, Service
from placement.baselines.infida.gain import served_amounts
from placement.baselines.infida.network import (
    _TOL,
    Allocation,
    Candidate,
    InferenceNetwork,
    RequestType,
    _finite,
)

__all__ = ["ModelVariant", "DeliveryProblem", "path_delivery_problem", "allocation_scenario"]


@dataclass(frozen=True)
class ModelVariant:
    """A model variant of the task.

    Args:
        name: Unique name.
        size: Memory footprint (bytes).
        macs: Compute of one inference (MAC).
        accuracy: Accuracy :math:`A_m` in [0, 1].
    """

    name: str
    size: float
    macs: float
    accuracy: float

    def __post_init__(self) -> None:
        if _finite("size", self.size) <= 0:
            raise ValueError(f"size must be > 0 bytes for model {self.name!r}, got {self.size}")
        if _finite("macs", self.macs) <= 0:
            raise ValueError(f"macs must be > 0 for model {self.name!r}, got {self.macs}")
        if not 0 <= _finite("accuracy", self.accuracy) <= 1:
            raise ValueError(
                f"accuracy must be in [0, 1] for model {self.name!r}, got {self.accuracy}"
            )


@dataclass(frozen=True)
class DeliveryProblem:
    """An inference-delivery instance on an edge path plus its physical description.

    Built by :func:`path_delivery_problem`.

    Args:
        network: The INFIDA network (sizes and budgets in ``size_unit`` bytes).
        devices: Edge devices in path order, then the cloud.
        links: Physical links between consecutive devices.
        variants: The model variants.
        entries: Entry device of each request type (``network.request_types`` order).
        input_bytes: Bytes of one request's input (bytes).
        slot: Slot length (s).
        size_unit: Bytes per size unit of the network (bytes).
    """

    network: InferenceNetwork
    devices: tuple[Device, ...]
    links: tuple[Link, ...]
    variants: tuple[ModelVariant, ...]
    entries: tuple[str, ...]
    input_bytes: int
    slot: float
    size_unit: float


def path_delivery_problem(
    variants: Sequence[ModelVariant],
    edge_devices: Sequence[Device],
    cloud: Device,
    *,
    bandwidth: float = 12.5e6,
    delay: float = 0.005,
    budgets: Sequence[float] | None = None,
    alpha: float = 1.0,
    slot: float = 1.0,
    input_bytes: int = 150_528,
    repository_model: str | None = None,
    size_unit: float = 1e6,
) -> DeliveryProblem:
    r"""Build an inference-delivery instance on a path ``edge_0 - ... - edge_{n-1} - cloud``.

    Requests enter at each edge device and travel towards the cloud, which permanently hosts
    ``repository_model``. Serving a request entering at :math:`e_j` with model :math:`m` on
    :math:`v` (``v`` at or after :math:`e_j`) costs (spec 3.1) [R]

    .. math::
        C^v_{\mathbf p,m}=\sum_{\text{links } e_j\to v}\Big(\delta+\frac{\text{input}}{B}\Big)
        +\frac{o_m}{\text{speed}_v}+\alpha(1-A_m)

    and its potential capacity is :math:`l^v_m=\text{slot}\cdot\text{speed}_v/o_m` requests per
    slot (the cloud: unlimited).

    Args:
        variants: Model variants (sizes in bytes).
        edge_devices: Edge devices in path order (their ``memory`` is replaced by the budget).
        cloud: The cloud repository device.
        bandwidth: Bandwidth of every link (bytes/s) (default: ``12.5e6``, 100 Mbit/s).
        delay: Propagation delay of every link (s) (default: ``0.005``).
        budgets: Memory budget of each edge device (bytes) (default: the device's ``memory``).
        alpha: Cost of inaccuracy :math:`\alpha` (s per unit of :math:`1-A`) (default: ``1.0``).
        slot: Slot length (s) (default: ``1.0``).
        input_bytes: Bytes of one input (default: ``150_528``, a 224x224x3 uint8 image).
        repository_model: Variant hosted by the cloud (default: the most accurate).
        size_unit: Bytes per unit of the INFIDA sizes (default: ``1e6``, MB).

    Returns:
        The :class:`DeliveryProblem`.

    Raises:
        ValueError: On empty lists, a negative ``alpha``, a non-positive bandwidth or slot, an
            unknown repository model, or a budget below the smallest model.
    """
    vs = tuple(variants)
    edges = tuple(edge_devices)
    if not vs or not edges:
        raise ValueError("variants and edge_devices must not be empty")
    if _finite("alpha", alpha) < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    for name, val in (("bandwidth", bandwidth), ("slot", slot), ("size_unit", size_unit)):
        if _finite(name, val) <= 0:
            raise ValueError(f"{name} must be > 0, got {val}")
    if _finite("delay", delay) < 0:
        raise ValueError(f"delay must be >= 0, got {delay}")
    bud = [d.memory for d in edges] if budgets is None else list(budgets)
    if len(bud) != len(edges):
        raise ValueError(
            f"budgets must have one entry per edge device ({len(edges)}), got {len(bud)}"
        )
    repo_m = repository_model or max(vs, key=lambda m: m.accuracy).name
    if repo_m not in {m.name for m in vs}:
        raise ValueError(f"repository_model {repo_m!r} is not among the variants")
    edges = tuple(
        Device(
            d.name,
            d.speed,
            b,
            d.capacity,
            d.servers,
            d.kind,
            d.idle_power,
            d.busy_power,
            d.reserved_share,
        )
        for d, b in zip(edges, bud)
    )
    path = (*edges, cloud)
    links = tuple(Link(a.name, b.name, bandwidth, delay) for a, b in zip(path[:-1], path[1:]))
    hop = delay + input_bytes / bandwidth
    rts = []
    for j, entry in enumerate(edges):
        cands = []
        for k in range(j, len(path)):
            dev = path[k]
            for m in vs:
                if dev is cloud and m.name != repo_m:
                    continue
                cost = (k - j) * hop + m.macs / dev.effective_speed + alpha * (1 - m.accuracy)
                cap = math.inf if dev is cloud else slot * dev.effective_speed / m.macs
                cands.append(Candidate(dev.name, m.name, cost, cap))
        rts.append(RequestType(f"from_{entry.name}", tuple(cands)))
    sizes = {d.name: np.array([m.size / size_unit for m in vs]) for d in edges}
    net = InferenceNetwork(
        tuple(m.name for m in vs),
        sizes,
        {d.name: b / size_unit for d, b in zip(edges, bud)},
        tuple(rts),
        frozenset({(cloud.name, repo_m)}),
    )
    return DeliveryProblem(
        net,
        path,
        links,
        vs,
        tuple(d.name for d in edges),
        int(input_bytes),
        float(slot),
        float(size_unit),
    )


def allocation_scenario(
    problem: DeliveryProblem,
    x: Allocation,
    r: Sequence[float] | np.ndarray,
    *,
    scv: float = 0.0,
    sla: float = math.inf,
) -> Scenario:
    """Turn one slot's integral allocation and requests into a :class:`~datagen.Scenario`.

    Requests of each type are split among the allocated candidates as INFIDA's cost model
    serves them (cheapest first, up to capacity; the cloud takes the rest, see
    :func:`served_amounts`). Each (request type, host, model) with a positive share becomes a
    one-fragment service with arrival rate ``share / slot``, input ``input_bytes`` sent from the
    entry device, MACs of the model, and the model's weights counted once per host. A
    multi-hop transfer is one virtual link per (entry, host) pair with the bottleneck bandwidth
    and the summed delay (the world model has no routing), so transfers of different pairs do
    not queue together on shared hops.

    Args:
        problem: The instance.
        x: Integral allocation at the edge devices.
        r: Requests per type in the slot, shape ``(R,)``.
        scv: Service-time SCV (default: ``0``).
        sla: Deadline (s) (default: ``inf``).

    Returns:
        A validated :class:`~datagen.Scenario` (device memory = the budgets).

    Raises:
        ValueError: If ``x`` is not integral, or on invalid inputs.
    """
    net = problem.network
    xa = net.check_allocation(x)
    for v, a in xa.items():
        if not np.all((a == 0) | (a == 1)):
            raise ValueError(f"x[{v!r}] must be integral (0/1); round it with depround first")
    served = served_amounts(net, r, xa)
    variants = {m.name: m for m in problem.variants}
    order = {d.name: i for i, d in enumerate(problem.devices)}
    link_by_pos = {i: lk for i, lk in enumerate(problem.links)}
    services, place, loaded = [], {}, set()
    virtual: dict[tuple[str, str], Link] = {}
    for rt, entry, share in zip(net.request_types, problem.entries, served):
        for c, amount in zip(rt.candidates, share):
            if amount <= _TOL:
                continue
            m = variants[c.model]
            first_use = (c.node, c.model) not in loaded
            loaded.add((c.node, c.model))
            name = f"{rt.name}@{c.node}/{c.model}"
            frag = Fragment("f0", m.macs, int(m.size) if first_use else 0, 0)
            services.append(
                Service(
                    name,
                    (frag,),
                    amount / problem.slot,
                    sla=sla,
                    scv=scv,
                    accuracy=m.accuracy,
                    source=entry,
                    input_bytes=problem.input_bytes,
                )
            )
            place[name] = (c.node,)
            i, k = order[entry], order[c.node]
            if k > i and (entry, c.node) not in virtual:
                hops = [link_by_pos[h] for h in range(i, k)]
                virtual[(entry, c.node)] = Link(
                    entry, c.node, min(h.bandwidth for h in hops), sum(h.delay for h in hops)
                )
    if not services:
        raise ValueError("r holds no requests: nothing to simulate")
    return Scenario(problem.devices, tuple(services), Placement(place), tuple(virtual.values()))
