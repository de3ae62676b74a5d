"""The scenario: devices, links, services and a placement, with its JSON form.

:class:`Scenario` runs :meth:`Scenario.validate` (references and memory, the cross-field
checks) on construction, so a ``Scenario`` object is always consistent.
:meth:`Scenario.to_dict` / :meth:`Scenario.from_dict` round-trip losslessly, and
``from_dict`` reports malformed input with a path to the bad field; a key it does not know
(``capacty``) is an error naming the closest known one. Re-exported by :mod:`datagen.world`.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from datagen.devices import Device, Link
from datagen.services import MMPP2, Fragment, Service
from datagen.validation import (
    MAX_INT,
    ScenarioError,
    check_name,
    is_int,
    is_real,
    set_field,
    show_value,
)

__all__ = ["Placement", "Scenario"]


@dataclass(frozen=True)
class Placement:
    """Where each fragment runs: service name -> device name of each fragment, in order.

    Args:
        devices: Mapping from service name to a tuple with one device name per fragment.
    """

    devices: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        if not isinstance(self.devices, Mapping):
            raise ScenarioError(
                f"placement must map service name -> device names, got {self.devices!r}"
            )
        clean: dict[str, tuple[str, ...]] = {}
        for svc, devs in self.devices.items():
            check_name("service name", svc, "placement", error=ScenarioError)
            if isinstance(devs, str) or not isinstance(devs, Sequence):
                raise ScenarioError(
                    f"placement of service {svc!r} must be a list of device names, got {devs!r}"
                )
            for i, d in enumerate(devs):
                check_name(
                    f"device of fragment {i}",
                    d,
                    f"service {svc!r} in placement",
                    error=ScenarioError,
                )
            clean[svc] = tuple(devs)
        set_field(self, "devices", clean)

    def __getitem__(self, service: str) -> tuple[str, ...]:
        return self.devices[service]

    def __iter__(self) -> Iterator[str]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.devices.items())))


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """Devices, optional links, services and a placement: one deployment to evaluate.

    Construction runs :meth:`validate`, so a ``Scenario`` object is always consistent.

    Args:
        devices: The devices (unique names).
        services: The services (unique names).
        placement: Where each fragment of each service runs.
        links: Optional links between devices (default: ``()`` = instantaneous transfers).
    """

    devices: tuple[Device, ...]
    services: tuple[Service, ...]
    placement: Placement
    links: tuple[Link, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "devices", tuple(self.devices))
        set_field(self, "services", tuple(self.services))
        set_field(self, "links", tuple(self.links))
        if isinstance(self.placement, Mapping):
            set_field(self, "placement", Placement(self.placement))
        self.validate()

    @cached_property
    def _device_index(self) -> dict[str, int]:
        return {d.name: i for i, d in enumerate(self.devices)}

    # -- checks ----------------------------------------------------------------------------

    def validate(self) -> None:
        """Check every cross-field rule.

        Raises:
            ScenarioError: On duplicate names, unknown references, a placement whose length
                does not match a service's fragments, or a device whose memory cannot hold
                the weights of the fragments placed on it.
        """
        if not self.devices:
            raise ScenarioError("devices must hold at least one Device, got []")
        if not self.services:
            raise ScenarioError("services must hold at least one Service, got []")
        for i, d in enumerate(self.devices):
            if not isinstance(d, Device):
                raise ScenarioError(f"devices[{i}] must be a Device, got {d!r}")
        for i, s in enumerate(self.services):
            if not isinstance(s, Service):
                raise ScenarioError(f"services[{i}] must be a Service, got {s!r}")
        for i, link in enumerate(self.links):
            if not isinstance(link, Link):
                raise ScenarioError(f"links[{i}] must be a Link, got {link!r}")
        if not isinstance(self.placement, Placement):
            raise ScenarioError(f"placement must be a Placement, got {self.placement!r}")
        dev_names = [d.name for d in self.devices]
        _no_duplicates("device names", dev_names)
        _no_duplicates("service names", [s.name for s in self.services])
        known = set(dev_names)
        seen_links: set[frozenset[str]] = set()
        for link in self.links:
            for end in (link.a, link.b):
                if end not in known:
                    raise ScenarioError(
                        f"link {link.name!r} refers to unknown device {end!r}; known devices: "
                        f"{sorted(known)}"
                    )
            if link.key in seen_links:
                raise ScenarioError(f"link {link.name!r} is declared twice; keep one")
            seen_links.add(link.key)
        svc_names = {s.name for s in self.services}
        extra = set(self.placement.devices) - svc_names
        if extra:
            raise ScenarioError(
                f"placement refers to unknown services {sorted(extra)}; known: {sorted(svc_names)}"
            )
        used = dict.fromkeys(dev_names, 0.0)
        for svc in self.services:
            if svc.name not in self.placement.devices:
                raise ScenarioError(
                    f"service {svc.name!r} is not placed: add placement[{svc.name!r}] with "
                    f"{len(svc.fragments)} device names"
                )
            devs = self.placement[svc.name]
            if len(devs) != len(svc.fragments):
                raise ScenarioError(
                    f"placement of service {svc.name!r} must name {len(svc.fragments)} devices "
                    f"(one per fragment), got {len(devs)}"
                )
            for frag, dev in zip(svc.fragments, devs):
                if dev not in known:
                    raise ScenarioError(
                        f"fragment {frag.name!r} of service {svc.name!r} is placed on unknown "
                        f"device {dev!r}; known devices: {sorted(known)}"
                    )
                used[dev] += frag.weight_bytes
            if svc.source is not None and svc.source not in known:
                raise ScenarioError(
                    f"source of service {svc.name!r} is unknown device {svc.source!r}"
                )
        for d in self.devices:
            if used[d.name] > d.memory:
                raise ScenarioError(
                    f"device {d.name!r} lacks memory: the fragments placed on it need "
                    f"{used[d.name] / 1e6:.3f} MB but it has {d.memory / 1e6:.3f} MB; move a "
                    f"fragment or pick a larger device"
                )

    # -- lookups -----------------------------------------------------------------------------

    def device(self, name: str) -> Device:
        """Return the device called ``name``."""
        return self.devices[self._device_index[name]]

    def device_index(self, name: str) -> int:
        """Return the position of device ``name`` in :attr:`devices`."""
        return self._device_index[name]

    def link_between(self, a: str, b: str) -> Link | None:
        """Return the link joining devices ``a`` and ``b``, or ``None``."""
        key = frozenset((a, b))
        for link in self.links:
            if link.key == key:
                return link
        return None

    def service(self, name: str) -> Service:
        """Return the service called ``name``."""
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    def memory_used(self) -> dict[str, float]:
        """Bytes of weights placed on each device (bytes)."""
        used = {d.name: 0.0 for d in self.devices}
        for svc in self.services:
            for frag, dev in zip(svc.fragments, self.placement[svc.name]):
                used[dev] += frag.weight_bytes
        return used

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some fields replaced (validated again)."""
        kwargs: dict[str, Any] = {
            "devices": self.devices,
            "services": self.services,
            "placement": self.placement,
            "links": self.links,
        }
        kwargs.update(changes)
        return Scenario(**kwargs)

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_dict` inverts it exactly."""
        return {
            "devices": [_device_to_dict(d) for d in self.devices],
            "links": [
                {"a": x.a, "b": x.b, "bandwidth": x.bandwidth, "delay": x.delay} for x in self.links
            ],
            "services": [_service_to_dict(s) for s in self.services],
            "placement": {k: list(v) for k, v in self.placement.devices.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        """Build a scenario from :meth:`to_dict` output.

        Raises:
            ScenarioError: With a path to the bad field (e.g. ``services[1].fragments[0].macs``)
                on missing keys, wrong types, non-finite or negative values and unknown
                references.
        """
        return _parse_scenario(data)

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise to JSON text; also write it to ``path`` if given."""
        text = json.dumps(self.to_dict(), allow_nan=False, default=_json_default)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> Scenario:
        """Read a scenario from a JSON file path or a JSON string.

        Raises:
            ScenarioError: If the text is not valid JSON or not a valid scenario.
        """
        if not isinstance(source, (str, Path)):
            raise ScenarioError(
                f"source must be a JSON file path or JSON text, got {type(source).__name__}"
            )
        text: str
        if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
            text = source  # JSON text; a scenario is an object, from_dict says so otherwise
        else:
            path = Path(source)
            try:
                text = path.read_text()
            except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
                raise ScenarioError(f"cannot read scenario file {str(path)!r}: {exc}") from exc
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except ScenarioError:
            raise
        except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
            raise ScenarioError(f"scenario JSON is malformed: {exc}") from exc
        except RecursionError:
            raise ScenarioError("scenario JSON is malformed: nested too deeply") from None
        return cls.from_dict(data)


def _no_duplicates(what: str, names: list[str]) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"{what} must be unique, got duplicates {dup}")


def _json_default(obj: Any) -> Any:
    raise TypeError(f"cannot serialise {obj!r}")


def _reject_constant(name: str) -> float:
    raise ScenarioError(f"scenario JSON holds the non-finite constant {name}; use finite numbers")


def _inf_to_json(x: float) -> float | str:
    return "inf" if math.isinf(x) else x


def _device_to_dict(d: Device) -> dict[str, Any]:
    return {
        "name": d.name,
        "speed": d.speed,
        "memory": _inf_to_json(d.memory),
        "capacity": d.capacity,
        "servers": d.servers,
        "kind": d.kind,
        "idle_power": d.idle_power,
        "busy_power": d.busy_power,
        "reserved_share": d.reserved_share,
    }


def _service_to_dict(s: Service) -> dict[str, Any]:
    return {
        "name": s.name,
        "fragments": [
            {
                "name": f.name,
                "macs": f.macs,
                "weight_bytes": f.weight_bytes,
                "output_bytes": f.output_bytes,
                "branch": f.branch,
            }
            for f in s.fragments
        ],
        "arrival_rate": s.arrival_rate,
        "sla": _inf_to_json(s.sla),
        "split": s.split,
        "scv": s.scv,
        "mmpp": None
        if s.mmpp is None
        else {
            "peak_factor": s.mmpp.peak_factor,
            "high_fraction": s.mmpp.high_fraction,
            "mean_high_duration": s.mmpp.mean_high_duration,
        },
        "profile": s.profile,
        "accuracy": s.accuracy,
        "source": s.source,
        "input_bytes": s.input_bytes,
    }


# --------------------------------------------------------------------------------------------
# Parsing with paths to the bad field
# --------------------------------------------------------------------------------------------

_MISSING = object()


class _Reader:
    """Reads a JSON-like mapping and reports errors with a path to the field."""

    def __init__(self, data: Any, path: str, keys: Sequence[str]) -> None:
        if not isinstance(data, Mapping):
            what = path or "scenario"
            raise ScenarioError(
                f"{what} must be an object with keys {list(keys)}, got {_typename(data)}"
            )
        self.data = data
        self.path = path
        self.keys = tuple(keys)
        unknown = [k for k in data if k not in self.keys]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), self.keys, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(
                f"{self._p(str(key))} is not a known key{hint} (known keys: {list(self.keys)})"
            )

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = _MISSING) -> Any:
        assert key in self.keys, key  # every key read is declared
        if key not in self.data:
            if default is _MISSING:
                raise ScenarioError(f"{self._p(key)} is missing; add it")
            return default
        return self.data[key]

    def number(self, key: str, default: Any = _MISSING, allow_inf: bool = False) -> float:
        v = self.get(key, default)
        if allow_inf and isinstance(v, str) and v in ("inf", "Infinity"):
            return math.inf
        if not is_real(v):
            raise ScenarioError(f"{self._p(key)} must be a number, got {_typename(v)} {v!r}")
        try:
            x = float(v)
        except OverflowError:
            raise ScenarioError(
                f"{self._p(key)} must be finite, got {show_value(v)}, beyond the float range"
            ) from None
        if math.isnan(x) or (math.isinf(x) and not allow_inf):
            raise ScenarioError(f"{self._p(key)} must be finite, got {v!r}")
        return x

    def integer(self, key: str, default: Any = _MISSING) -> int:
        v = self.get(key, default)
        if is_int(v):
            v = int(v)
        elif is_real(v) and math.isfinite(float(v)) and float(v).is_integer():
            v = int(float(v))
        else:
            raise ScenarioError(f"{self._p(key)} must be an integer, got {_typename(v)} {v!r}")
        if abs(v) > MAX_INT:
            raise ScenarioError(f"{self._p(key)} must be an integer <= 2**53, got {show_value(v)}")
        return v

    def string(self, key: str, default: Any = _MISSING, optional: bool = False) -> Any:
        v = self.get(key, default)
        if v is None and optional:
            return None
        if not isinstance(v, str):
            raise ScenarioError(f"{self._p(key)} must be a string, got {_typename(v)} {v!r}")
        return v

    def array(self, key: str, default: Any = _MISSING) -> list[Any]:
        v = self.get(key, default)
        if not isinstance(v, list):
            raise ScenarioError(f"{self._p(key)} must be a list, got {_typename(v)}")
        return v

    def entries(
        self, key: str, cls: type, default: Any = _MISSING
    ) -> Iterator[tuple[str, _Reader]]:
        """Each object of the list ``key`` as ``(path, reader)``, read as a ``cls`` dict form."""
        for i, item in enumerate(self.array(key, default)):
            path = f"{self._p(key)}[{i}]"
            yield path, _Reader(item, path, _keys(cls))


def _typename(v: Any) -> str:
    return type(v).__name__


def _keys(cls: type) -> tuple[str, ...]:
    """The keys of a class's dict form: its dataclass fields, as :meth:`Scenario.to_dict` writes."""
    return tuple(f.name for f in fields(cls))


def _build(path: str, ctor: Any, **kwargs: Any) -> Any:
    try:
        return ctor(**kwargs)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def _parse_scenario(data: Any) -> Scenario:
    r = _Reader(data, "", _keys(Scenario))
    devices = []
    for p, dr in r.entries("devices", Device):
        devices.append(
            _build(
                p,
                Device,
                name=dr.string("name"),
                speed=dr.number("speed"),
                memory=dr.number("memory", math.inf, allow_inf=True),
                capacity=dr.integer("capacity", 10),
                servers=dr.integer("servers", 1),
                kind=dr.string("kind", "generic"),
                idle_power=dr.number("idle_power", 0.0),
                busy_power=dr.number("busy_power", 0.0),
                reserved_share=dr.number("reserved_share", 0.0),
            )
        )
    links = []
    for p, lr in r.entries("links", Link, []):
        links.append(
            _build(
                p,
                Link,
                a=lr.string("a"),
                b=lr.string("b"),
                bandwidth=lr.number("bandwidth"),
                delay=lr.number("delay", 0.0),
            )
        )
    services = []
    for p, sr in r.entries("services", Service):
        frags = []
        for fp, fr in sr.entries("fragments", Fragment):
            frags.append(
                _build(
                    fp,
                    Fragment,
                    name=fr.string("name"),
                    macs=fr.number("macs"),
                    weight_bytes=fr.integer("weight_bytes", 0),
                    output_bytes=fr.integer("output_bytes", 0),
                    branch=fr.integer("branch", 0),
                )
            )
        mmpp_raw = sr.get("mmpp", None)
        mmpp = None
        if mmpp_raw is not None:
            mp = f"{p}.mmpp"
            mr = _Reader(mmpp_raw, mp, _keys(MMPP2))
            mmpp = _build(
                mp,
                MMPP2,
                peak_factor=mr.number("peak_factor"),
                high_fraction=mr.number("high_fraction"),
                mean_high_duration=mr.number("mean_high_duration"),
            )
        acc = sr.get("accuracy", None)
        services.append(
            _build(
                p,
                Service,
                name=sr.string("name"),
                fragments=tuple(frags),
                arrival_rate=sr.number("arrival_rate"),
                sla=sr.number("sla", math.inf, allow_inf=True),
                split=sr.string("split", "layer"),
                scv=sr.number("scv", 0.0),
                mmpp=mmpp,
                profile=sr.string("profile", None, optional=True),
                accuracy=None if acc is None else sr.number("accuracy"),
                source=sr.string("source", None, optional=True),
                input_bytes=sr.integer("input_bytes", 0),
            )
        )
    place_raw = r.get("placement")
    if not isinstance(place_raw, Mapping):
        raise ScenarioError(f"placement must be an object, got {_typename(place_raw)}")
    place: dict[str, tuple[str, ...]] = {}
    for svc, devs in place_raw.items():
        if not isinstance(devs, list) or not all(isinstance(x, str) for x in devs):
            raise ScenarioError(f"placement.{svc} must be a list of device names, got {devs!r}")
        place[str(svc)] = tuple(devs)
    return _build(
        "scenario",
        Scenario,
        devices=tuple(devices),
        services=tuple(services),
        placement=Placement(place),
        links=tuple(links),
    )
