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

    One row per service: ``sample`` (the scenario's position in the predict dataset, in the
    order :func:`training.data.load_samples` reads it), ``service`` (the service's position in
    its scenario), then ``throughput`` (requests/s), ``loss_ratio``, ``latency_mean`` (s),
    ``latency_p95`` (s), ``tput_ratio`` and ``respt_ratio``.

    Args:
        output: Table file, ``.csv`` or ``.parquet``. Under several processes (DDP) each rank
            writes its own ``<stem>.rank<R><suffix>``.

    Raises:
        ValueError: If ``output`` has another suffix.
    """

    def __init__(self, output: str | Path) -> None:
        super().__init__(write_interval="epoch")
        self.output = Path(output)
        if self.output.suffix not in SUFFIXES:
            raise ValueError(
                f"output must end in one of {SUFFIXES}, got {str(output)!r}: "
                f"name a .csv or .parquet file"
            )

    def write_on_epoch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        """Join the batches (dataset indices from ``batch_indices``) and write the table."""
        if len(batch_indices) > 1:  # Lightning nests both by dataloader when there are several
            raise ValueError(
                f"PredictionWriter writes one predict dataloader, got {len(batch_indices)}: "
                f"give data.predict one list of folders"
            )
        indices = batch_indices[0] if batch_indices else []
        frames = []
        for out, idx in zip(predictions, indices):
            local = np.asarray(out["scenario"], dtype=np.int64)
            frame = pd.DataFrame({k: v for k, v in out.items() if k != "scenario"})
            frame.insert(0, "sample", np.asarray(idx, dtype=np.int64)[local])
            frame.insert(1, "service", frame.groupby("sample").cumcount())
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        path = self.output
        if trainer.world_size > 1:
            path = path.with_name(f"{path.stem}.rank{trainer.global_rank}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            table.to_csv(path, index=False)
        else:
            table.to_parquet(path, index=False)
