"""training: LightningCLI training and evaluation of ChainNet-family predictors."""

from training.cli import TrainingCLI, cli_main
from training.data import ScenarioGraphDataset, SimDataModule, attach_targets, load_samples
from training.evaluate import evaluate
from training.metrics import evaluation_table, service_errors, summarize
from training.module import PerfPredictorModule
from training.writer import PredictionWriter

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
