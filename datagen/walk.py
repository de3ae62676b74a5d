r"""The one scenario walker: the hops of each service's branches, and offered load per device.

Everything that reads a :class:`~datagen.world.Scenario` as a queueing network walks it the
same way (DESIGN.md section 4): the simulator's compiler (:mod:`datagen.sim.compiled`), the
analytic predictor (:mod:`chainnet.analytic`), the samplers (:mod:`datagen.samplers`,
:mod:`datagen.packing`) and the placer (its policy context, online helpers, candidate spaces,
objective and classic baselines). A request of service ``c`` visits, along each
branch ``b`` (a layer split has one), the fragments of that branch in order; before fragment
``i``, if the previous device (the previous fragment's, or ``service.source`` for the first
fragment) differs and a link joins the two devices, the request crosses that link carrying
the previous fragment's ``output_bytes`` (``service.input_bytes`` for the first). The last
fragment's output is not sent anywhere, and devices without a link transfer instantly.

The walker only says *what* is visited (:class:`Hop`); what a visit costs is the caller's
model (a simulator station, an M/G/1/K station, a load share), so each keeps its own
arithmetic.

The offered load of a device is the work per second its fragments bring, per server, with
:math:`S_f` the service time of fragment :math:`f` on the :math:`c_d` servers of its device
taken together (:func:`service_times`):

.. math::
    \rho_d = \sum_{(c, f):\ d(f) = d} \lambda_c S_f, \qquad
    S_f = \frac{\text{MACs}_f}{c_d\, s^{eff}_d}.

Two forms, one rule: :func:`walk` and :func:`offered_load` read :class:`~datagen.world.Scenario`
objects (the simulator's compiler, the analytic predictor, the samplers, the placer's policy
context and online helpers); :func:`walk_arrays` and :func:`offered_load_arrays` do the same on
the flat arrays of many scenarios at once (the ChainNet graph builder,
:mod:`chainnet.structure` and :mod:`chainnet.features`, and the placer's candidate batches,
which hold no ``Scenario``). The array form is vectorised because the graph builder is a hot
path (walking scenarios into :class:`Hop` objects would add about half its build time), and
the object form stays plain Python because going through numpy one scenario at a time would
make its callers several times slower.
``tests/datagen/test_walk.py`` checks that both forms give the same hops and loads.

Code that places fragments holds device indices and each fragment's offered work
:math:`w_f = \lambda_c\, \text{MACs}_f` (MAC/s) rather than scenarios: the placer's candidate
assignments (:mod:`placement.candidates`), the classic baselines, the objective's energy term
and the samplers' packings. It reads the same :math:`\rho_d` as :math:`\sum_f w_f / (c_d\,
s^{eff}_d)`: :func:`device_capacity` (the denominator), :func:`load_share` (one fragment's
share, for greedy steps that add fragments one at a time) and :func:`device_load` (every
device of an assignment, summed as :func:`offered_load_arrays` sums). Multiplying the rate by
the service time (the object form) or dividing the work by the capacity (this form), and
dividing before or after the sum, round differently, so the forms may differ in the last bit;
each caller always uses the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from datagen.world import Device, Link, Scenario, Service

__all__ = [
    "Hop",
    "PathArrays",
    "ServiceWalk",
    "device_capacity",
    "device_load",
    "load_share",
    "offered_load",
    "offered_load_arrays",
    "placed_services",
    "service_times",
    "walk",
    "walk_arrays",
    "walk_service",
]


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


def service_times(
    devices: Sequence[Device], running: Iterable[tuple[Service, Sequence[str]]]
) -> Iterator[tuple[Service, int, str, float]]:
    r"""Every placed fragment and its service time on its device's servers taken together.

    Args:
        devices: The devices.
        running: ``(service, devices)`` pairs (see :func:`offered_load`). Fragments on devices
            not in ``devices`` are skipped.

    Yields:
        ``(service, fragment index, device name, S_f)`` with
        :math:`S_f = \text{MACs}_f / (c_d\, s^{eff}_d)` (s), services in ``running`` order and
        fragments in service order.
    """
    speed = {d.name: d.effective_speed * d.servers for d in devices}
    for svc, devs in running:
        for i, (frag, dev) in enumerate(zip(svc.fragments, devs)):
            if dev in speed:
                yield svc, i, dev, frag.macs / speed[dev]


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
    for svc, _, dev, s in service_times(devices, running):
        rho[dev] += svc.arrival_rate * s
    return rho


class PathArrays(NamedTuple):
    """The walk of many services as flat arrays: the vectorised form of :func:`walk`.

    Fragment ``f`` of a path is preceded, when ``fragment_in_link[f] >= 0``, by the transfer
    ``Hop(-1, device of f, that link, fragment_in_bytes[f])``: the same hops as :func:`walk`.

    Attributes:
        fragment_path: Global path (branch) id of each fragment ``[F]``; the paths of service
            ``c`` are numbered consecutively, branch by branch.
        fragment_pos: Position of each fragment along its path ``[F]``.
        path_length: Number of fragments of each path ``[P]``.
        path_service: Service of each path ``[P]``.
        fragment_prev: The fragment before each one on its path, ``-1`` for the first ``[F]``.
        fragment_in_link: The link its input crosses, ``-1`` for none ``[F]``.
        fragment_in_bytes: Bytes of its input: the previous fragment's output, or the
            service's input for the first fragment (float64) ``[F]``.
    """

    fragment_path: np.ndarray
    fragment_pos: np.ndarray
    path_length: np.ndarray
    path_service: np.ndarray
    fragment_prev: np.ndarray
    fragment_in_link: np.ndarray
    fragment_in_bytes: np.ndarray


def walk_arrays(
    *,
    fragment_service: np.ndarray,
    fragment_branch: np.ndarray,
    fragment_device: np.ndarray,
    fragment_output_bytes: np.ndarray,
    service_num_branches: np.ndarray,
    service_source: np.ndarray,
    service_input_bytes: np.ndarray,
    link_a: np.ndarray,
    link_b: np.ndarray,
    num_devices: int,
) -> PathArrays:
    """The hops of many services at once, vectorised (the transfer rule of the module docstring).

    Fragments are listed service by service, each service's in fragment order; device and
    service indices are global (several scenarios may be concatenated, their indices offset).

    Args:
        fragment_service: Service of each fragment (int64) ``[F]``.
        fragment_branch: Branch of each fragment within its service (int64) ``[F]``.
        fragment_device: Device of each fragment (int64) ``[F]``.
        fragment_output_bytes: Output bytes of each fragment (float64) ``[F]``.
        service_num_branches: Branches of each service (int64) ``[S]``.
        service_source: Source device of each service, ``-1`` for none (int64) ``[S]``.
        service_input_bytes: Input bytes of each service (float64) ``[S]``.
        link_a: One end device of each link (int64) ``[E]``.
        link_b: The other end (int64) ``[E]``; at most one link per device pair.
        num_devices: Number of devices ``D``.

    Returns:
        The :class:`PathArrays`.
    """
    num_frag = fragment_service.shape[0]
    path_offset = np.concatenate(([0], np.cumsum(service_num_branches)[:-1])).astype(np.int64)
    num_paths = int(service_num_branches.sum())
    path = path_offset[fragment_service] + fragment_branch
    order = np.argsort(path, kind="stable")
    sorted_path = path[order]
    path_length = np.bincount(path, minlength=num_paths).astype(np.int64)
    path_start = np.concatenate(([0], np.cumsum(path_length)[:-1]))
    pos = np.empty(num_frag, dtype=np.int64)
    pos[order] = np.arange(num_frag) - path_start[sorted_path]
    path_service = np.repeat(np.arange(service_num_branches.shape[0]), service_num_branches)

    # previous fragment along the path (in sorted order it is the preceding entry)
    has_prev_sorted = np.zeros(num_frag, dtype=bool)
    has_prev_sorted[1:] = sorted_path[1:] == sorted_path[:-1]
    prev = np.full(num_frag, -1, dtype=np.int64)
    prev[order[has_prev_sorted]] = order[np.flatnonzero(has_prev_sorted) - 1]
    has_prev = prev >= 0

    # the transfer rule: from the previous device (or the source) when it differs and a link
    # joins the two
    src_dev = np.where(has_prev, fragment_device[np.maximum(prev, 0)],
                       service_source[fragment_service])
    in_bytes = np.where(has_prev, fragment_output_bytes[np.maximum(prev, 0)],
                        service_input_bytes[fragment_service]).astype(np.float64)
    in_link = np.full(num_frag, -1, dtype=np.int64)
    if link_a.shape[0] > 0:
        num_dev = np.int64(num_devices)
        lo, hi = np.minimum(link_a, link_b), np.maximum(link_a, link_b)
        keys = lo * num_dev + hi
        key_order = np.argsort(keys)
        sorted_keys = keys[key_order]
        moves = (src_dev >= 0) & (src_dev != fragment_device)
        q = (np.minimum(src_dev, fragment_device) * num_dev
             + np.maximum(src_dev, fragment_device))
        hit = np.clip(np.searchsorted(sorted_keys, q), 0, len(sorted_keys) - 1)
        found = moves & (sorted_keys[hit] == q)
        in_link = np.where(found, key_order[hit], -1)
    return PathArrays(
        fragment_path=path,
        fragment_pos=pos,
        path_length=path_length,
        path_service=path_service,
        fragment_prev=prev,
        fragment_in_link=in_link,
        fragment_in_bytes=in_bytes,
    )


def offered_load_arrays(
    fragment_device: np.ndarray, fragment_load: np.ndarray, device_servers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Offered load per device from flat arrays: the vectorised form of :func:`offered_load`.

    Args:
        fragment_device: Device of each fragment (int64) ``[F]``.
        fragment_load: :math:`\lambda_c\, \text{MACs}_f / s^{eff}_d`: the busy servers each
            fragment brings (float64) ``[F]``.
        device_servers: Servers of each device (float64) ``[D]``.

    Returns:
        ``(work, rho)``, both ``[D]``: the busy servers per device (Erlangs) and
        :math:`\rho_d` = work / servers. Equal to :func:`offered_load` bit for bit on
        single-server devices; on multi-server ones it divides by :math:`c_d` after the sum
        instead of before, so the two may differ in the last bit.
    """
    work = np.bincount(fragment_device, fragment_load, minlength=device_servers.shape[0])
    return work, work / device_servers


def device_capacity(devices: Sequence[Device]) -> np.ndarray:
    r"""The work per second each device's servers can do, :math:`c_d\, s^{eff}_d` (MAC/s), ``[D]``.

    The denominator of :math:`\rho_d` in :func:`load_share` and :func:`device_load`.
    """
    return np.array([d.effective_speed * d.servers for d in devices], dtype=np.float64)


def load_share(work: Any, capacity: Any) -> Any:
    r"""The load that offered work brings to a device: :math:`w / (c_d\, s^{eff}_d)`.

    Args:
        work: Offered work :math:`w_f = \lambda_c\, \text{MACs}_f` (MAC/s): a float or an
            array.
        capacity: :func:`device_capacity` of the device (a float) or of several devices (an
            array broadcasting against ``work``).

    Returns:
        The share of the servers the work keeps busy, shaped as ``work / capacity``.
    """
    return work / capacity


def device_load(
    fragment_device: np.ndarray, fragment_work: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    r"""Offered load per server of each device, :math:`\rho_d`, from an assignment's arrays.

    The :math:`\rho_d` of :func:`offered_load_arrays` in the units of code that places
    fragments: each device's work summed in fragment order, then divided by its capacity. A
    greedy step that adds one fragment at a time adds its :func:`load_share` instead, which
    rounds once per fragment and so may differ from this in the last bit.

    Args:
        fragment_device: Device index of each fragment (int64) ``[F]``.
        fragment_work: Offered work of each fragment, :math:`\lambda_c\, \text{MACs}_f`
            (MAC/s) (float64) ``[F]``.
        capacity: :func:`device_capacity` of each device ``[D]``.

    Returns:
        :math:`\rho_d` of every device ``[D]`` (``0.0`` when idle).
    """
    return offered_load_arrays(fragment_device, fragment_work, capacity)[1]
