"""chainnet: graph schema and builder, GNN models, analytic predictors and the Surrogate API."""

from chainnet import queueing
from chainnet.analytic import AnalyticSurrogate
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
from chainnet.queueing import mg1k_exact, mg1k_loss_mgs, mm1k, mmck
from chainnet.schema import EDGE_TYPES, FEATURES, NODE_TYPES, PRIORS, SCHEMA_VERSION, TARGETS
from chainnet.surrogate import CheckpointError, Surrogate, ratios_to_metrics

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
