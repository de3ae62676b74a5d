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

The classes live in :mod:`datagen.services` (profiles, fragments, services),
:mod:`datagen.devices` (devices, links) and :mod:`datagen.scenario` (placement, scenario, JSON);
the validators in :mod:`datagen.validation`. This module re-exports them all.
"""

from __future__ import annotations

from datagen.devices import Device, Link
from datagen.scenario import Placement, Scenario
from datagen.services import (
    MMPP2,
    SPLIT_TYPES,
    DNNProfile,
    Fragment,
    LayerProfile,
    Service,
    SplitType,
)
from datagen.validation import MAX_INT, ScenarioError, finite_float, is_real, show_value

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
    "finite_float",
    "is_real",
    "show_value",
]
