"""datagen: the world model, DNN profiles, the simulator and labelled datasets.

Names load lazily (PEP 562), as in :mod:`training`: ``import datagen`` and
``python -m datagen --help`` do not pay for pandas, SciPy or the simulator until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datagen.catalog import DEVICE_CATALOG, DeviceSpec, get_device, list_devices
    from datagen.chainnet_format import (
        ChainNetFormatError,
        check_chainnet_compatible,
        read_chainnet,
        write_chainnet,
    )
    from datagen.dataset import Dataset, DatasetError, generate, label_scenario, load_dataset
    from datagen.profiling import profile_module
    from datagen.sampling import (
        ChainLikeConfig,
        EdgeConfig,
        SimulationConfig,
        load_sampler_config,
        sample_scenario,
    )
    from datagen.sim import SimResult, simulate
    from datagen.splitting import (
        balanced_cuts,
        layer_split,
        make_service,
        semantic_split,
        split_accuracy,
    )
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
    from datagen.zoo import get_profile, list_profiles

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_HOME: dict[str, str] = {
    "ChainLikeConfig": "datagen.sampling",
    "ChainNetFormatError": "datagen.chainnet_format",
    "DEVICE_CATALOG": "datagen.catalog",
    "DNNProfile": "datagen.world",
    "Dataset": "datagen.dataset",
    "DatasetError": "datagen.dataset",
    "Device": "datagen.world",
    "DeviceSpec": "datagen.catalog",
    "EdgeConfig": "datagen.sampling",
    "Fragment": "datagen.world",
    "LayerProfile": "datagen.world",
    "Link": "datagen.world",
    "MMPP2": "datagen.world",
    "Placement": "datagen.world",
    "SPLIT_TYPES": "datagen.world",
    "Scenario": "datagen.world",
    "ScenarioError": "datagen.world",
    "Service": "datagen.world",
    "SimResult": "datagen.sim",
    "SimulationConfig": "datagen.sampling",
    "SplitType": "datagen.world",
    "balanced_cuts": "datagen.splitting",
    "check_chainnet_compatible": "datagen.chainnet_format",
    "generate": "datagen.dataset",
    "get_device": "datagen.catalog",
    "get_profile": "datagen.zoo",
    "label_scenario": "datagen.dataset",
    "layer_split": "datagen.splitting",
    "list_devices": "datagen.catalog",
    "list_profiles": "datagen.zoo",
    "load_dataset": "datagen.dataset",
    "load_sampler_config": "datagen.sampling",
    "make_service": "datagen.splitting",
    "profile_module": "datagen.profiling",
    "read_chainnet": "datagen.chainnet_format",
    "sample_scenario": "datagen.sampling",
    "semantic_split": "datagen.splitting",
    "simulate": "datagen.sim",
    "split_accuracy": "datagen.splitting",
    "write_chainnet": "datagen.chainnet_format",
}

__all__ = [
    "ChainLikeConfig",
    "ChainNetFormatError",
    "EdgeConfig",
    "SimulationConfig",
    "check_chainnet_compatible",
    "label_scenario",
    "load_sampler_config",
    "sample_scenario",
    "DEVICE_CATALOG",
    "MMPP2",
    "SPLIT_TYPES",
    "Dataset",
    "DatasetError",
    "Device",
    "DeviceSpec",
    "DNNProfile",
    "Fragment",
    "LayerProfile",
    "Link",
    "Placement",
    "Scenario",
    "ScenarioError",
    "Service",
    "SimResult",
    "SplitType",
    "balanced_cuts",
    "generate",
    "get_device",
    "get_profile",
    "layer_split",
    "list_devices",
    "list_profiles",
    "load_dataset",
    "make_service",
    "profile_module",
    "read_chainnet",
    "semantic_split",
    "simulate",
    "split_accuracy",
    "write_chainnet",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'datagen' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
