"""Turning a request, a split choice and a device assignment into a :class:`datagen.Scenario`.

The search methods work on *assignments*: an integer array with the device index of every
fragment of every new service (services in request order, fragments in order). A
:class:`CandidateSpace` holds what is fixed for one placement problem (the built services of the
chosen split types, the running services, the devices' free memory) and converts assignments
into validated scenarios. Memory is a hard constraint: :meth:`CandidateSpace.feasible` checks it
vectorised, :meth:`CandidateSpace.random_assignment` only draws feasible assignments, and
:func:`check_fit` raises an :class:`InfeasibleRequestError` naming the shortfall when a request
cannot fit at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from chainnet.features import ScenarioArrays
from datagen.walk import device_capacity, device_load, load_share
from datagen.world import Device, Placement, Scenario, Service
from placement.request import PlacementRequest, ServiceRequest

__all__ = [
    "InfeasibleRequestError",
    "CandidateSpace",
    "build_service",
    "check_fit",
]

_MB = 1e6


class InfeasibleRequestError(ValueError):
    """A request cannot be placed: the message names the service and the memory shortfall."""


def build_service(request: ServiceRequest, split: str) -> Service:
    """Build the :class:`datagen.Service` of one service request for a split type.

    Args:
        request: The service request.
        split: ``"layer"`` or ``"semantic"``; must be one of ``request.splits``.

    Returns:
        The service, fragments from :func:`datagen.splitting.make_service`.

    Raises:
        ValueError: If ``split`` is not allowed by the request.
    """
    if split not in request.splits:
        raise ValueError(
            f"split {split!r} is not allowed for service {request.name!r}; allowed: "
            f"{request.splits}"
        )
    return _build_cached(request, split)


@lru_cache(maxsize=1024)
def _build_cached(request: ServiceRequest, split: str) -> Service:
    from datagen.splitting import make_service

    # The request's size of the split: branches of a semantic split, else the chain length k
    # of a layer split; make_service's defaults apply where the request leaves it open.
    size: dict[str, Any]
    if split == "semantic" and request.branches is not None:
        size = {"branches": request.branches}
    else:
        size = {"k": request.k if split == "layer" else None}
    return make_service(
        request.name,
        request.profile,
        split,
        request.arrival_rate,
        request.sla,
        scv=request.scv,
        **size,
    )


def _largest_fragment(service: Service) -> tuple[str, int]:
    frag = max(service.fragments, key=lambda f: f.weight_bytes)
    return frag.name, frag.weight_bytes


def check_fit(
    request: PlacementRequest, splits: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Check that every new service can fit in the free memory, for some allowed split.

    The check is necessary, not sufficient: each fragment must fit on the device with the most
    free memory, and all new weights together must fit in the total free memory. The search
    then only draws assignments that fit exactly.

    Args:
        request: The placement request.
        splits: Split type per service to check (default: ``None`` = every allowed split).

    Returns:
        The split types that pass, per service name (non-empty for every service).

    Raises:
        InfeasibleRequestError: Naming the service, the MB its largest fragment (or all of
            its weights) need and the largest free device memory (or the total free memory).
    """
    free = request.free_memory()
    largest = max(free.values())
    total_free = sum(free.values())
    ok: dict[str, tuple[str, ...]] = {}
    min_total = 0.0
    for sr in request.services:
        options = (splits[sr.name],) if splits is not None else sr.splits
        passing: list[str] = []
        reasons: list[str] = []
        best_total = math.inf
        for split in options:
            svc = build_service(sr, split)
            fname, need = _largest_fragment(svc)
            total = float(sum(f.weight_bytes for f in svc.fragments))
            if need > largest:
                reasons.append(
                    f"{split} split: fragment {fname!r} needs {need / _MB:.3f} MB but the largest "
                    f"free device memory is {largest / _MB:.3f} MB"
                )
            elif total > total_free:
                reasons.append(
                    f"{split} split: its weights need {total / _MB:.3f} MB but the devices have "
                    f"{total_free / _MB:.3f} MB free in total"
                )
            else:
                passing.append(split)
                best_total = min(best_total, total)
        if not passing:
            raise InfeasibleRequestError(
                f"service {sr.name!r} cannot be placed: " + "; ".join(reasons)
                + "; add a device with more memory, use more fragments (k/branches) or free "
                "memory by removing running services"
            )
        ok[sr.name] = tuple(passing)
        min_total += best_total
    if min_total > total_free:
        raise InfeasibleRequestError(
            f"the new services together need at least {min_total / _MB:.3f} MB of weights but "
            f"the devices have {total_free / _MB:.3f} MB free in total; add memory or deploy "
            "fewer services"
        )
    return ok


def _trusted_scenario(checked: Scenario, placement: dict[str, tuple[str, ...]]) -> Scenario:
    """``checked`` with another placement, without re-running :meth:`Scenario.validate`.

    Only for a placement of the same services over the same devices whose memory use was
    checked by the caller: every other rule of ``validate`` (names, references, fragment
    counts, links) holds as it held for ``checked``. Skipping it saves most of the cost of a
    candidate's scenario in the searches that score scenarios (``validate`` and the name
    checks of :class:`Placement` walk every fragment of every service, again per candidate).
    """
    plan = object.__new__(Placement)
    object.__setattr__(plan, "devices", placement)
    scenario = object.__new__(Scenario)
    object.__setattr__(scenario, "devices", checked.devices)
    object.__setattr__(scenario, "services", checked.services)
    object.__setattr__(scenario, "placement", plan)
    object.__setattr__(scenario, "links", checked.links)
    return scenario


class CandidateSpace:
    """The placements of one request with a fixed split type per service.

    Args:
        request: The placement request.
        splits: Split type of every new service (``{name: "layer" | "semantic"}``).
        services: Pre-built services to use instead of :func:`build_service` (optional, one
            per new service name).

    Attributes:
        devices: The devices, in request order.
        services: The new services, in request order.
        running: The running services.
        num_fragments: Number of decision variables (fragments of the new services).
        num_devices: Number of devices.
        weights: Weight bytes of each fragment, shape ``(F,)``.
        macs: MACs of each fragment, shape ``(F,)``.
        fragment_service: Index of the service of each fragment, shape ``(F,)``.
        free: Free memory of each device once running services are placed (bytes), ``(D,)``.
    """

    def __init__(
        self,
        request: PlacementRequest,
        splits: Mapping[str, str],
        services: Mapping[str, Service] | None = None,
    ) -> None:
        self.request = request
        self.devices: tuple[Device, ...] = request.devices
        self.device_names = [d.name for d in self.devices]
        self.device_index = {n: i for i, n in enumerate(self.device_names)}
        missing = [s.name for s in request.services if s.name not in splits]
        if missing:
            raise ValueError(f"splits must give a split type for every service, missing {missing}")
        built: list[Service] = []
        for sr in request.services:
            if services is not None and sr.name in services:
                built.append(services[sr.name])
            else:
                built.append(build_service(sr, splits[sr.name]))
        self.splits = {s.name: s.split for s in built}
        self.services: tuple[Service, ...] = tuple(built)
        self.running = request.running
        self.num_devices = len(self.devices)
        frag_service: list[int] = []
        weights: list[float] = []
        macs: list[float] = []
        self.offsets = [0]
        for i, svc in enumerate(self.services):
            for f in svc.fragments:
                frag_service.append(i)
                weights.append(f.weight_bytes)
                macs.append(f.macs * svc.arrival_rate)
            self.offsets.append(len(frag_service))
        self.num_fragments = len(frag_service)
        self.fragment_service = np.asarray(frag_service, dtype=np.int64)
        self.weights = np.asarray(weights, dtype=float)
        #: Offered work of each fragment (MAC/s): arrival rate x MACs.
        self.load = np.asarray(macs, dtype=float)
        free = request.free_memory()
        self.free = np.array([free[n] for n in self.device_names], dtype=float)
        #: Servers x effective speed of each device (MAC/s): the denominator of the load.
        self.speed = device_capacity(self.devices)
        self._fixed_services = tuple(r.service for r in self.running)
        self._fixed_placement = {r.name: r.devices for r in self.running}
        self._template: tuple[ScenarioArrays, np.ndarray, np.ndarray] | None = None
        # The first scenario built is validated in full; the later ones differ from it only
        # in the devices of the new fragments (see to_scenario).
        self._checked: Scenario | None = None
        running_bytes = np.zeros(self.num_devices)
        for r in self.running:
            for f, dev in zip(r.service.fragments, r.devices):
                running_bytes[self.device_index[dev]] += f.weight_bytes
        self._memory_base = running_bytes
        # Scenario.validate rejects used > memory; a margin covers summation-order rounding
        memory = np.array([d.memory for d in self.devices], dtype=float)
        self._memory_limit = memory - 1e-9 * np.maximum(memory, 1.0)

    # -- conversions -------------------------------------------------------------------------

    def to_scenario(self, assignment: Sequence[int] | np.ndarray) -> Scenario:
        """Build the validated scenario of an assignment (running services included).

        Args:
            assignment: Device index of each fragment, shape ``(F,)``.

        Returns:
            The scenario (new services first, then the running ones).

        Raises:
            datagen.ScenarioError: If the assignment breaks a memory limit.
        """
        a = self._check(assignment)
        names = self.device_names
        placement = dict(self._fixed_placement)
        for i, svc in enumerate(self.services):
            placement[svc.name] = tuple(names[j] for j in a[self.offsets[i] : self.offsets[i + 1]])
        if self._checked is None:
            scenario = Scenario(
                devices=self.devices,
                services=self.services + self._fixed_services,
                placement=Placement(placement),
                links=self.request.links,
            )
            self._checked = scenario
            return scenario
        used = self._memory_base + self.memory_used(a)
        if np.any(used > self._memory_limit):
            # over or within rounding of a limit: let Scenario decide and word the error
            return Scenario(
                devices=self.devices,
                services=self._checked.services,
                placement=Placement(placement),
                links=self._checked.links,
            )
        return _trusted_scenario(self._checked, placement)

    def arrays(self, assignments: np.ndarray) -> tuple[ScenarioArrays, np.ndarray]:
        """Flat predictor arrays of a batch of assignments, without building scenarios.

        The fixed part (devices, links, services, the running services' devices) is read
        once per space from one scenario; each call only fills in the devices of the new
        fragments (:func:`chainnet.builder.tile_arrays`). The arrays equal those of
        :func:`chainnet.builder.scenarios_to_arrays` on ``[to_scenario(a) for a in
        assignments]``.

        Args:
            assignments: Device index of every fragment of each candidate, shape ``(n, F)``
                (memory-feasible, as :meth:`to_scenario` requires).

        Returns:
            ``(arrays, service_names)``: the :class:`~chainnet.features.ScenarioArrays` of the
            ``n`` candidates and the name of each of their service rows, shape ``(n S,)``.
        """
        from chainnet.builder import scenarios_to_arrays, tile_arrays

        a = np.atleast_2d(np.asarray(assignments, dtype=np.int64))
        if self._template is None:
            base = self.to_scenario(a[0])
            arr = scenarios_to_arrays([base])
            # devices of the running services' fragments (they follow the new ones)
            self._template = (arr, arr.fragment_device[self.num_fragments:].copy(),
                              np.array([s.name for s in base.services], dtype=object))
        arr, fixed, names = self._template
        devices = np.hstack([a, np.broadcast_to(fixed, (a.shape[0], fixed.shape[0]))])
        return tile_arrays(arr, devices), np.tile(names, a.shape[0])

    def assignment_of(self, placement: Mapping[str, Sequence[str]]) -> np.ndarray:
        """Return the assignment of a placement given by device names per new service."""
        out: list[int] = []
        for svc in self.services:
            out.extend(self.device_index[d] for d in placement[svc.name])
        return np.asarray(out, dtype=np.int64)

    def _check(self, assignment: Sequence[int] | np.ndarray) -> np.ndarray:
        a = np.asarray(assignment, dtype=np.int64)
        if a.shape != (self.num_fragments,):
            raise ValueError(
                f"assignment must have shape ({self.num_fragments},), one device index per "
                f"fragment, got {a.shape}"
            )
        if a.size and (a.min() < 0 or a.max() >= self.num_devices):
            raise ValueError(
                f"assignment holds device indices outside 0..{self.num_devices - 1}: {a}"
            )
        return a

    # -- memory --------------------------------------------------------------------------------

    def memory_used(self, assignment: np.ndarray) -> np.ndarray:
        """Weights placed on each device by an assignment (bytes), shape ``(D,)``."""
        return np.bincount(assignment, weights=self.weights, minlength=self.num_devices)

    def feasible(self, assignment: Sequence[int] | np.ndarray) -> bool:
        """Whether an assignment respects every device's free memory."""
        a = self._check(assignment)
        return bool(np.all(self.memory_used(a) <= self.free + 1e-6))

    def feasible_batch(self, assignments: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`feasible` over a batch, shape ``(n, F) -> (n,)`` bools."""
        a = np.asarray(assignments, dtype=np.int64)
        n = a.shape[0]
        if n == 0:
            return np.zeros(0, dtype=bool)
        flat = (a + self.num_devices * np.arange(n)[:, None]).ravel()
        used = np.bincount(
            flat, weights=np.tile(self.weights, n), minlength=n * self.num_devices
        ).reshape(n, self.num_devices)
        return np.all(used <= self.free[None, :] + 1e-6, axis=1)

    def device_load(self, assignment: np.ndarray) -> np.ndarray:
        """Offered load per server of each device by the new services, shape ``(D,)``.

        :func:`datagen.walk.device_load` of the assignment (running services not included).
        """
        return device_load(assignment, self.load, self.speed)

    # -- constructions ---------------------------------------------------------------------------

    def random_assignment(self, rng: np.random.Generator, max_tries: int = 50) -> np.ndarray:
        """Draw a random memory-feasible assignment (randomised first fit).

        Fragments are visited in random order; each goes to a uniformly drawn device among
        those with room left.

        Args:
            rng: Random generator.
            max_tries: Number of restarts before giving up (default: ``50``).

        Returns:
            A feasible assignment, shape ``(F,)``.

        Raises:
            InfeasibleRequestError: If no feasible assignment was found.
        """
        for _ in range(max_tries):
            free = self.free.copy()
            a = np.empty(self.num_fragments, dtype=np.int64)
            ok = True
            for j in rng.permutation(self.num_fragments):
                room = np.flatnonzero(free + 1e-6 >= self.weights[j])
                if room.size == 0:
                    ok = False
                    break
                d = int(room[rng.integers(room.size)])
                a[j] = d
                free[d] -= self.weights[j]
            if ok:
                return a
        return self.greedy_assignment()

    def greedy_assignment(self) -> np.ndarray:
        """A load-balancing feasible assignment (heaviest fragment first, least finish time).

        Each fragment goes to the device that would have the smallest offered utilisation
        after receiving it, among the devices with memory left (running services' load
        included).

        Returns:
            A feasible assignment, shape ``(F,)``.

        Raises:
            InfeasibleRequestError: If some fragment fits on no device.
        """
        free = self.free.copy()
        util = self._running_util()
        a = np.empty(self.num_fragments, dtype=np.int64)
        for j in np.argsort(-self.load, kind="stable"):
            room = free + 1e-6 >= self.weights[j]
            if not room.any():
                # Fall back to packing by memory: the largest weights first.
                return self._pack_by_memory()
            after = np.where(room, util + load_share(self.load[j], self.speed), np.inf)
            d = int(np.argmin(after))
            a[j] = d
            free[d] -= self.weights[j]
            util[d] += load_share(self.load[j], self.speed[d])
        return a

    def _pack_by_memory(self) -> np.ndarray:
        free = self.free.copy()
        a = np.empty(self.num_fragments, dtype=np.int64)
        for j in np.argsort(-self.weights, kind="stable"):
            d = int(np.argmax(free))
            if free[d] + 1e-6 < self.weights[j]:
                svc = self.services[self.fragment_service[j]]
                raise InfeasibleRequestError(
                    f"service {svc.name!r} cannot be placed: a fragment needs "
                    f"{self.weights[j] / _MB:.3f} MB but the largest free device memory left "
                    f"is {free[d] / _MB:.3f} MB once the other fragments are placed; add memory"
                )
            a[j] = d
            free[d] -= self.weights[j]
        return a

    def _running_util(self) -> np.ndarray:
        """Offered load per server of each device by the running services, shape ``(D,)``.

        Their fragments added one at a time, as :meth:`greedy_assignment` goes on adding the
        new ones.
        """
        util = np.zeros(self.num_devices)
        for r in self.running:
            for f, dev in zip(r.service.fragments, r.devices):
                i = self.device_index[dev]
                util[i] += load_share(r.service.arrival_rate * f.macs, self.speed[i])
        return util

    def key(self, assignment: np.ndarray) -> bytes:
        """A hashable key of an assignment (for caches)."""
        return np.asarray(assignment, dtype=np.int64).tobytes()
