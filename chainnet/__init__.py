"""chainnet: graph schema and builder, GNN models, analytic predictors and the Surrogate API.

The queueing formulas, the analytic surrogate and the schema import at once; the names that
need PyTorch and PyTorch Geometric (the builder, the models, the normaliser and
:class:`Surrogate`) load on first use (PEP 562), so ``import chainnet`` does not pay seconds
for ``torch_geometric`` (which imports ``torch._dynamo``) when only the analytic side is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chainnet import queueing
from chainnet.analytic import AnalyticSurrogate
from chainnet.queueing import mg1k_exact, mg1k_loss_mgs, mm1k, mmck
from chainnet.schema import EDGE_TYPES, FEATURES, NODE_TYPES, PRIORS, SCHEMA_VERSION, TARGETS

if TYPE_CHECKING:
    from chainnet.builder import build_batch, build_graph, scenarios_to_arrays
    from chainnet.models import (
        MODEL_CLASSES,
        ChainNet,
        Ensemble,
        GATBaseline,
        GCNBaseline,
        MLPBaseline,
    )
    from chainnet.nn import FeatureNormalizer
    from chainnet.surrogate import CheckpointError, Surrogate, ratios_to_metrics

_HOME = {
    "CheckpointError": "chainnet.surrogate",
    "ChainNet": "chainnet.models",
    "Ensemble": "chainnet.models",
    "FeatureNormalizer": "chainnet.nn",
    "GATBaseline": "chainnet.models",
    "GCNBaseline": "chainnet.models",
    "MLPBaseline": "chainnet.models",
    "MODEL_CLASSES": "chainnet.models",
    "Surrogate": "chainnet.surrogate",
    "build_batch": "chainnet.builder",
    "build_graph": "chainnet.builder",
    "ratios_to_metrics": "chainnet.surrogate",
    "scenarios_to_arrays": "chainnet.builder",
}
_SUBMODULES = frozenset(
    {
        "analytic",
        "builder",
        "features",
        "models",
        "nn",
        "queueing",
        "schema",
        "structure",
        "surrogate",
        "typing",
    }
)

__all__ = [
    "AnalyticSurrogate",
    "ChainNet",
    "CheckpointError",
    "EDGE_TYPES",
    "FEATURES",
    "FeatureNormalizer",
    "GATBaseline",
    "GCNBaseline",
    "MLPBaseline",
    "Ensemble",
    "MODEL_CLASSES",
    "NODE_TYPES",
    "PRIORS",
    "SCHEMA_VERSION",
    "Surrogate",
    "TARGETS",
    "build_batch",
    "build_graph",
    "mg1k_exact",
    "mg1k_loss_mgs",
    "mm1k",
    "mmck",
    "queueing",
    "ratios_to_metrics",
    "scenarios_to_arrays",
]


def __getattr__(name: str) -> Any:
    """Import a lazily loaded public name or submodule on first access."""
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:  # ``import chainnet; chainnet.models`` as with eager imports
        return importlib.import_module(f"chainnet.{name}")
    raise AttributeError(f"module 'chainnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, lazily loaded ones included."""
    return sorted(set(globals()) | set(_HOME))
