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

import numba
import numpy as np
import pandas as pd
from scipy.special import stdtrit

from datagen.sim.compiled import CompiledScenario
from datagen.sim.records import RawRecords
from datagen.sim.variates import Variates

__all__ = [
    "NoCompletionError",
    "SERVICE_COLUMNS",
    "STATION_COLUMNS",
    "service_metrics",
    "service_table",
    "station_metrics",
    "station_tables",
    "batch_half_width",
]


class NoCompletionError(ValueError):
    """A service completed no request in the measurement window: the run was too short for it.

    Callers that score a candidate placement treat it as losing all of that service's
    traffic (e.g. :func:`placement.search.simulation.all_lost`); others should raise
    ``num_requests`` or lower ``warmup``.
    """


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
STATION_COLUMNS: tuple[str, ...] = (
    "utilization",
    "mean_present",
    "drop_rate",
    "arrival_rate",
    "drop_prob",
)

_T_CACHE: dict[int, np.ndarray] = {}


def _t975_table(batches: int) -> np.ndarray:
    """``t_{0.975, n-1}`` for ``n = 0..batches`` (NaN where ``n < 2``)."""
    tab = _T_CACHE.get(batches)
    if tab is None:
        n = np.arange(batches + 1)
        with np.errstate(invalid="ignore"):
            tab = np.where(n >= 2, stdtrit(np.maximum(n - 1, 1), 0.975), np.nan)
        _T_CACHE[batches] = tab
    return tab


@numba.njit(cache=True)
def _half_widths(values: np.ndarray, t_table: np.ndarray) -> np.ndarray:
    rows, cols = values.shape
    out = np.full(rows, np.nan)
    for i in range(rows):
        n = 0
        total = 0.0
        for j in range(cols):
            if not np.isnan(values[i, j]):
                n += 1
                total += values[i, j]
        if n < 2:
            continue
        mean = total / n
        ss = 0.0
        for j in range(cols):
            if not np.isnan(values[i, j]):
                ss += (values[i, j] - mean) ** 2
        out[i] = t_table[n] * math.sqrt(ss / (n - 1)) / math.sqrt(n)
    return out


def batch_half_width(values: np.ndarray) -> np.ndarray:
    """95% half-width of the mean of batch estimates, row by row, ignoring NaN batches.

    Args:
        values: Batch estimates, shape ``(rows, batches)``; NaN marks an empty batch.

    Returns:
        Half-widths, shape ``(rows,)`` (NaN where fewer than 2 batches have data).
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    return _half_widths(values, _t975_table(values.shape[1]))


@numba.njit(cache=True)
def _select_pair(a: np.ndarray, k: int, lo: int, hi: int) -> None:
    # Puts the k-th and (k+1)-th smallest of a[lo:hi + 1] at a[k] and a[k + 1] (every item
    # of a[lo:k] <= a[k] <= a[k + 1] <= every item of a[k + 2:hi + 1]): quickselect with a
    # median-of-three pivot and Hoare's partition (runs of equal values split evenly).
    for kk in (k, k + 1):
        lo_, hi_ = lo, hi
        while hi_ > lo_:
            x, y, z = a[lo_], a[(lo_ + hi_) >> 1], a[hi_]
            pivot = max(min(x, y), min(max(x, y), z))
            i, j = lo_, hi_
            while i <= j:
                while a[i] < pivot:
                    i += 1
                while a[j] > pivot:
                    j -= 1
                if i <= j:
                    v = a[i]
                    a[i] = a[j]
                    a[j] = v
                    i += 1
                    j -= 1
            # a[lo_:j + 1] <= pivot, a[j + 1:i] == pivot, a[i:hi_ + 1] >= pivot
            if kk <= j:
                hi_ = j
            elif kk >= i:
                lo_ = i
            else:
                break
        lo = kk + 1  # a[kk] is in place: the next one is beyond it


@numba.njit(cache=True)
def _percentiles(a: np.ndarray, qs: np.ndarray) -> np.ndarray:
    # np.percentile(a, qs) as numba computes it (linear interpolation between closest ranks,
    # lower * (1 - m) + upper * m; NaN if a holds a NaN), for qs ascending in (0, 100), with
    # a reordered in place instead of copied: the order statistics are exact, so the values
    # are identical. Each selection only searches below the previous (larger) rank.
    n = a.shape[0]
    out = np.empty(qs.shape[0])
    for i in range(n):
        if np.isnan(a[i]):
            out[:] = np.nan
            return out
    if n == 1:
        out[:] = a[0]
        return out
    hi = n - 1
    for i in range(qs.shape[0] - 1, -1, -1):
        rank = 1 + (n - 1) * np.true_divide(qs[i], 100.0)
        f = math.floor(rank)
        m = rank - f
        k = int(f - 1)
        _select_pair(a, k, 0, hi)
        out[i] = a[k] * (1 - m) + a[k + 1] * m
        hi = k + 1
    return out


@numba.njit(cache=True)
def _service_kernel(
    arr_time: np.ndarray,
    arr_service: np.ndarray,
    req_status: np.ndarray,
    req_end: np.ndarray,
    w: float,
    H: float,
    C: int,
    B: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # counts[c] = (arrived, served, dropped); stats[c] = (lat_sum, p50, p95, p99);
    # batches[c, b] = (arrived, served, dropped, lat_sum).
    counts = np.zeros((C, 3), dtype=np.int64)
    lat_sum = np.zeros(C)
    bat = np.zeros((C, B, 4))
    T = H - w
    n = arr_time.shape[0]
    for r in range(n):
        t = arr_time[r]
        if t < w:
            continue
        c = arr_service[r]
        b = int((t - w) / T * B)
        if b >= B:
            b = B - 1
        counts[c, 0] += 1
        bat[c, b, 0] += 1.0
        st = req_status[r]
        if st == 1:
            lat = req_end[r] - t
            counts[c, 1] += 1
            lat_sum[c] += lat
            bat[c, b, 1] += 1.0
            bat[c, b, 3] += lat
        elif st == 2:
            counts[c, 2] += 1
            bat[c, b, 2] += 1.0
    # Latencies grouped by service (counting sort), then percentiles per group.
    off = np.zeros(C + 1, dtype=np.int64)
    for c in range(C):
        off[c + 1] = off[c] + counts[c, 1]
    fill = off[:-1].copy()
    lats = np.empty(off[C])
    for r in range(n):
        t = arr_time[r]
        if t >= w and req_status[r] == 1:
            c = arr_service[r]
            lats[fill[c]] = req_end[r] - t
            fill[c] += 1
    pct = np.full((C, 3), np.nan)
    qs = np.array([50.0, 95.0, 99.0])
    for c in range(C):
        if off[c + 1] > off[c]:
            pct[c, :] = _percentiles(lats[off[c] : off[c + 1]], qs)
    return counts, lat_sum, pct, bat, off


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
        NoCompletionError: If a service has no served request in the window (run too short).
    """
    B = int(batches)
    counts, lat_sum, pct, bat, _ = _service_kernel(
        variates.arr_time, variates.arr_service, raw.req_status, raw.req_end,
        float(warmup_time), float(variates.horizon), compiled.num_services, B,
    )
    return service_table(compiled, variates.horizon, warmup_time, counts, lat_sum, pct, bat)


def service_table(
    compiled: CompiledScenario,
    horizon: float,
    warmup_time: float,
    counts: np.ndarray,
    lat_sum: np.ndarray,
    pct: np.ndarray,
    bat: np.ndarray,
) -> pd.DataFrame:
    """Per-service metrics from the cohort's sums (what :func:`service_metrics` returns).

    Args:
        compiled: The compiled scenario.
        horizon: The arrival horizon ``H`` (s).
        warmup_time: Start of the measurement window ``w`` (s).
        counts: Cohort arrivals, served and dropped per service, shape ``(C, 3)``.
        lat_sum: Sum of the served cohort's latencies per service, shape ``(C,)`` (s).
        pct: Latency p50, p95 and p99 per service, shape ``(C, 3)`` (s).
        bat: Per batch: arrivals, served, dropped and latency sum, shape ``(C, B, 4)``.

    Returns:
        One row per service (columns :data:`SERVICE_COLUMNS`).

    Raises:
        NoCompletionError: If a service has no served request in the window (run too short).
    """
    H = horizon
    n_arr = counts[:, 0].astype(np.float64)
    n_done = counts[:, 1].astype(np.float64)
    n_drop = counts[:, 2].astype(np.float64)
    if np.any(n_done == 0):
        bad = [compiled.service_names[c] for c in np.flatnonzero(n_done == 0)]
        raise NoCompletionError(
            f"the run completed no request of service(s) {bad} in the measurement window "
            f"[{warmup_time:.6g}, {H:.6g}] s; increase num_requests (or lower warmup)"
        )
    lat_mean = lat_sum / n_done
    tput_ratio = n_done / n_arr
    rates = compiled.rates
    b_arr, b_done, b_drop, b_lat = bat[:, :, 0], bat[:, :, 1], bat[:, :, 2], bat[:, :, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        b_ratio = np.where(b_arr > 0, b_done / b_arr, np.nan)
        b_loss = np.where(b_arr > 0, b_drop / b_arr, np.nan)
        b_latm = np.where(b_done > 0, b_lat / b_done, np.nan)
    table = np.column_stack(
        [
            rates,
            rates * tput_ratio,
            n_drop / n_arr,
            lat_mean,
            pct[:, 0],
            pct[:, 1],
            pct[:, 2],
            tput_ratio,
            compiled.nominal_latency / lat_mean,
            rates * batch_half_width(b_ratio),
            batch_half_width(b_loss),
            batch_half_width(b_latm),
        ]
    )
    return pd.DataFrame(
        table,
        index=pd.Index(compiled.service_names, name="service"),
        columns=list(SERVICE_COLUMNS),
    )


@numba.njit(cache=True)
def _station_kernel(
    arr_service: np.ndarray,
    req_visit_base: np.ndarray,
    visit_station: np.ndarray,
    svc_visit_start: np.ndarray,
    v_arr: np.ndarray,
    v_start: np.ndarray,
    v_end: np.ndarray,
    w: float,
    H: float,
    S: int,
) -> np.ndarray:
    # out[s] = (area under n(t), area under busy(t), drops, arrivals) over [w, H].
    out = np.zeros((S, 4))
    for r in range(arr_service.shape[0]):
        c = arr_service[r]
        base = req_visit_base[r]
        j0 = svc_visit_start[c]
        for j in range(svc_visit_start[c + 1] - j0):
            va = v_arr[base + j]
            if np.isnan(va):
                continue
            s = visit_station[j0 + j]
            vs = v_start[base + j]
            ve = v_end[base + j]
            if va >= w and va <= H:
                out[s, 3] += 1.0
            if np.isnan(vs):
                if va >= w and va <= H:
                    out[s, 2] += 1.0
                continue
            if np.isnan(ve):
                ve = H
            hi = ve if ve < H else H
            lo = va if va > w else w
            if hi > lo:
                out[s, 0] += hi - lo
            lo = vs if vs > w else w
            if hi > lo:
                out[s, 1] += hi - lo
    return out


def station_metrics(
    compiled: CompiledScenario,
    variates: Variates,
    raw: RawRecords,
    warmup_time: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-device and per-link metrics (columns :data:`STATION_COLUMNS`).

    ``utilization`` is the busy fraction of the servers, ``mean_present`` the time-average
    number of requests present, ``drop_rate`` and ``arrival_rate`` the drops and arrivals per
    second at the station, and ``drop_prob`` = drops / arrivals (0 without arrivals), all over
    the measurement window ``[w, H]``.

    Args:
        compiled: The compiled scenario.
        variates: The variates the run used.
        raw: The run's records.
        warmup_time: Start of the measurement window ``w`` (s).

    Returns:
        ``(devices, links)`` DataFrames indexed by device name and link name (``"a-b"``).
    """
    acc = _station_kernel(
        variates.arr_service, variates.req_visit_base, compiled.visit_station,
        compiled.svc_visit_start, raw.v_arr, raw.v_start, raw.v_end,
        float(warmup_time), float(variates.horizon), compiled.num_stations,
    )
    return station_tables(compiled, variates.horizon, warmup_time, acc)


def station_tables(
    compiled: CompiledScenario, horizon: float, warmup_time: float, acc: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-device and per-link metrics from the window's sums (as :func:`station_metrics`).

    Args:
        compiled: The compiled scenario.
        horizon: The arrival horizon ``H`` (s).
        warmup_time: Start of the measurement window ``w`` (s).
        acc: Per station: area under the number present (request-s), area under the busy
            servers (server-s), drops and arrivals in the window, shape ``(S, 4)``.

    Returns:
        ``(devices, links)`` DataFrames indexed by device name and link name (``"a-b"``).
    """
    S = compiled.num_stations
    T = horizon - warmup_time
    drop_prob = np.divide(acc[:, 2], acc[:, 3], out=np.zeros(S), where=acc[:, 3] > 0)
    table = np.column_stack(
        [acc[:, 1] / (compiled.st_servers * T), acc[:, 0] / T, acc[:, 2] / T, acc[:, 3] / T,
         drop_prob]
    )
    D = compiled.num_devices
    names = compiled.station_names
    cols = list(STATION_COLUMNS)
    devices = pd.DataFrame(table[:D], index=pd.Index(names[:D], name="device"), columns=cols)
    links = pd.DataFrame(table[D:], index=pd.Index(names[D:], name="link"), columns=cols)
    return devices, links
