"""Outcomes are records: what the engines write, and their typed, tabular views.

Each engine writes the same :class:`RawRecords` arrays, indexed by the global request number
of :mod:`datagen.sim.variates` and by visit slot (one slot per station hop of each request):

- per request: ``req_status`` (0 = still in the system, 1 = served, 2 = dropped), ``req_end``
  (completion time, or drop time; s) and ``req_drop_station`` (station index or ``-1``);
- per visit: arrival at the station ``v_arr``, start of service ``v_start`` and departure
  ``v_end`` (s). Visits never reached are NaN; a dropped visit has ``v_start`` NaN and
  ``v_end == v_arr``.

A request of a semantic split is dropped as soon as one of its branches is dropped (its end
time is that instant); its other branches keep running and keep loading their stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from datagen.sim.compiled import CompiledScenario
from datagen.sim.variates import Variates

__all__ = [
    "SERVED",
    "DROPPED",
    "IN_SYSTEM",
    "RECORD_TYPES",
    "JobRecord",
    "RawRecords",
    "records_frame",
    "visit_stations",
]

IN_SYSTEM = 0
SERVED = 1
DROPPED = 2
RECORD_TYPES: tuple[str, str, str] = ("in_system", "served", "dropped")


class JobRecord(NamedTuple):
    """The outcome of one request (one row of :attr:`SimResult.records`).

    Args:
        service: Service name.
        request: Index of the request within its service (arrival order).
        arrival: Arrival time (s).
        completion: Completion time if served, drop time if dropped (s).
        record_type: ``"served"``, ``"dropped"`` or ``"in_system"``.
        drop_station: Name of the station that dropped it, or ``None``.
    """

    service: str
    request: int
    arrival: float
    completion: float
    record_type: str
    drop_station: str | None


@dataclass(frozen=True, eq=False)
class RawRecords:
    """The arrays an engine writes (see the module docstring for their meaning)."""

    req_status: np.ndarray
    req_end: np.ndarray
    req_drop_station: np.ndarray
    v_arr: np.ndarray
    v_start: np.ndarray
    v_end: np.ndarray
    num_events: int


def visit_stations(compiled: CompiledScenario, variates: Variates) -> np.ndarray:
    """Station index of every visit slot, shape ``(num_visits,)``."""
    nvis = compiled.svc_nvisits[variates.arr_service]
    within = np.arange(variates.num_visits, dtype=np.int64) - np.repeat(
        variates.req_visit_base, nvis
    )
    start = compiled.svc_visit_start[:-1][variates.arr_service]
    return compiled.visit_station[np.repeat(start, nvis) + within]


def records_frame(
    compiled: CompiledScenario, variates: Variates, raw: RawRecords
) -> pd.DataFrame:
    """Per-request records as a DataFrame with the fields of :class:`JobRecord`.

    Rows are in global arrival order.
    """
    names = np.asarray(compiled.station_names + ("",), dtype=object)
    drop = raw.req_drop_station
    return pd.DataFrame(
        {
            "service": pd.Categorical.from_codes(
                variates.arr_service, categories=list(compiled.service_names)
            ),
            "request": variates.arr_local,
            "arrival": variates.arr_time,
            "completion": raw.req_end,
            "record_type": pd.Categorical.from_codes(
                raw.req_status.astype(np.int64), categories=list(RECORD_TYPES)
            ),
            "drop_station": np.where(drop >= 0, names[drop], None),
        }
    )
