"""The result of one simulation run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from datagen.sim.records import JobRecord, RawRecords

__all__ = ["SimResult"]


@dataclass(frozen=True, eq=False)
class SimResult:
    """What :func:`datagen.sim.simulate` returns.

    Args:
        services: One row per service (index = service name) with the columns of
            :data:`datagen.sim.metrics.SERVICE_COLUMNS`: ``arrival_rate`` (requests/s),
            ``throughput`` (requests/s), ``loss_ratio``, ``latency_mean``/``_p50``/``_p95``/
            ``_p99`` (s), ``tput_ratio``, ``respt_ratio`` and the 95% half-widths
            ``throughput_ci``, ``loss_ratio_ci``, ``latency_mean_ci``.
        devices: One row per device: ``utilization`` (busy servers / servers, time
            average), ``mean_present`` (requests, time average), ``drop_rate`` (drops/s).
        links: One row per link (``"a-b"``), same columns (empty without links).
        horizon: Arrival horizon ``H`` (s).
        warmup_time: Start of the measurement window (s).
        seed: The seed the variates were drawn from.
        num_events: External arrivals plus service completions (devices and links) of the
            whole run, warm-up and drain included.
        engine: ``"fast"`` or ``"simpy"``.
        records: Per-request records (fields of :class:`datagen.sim.records.JobRecord`) when
            ``keep_records=True``, else ``None``.
        raw: The raw record arrays when ``keep_records=True``, else ``None``.
    """

    services: pd.DataFrame
    devices: pd.DataFrame
    links: pd.DataFrame
    horizon: float
    warmup_time: float
    seed: int | None
    num_events: int
    engine: str
    records: pd.DataFrame | None = None
    raw: RawRecords | None = field(default=None, repr=False)

    def job_records(self) -> Iterator[JobRecord]:
        """Iterate over the per-request records as typed :class:`JobRecord` tuples.

        Raises:
            ValueError: If the run was made without ``keep_records=True``.
        """
        if self.records is None:
            raise ValueError("records were not kept; call simulate(..., keep_records=True)")
        for row in self.records.itertuples(index=False):
            yield JobRecord(
                service=str(row.service),
                request=int(row.request),
                arrival=float(row.arrival),
                completion=float(row.completion),
                record_type=str(row.record_type),
                drop_station=row.drop_station if isinstance(row.drop_station, str) else None,
            )

    def __repr__(self) -> str:
        return (
            f"SimResult(engine={self.engine!r}, services={len(self.services)}, "
            f"devices={len(self.devices)}, links={len(self.links)}, horizon={self.horizon:.6g}, "
            f"seed={self.seed!r}, num_events={self.num_events})"
        )
