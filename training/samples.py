"""Read labelled samples from a dataset folder, without importing Lightning.

Used by ``python -m training evaluate``, the report and the demo, which need the scenarios and
their labels but not the graph cache or the data module of :mod:`training.data`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from datagen.world import Scenario

__all__ = ["FORMATS", "load_samples"]

#: Source formats understood by :func:`load_samples`.
FORMATS: tuple[str, ...] = ("datagen", "chainnet")


def load_samples(
    source: str | Path, format: str = "datagen"
) -> list[tuple[Scenario, pd.DataFrame, pd.DataFrame | None]]:
    """Read ``(scenario, service labels, device labels or None)`` samples from a folder.

    Args:
        source: A dataset folder (``datagen``) or a ChainNet ``raw`` folder (``chainnet``).
        format: ``"datagen"`` or ``"chainnet"`` (default: ``"datagen"``).

    Raises:
        ValueError: If ``format`` is unknown or the folder cannot be read.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if format == "chainnet":
        from datagen.chainnet_format import read_chainnet

        return [(sc, labels, None) for sc, labels in read_chainnet(source)]
    from datagen.dataset import load_dataset

    ds = load_dataset(source)
    devices = {int(k): g for k, g in ds.devices.groupby("sample_id", sort=False)}
    out = []
    for sid, (scenario, labels) in zip(ds.sample_ids, ds):
        dev = devices.get(sid)
        dev_labels = None if dev is None else dev.drop(columns=["sample_id"]).set_index("device")
        out.append((scenario, labels, dev_labels))
    return out
