"""Training targets of many samples at once, looked up in flat label tables.

:func:`training.data.attach_targets` labels one graph from per-sample DataFrames (seven
``reindex`` calls per graph). :func:`target_arrays` gives the same numbers for every sample of
a dataset with one hashed lookup per table: the label rows are keyed by ``(scenario, name)``
and the keys of every service (device) of every scenario, in graph order, are resolved in one
:meth:`pandas.Index.get_indexer` call. Only the scenarios are walked in Python (to read their
names); no pandas object is built per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from chainnet.schema import DEVICE, SERVICE, TARGETS
from datagen.shards import ID_COLUMN
from datagen.world import Scenario

__all__ = ["TargetArrays", "target_arrays", "service_targets"]


class TargetArrays(NamedTuple):
    """Labels of every service and device of many scenarios, concatenated in graph order.

    Attributes:
        service_y: ``tput_ratio``, ``respt_ratio`` and ``p95_ratio = latency_p95 /
            latency_mean`` (:data:`chainnet.schema.TARGETS`), ``[S, 3]``.
        loss_true: ``loss_ratio`` (``1 - tput_ratio`` where the source has none), ``[S]``.
        latency_true: ``latency_mean`` (s), ``[S]``.
        p95_true: ``latency_p95`` (s), ``[S]``.
        device_y: ``utilization`` and ``drop_prob``, ``[D, 2]``.

    All float64; labels a source lacks are NaN.
    """

    service_y: np.ndarray
    loss_true: np.ndarray
    latency_true: np.ndarray
    p95_true: np.ndarray
    device_y: np.ndarray


def _row_index(
    table: pd.DataFrame | None, name_col: str, scenario_ids: np.ndarray, names: Sequence[str]
) -> np.ndarray:
    """Row of ``table`` of every ``(scenario_ids[i], names[i])``, ``-1`` where there is none."""
    if table is None or len(table) == 0 or len(names) == 0:
        return np.full(len(names), -1, dtype=np.int64)
    index = pd.MultiIndex.from_arrays(
        [table[ID_COLUMN].to_numpy(dtype=np.int64), table[name_col].to_numpy(dtype=object)]
    )
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise ValueError(
            f"label table has several rows for scenario {dup[0]} {name_col} {dup[1]!r}; "
            f"each ({ID_COLUMN}, {name_col}) must appear once (regenerate the dataset)"
        )
    keys = pd.MultiIndex.from_arrays([scenario_ids, np.asarray(names, dtype=object)])
    return np.asarray(index.get_indexer(keys), dtype=np.int64)


def service_targets(
    column: Callable[[str], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The service targets and true values from label columns, in one place.

    .. math::
        y = (\text{tput\_ratio},\ \text{respt\_ratio},\
        \text{latency\_p95} / \text{latency\_mean}),

    and a missing ``loss_ratio`` is :math:`1 - \text{tput\_ratio}`.

    Args:
        column: Returns a label column (``"tput_ratio"``, ``"respt_ratio"``,
            ``"latency_mean"``, ``"latency_p95"``, ``"loss_ratio"``) as a float array.

    Returns:
        ``(y, loss, latency_mean, latency_p95)``.

    Shapes:
        ``y``: ``[S, len(TARGETS[SERVICE])]``; the others ``[S]``.
    """
    tput = column("tput_ratio")
    respt = column("respt_ratio")
    lat = column("latency_mean")
    p95 = column("latency_p95")
    loss = column("loss_ratio")
    loss = np.where(np.isnan(loss), 1.0 - tput, loss)
    y = np.stack([tput, respt, p95 / lat], axis=1)
    assert y.shape[1] == len(TARGETS[SERVICE])
    return y, loss, lat, p95


def _gather(table: pd.DataFrame | None, rows: np.ndarray, key: str) -> np.ndarray:
    """Column ``key`` at ``rows`` as float64; NaN for a missing row or column."""
    if table is None or key not in table.columns:
        return np.full(rows.shape[0], np.nan)
    values = table[key].to_numpy(dtype=np.float64)
    out = np.full(rows.shape[0], np.nan)
    found = rows >= 0
    out[found] = values[rows[found]]
    return out


def target_arrays(
    scenarios: Sequence[Scenario],
    scenario_ids: Sequence[int],
    services: pd.DataFrame,
    devices: pd.DataFrame | None = None,
) -> TargetArrays:
    r"""Look up the targets of every service and device of many scenarios, vectorised.

    Gives, for every scenario, what :func:`training.data.attach_targets` sets on its graph
    from the rows of its sample (same float64 values, before the cast of the tensors):

    .. math::
        y_s = \bigl(\text{tput\_ratio}_s,\ \text{respt\_ratio}_s,\
        \text{latency\_p95}_s / \text{latency\_mean}_s\bigr), \qquad
        \text{loss}_s = \begin{cases} \text{loss\_ratio}_s & \text{if known} \\
        1 - \text{tput\_ratio}_s & \text{otherwise.} \end{cases}

    Args:
        scenarios: The scenarios, in dataset order.
        scenario_ids: The id of each scenario (the key of its label rows).
        services: One row per labelled (scenario, service): columns ``scenario``, ``service``
            and the labels (``SimResult.services`` columns, as ``datagen.Dataset.services``).
        devices: One row per labelled (scenario, device): columns ``scenario``, ``device`` and
            the labels, or ``None`` (default: ``None``). Devices without a row get NaN.

    Returns:
        The :class:`TargetArrays`, services and devices in graph order (scenario by
        scenario, each in its own order).

    Raises:
        ValueError: If ``scenario_ids`` does not match ``scenarios``, a (scenario, name) pair has
            several rows, or a service of some scenario has no label row.

    Shapes:
        ``service_y``: ``[S, 3]``; ``device_y``: ``[D, 2]``; the rest ``[S]``, with ``S`` and
        ``D`` the services and devices of all scenarios.
    """
    if len(scenario_ids) != len(scenarios):
        raise ValueError(
            f"scenario_ids must give one id per scenario, got {len(scenario_ids)} ids for "
            f"{len(scenarios)} scenarios"
        )
    ids = np.asarray(scenario_ids, dtype=np.int64)
    svc_names = [s.name for sc in scenarios for s in sc.services]
    svc_count = np.fromiter((len(sc.services) for sc in scenarios), np.int64, len(scenarios))
    dev_names = [d.name for sc in scenarios for d in sc.devices]
    dev_count = np.fromiter((len(sc.devices) for sc in scenarios), np.int64, len(scenarios))
    rows = _row_index(services, "service", np.repeat(ids, svc_count), svc_names)
    if (rows < 0).any():
        first = int(np.flatnonzero(rows < 0)[0])
        g = int(np.searchsorted(np.cumsum(svc_count), first, side="right"))
        start = int(svc_count[:g].sum())
        names = svc_names[start:start + int(svc_count[g])]
        missing = [n for n, r in zip(names, rows[start:start + len(names)]) if r < 0]
        labelled = (services.loc[services[ID_COLUMN] == ids[g], "service"].tolist()
                    if "service" in services.columns else [])
        raise ValueError(
            f"labels of scenario {int(ids[g])} lack services {missing}; labelled services: "
            f"{labelled}"
        )
    y, loss, lat, p95 = service_targets(lambda key: _gather(services, rows, key))
    dev_rows = _row_index(devices, "device", np.repeat(ids, dev_count), dev_names)
    dev_y = np.stack(
        [_gather(devices, dev_rows, "utilization"), _gather(devices, dev_rows, "drop_prob")],
        axis=1,
    )
    assert dev_y.shape[1] == len(TARGETS[DEVICE])
    return TargetArrays(y, loss, lat, p95, dev_y)
