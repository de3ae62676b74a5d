"""chainnet: graph schema and builder, GNN models, analytic predictors and the Surrogate API.

The queueing formulas, the analytic surrogate and the schema import at once; the names that
need PyTorch and PyTorch Geometric (the builder, the models, the normaliser and
:class:`Surrogate`) load on first use (PEP 562), so ``import chainnet`` does not pay seconds
for ``torch_geometric`` (which imports ``torch._dynamo``) when only the analytic side is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainnet import queueing
from chainnet.analytic import AnalyticSurrogate
from chainnet.queueing import mg1k_exact, mg1k_loss_mgs, mm1k, mmck
from chainnet.schema import EDGE_TYPES, FEATURES, NODE_TYPES, PRIORS, SCHEMA_VERSION, TARGETS
from datagen.lazy import by_name, lazy_exports

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

#: Public name -> the module it is imported from on first use.
_HOME = by_name(
    {
        "chainnet.builder": ("build_batch", "build_graph", "scenarios_to_arrays"),
        "chainnet.models": ("ChainNet", "Ensemble", "GATBaseline", "GCNBaseline", "MLPBaseline",
                            "MODEL_CLASSES"),
        "chainnet.nn": ("FeatureNormalizer",),
        "chainnet.surrogate": ("CheckpointError", "Surrogate", "ratios_to_metrics"),
    }
)
#: ``import chainnet; chainnet.models`` works as with eager imports.
_SUBMODULES = ("analytic", "builder", "features", "models", "nn", "queueing", "schema",
               "structure", "surrogate", "typing")
__getattr__, __dir__ = lazy_exports(__name__, _HOME, submodules=_SUBMODULES, cache=True)

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
