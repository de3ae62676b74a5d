r"""The placement objective: lost requests per second, SLA misses, latency and energy.

For a scenario with services :math:`c` (arrival rate :math:`\lambda_c`, deadline
:math:`SLA_c`) and predicted (or simulated) loss ratio :math:`\ell_c`, throughput :math:`X_c`
and latency :math:`L_c` (mean or p95), the cost to minimise is

.. math::
    J = w_{loss} \sum_c \lambda_c \ell_c
      + w_{sla} \sum_c \lambda_c \min\Big(1, \Big(\frac{L_c}{SLA_c} - 1\Big)^+\Big)
      + w_{lat} \sum_c X_c \bar L_c
      + w_{energy} \sum_d \big(P^{idle}_d + (P^{busy}_d - P^{idle}_d)\,\rho_d\big)

The first term is the total lost requests per second. The SLA term counts a service whose
latency exceeds its deadline by a factor of two as if all its requests were lost (requests/s),
and grows linearly from the deadline. The latency term is the mean number of requests in the
system (Little's law); its default weight, :data:`TIE_BREAK_LATENCY_WEIGHT`, is small enough
that it only decides between plans that lose the same traffic and meet the same deadlines
(e.g. one device against a needless split over Wi-Fi: 4 requests/s at 2 ms or 16 ms add
8e-6 or 6.4e-5, while losing 0.1% of them costs 4e-3). The energy term (W) uses the utilisation
:math:`\rho_d = \min(1, \sum_{f \text{ on } d} X_{s(f)}\,\text{MACs}_f / (c_d\,\text{speed}_d))`:
the offered load of :func:`datagen.walk.device_load` with each service's throughput in place
of its arrival rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from datagen.validation import finite_float
from datagen.walk import device_capacity, device_load
from datagen.world import Scenario

__all__ = ["Objective", "OBJECTIVE_TERMS", "TIE_BREAK_LATENCY_WEIGHT", "metrics_frame"]

#: Names of the terms returned by :meth:`Objective.breakdown`.
OBJECTIVE_TERMS: tuple[str, ...] = ("loss", "sla", "latency", "energy")

#: Default weight of the latency term: a tie-break between plans of equal loss and SLA terms,
#: so that a placement does not split a model over a slow link for nothing.
TIE_BREAK_LATENCY_WEIGHT: float = 1e-3


@dataclass(frozen=True)
class Objective:
    """A weighted cost of a deployment's per-service metrics (lower is better).

    Args:
        loss_weight: Weight of the total lost requests/s (default: ``1.0``).
        sla_weight: Weight of the SLA-miss penalty (requests/s) (default: ``1.0``).
        latency_weight: Weight of the mean number of requests in the system (default:
            :data:`TIE_BREAK_LATENCY_WEIGHT` = ``1e-3``, a tie-break; ``0`` ignores latency
            below the deadline).
        energy_weight: Weight of the power drawn by the devices (W) (default: ``0.0``).
        sla_metric: Latency compared with the SLA: ``"mean"`` (``latency_mean``) or
            ``"p95"`` (``latency_p95``) (default: ``"p95"``).
    """

    loss_weight: float = 1.0
    sla_weight: float = 1.0
    latency_weight: float = TIE_BREAK_LATENCY_WEIGHT
    energy_weight: float = 0.0
    sla_metric: Literal["mean", "p95"] = "p95"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> Objective:
        """Check the weights; return ``self``.

        Raises:
            ValueError: On a negative or non-finite weight, all weights zero, or an unknown
                ``sla_metric``.
        """
        ws = []
        for name in ("loss_weight", "sla_weight", "latency_weight", "energy_weight"):
            v = getattr(self, name)
            if finite_float(v) is None:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v!r}")
            ws.append(v)
        if not any(ws):
            raise ValueError("at least one objective weight must be > 0; set loss_weight=1.0")
        if self.sla_metric not in ("mean", "p95"):
            raise ValueError(f"sla_metric must be 'mean' or 'p95', got {self.sla_metric!r}")
        return self

    # -- evaluation --------------------------------------------------------------------------

    def breakdown(self, scenarios: Sequence[Scenario], metrics: pd.DataFrame) -> pd.DataFrame:
        """Unweighted terms per scenario.

        Args:
            scenarios: The scenarios the metrics describe.
            metrics: One row per (scenario index, service) with columns ``scenario``,
                ``service``, ``throughput``, ``loss_ratio``, ``latency_mean`` and
                ``latency_p95`` (a predictor's output, or :func:`metrics_frame` of
                simulation results).

        Returns:
            DataFrame indexed by scenario index with columns :data:`OBJECTIVE_TERMS`.

        Raises:
            ValueError: If a column is missing, or a scenario index is out of range.
        """
        need = ["scenario", "service", "throughput", "loss_ratio", "latency_mean"]
        if self.sla_metric == "p95":
            need.append("latency_p95")
        missing = [c for c in need if c not in metrics.columns]
        if missing:
            raise ValueError(f"metrics lack columns {missing}; a predictor must return them")
        n = len(scenarios)
        sidx = metrics["scenario"].to_numpy(dtype=np.int64)
        if sidx.size and (sidx.min() < 0 or sidx.max() >= n):
            raise ValueError(f"metrics refer to scenario indices outside 0..{n - 1}")
        names = metrics["service"].to_numpy()
        lam, sla = _rates_and_slas(scenarios, sidx, names)
        loss = np.nan_to_num(metrics["loss_ratio"].to_numpy(dtype=float), nan=1.0)
        loss = np.clip(loss, 0.0, 1.0)
        col = "latency_mean" if self.sla_metric == "mean" else "latency_p95"
        lat = metrics[col].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            over = np.where(np.isfinite(sla), lat / sla - 1.0, 0.0)
        over = np.clip(np.nan_to_num(over, nan=0.0, posinf=1.0), 0.0, 1.0)
        tput = np.nan_to_num(metrics["throughput"].to_numpy(dtype=float), nan=0.0)
        lat_mean = metrics["latency_mean"].to_numpy(dtype=float)
        # an unbounded latency (a saturated service) is paid for by the loss term; here it would
        # make every such plan cost inf and erase their ranking by loss
        lat_mean = np.where(np.isfinite(lat_mean), lat_mean, 0.0)
        out = np.zeros((n, len(OBJECTIVE_TERMS)))
        np.add.at(out[:, 0], sidx, lam * loss)
        np.add.at(out[:, 1], sidx, lam * over)
        np.add.at(out[:, 2], sidx, tput * lat_mean)
        if self.energy_weight > 0:
            out[:, 3] = self._energy(scenarios, sidx, names, tput)
        return pd.DataFrame(out, columns=list(OBJECTIVE_TERMS)).rename_axis("scenario")

    def __call__(self, scenarios: Sequence[Scenario], metrics: pd.DataFrame) -> np.ndarray:
        """Weighted cost of each scenario, shape ``(len(scenarios),)`` (lower is better)."""
        terms = self.breakdown(scenarios, metrics).to_numpy()
        w = np.array([self.loss_weight, self.sla_weight, self.latency_weight, self.energy_weight])
        return terms @ w

    @staticmethod
    def _energy(
        scenarios: Sequence[Scenario], sidx: np.ndarray, names: np.ndarray, tput: np.ndarray
    ) -> np.ndarray:
        x = {(int(i), str(s)): float(t) for i, s, t in zip(sidx, names, tput)}
        # the devices of every scenario side by side (a batch of candidates shares one tuple of
        # devices: read it once), and the work each fragment brings
        known: dict[int, tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]] = {}
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        fragment_device: list[int] = []
        work: list[float] = []
        base = 0
        for i, sc in enumerate(scenarios):
            devs = known.get(id(sc.devices))
            if devs is None:
                devs = known[id(sc.devices)] = (
                    {d.name: k for k, d in enumerate(sc.devices)},
                    device_capacity(sc.devices),
                    np.array([d.idle_power for d in sc.devices], dtype=np.float64),
                    np.array([d.busy_power for d in sc.devices], dtype=np.float64),
                )
            index = devs[0]
            parts.append(devs[1:])
            for svc in sc.services:
                rate = x.get((i, svc.name), svc.arrival_rate)
                for f, dev in zip(svc.fragments, sc.placement[svc.name]):
                    fragment_device.append(base + index[dev])
                    work.append(rate * f.macs)
            base += len(index)
        if not parts:
            return np.zeros(0)
        capacity, idle, busy = (np.concatenate(p) for p in zip(*parts))
        rho = device_load(np.asarray(fragment_device, dtype=np.int64),
                          np.asarray(work, dtype=np.float64), capacity)
        power = idle + (busy - idle) * np.minimum(1.0, rho)
        device_scenario = np.repeat(np.arange(len(scenarios)), [len(p[0]) for p in parts])
        out = np.bincount(device_scenario, power, minlength=len(scenarios))
        return out.astype(np.float64, copy=False)


def _rates_and_slas(
    scenarios: Sequence[Scenario], sidx: np.ndarray, names: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival rate (requests/s) and SLA (s) of the service of each metrics row.

    Candidates of one search share their tuple of services, so the names are looked up once
    per distinct tuple, vectorised over its rows, rather than row by row.

    Raises:
        KeyError: If a row names a service its scenario does not have.
    """
    lam = np.empty(sidx.size)
    sla = np.empty(sidx.size)
    if sidx.size == 0:
        return lam, sla
    # id -> (the services object, kept alive so that its id stays unique; its scenarios)
    groups: dict[int, tuple[Any, list[int]]] = {}
    for i in np.unique(sidx).tolist():
        held = scenarios[i].services
        groups.setdefault(id(held), (held, []))[1].append(i)
    group_of = np.empty(len(scenarios), dtype=np.int64)
    for g, (_, members) in enumerate(groups.values()):
        group_of[members] = g
    row_group = group_of[sidx]
    for g, (services, _) in enumerate(groups.values()):
        rows = np.flatnonzero(row_group == g) if len(groups) > 1 else np.arange(sidx.size)
        pos = pd.Index([s.name for s in services]).get_indexer(names[rows])
        if (pos < 0).any():
            raise KeyError(names[rows][pos < 0][0])
        lam[rows] = np.array([s.arrival_rate for s in services], dtype=float)[pos]
        sla[rows] = np.array([s.sla for s in services], dtype=float)[pos]
    return lam, sla


def metrics_frame(service_tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-scenario simulation tables into a predictor-like long frame.

    Args:
        service_tables: ``SimResult.services`` of each scenario (indexed by service name).

    Returns:
        One row per (scenario index, service) with a ``scenario`` and a ``service`` column
        plus the tables' columns.
    """
    parts = []
    for i, table in enumerate(service_tables):
        t = table.copy()
        t.insert(0, "service", t.index.astype(str))
        t.insert(0, "scenario", i)
        parts.append(t.reset_index(drop=True))
    if not parts:
        return pd.DataFrame(columns=["scenario", "service"])
    return pd.concat(parts, ignore_index=True)

