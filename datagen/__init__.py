"""datagen: the world model, DNN profiles, the simulator and labelled datasets.

Names load lazily (PEP 562), as in :mod:`training`: ``import datagen`` and
``python -m datagen --help`` do not pay for pandas, SciPy or the simulator until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.lazy import by_name, lazy_exports

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

#: Public name -> the module it is imported from on first use.
_HOME = by_name(
    {
        "datagen.catalog": ("DEVICE_CATALOG", "DeviceSpec", "get_device", "list_devices"),
        "datagen.chainnet_format": (
            "ChainNetFormatError", "check_chainnet_compatible", "read_chainnet", "write_chainnet"
        ),
        "datagen.dataset": ("Dataset", "DatasetError", "generate", "label_scenario",
                            "load_dataset"),
        "datagen.profiling": ("profile_module",),
        "datagen.sampling": ("ChainLikeConfig", "EdgeConfig", "SimulationConfig",
                             "load_sampler_config", "sample_scenario"),
        "datagen.sim": ("SimResult", "simulate"),
        "datagen.splitting": ("balanced_cuts", "layer_split", "make_service", "semantic_split",
                              "split_accuracy"),
        "datagen.world": ("MMPP2", "SPLIT_TYPES", "Device", "DNNProfile", "Fragment",
                          "LayerProfile", "Link", "Placement", "Scenario", "ScenarioError",
                          "Service", "SplitType"),
        "datagen.zoo": ("get_profile", "list_profiles"),
    }
)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)

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
