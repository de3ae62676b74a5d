"""ChainNet layers: one layer per file."""

from chainnet.nn.branch_join import BranchJoin
from chainnet.nn.device_attention import DeviceAttention
from chainnet.nn.heads import PerformanceHeads
from chainnet.nn.mean_update import MeanGRUUpdate
from chainnet.nn.normalizer import FeatureNormalizer
from chainnet.nn.path_gru import PathGRU

__all__ = [
    "BranchJoin",
    "DeviceAttention",
    "FeatureNormalizer",
    "MeanGRUUpdate",
    "PathGRU",
    "PerformanceHeads",
]
