"""The online loop's stand-ins for a placer and a predictor: a greedy placement, an M/G/1 latency.

:class:`~placement.online.OnlineExperiment` uses :func:`greedy_placement` when it is given no
placer and :func:`estimate_latency` when neither a predictor nor the placer's decision
predicts the latency of a split. Both read what is already running as
:class:`~placement.request.RunningService` records, the shape of the whole package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from chainnet.queueing import mg1_wait
from datagen.walk import offered_load, placed_services, service_times, walk_service
from datagen.world import Device, Scenario, Service
from placement.request import RunningService, as_running

__all__ = ["PlacementFn", "estimate_latency", "greedy_placement"]

#: A placement function: ``(devices, running, service) -> device of each fragment``, where
#: ``running`` holds the :class:`~placement.request.RunningService` records already deployed.
#: Return ``None`` when the service cannot be placed.
PlacementFn = Callable[
    [Sequence[Device], Sequence[RunningService], Service],
    "tuple[str, ...] | None",
]


def _device_loads(
    devices: Sequence[Device], running: Sequence[RunningService]
) -> tuple[dict[str, float], dict[str, float]]:
    """Offered utilisation and free memory (bytes) of each device."""
    free = {d.name: d.memory for d in devices}
    for r in running:
        for frag, dev in zip(r.service.fragments, r.devices):
            if dev in free:
                free[dev] -= frag.weight_bytes
    return offered_load(devices, ((r.service, r.devices) for r in running)), free


def greedy_placement(
    devices: Sequence[Device],
    running: Iterable[RunningService | tuple[Service, Sequence[str]]],
    service: Service,
) -> tuple[str, ...] | None:
    r"""Place fragments one by one where they finish soonest under the current load.

    Fragment :math:`f` goes to the device with free memory that minimises its M/M/1-style
    sojourn estimate given the load already placed (running services and earlier fragments):

    .. math::
        d^* = \arg\min_d \frac{m_f / s_d}{\max(\epsilon, 1 - \rho_d - \lambda m_f / s_d)}

    with :math:`s_d` the device's effective speed times its servers (MAC/s). Ties go to the
    first device. A lightweight stand-in for :class:`placement.Placer`.

    Args:
        devices: The cluster.
        running: The services already deployed: :class:`~placement.request.RunningService`
            records (or anything :func:`~placement.request.as_running` converts).
        service: The service to place.

    Returns:
        One device name per fragment, or ``None`` if some fragment fits on no device.
    """
    rho, free = _device_loads(devices, as_running(running))
    speed = {d.name: d.effective_speed * d.servers for d in devices}
    out: list[str] = []
    for frag in service.fragments:
        best, best_cost = None, math.inf
        for d in devices:
            if free[d.name] < frag.weight_bytes:
                continue
            m = frag.macs / speed[d.name]
            cost = m / max(1e-3, 1.0 - rho[d.name] - service.arrival_rate * m)
            if cost < best_cost:
                best, best_cost = d.name, cost
        if best is None:
            return None
        out.append(best)
        rho[best] += service.arrival_rate * (frag.macs / speed[best])
        free[best] -= frag.weight_bytes
    return tuple(out)


def estimate_latency(scenario: Scenario, service: str) -> float:
    r"""Analytic mean latency of one service (s): M/G/1 waits per device, fork-join by max.

    Every device is treated as one M/G/1 FCFS queue fed by all fragments placed on it
    (Pollaczek-Khinchine with per-fragment second moments); the latency of a branch is the sum
    of its fragments' sojourn times plus link transfers (bytes / bandwidth + delay), and a
    semantic split takes the slowest branch:

    .. math::
        W_d = \frac{\sum_f \lambda_f (1 + c^2_f)\, m_f^2}{2 (1 - \rho_d)}, \qquad
        L = \max_b \sum_{f \in b} (W_{d(f)} + m_f)

    with :math:`m_f` the mean service time (s) and :math:`\rho_d = \sum_f \lambda_f m_f` (the
    paths, :math:`m_f` and :math:`\rho_d` are the scenario walker's, :mod:`datagen.walk`).
    Capacity limits are ignored. Used to build contexts when no predictor is given.

    Args:
        scenario: The deployment.
        service: Name of the service whose latency to estimate.

    Returns:
        The estimate (s), ``inf`` if a device it uses is overloaded (:math:`\rho_d \ge 1`).
    """
    svc = scenario.service(service)
    placed = placed_services(scenario)
    rho = offered_load(scenario.devices, placed)
    second = dict.fromkeys(rho, 0.0)
    own: dict[int, float] = {}  # m_f of the service's fragments
    for other, i, dev, m in service_times(scenario.devices, placed):
        second[dev] += other.arrival_rate * (1.0 + other.scv) * m * m
        if other.name == service:
            own[i] = m
    worst = 0.0
    for hops in walk_service(scenario, svc).branches:
        total = 0.0
        for hop in hops:
            dev, link = hop.device, hop.link
            if link is not None:
                total += hop.nbytes / link.bandwidth + link.delay
                continue
            if rho[dev] >= 1.0:
                return math.inf
            total += mg1_wait(second[dev], rho[dev]) + own[hop.fragment]
        worst = max(worst, total)
    return worst

