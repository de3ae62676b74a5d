"""Read labelled samples from a dataset folder, without importing Lightning.

Used by ``python -m training evaluate``, the report and the demo, which need the scenarios and
their labels but not the graph cache or the data module of :mod:`training.data`.
:func:`load_sample_tables` reads the same samples as flat label tables (one row per sample and
service or device), which the graph cache looks up vectorised (:mod:`training.targets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from datagen.shards import ID_COLUMN, empty_table, warn_renamed
from datagen.world import Scenario

__all__ = ["FORMATS", "SampleTables", "load_sample_tables", "load_samples"]

#: Source formats understood by :func:`load_samples`.
FORMATS: tuple[str, ...] = ("datagen", "chainnet")


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    return format


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
    if _check_format(format) == "chainnet":
        from datagen.chainnet_format import read_chainnet

        return [(sc, labels, None) for sc, labels in read_chainnet(source)]
    from datagen.dataset import load_dataset

    ds = load_dataset(source)
    devices = {int(k): g for k, g in ds.devices.groupby(ID_COLUMN, sort=False)}
    out = []
    for sid, (scenario, labels) in zip(ds.scenario_ids, ds):
        dev = devices.get(sid)
        dev_labels = None if dev is None else dev.drop(columns=[ID_COLUMN]).set_index("device")
        out.append((scenario, labels, dev_labels))
    return out


class SampleTables(NamedTuple):
    """The samples of a folder as scenarios plus flat label tables.

    Attributes:
        scenarios: The scenarios, in the order of :func:`load_samples`.
        scenario_ids: The id of each scenario (the key of its label rows).
        services: One row per (scenario, service): ``scenario``, ``service`` and the labels.
        devices: One row per (scenario, device): ``scenario``, ``device`` and the labels, or
            ``None`` for a source without device labels.
    """

    scenarios: list[Scenario]
    scenario_ids: list[int]
    services: pd.DataFrame
    devices: pd.DataFrame | None

    @property
    def sample_ids(self) -> list[int]:
        """Deprecated alias of :attr:`scenario_ids`."""
        return warn_renamed(self, "sample_ids", "scenario_ids")


def load_sample_tables(source: str | Path, format: str = "datagen") -> SampleTables:
    """Read the samples of a folder as scenarios and flat label tables, without per-sample frames.

    The same samples and labels as :func:`load_samples`; the labels stay in one table per
    entity (for ``datagen``, the dataset's own tables), so that no DataFrame is built per
    sample.

    Args:
        source: The folder, as for :func:`load_samples`.
        format: Its format, as for :func:`load_samples` (default: ``"datagen"``).

    Raises:
        ValueError: If ``format`` is unknown or the folder cannot be read.
    """
    if _check_format(format) == "chainnet":
        from datagen.chainnet_format import read_chainnet

        pairs = read_chainnet(source)
        frames = [labels for _, labels in pairs]
        ids = list(range(len(pairs)))
        if frames:
            services = pd.concat(frames)
            names = services.index.to_numpy(dtype=object)
            services = services.reset_index(drop=True)
            services.insert(0, "service", names)
            services.insert(0, ID_COLUMN, np.repeat(ids, [len(f) for f in frames]))
        else:
            services = empty_table("service")
        return SampleTables([sc for sc, _ in pairs], ids, services, None)
    from datagen.dataset import load_dataset

    ds = load_dataset(source)
    scenarios = [Scenario.from_json(text) for text in ds.scenarios["scenario_json"]]
    return SampleTables(scenarios, ds.scenario_ids, ds.services, ds.devices)
