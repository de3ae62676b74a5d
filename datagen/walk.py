r"""The one scenario walker: the hops of each service's branches, and offered load per device.

Everything that reads a :class:`~datagen.world.Scenario` as a queueing network walks it the
same way (DESIGN.md section 4): the simulator's compiler (:mod:`datagen.sim.compiled`), the
analytic predictor (:mod:`chainnet.analytic`), the samplers (:mod:`datagen.samplers`) and the
placer's policy context and online helpers. A request of service ``c`` visits, along each
branch ``b`` (a layer split has one), the fragments of that branch in order; before fragment
``i``, if the previous device (the previous fragment's, or ``service.source`` for the first
fragment) differs and a link joins the two devices, the request crosses that link carrying
the previous fragment's ``output_bytes`` (``service.input_bytes`` for the first). The last
fragment's output is not sent anywhere, and devices without a link transfer instantly.

The walker only says *what* is visited (:class:`Hop`); what a visit costs is the caller's
model (a simulator station, an M/G/1/K station, a load share), so each keeps its own
arithmetic.

The offered load of a device is the work per second its fragments bring, per server:

.. math::
    \rho_d = \sum_{(c, f):\ d(f) = d} \frac{\lambda_c\, \text{MACs}_f}{c_d\, s^{eff}_d}.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from datagen.world import Device, Link, Scenario, Service

__all__ = ["Hop", "ServiceWalk", "offered_load", "placed_services", "walk", "walk_service"]


class Hop(NamedTuple):
    """One visit of a request: a fragment computed on a device, or a transfer over a link.

    Args:
        fragment: Index of the fragment in ``service.fragments``; ``-1`` for a transfer.
        device: The device computing the fragment, or receiving the transfer.
        link: The link crossed by a transfer; ``None`` for a fragment.
        nbytes: Bytes sent over the link (a transfer), ``0`` for a fragment.
    """

    fragment: int
    device: str
    link: Link | None = None
    nbytes: int = 0


class ServiceWalk(NamedTuple):
    """The hops of one service.

    Args:
        service: The service.
        devices: Its placement: the device of each fragment, in fragment order.
        branches: The hops of each branch, in visiting order (one branch for a layer split).
    """

    service: Service
    devices: tuple[str, ...]
    branches: tuple[tuple[Hop, ...], ...]


def walk_service(
    scenario: Scenario, service: Service, links: dict[frozenset[str], Link] | None = None
) -> ServiceWalk:
    """The hops of each branch of ``service`` in ``scenario``.

    Args:
        scenario: The scenario (it holds the placement and the links).
        service: One of its services.
        links: The scenario's links by their end pair (default: ``None`` = built here; pass
            it when walking many services of one scenario).

    Returns:
        The :class:`ServiceWalk`.
    """
    if links is None:
        links = {link.key: link for link in scenario.links}
    placed = scenario.placement[service.name]
    branches = []
    for frag_ids in service.branch_indices():
        hops: list[Hop] = []
        prev, nbytes = service.source, service.input_bytes
        for i in frag_ids:
            dev = placed[i]
            if prev is not None and prev != dev:
                link = links.get(frozenset((prev, dev)))
                if link is not None:
                    hops.append(Hop(-1, dev, link, nbytes))
            hops.append(Hop(i, dev))
            prev, nbytes = dev, service.fragments[i].output_bytes
        branches.append(tuple(hops))
    return ServiceWalk(service, placed, tuple(branches))


def walk(scenario: Scenario) -> list[ServiceWalk]:
    """The :class:`ServiceWalk` of every service of ``scenario``, in scenario order."""
    links = {link.key: link for link in scenario.links}
    return [walk_service(scenario, svc, links) for svc in scenario.services]


def placed_services(scenario: Scenario | None) -> list[tuple[Service, tuple[str, ...]]]:
    """``(service, devices)`` pairs of a deployment (``[]`` for ``None``, an idle cluster)."""
    if scenario is None:
        return []
    return [(svc, scenario.placement[svc.name]) for svc in scenario.services]


def offered_load(
    devices: Sequence[Device], running: Iterable[tuple[Service, Sequence[str]]]
) -> dict[str, float]:
    r"""Offered load per server of each device, :math:`\rho_d` (see the module docstring).

    Args:
        devices: The devices (every one gets an entry, ``0.0`` when idle).
        running: ``(service, devices)`` pairs: each service and the device of each of its
            fragments (:func:`placed_services` of a scenario). Fragments on devices not in
            ``devices`` are ignored.

    Returns:
        ``{device name: rho}``, in the order of ``devices``.
    """
    rho = {d.name: 0.0 for d in devices}
    speed = {d.name: d.effective_speed * d.servers for d in devices}
    for svc, devs in running:
        for frag, dev in zip(svc.fragments, devs):
            if dev in rho:
                rho[dev] += svc.arrival_rate * frag.macs / speed[dev]
    return rho
