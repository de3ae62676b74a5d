"""Devices and links: where services run (the supply side of the world model).

A :class:`Device` is one FCFS station with ``servers`` servers and capacity ``K``; a
:class:`Link` is an FCFS station for transfers plus a propagation delay. Both are frozen
dataclasses in SI units whose constructors raise a :class:`~datagen.validation.ScenarioError`
naming the field, the value and the fix. Re-exported by :mod:`datagen.world`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from datagen.validation import (
    ScenarioError,
    check_field,
    check_finite,
    check_int,
    check_name,
    check_nonneg,
    check_positive,
    named_owner,
    set_field,
    to_float,
    where,
)

__all__ = ["Device", "Link"]


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
        owner = named_owner(self, "device", error=ScenarioError)
        check_field(self, "speed", check_positive, owner=owner, error=ScenarioError)
        memory = to_float("memory", self.memory, owner, "a number of bytes", error=ScenarioError)
        if math.isnan(memory) or memory < 0:
            raise ScenarioError(f"memory must be >= 0 bytes{where(owner)}, got {self.memory!r}")
        set_field(self, "memory", memory)
        check_field(self, "capacity", check_int, 1, owner=owner, error=ScenarioError)
        check_field(self, "servers", check_int, 1, owner=owner, error=ScenarioError)
        if self.servers > self.capacity:
            raise ScenarioError(
                f"servers must be <= capacity{where(owner)}, got servers={self.servers} > "
                f"capacity={self.capacity}; raise capacity"
            )
        check_name("kind", self.kind, owner, error=ScenarioError)
        check_field(self, "idle_power", check_nonneg, owner=owner, error=ScenarioError)
        check_field(self, "busy_power", check_nonneg, owner=owner, error=ScenarioError)
        share = check_finite("reserved_share", self.reserved_share, owner, error=ScenarioError)
        if not 0 <= share < 1:
            raise ScenarioError(f"reserved_share must be in [0, 1){where(owner)}, got {share}")
        set_field(self, "reserved_share", share)
        if not self.effective_speed > 0:
            raise ScenarioError(
                f"speed * (1 - reserved_share) must be > 0 MAC/s{where(owner)}, got "
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
        check_name("a", self.a, "link", error=ScenarioError)
        check_name("b", self.b, "link", error=ScenarioError)
        owner = f"link {self.a!r}-{self.b!r}"
        if self.a == self.b:
            raise ScenarioError(f"a link joins two different devices, got {owner}")
        check_field(self, "bandwidth", check_positive, owner=owner, error=ScenarioError)
        check_field(self, "delay", check_nonneg, owner=owner, error=ScenarioError)

    @property
    def name(self) -> str:
        """A readable name ``"a-b"``."""
        return f"{self.a}-{self.b}"

    @property
    def key(self) -> frozenset[str]:
        """The unordered pair of end devices."""
        return frozenset((self.a, self.b))
