r"""Write the predictions of ``python -m training predict`` to a table file.

To run::

    python -m training predict --config training/configs/chainnet.yaml \
        --model.init_from runs/chainnet/surrogate.pt --data.predict data/chainnet_like_test \
        --trainer.callbacks+=training.PredictionWriter \
        --trainer.callbacks.output=predictions.csv
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

__all__ = ["PredictionWriter"]

SUFFIXES = (".csv", ".parquet")


class PredictionWriter(BasePredictionWriter):
    """Collect the per-service predictions of a predict run and write one table.

    One row per service, the tidy shape of every table of the library: ``scenario`` (the
    scenario's position in the predict dataset, in the order :func:`training.samples.load_samples`
    reads it), ``service`` (its name; its position in the scenario when the dataset cannot
    name it), then ``throughput`` (requests/s), ``loss_ratio``, ``latency_mean`` (s),
    ``latency_p95`` (s), ``tput_ratio`` and ``respt_ratio``.

    Args:
        output: Table file, ``.csv`` or ``.parquet``. Under several processes (DDP) each rank
            writes its own ``<stem>.rank<R><suffix>``.

    Raises:
        ValueError: If ``output`` has another suffix.
    """

    def __init__(self, output: str | Path) -> None:
        super().__init__(write_interval="batch_and_epoch")
        self.output = Path(output)
        if self.output.suffix not in SUFFIXES:
            raise ValueError(
                f"output must end in one of {SUFFIXES}, got {str(output)!r}: "
                f"name a .csv or .parquet file"
            )
        self._frames: list[pd.DataFrame] = []
        self._seen = 0  # scenarios so far, where Lightning cannot track dataset indices

    def on_predict_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start an empty table."""
        self._frames, self._seen = [], 0

    def write_on_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        prediction: Any,
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        """Keep the batch's rows, with dataset indices from ``batch_indices``."""
        if dataloader_idx > 0:
            raise ValueError(
                "PredictionWriter writes one predict dataloader: give data.predict one list of "
                "folders"
            )
        local = np.asarray(prediction["scenario"], dtype=np.int64)
        frame = pd.DataFrame({k: v for k, v in prediction.items() if k != "scenario"})
        num_scenarios = int(local.max()) + 1 if local.size else 0
        if batch_indices:
            index = np.asarray(batch_indices, dtype=np.int64)
        else:  # unshuffled loader without index tracking: scenarios come in dataset order
            index = self._seen + np.arange(num_scenarios, dtype=np.int64)
        self._seen += num_scenarios
        frame.insert(0, "scenario", index[local])
        frame.insert(1, "service", frame.groupby("scenario").cumcount())
        self._frames.append(frame)

    def write_on_epoch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        """Write the collected rows (one file per rank under DDP)."""
        table = pd.concat(self._frames, ignore_index=True) if self._frames else pd.DataFrame()
        self._frames = []
        datamodule = getattr(trainer, "datamodule", None)
        names = _service_names(getattr(datamodule, "predict_dataset", None))
        if names is not None and len(table):
            table["service"] = [
                names[int(i)][int(j)] for i, j in zip(table["scenario"], table["service"])
            ]
        path = self.output
        if trainer.world_size > 1:
            path = path.with_name(f"{path.stem}.rank{trainer.global_rank}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            table.to_csv(path, index=False)
        else:
            table.to_parquet(path, index=False)


def _service_names(dataset: Any) -> list[list[str]] | None:
    """Service names of every scenario of a predict dataset, in dataset order, or ``None``.

    Resolves :class:`training.data.ScenarioGraphDataset` (its source folder is read again for
    the names) and the ``Subset`` and ``ConcatDataset`` built from them; anything else gives
    ``None`` (the table then keeps service positions).
    """
    from torch.utils.data import ConcatDataset, Subset

    from training.data import ScenarioGraphDataset
    from training.samples import load_sample_tables

    if isinstance(dataset, ScenarioGraphDataset):
        scenarios = load_sample_tables(dataset.source, dataset.format).scenarios
        return [[svc.name for svc in sc.services] for sc in scenarios]
    if isinstance(dataset, Subset):
        base = _service_names(dataset.dataset)
        return None if base is None else [base[int(i)] for i in dataset.indices]
    if isinstance(dataset, ConcatDataset):
        parts = [_service_names(d) for d in dataset.datasets]
        if any(p is None for p in parts):
            return None
        return [names for part in parts for names in part or []]
    return None
