r"""Metrics: pure functions of the records.

The measurement window is ``[w, H]`` with ``w = warmup * H``; its length is ``T = H - w``.
Requests are measured as a *cohort*: the ones that arrive inside the window, followed to their
end (the engines drain the system after the last arrival, so no latency is censored).

Per service ``c`` with ``A`` cohort arrivals, ``D`` of them served and ``L`` dropped:

.. math::
    \text{loss\_ratio} = \frac{L}{A}, \qquad \text{tput\_ratio} = \frac{D}{A}, \qquad
    X = \lambda_c\,\frac{D}{A}, \qquad
    \text{respt\_ratio} = \frac{R^0_c}{\bar R_c},

where :math:`R^0_c` is the no-queueing latency (see :mod:`datagen.sim.compiled`) and
:math:`\bar R_c` the mean latency of the served cohort. ``X`` is the ratio estimator of the
throughput (completed requests/s): it removes the noise of the arrival count, keeps
``tput_ratio`` in ``[0, 1]`` and makes ``tput_ratio + loss_ratio = 1`` exactly.

Per station, with :math:`n(t)` requests present and :math:`b(t)` busy servers (from the visit
records, clipped to the window):

.. math::
    U = \frac{1}{cT}\int_w^H b(t)\,dt, \qquad
    \bar N = \frac{1}{T}\int_w^H n(t)\,dt, \qquad
    \text{drop\_rate} = \frac{\#\{\text{drops in } [w, H]\}}{T}.

Confidence half-widths (95%) use batch means: the window is cut into ``batches`` equal slices
by arrival time, each slice gives one estimate, and

.. math::
    \text{ci} = t_{0.975,\,n-1}\,\frac{s}{\sqrt n}

over the ``n`` slices that have data (NaN when fewer than 2).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from datagen.sim.compiled import CompiledScenario
from datagen.sim.records import DROPPED, SERVED, RawRecords, visit_stations
from datagen.sim.variates import Variates

__all__ = [
    "SERVICE_COLUMNS",
    "STATION_COLUMNS",
    "service_metrics",
    "station_metrics",
    "batch_half_width",
]

SERVICE_COLUMNS: tuple[str, ...] = (
    "arrival_rate",
    "throughput",
    "loss_ratio",
    "latency_mean",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "tput_ratio",
    "respt_ratio",
    "throughput_ci",
    "loss_ratio_ci",
    "latency_mean_ci",
)
STATION_COLUMNS: tuple[str, ...] = ("utilization", "mean_present", "drop_rate")

_T_CACHE: dict[int, float] = {}


def _t975(dof: int) -> float:
    q = _T_CACHE.get(dof)
    if q is None:
        q = float(stats.t.ppf(0.975, dof))
        _T_CACHE[dof] = q
    return q


def batch_half_width(values: np.ndarray) -> np.ndarray:
    """95% half-width of the mean of batch estimates, row by row, ignoring NaN batches.

    Args:
        values: Batch estimates, shape ``(rows, batches)``; NaN marks an empty batch.

    Returns:
        Half-widths, shape ``(rows,)`` (NaN where fewer than 2 batches have data).
    """
    out = np.full(values.shape[0], np.nan)
    for i, row in enumerate(values):
        ok = row[~np.isnan(row)]
        n = ok.shape[0]
        if n >= 2:
            out[i] = _t975(n - 1) * float(np.std(ok, ddof=1)) / math.sqrt(n)
    return out


def service_metrics(
    compiled: CompiledScenario,
    variates: Variates,
    raw: RawRecords,
    warmup_time: float,
    batches: int,
) -> pd.DataFrame:
    """Per-service metrics (columns :data:`SERVICE_COLUMNS`, index = service name).

    Args:
        compiled: The compiled scenario.
        variates: The variates the run used.
        raw: The run's records.
        warmup_time: Start of the measurement window ``w`` (s).
        batches: Number of batch-means slices.

    Returns:
        One row per service.

    Raises:
        ValueError: If a service has no served request in the window (run too short).
    """
    C = compiled.num_services
    H = variates.horizon
    T = H - warmup_time
    in_win = variates.arr_time >= warmup_time
    svc = variates.arr_service[in_win]
    status = raw.req_status[in_win]
    arr = variates.arr_time[in_win]
    lat_all = raw.req_end[in_win] - arr
    served = status == SERVED
    dropped = status == DROPPED
    n_arr = np.bincount(svc, minlength=C).astype(np.float64)
    n_done = np.bincount(svc[served], minlength=C).astype(np.float64)
    n_drop = np.bincount(svc[dropped], minlength=C).astype(np.float64)
    if np.any(n_done == 0):
        bad = [compiled.service_names[c] for c in np.flatnonzero(n_done == 0)]
        raise ValueError(
            f"the run completed no request of service(s) {bad} in the measurement window "
            f"[{warmup_time:.6g}, {H:.6g}] s; increase num_requests (or lower warmup)"
        )
    lat = lat_all[served]
    svc_done = svc[served]
    lat_sum = np.bincount(svc_done, weights=lat, minlength=C)
    lat_mean = lat_sum / n_done
    p50 = np.empty(C)
    p95 = np.empty(C)
    p99 = np.empty(C)
    order = np.argsort(svc_done, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(n_done.astype(np.int64))])
    lat_sorted = lat[order]
    for c in range(C):
        q = np.percentile(lat_sorted[bounds[c] : bounds[c + 1]], (50.0, 95.0, 99.0))
        p50[c], p95[c], p99[c] = q
    tput_ratio = n_done / n_arr
    rates = compiled.rates

    # Batch means over arrival-time slices of the window.
    B = int(batches)
    bidx = np.minimum(((arr - warmup_time) / T * B).astype(np.int64), B - 1)
    key = svc * B + bidx
    b_arr = np.bincount(key, minlength=C * B).reshape(C, B).astype(np.float64)
    b_done = np.bincount(key[served], minlength=C * B).reshape(C, B).astype(np.float64)
    b_drop = np.bincount(key[dropped], minlength=C * B).reshape(C, B).astype(np.float64)
    b_lat = np.bincount(key[served], weights=lat, minlength=C * B).reshape(C, B)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_ratio = np.where(b_arr > 0, b_done / b_arr, np.nan)
        b_loss = np.where(b_arr > 0, b_drop / b_arr, np.nan)
        b_latm = np.where(b_done > 0, b_lat / b_done, np.nan)

    return pd.DataFrame(
        {
            "arrival_rate": rates,
            "throughput": rates * tput_ratio,
            "loss_ratio": n_drop / n_arr,
            "latency_mean": lat_mean,
            "latency_p50": p50,
            "latency_p95": p95,
            "latency_p99": p99,
            "tput_ratio": tput_ratio,
            "respt_ratio": compiled.nominal_latency / lat_mean,
            "throughput_ci": rates * batch_half_width(b_ratio),
            "loss_ratio_ci": batch_half_width(b_loss),
            "latency_mean_ci": batch_half_width(b_latm),
        },
        index=pd.Index(compiled.service_names, name="service"),
    )


def station_metrics(
    compiled: CompiledScenario,
    variates: Variates,
    raw: RawRecords,
    warmup_time: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-device and per-link metrics (columns :data:`STATION_COLUMNS`).

    Args:
        compiled: The compiled scenario.
        variates: The variates the run used.
        raw: The run's records.
        warmup_time: Start of the measurement window ``w`` (s).

    Returns:
        ``(devices, links)`` DataFrames indexed by device name and link name (``"a-b"``).
    """
    S = compiled.num_stations
    H = variates.horizon
    w = warmup_time
    T = H - w
    st = visit_stations(compiled, variates)
    reached = ~np.isnan(raw.v_arr)
    st = st[reached]
    va = raw.v_arr[reached]
    vs = raw.v_start[reached]
    ve = raw.v_end[reached]
    was_dropped = np.isnan(vs)
    # Requests still present at the end of the run would have NaN ends; they count until H.
    ve = np.where(np.isnan(ve), H, ve)
    present = np.clip(np.minimum(ve, H) - np.maximum(va, w), 0.0, None)
    present[was_dropped] = 0.0
    vs_ok = np.where(was_dropped, ve, vs)
    busy = np.clip(np.minimum(ve, H) - np.maximum(vs_ok, w), 0.0, None)
    area_n = np.bincount(st, weights=present, minlength=S)
    area_b = np.bincount(st, weights=busy, minlength=S)
    drops = np.bincount(st[was_dropped & (va >= w) & (va <= H)], minlength=S)
    util = area_b / (compiled.st_servers * T)
    mean_n = area_n / T
    rate = drops / T
    D = compiled.num_devices
    names = compiled.station_names

    def frame(lo: int, hi: int, label: str) -> pd.DataFrame:
        return pd.DataFrame(
            {"utilization": util[lo:hi], "mean_present": mean_n[lo:hi], "drop_rate": rate[lo:hi]},
            index=pd.Index(names[lo:hi], name=label),
        )

    return frame(0, D, "device"), frame(D, S, "link")
