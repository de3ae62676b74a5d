"""training: LightningCLI training and evaluation of ChainNet-family predictors.

Names load lazily (PEP 562), so ``python -m training evaluate`` and ``ensemble`` do not pay
for importing Lightning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.lazy import by_name, lazy_exports

if TYPE_CHECKING:
    from training.cli import TrainingCLI, cli_main
    from training.data import ScenarioGraphDataset, SimDataModule, attach_targets
    from training.evaluate import evaluate
    from training.metrics import evaluation_table, service_errors, summarize
    from training.module import PerfPredictorModule
    from training.samples import load_samples
    from training.writer import PredictionWriter

#: Public name -> the module it is imported from on first use.
_HOME = by_name(
    {
        "training.cli": ("TrainingCLI", "cli_main"),
        "training.data": ("ScenarioGraphDataset", "SimDataModule", "attach_targets"),
        "training.evaluate": ("evaluate",),
        "training.metrics": ("evaluation_table", "service_errors", "summarize"),
        "training.module": ("PerfPredictorModule",),
        "training.samples": ("load_samples",),
        "training.writer": ("PredictionWriter",),
    }
)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)

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
