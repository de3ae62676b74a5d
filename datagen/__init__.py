"""datagen: the world model, DNN profiles, the simulator and labelled datasets."""

from datagen.world import (
    MMPP2,
    SPLIT_TYPES,
    Device,
    DNNProfile,
    Fragment,
    LayerProfile,
    Link,
    Placement,
    Scenario,
    ScenarioError,
    Service,
    SplitType,
)

__version__ = "0.1.0"

__all__ = [
    "MMPP2",
    "SPLIT_TYPES",
    "Device",
    "DNNProfile",
    "Fragment",
    "LayerProfile",
    "Link",
    "Placement",
    "Scenario",
    "ScenarioError",
    "Service",
    "SplitType",
]
