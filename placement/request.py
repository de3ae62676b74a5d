"""What a user asks the placer for: the cluster, the services to deploy and the running ones.

A :class:`PlacementRequest` bundles the devices (and optional links) of an edge cluster, the
new services to deploy (:class:`ServiceRequest`: a DNN profile, an arrival rate, an SLA and the
split types allowed) and the services already running with fixed placements
(:class:`RunningService`). Every constructor validates its input and raises a
:class:`RequestError` (a :class:`ValueError`) naming the field, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datagen.catalog import LinkPreset, star_links
from datagen.splitting import MAX_BRANCHES
from datagen.validation import as_int, as_real, check_name, set_field, show_value
from datagen.world import (
    SPLIT_TYPES,
    Device,
    DNNProfile,
    Link,
    Scenario,
    Service,
)

__all__ = [
    "RequestError",
    "ServiceRequest",
    "RunningService",
    "PlacementRequest",
    "as_running",
]


class RequestError(ValueError):
    """A placement request is invalid; the message names the field, the value and the fix."""


@dataclass(frozen=True)
class ServiceRequest:
    """One new DNN inference service to deploy.

    Args:
        name: Unique service name.
        profile: The DNN profile to split.
        arrival_rate: Mean Poisson arrival rate (requests/s), ``> 0``.
        sla: Deadline of one request (s), ``> 0`` (default: ``inf`` = no deadline).
        splits: Split types allowed, a non-empty subset of ``("layer", "semantic")``
            (default: both).
        k: Number of fragments of a layer split, at most the profile's layers with MACs > 0
            (default: ``None`` = the splitter's default).
        branches: Number of branches of a semantic split, in ``[2, MAX_BRANCHES]`` (see
            :data:`datagen.splitting.MAX_BRANCHES`) (default: ``None`` = the splitter's
            default).
        scv: Squared coefficient of variation of service times, ``>= 0`` (default: ``0.0``).
    """

    name: str
    profile: DNNProfile
    arrival_rate: float
    sla: float = math.inf
    splits: tuple[str, ...] = SPLIT_TYPES
    k: int | None = None
    branches: int | None = None
    scv: float = 0.0

    def __post_init__(self) -> None:
        check_name("name", self.name, error=RequestError)
        owner = f"service request {self.name!r}"
        if not isinstance(self.profile, DNNProfile):
            raise RequestError(
                f"profile must be a datagen.DNNProfile for {owner}, got "
                f"{type(self.profile).__name__}; use datagen.zoo.get_profile(name)"
            )
        rate = as_real(self.arrival_rate)
        if rate is None or not math.isfinite(rate):
            raise RequestError(
                f"arrival_rate must be a finite number for {owner}, got "
                f"{show_value(self.arrival_rate)}"
            )
        if rate <= 0:
            raise RequestError(
                f"arrival_rate must be > 0 requests/s for {owner}, got {self.arrival_rate!r}"
            )
        set_field(self, "arrival_rate", rate)
        sla = as_real(self.sla)
        if sla is None or math.isnan(sla) or sla <= 0:
            raise RequestError(
                f"sla must be a number of seconds > 0 for {owner}, got {show_value(self.sla)}"
            )
        set_field(self, "sla", sla)
        splits = (self.splits,) if isinstance(self.splits, str) else tuple(self.splits)
        if not splits:
            raise RequestError(f"splits must name at least one of {SPLIT_TYPES} for {owner}")
        bad = [s for s in splits if s not in SPLIT_TYPES]
        if bad:
            raise RequestError(f"splits must be a subset of {SPLIT_TYPES} for {owner}, got {bad}")
        set_field(self, "splits", tuple(dict.fromkeys(splits)))
        positive = sum(1 for layer in self.profile.layers if layer.macs > 0)
        # k is bounded by the layers with MACs (each fragment needs one), branches by
        # MAX_BRANCHES: both count fragments the placer must assign.
        for fname, lo, hi, why in (
            ("k", 1, positive, f"the layers with MACs > 0 of profile {self.profile.name!r}"),
            ("branches", 2, MAX_BRANCHES, "MAX_BRANCHES"),
        ):
            raw = getattr(self, fname)
            if raw is None:
                continue
            v = as_int(raw)
            if v is None or v < lo:
                raise RequestError(
                    f"{fname} must be an integer >= {lo} or None for {owner}, got {show_value(raw)}"
                )
            if v > hi:
                raise RequestError(
                    f"{fname} must be <= {hi} ({why}) for {owner}, got {show_value(raw)}"
                )
            set_field(self, fname, v)
        scv = as_real(self.scv)
        if scv is None or not math.isfinite(scv):
            raise RequestError(
                f"scv must be a finite number >= 0 for {owner}, got {show_value(self.scv)}"
            )
        if scv < 0:
            raise RequestError(f"scv must be >= 0 for {owner}, got {self.scv!r}")
        set_field(self, "scv", scv)


@dataclass(frozen=True)
class RunningService:
    """A service already deployed, with a fixed placement the placer must not change.

    Args:
        service: The running service.
        devices: One device name per fragment of ``service``, in order.
    """

    service: Service
    devices: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.service, Service):
            raise RequestError(
                f"service must be a datagen.Service, got {type(self.service).__name__}"
            )
        if isinstance(self.devices, str) or not isinstance(self.devices, Sequence):
            raise RequestError(
                f"devices of running service {self.service.name!r} must be a sequence of "
                f"device names, got {self.devices!r}"
            )
        devs = tuple(self.devices)
        if len(devs) != len(self.service.fragments):
            raise RequestError(
                f"devices of running service {self.service.name!r} must name "
                f"{len(self.service.fragments)} devices (one per fragment), got {len(devs)}"
            )
        set_field(self, "devices", devs)

    @property
    def name(self) -> str:
        """The service name."""
        return self.service.name


def as_running(items: Iterable[Any]) -> tuple[RunningService, ...]:
    """The services already deployed, as :class:`RunningService` records.

    Every part of the package that reads "what is already running" (the request, the split
    policies' load context, the online loop's placement functions) takes these records; this
    converts the other shapes a caller may hold.

    Args:
        items: :class:`RunningService` objects, ``(Service, devices)`` pairs or whole
            :class:`datagen.Scenario` objects (their services and placements are taken).

    Returns:
        One record per running service, in order.

    Raises:
        RequestError: On an item of another type.
    """
    out: list[RunningService] = []
    for i, item in enumerate(items):
        if isinstance(item, RunningService):
            out.append(item)
        elif isinstance(item, Scenario):
            out.extend(RunningService(s, item.placement[s.name]) for s in item.services)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Service):
            out.append(RunningService(item[0], tuple(item[1])))
        else:
            raise RequestError(
                f"running[{i}] must be a RunningService, a (Service, devices) pair or a "
                f"Scenario, got {type(item).__name__}"
            )
    return tuple(out)


@dataclass(frozen=True)
class PlacementRequest:
    """The cluster, the services to deploy and the services already running.

    Args:
        devices: The devices (unique names).
        links: Optional links between devices (default: ``()`` = instantaneous transfers).
        services: The new services to deploy (unique names, at least one).
        running: Services already running with fixed placements: :class:`RunningService`
            objects, ``(Service, devices)`` pairs or whole :class:`datagen.Scenario` objects
            (their services and placements are taken) (default: ``()``).

    Raises:
        RequestError: On an empty device or service list, duplicate names, links or running
            placements referring to unknown devices, or running services that already exceed
            a device's memory.
    """

    devices: tuple[Device, ...]
    links: tuple[Link, ...] = ()
    services: tuple[ServiceRequest, ...] = ()
    running: tuple[RunningService, ...] = field(default=())

    def __post_init__(self) -> None:
        devices = tuple(self.devices)
        if not devices:
            raise RequestError("devices must hold at least one datagen.Device, got []")
        for i, d in enumerate(devices):
            if not isinstance(d, Device):
                raise RequestError(f"devices[{i}] must be a datagen.Device, got {d!r}")
        names = [d.name for d in devices]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise RequestError(f"device names must be unique, got duplicates {dup}")
        set_field(self, "devices", devices)
        links = tuple(self.links)
        known = set(names)
        for i, link in enumerate(links):
            if not isinstance(link, Link):
                raise RequestError(f"links[{i}] must be a datagen.Link, got {link!r}")
            for end in (link.a, link.b):
                if end not in known:
                    raise RequestError(
                        f"link {link.name!r} refers to unknown device {end!r}; known: "
                        f"{sorted(known)}"
                    )
        set_field(self, "links", links)
        services = (
            (self.services,) if isinstance(self.services, ServiceRequest) else tuple(self.services)
        )
        if not services:
            raise RequestError("services must hold at least one ServiceRequest to deploy, got []")
        for i, s in enumerate(services):
            if not isinstance(s, ServiceRequest):
                raise RequestError(f"services[{i}] must be a ServiceRequest, got {s!r}")
        set_field(self, "services", services)
        running = as_running(self.running)
        set_field(self, "running", running)
        all_names = [s.name for s in services] + [r.name for r in running]
        dup = sorted({n for n in all_names if all_names.count(n) > 1})
        if dup:
            raise RequestError(
                f"service names must be unique across new and running services, got "
                f"duplicates {dup}; rename the new service"
            )
        used = dict.fromkeys(names, 0.0)
        for r in running:
            for frag, dev in zip(r.service.fragments, r.devices):
                if dev not in known:
                    raise RequestError(
                        f"running service {r.name!r} places fragment {frag.name!r} on unknown "
                        f"device {dev!r}; known: {sorted(known)}"
                    )
                used[dev] += frag.weight_bytes
        for d in devices:
            if used[d.name] > d.memory:
                raise RequestError(
                    f"running services already exceed the memory of device {d.name!r}: "
                    f"{used[d.name] / 1e6:.3f} MB placed on {d.memory / 1e6:.3f} MB"
                )

    @classmethod
    def star(
        cls,
        devices: Sequence[Device],
        link: str | LinkPreset = "wifi",
        *,
        services: ServiceRequest | Iterable[ServiceRequest],
        running: Iterable[Any] = (),
        access: Mapping[str, str | LinkPreset] | None = None,
        links: Iterable[Link] = (),
    ) -> PlacementRequest:
        r"""A request on a star network: every device joins one access point over a link preset.

        A transfer between two devices crosses both devices' access links, so each pair gets
        the slower bandwidth and the sum of both one-hop delays (see
        :func:`datagen.catalog.star_links`): with the default ``"wifi"``, a 3.2 MB activation
        between two Wi-Fi devices takes about :math:`3.2 / 12.5 + 0.004 = 0.26` s, so the
        placer no longer splits a DNN for free.

        Args:
            devices: The devices (unique names).
            link: Access link of every device: a preset of :func:`datagen.catalog.list_links`
                (``"wifi"``, ``"ethernet"``, ``"4g_uplink"``, ``"5g_uplink"``) or a
                :class:`datagen.catalog.LinkPreset` (default: ``"wifi"``).
            services: The new services to deploy.
            running: Services already running, as in :class:`PlacementRequest`
                (default: ``()``).
            access: Per-device access links overriding ``link``, e.g.
                ``{"server": "ethernet"}`` (default: ``None``).
            links: Explicit links replacing the star's link of the same device pair
                (default: ``()``).

        Returns:
            The validated request, with one link per pair of devices.

        Raises:
            RequestError: On an unknown link preset (the message lists the known ones), an
                ``access`` key that is not a device, and anything :class:`PlacementRequest`
                rejects.

        Example:
            >>> from datagen.catalog import get_device
            >>> from datagen.zoo import get_profile
            >>> req = PlacementRequest.star(
            ...     [get_device("rpi4", "pi"), get_device("jetson_nano", "nano")], "wifi",
            ...     services=[ServiceRequest("cam", get_profile("mobilenet_v2"), 4.0)])
            >>> req.links[0].bandwidth  # bytes/s
            12500000.0
        """
        devs = tuple(devices)
        for i, d in enumerate(devs):
            if not isinstance(d, Device):
                raise RequestError(f"devices[{i}] must be a datagen.Device, got {d!r}")
        try:
            star = star_links([d.name for d in devs], link, access)
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        extra = tuple(links)
        for i, x in enumerate(extra):
            if not isinstance(x, Link):
                raise RequestError(f"links[{i}] must be a datagen.Link, got {x!r}")
        given = {x.key for x in extra}
        all_links = tuple(x for x in star if x.key not in given) + extra
        new = (services,) if isinstance(services, ServiceRequest) else tuple(services)
        return cls(devices=devs, links=all_links, services=new, running=tuple(running))

    def free_memory(self) -> dict[str, float]:
        """Memory left on each device once the running services' weights are placed (bytes)."""
        free = {d.name: d.memory for d in self.devices}
        for r in self.running:
            for frag, dev in zip(r.service.fragments, r.devices):
                free[dev] -= frag.weight_bytes
        return free

    def service(self, name: str) -> ServiceRequest:
        """Return the new service request called ``name``.

        Raises:
            KeyError: If no new service has that name.
        """
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)
