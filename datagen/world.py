"""The world model: DNN profiles, fragments, services, devices, links, placements, scenarios.

Every class is a frozen, validated dataclass in SI units (seconds, bytes, MAC, MAC/s). Every
constructor rejects bad input with a :class:`ScenarioError` (a :class:`ValueError`) naming the
field, the offending value and the fix. :meth:`Scenario.validate` adds the cross-field checks
(references and memory). :meth:`Scenario.to_dict` / :meth:`Scenario.from_dict` round-trip
losslessly, and ``from_dict`` reports malformed input with a path to the bad field; a key it
does not know (``capacty``) is an error naming the closest known one.

Numbers may be Python or numpy scalars; floats must be finite (``memory`` and ``sla`` may be
``inf``) and integers at most :data:`MAX_INT`, so a huge value is a :class:`ScenarioError`,
never an ``OverflowError`` deeper down.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ScenarioError",
    "LayerProfile",
    "DNNProfile",
    "Fragment",
    "MMPP2",
    "Service",
    "Device",
    "Link",
    "Placement",
    "Scenario",
    "SplitType",
    "SPLIT_TYPES",
    "MAX_INT",
]

SplitType = Literal["layer", "semantic"]
SPLIT_TYPES: tuple[str, ...] = ("layer", "semantic")

#: Largest value of every integer field (counts, capacities, byte sizes): ``2**53``, the largest
#: integer a float64 holds exactly. Larger values overflow the simulator's int64 arrays.
MAX_INT: int = 2**53


class ScenarioError(ValueError):
    """A world-model object is invalid; the message names the field, the value and the fix."""


# --------------------------------------------------------------------------------------------
# Small validation helpers (one place, so every message has the same shape)
# --------------------------------------------------------------------------------------------


def _where(owner: str) -> str:
    return f" for {owner}" if owner else ""


def show_value(value: Any) -> str:
    """``repr(value)``, a huge integer described by its size instead.

    The repr of a huge integer can run to thousands of digits, or exceed Python's
    integer-to-string limit and raise.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number: Python or numpy ints and floats, not booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def finite_float(value: Any) -> float | None:
    """``value`` as a float if it is a finite real number (numpy scalars too), else ``None``.

    An integer beyond the float range gives ``None`` instead of an ``OverflowError``.
    """
    if not is_real(value):
        return None
    try:
        x = float(value)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None




def _to_float(name: str, value: Any, owner: str = "", what: str = "a number") -> float:
    """``value`` as a float (NaN and inf included); huge integers are refused, not overflowed."""
    if not is_real(value):
        raise ScenarioError(
            f"{name} must be {what}{_where(owner)}, got {show_value(value)} "
            f"({type(value).__name__})"
        )
    try:
        return float(value)
    except OverflowError:
        raise ScenarioError(
            f"{name} must be finite{_where(owner)}, got {show_value(value)}, beyond the float range"
        ) from None


def _check_number(name: str, value: Any, owner: str = "") -> float:
    v = _to_float(name, value, owner)
    if not math.isfinite(v):
        raise ScenarioError(f"{name} must be finite{_where(owner)}, got {show_value(value)}")
    return v


def _check_positive(name: str, value: Any, owner: str = "") -> float:
    v = _check_number(name, value, owner)
    if v <= 0:
        raise ScenarioError(f"{name} must be > 0{_where(owner)}, got {show_value(value)}")
    return v


def _check_nonneg(name: str, value: Any, owner: str = "") -> float:
    v = _check_number(name, value, owner)
    if v < 0:
        raise ScenarioError(f"{name} must be >= 0{_where(owner)}, got {show_value(value)}")
    return v


def _check_int(name: str, value: Any, minimum: int, owner: str = "") -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    elif is_real(value) and math.isfinite(float(value)) and float(value).is_integer():
        # Accept integral floats such as 3.0 (JSON writers sometimes emit them).
        value = int(float(value))
    else:
        raise ScenarioError(
            f"{name} must be an integer >= {minimum}{_where(owner)}, got {show_value(value)}"
        )
    if value < minimum:
        raise ScenarioError(
            f"{name} must be an integer >= {minimum}{_where(owner)}, got {show_value(value)}"
        )
    if value > MAX_INT:
        raise ScenarioError(
            f"{name} must be an integer <= 2**53{_where(owner)}, got {show_value(value)}"
        )
    return value


def _check_name(name: str, value: Any, owner: str = "") -> str:
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{name} must be a non-empty string{_where(owner)}, got {value!r}")
    return value


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------------------------
# DNN profiles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerProfile:
    """One layer of a DNN.

    Args:
        name: Layer name, e.g. ``"conv1"``.
        kind: Layer kind, e.g. ``"conv"``, ``"dwconv"``, ``"linear"``, ``"pool"``.
        macs: Multiply-accumulate operations per inference (MAC).
        params: Number of weights (parameters).
        out_elems: Number of elements of the output activation.
        bytes_per_elem: Bytes per weight and per activation element (default: ``4``, float32).
    """

    name: str
    kind: str
    macs: int
    params: int
    out_elems: int
    bytes_per_elem: int = 4

    def __post_init__(self) -> None:
        owner = f"layer {self.name!r}"
        _check_name("name", self.name, "layer")
        _check_name("kind", self.kind, owner)
        _set(self, "macs", _check_int("macs", self.macs, 0, owner))
        _set(self, "params", _check_int("params", self.params, 0, owner))
        _set(self, "out_elems", _check_int("out_elems", self.out_elems, 1, owner))
        _set(self, "bytes_per_elem", _check_int("bytes_per_elem", self.bytes_per_elem, 1, owner))

    @property
    def weight_bytes(self) -> int:
        """Bytes taken by the weights (bytes)."""
        return self.params * self.bytes_per_elem

    @property
    def output_bytes(self) -> int:
        """Bytes of the output activation (bytes)."""
        return self.out_elems * self.bytes_per_elem


@dataclass(frozen=True)
class DNNProfile:
    """An ordered list of layers plus accuracy figures.

    Args:
        name: Profile name, e.g. ``"resnet50"``.
        layers: The layers in execution order.
        accuracy: Top-1 accuracy of the whole model in [0, 1].
        input_elems: Elements of the input tensor (default: ``0`` = unknown).
        semantic_accuracy: Accuracy of the semantic-split variant in [0, 1], if known
            (default: ``None``).
        semantic_macs_fraction: Total compute of the semantic variant (all branches) as a
            fraction of the layer model's compute, if known (default: ``None``).
    """

    name: str
    layers: tuple[LayerProfile, ...]
    accuracy: float
    input_elems: int = 0
    semantic_accuracy: float | None = None
    semantic_macs_fraction: float | None = None

    def __post_init__(self) -> None:
        owner = f"profile {self.name!r}"
        _check_name("name", self.name, "profile")
        layers = tuple(self.layers)
        if not layers:
            raise ScenarioError(f"layers must hold at least one layer{_where(owner)}, got []")
        for i, layer in enumerate(layers):
            if not isinstance(layer, LayerProfile):
                raise ScenarioError(f"layers[{i}] must be a LayerProfile{_where(owner)}")
        _set(self, "layers", layers)
        acc = _check_number("accuracy", self.accuracy, owner)
        if not 0 <= acc <= 1:
            raise ScenarioError(f"accuracy must be in [0, 1]{_where(owner)}, got {acc}")
        _set(self, "accuracy", acc)
        _set(self, "input_elems", _check_int("input_elems", self.input_elems, 0, owner))
        if self.semantic_accuracy is not None:
            sa = _check_number("semantic_accuracy", self.semantic_accuracy, owner)
            if not 0 <= sa <= 1:
                raise ScenarioError(f"semantic_accuracy must be in [0, 1]{_where(owner)}, got {sa}")
            _set(self, "semantic_accuracy", sa)
        if self.semantic_macs_fraction is not None:
            phi = _check_positive("semantic_macs_fraction", self.semantic_macs_fraction, owner)
            _set(self, "semantic_macs_fraction", phi)

    @property
    def total_macs(self) -> int:
        """Total MACs of one inference (MAC)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def total_params(self) -> int:
        """Total number of parameters."""
        return sum(layer.params for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        """Total bytes of weights (bytes)."""
        return sum(layer.weight_bytes for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)


# --------------------------------------------------------------------------------------------
# Services and their fragments
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fragment:
    """A contiguous slice of a DNN, executed as one unit on one device.

    Args:
        name: Fragment name, unique within its service (e.g. ``"f0"``).
        macs: Compute demand of one request (MAC). Service time on device ``d`` is
            ``macs / d.effective_speed`` times a unit-mean random factor.
        weight_bytes: Memory taken by the fragment's weights on its device (bytes)
            (default: ``0``).
        output_bytes: Size of the activation sent to the next fragment (bytes) (default: ``0``).
        branch: Branch index for a semantic split (``0..B-1``); always ``0`` for a layer split
            (default: ``0``).
    """

    name: str
    macs: float
    weight_bytes: int = 0
    output_bytes: int = 0
    branch: int = 0

    def __post_init__(self) -> None:
        owner = f"fragment {self.name!r}"
        _check_name("name", self.name, "fragment")
        _set(self, "macs", _check_positive("macs", self.macs, owner))
        _set(self, "weight_bytes", _check_int("weight_bytes", self.weight_bytes, 0, owner))
        _set(self, "output_bytes", _check_int("output_bytes", self.output_bytes, 0, owner))
        _set(self, "branch", _check_int("branch", self.branch, 0, owner))


@dataclass(frozen=True)
class MMPP2:
    r"""A two-state Markov-modulated Poisson process that keeps the service's mean rate.

    In the high state requests arrive at ``peak_factor * lambda``; the process spends a
    fraction ``high_fraction`` of the time there, in exponential sojourns of mean
    ``mean_high_duration``. The low-state rate is set so that the long-run mean rate is
    ``lambda``:

    .. math::
        \lambda_{low} = \lambda \frac{1 - p\,\phi}{1 - p}, \qquad
        \bar d_{low} = \bar d_{high}\,\frac{1-p}{p}

    Args:
        peak_factor: Ratio of the high-state rate to the mean rate, ``phi >= 1``.
        high_fraction: Long-run fraction of time in the high state, ``p`` in (0, 1), with
            ``p * phi <= 1``.
        mean_high_duration: Mean sojourn in the high state (s).
    """

    peak_factor: float
    high_fraction: float
    mean_high_duration: float

    def __post_init__(self) -> None:
        phi = _check_number("peak_factor", self.peak_factor, "mmpp")
        p = _check_number("high_fraction", self.high_fraction, "mmpp")
        duration = _check_positive("mean_high_duration", self.mean_high_duration, "mmpp")
        if phi < 1:
            raise ScenarioError(f"peak_factor must be >= 1 for mmpp, got {phi}")
        if not 0 < p < 1:
            raise ScenarioError(f"high_fraction must be in (0, 1) for mmpp, got {p}")
        if p * phi > 1 + 1e-12:
            raise ScenarioError(
                f"high_fraction * peak_factor must be <= 1 for mmpp (the low-state rate would be "
                f"negative), got {p} * {phi} = {p * phi}; lower one of them"
            )
        _set(self, "peak_factor", phi)
        _set(self, "high_fraction", p)
        _set(self, "mean_high_duration", duration)

    def rates(self, mean_rate: float) -> tuple[float, float]:
        """Return ``(high_rate, low_rate)`` in requests/s for a given mean rate (requests/s)."""
        p, phi = self.high_fraction, self.peak_factor
        return mean_rate * phi, max(0.0, mean_rate * (1 - p * phi) / (1 - p))

    def mean_durations(self) -> tuple[float, float]:
        """Return the mean sojourn times ``(high, low)`` (s)."""
        p = self.high_fraction
        return self.mean_high_duration, self.mean_high_duration * (1 - p) / p


@dataclass(frozen=True)
class Service:
    """One DNN inference service (a "chain" or "class" in ChainNet's terms).

    Args:
        name: Unique service name.
        fragments: The fragments. A layer split visits them in order; a semantic split runs
            each branch (fragments sharing a ``branch`` index, in order) in parallel and joins
            when the last branch completes.
        arrival_rate: Mean Poisson arrival rate (requests/s).
        sla: Deadline of one request (s) (default: ``inf``).
        split: ``"layer"`` or ``"semantic"`` (default: ``"layer"``).
        scv: Squared coefficient of variation of service times: 0 = deterministic,
            1 = exponential, other = gamma (default: ``0.0``).
        mmpp: Optional burstiness; ``None`` means plain Poisson arrivals (default: ``None``).
        profile: Name of the DNN profile the fragments came from, if any (default: ``None``).
        accuracy: Accuracy of this split of the DNN in [0, 1], if known (default: ``None``).
        source: Device where requests originate; with links, the input travels from there to
            the first fragment of each branch (default: ``None`` = no input transfer).
        input_bytes: Bytes of the input sent from ``source`` (bytes) (default: ``0``).
    """

    name: str
    fragments: tuple[Fragment, ...]
    arrival_rate: float
    sla: float = math.inf
    split: str = "layer"
    scv: float = 0.0
    mmpp: MMPP2 | None = None
    profile: str | None = None
    accuracy: float | None = None
    source: str | None = None
    input_bytes: int = 0

    def __post_init__(self) -> None:
        owner = f"service {self.name!r}"
        _check_name("name", self.name, "service")
        frags = tuple(self.fragments)
        if not frags:
            raise ScenarioError(f"fragments must hold at least one fragment{_where(owner)}")
        for i, f in enumerate(frags):
            if not isinstance(f, Fragment):
                raise ScenarioError(f"fragments[{i}] must be a Fragment{_where(owner)}, got {f!r}")
        names = [f.name for f in frags]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ScenarioError(
                f"fragment names must be unique{_where(owner)}, got duplicates {sorted(dup)}"
            )
        _set(self, "fragments", frags)
        rate = _check_number("arrival_rate", self.arrival_rate, owner)
        if rate <= 0:
            raise ScenarioError(
                f"arrival_rate must be > 0 requests/s{_where(owner)}, got {self.arrival_rate!r}"
            )
        _set(self, "arrival_rate", rate)
        sla = _to_float("sla", self.sla, owner, "a number of seconds")
        if math.isnan(sla) or sla <= 0:
            raise ScenarioError(f"sla must be > 0 s{_where(owner)}, got {self.sla!r}")
        _set(self, "sla", sla)
        if self.split not in SPLIT_TYPES:
            raise ScenarioError(
                f"split must be one of {SPLIT_TYPES}{_where(owner)}, got {self.split!r}"
            )
        _set(self, "scv", _check_nonneg("scv", self.scv, owner))
        if self.mmpp is not None and not isinstance(self.mmpp, MMPP2):
            raise ScenarioError(f"mmpp must be an MMPP2 or None{_where(owner)}, got {self.mmpp!r}")
        branches = sorted({f.branch for f in frags})
        if self.split == "layer" and branches != [0]:
            raise ScenarioError(
                f"a layer split has one branch: every fragment.branch must be 0{_where(owner)}, "
                f"got branches {branches}; use split='semantic' for parallel branches"
            )
        if branches != list(range(len(branches))):
            raise ScenarioError(
                f"branch indices must be 0..B-1 without gaps{_where(owner)}, got {branches}"
            )
        if self.accuracy is not None:
            acc = _check_number("accuracy", self.accuracy, owner)
            if not 0 <= acc <= 1:
                raise ScenarioError(f"accuracy must be in [0, 1]{_where(owner)}, got {acc}")
            _set(self, "accuracy", acc)
        if self.profile is not None:
            _check_name("profile", self.profile, owner)
        if self.source is not None:
            _check_name("source", self.source, owner)
        _set(self, "input_bytes", _check_int("input_bytes", self.input_bytes, 0, owner))

    @property
    def num_branches(self) -> int:
        """Number of parallel branches (1 for a layer split)."""
        return 1 + max(f.branch for f in self.fragments)

    def branch_indices(self) -> list[list[int]]:
        """Fragment indices of each branch, in visiting order."""
        out: list[list[int]] = [[] for _ in range(self.num_branches)]
        for i, f in enumerate(self.fragments):
            out[f.branch].append(i)
        return out

    @property
    def total_macs(self) -> float:
        """Compute of one request over all fragments (MAC)."""
        return sum(f.macs for f in self.fragments)


# --------------------------------------------------------------------------------------------
# Infrastructure
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """A device: one FCFS station with ``servers`` servers and capacity ``capacity``.

    Args:
        name: Unique device name.
        speed: Compute speed (MAC/s).
        memory: Memory available for fragment weights (bytes) (default: ``inf``).
        capacity: Maximum number of requests present, the ones in service included, ``K >= 1``
            (default: ``10``).
        servers: Number of parallel servers (default: ``1``).
        kind: Device kind, e.g. ``"rpi4"`` (default: ``"generic"``).
        idle_power: Power drawn when idle (W) (default: ``0.0``).
        busy_power: Power drawn when busy (W) (default: ``0.0``).
        reserved_share: Fraction of compute taken by colocated work such as retraining
            (ORRIC's setting), in [0, 1) (default: ``0.0``).
    """

    name: str
    speed: float
    memory: float = math.inf
    capacity: int = 10
    servers: int = 1
    kind: str = "generic"
    idle_power: float = 0.0
    busy_power: float = 0.0
    reserved_share: float = 0.0

    def __post_init__(self) -> None:
        owner = f"device {self.name!r}"
        _check_name("name", self.name, "device")
        _set(self, "speed", _check_positive("speed", self.speed, owner))
        memory = _to_float("memory", self.memory, owner, "a number of bytes")
        if math.isnan(memory) or memory < 0:
            raise ScenarioError(f"memory must be >= 0 bytes{_where(owner)}, got {self.memory!r}")
        _set(self, "memory", memory)
        _set(self, "capacity", _check_int("capacity", self.capacity, 1, owner))
        _set(self, "servers", _check_int("servers", self.servers, 1, owner))
        if self.servers > self.capacity:
            raise ScenarioError(
                f"servers must be <= capacity{_where(owner)}, got servers={self.servers} > "
                f"capacity={self.capacity}; raise capacity"
            )
        _check_name("kind", self.kind, owner)
        _set(self, "idle_power", _check_nonneg("idle_power", self.idle_power, owner))
        _set(self, "busy_power", _check_nonneg("busy_power", self.busy_power, owner))
        share = _check_number("reserved_share", self.reserved_share, owner)
        if not 0 <= share < 1:
            raise ScenarioError(f"reserved_share must be in [0, 1){_where(owner)}, got {share}")
        _set(self, "reserved_share", share)
        if not self.effective_speed > 0:
            raise ScenarioError(
                f"speed * (1 - reserved_share) must be > 0 MAC/s{_where(owner)}, got "
                f"{self.speed!r} * (1 - {share!r}) = {self.effective_speed!r}; raise speed"
            )

    @property
    def effective_speed(self) -> float:
        """Speed left for inference once the reserved share is taken (MAC/s)."""
        return self.speed * (1.0 - self.reserved_share)


@dataclass(frozen=True)
class Link:
    """An undirected network link between two devices: one FCFS station plus a delay.

    A transfer of ``n`` bytes occupies the link for ``n / bandwidth`` seconds, then takes
    ``delay`` seconds more. Links have unlimited waiting room. A pair of devices without a
    link transfers instantaneously.

    Args:
        a: Name of one end device.
        b: Name of the other end device.
        bandwidth: Bandwidth (bytes/s).
        delay: Propagation delay (s) (default: ``0.0``).
    """

    a: str
    b: str
    bandwidth: float
    delay: float = 0.0

    def __post_init__(self) -> None:
        _check_name("a", self.a, "link")
        _check_name("b", self.b, "link")
        owner = f"link {self.a!r}-{self.b!r}"
        if self.a == self.b:
            raise ScenarioError(f"a link joins two different devices, got {owner}")
        _set(self, "bandwidth", _check_positive("bandwidth", self.bandwidth, owner))
        _set(self, "delay", _check_nonneg("delay", self.delay, owner))

    @property
    def name(self) -> str:
        """A readable name ``"a-b"``."""
        return f"{self.a}-{self.b}"

    @property
    def key(self) -> frozenset[str]:
        """The unordered pair of end devices."""
        return frozenset((self.a, self.b))


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
            _check_name("service name", svc, "placement")
            if isinstance(devs, str) or not isinstance(devs, Sequence):
                raise ScenarioError(
                    f"placement of service {svc!r} must be a list of device names, got {devs!r}"
                )
            for i, d in enumerate(devs):
                _check_name(f"device of fragment {i}", d, f"service {svc!r} in placement")
            clean[svc] = tuple(devs)
        _set(self, "devices", clean)

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
        _set(self, "devices", tuple(self.devices))
        _set(self, "services", tuple(self.services))
        _set(self, "links", tuple(self.links))
        if isinstance(self.placement, Mapping):
            _set(self, "placement", Placement(self.placement))
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
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
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
    for i, d in enumerate(r.array("devices")):
        p = f"devices[{i}]"
        dr = _Reader(d, p, _keys(Device))
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
    for i, link in enumerate(r.array("links", [])):
        p = f"links[{i}]"
        lr = _Reader(link, p, _keys(Link))
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
    for i, s in enumerate(r.array("services")):
        p = f"services[{i}]"
        sr = _Reader(s, p, _keys(Service))
        frags = []
        for j, f in enumerate(sr.array("fragments")):
            fp = f"{p}.fragments[{j}]"
            fr = _Reader(f, fp, _keys(Fragment))
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
