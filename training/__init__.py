"""training: LightningCLI training and evaluation of ChainNet-family predictors.

Names load lazily (PEP 562), so ``python -m training evaluate`` and ``ensemble`` do not pay
for importing Lightning.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.cli import TrainingCLI, cli_main
    from training.data import ScenarioGraphDataset, SimDataModule, attach_targets
    from training.evaluate import evaluate
    from training.metrics import evaluation_table, service_errors, summarize
    from training.module import PerfPredictorModule
    from training.samples import load_samples
    from training.writer import PredictionWriter

_HOME = {
    "PerfPredictorModule": "training.module",
    "PredictionWriter": "training.writer",
    "ScenarioGraphDataset": "training.data",
    "SimDataModule": "training.data",
    "TrainingCLI": "training.cli",
    "attach_targets": "training.data",
    "cli_main": "training.cli",
    "evaluate": "training.evaluate",
    "evaluation_table": "training.metrics",
    "load_samples": "training.samples",
    "service_errors": "training.metrics",
    "summarize": "training.metrics",
}

__all__ = [
    "PerfPredictorModule",
    "PredictionWriter",
    "ScenarioGraphDataset",
    "SimDataModule",
    "TrainingCLI",
    "attach_targets",
    "cli_main",
    "evaluate",
    "evaluation_table",
    "load_samples",
    "service_errors",
    "summarize",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
