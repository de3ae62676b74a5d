"""A tandem run without records: the sample path of the fast engine, reduced to metric sums.

For one service whose one path visits distinct one-server stations (:func:`is_tandem`), FCFS
keeps the requests in order at every station, so the fast engine follows each request through
all its hops before the next (``datagen.sim.engine_fast._tandem``). Without records the walk
can go further: it reads the random stream as it goes and, as each request ends, adds to the
sums that :func:`datagen.sim.metrics.service_table` and
:func:`datagen.sim.metrics.station_tables` take, in the same order as they would be added from
the records (identical values). No record arrays: their memory, about 100 bytes per request,
cost more page faults than the events.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from datagen.sim.compiled import CompiledScenario
from datagen.sim.engine_fast import _DROPPED, _SERVED, _is_tandem, _offsets
from datagen.sim.metrics import _percentiles
from datagen.sim.variates import _EXPONENTIAL, _GAMMA, VariateStream, _grow, _rebuild

__all__ = ["tandem_sums", "is_tandem"]


@numba.njit(cache=True)
def _resize_rings(
    dep: np.ndarray, off: np.ndarray, head: np.ndarray, cnt: np.ndarray, L: np.ndarray,
    new_len: np.ndarray,
) -> np.ndarray:
    # Rings of lengths new_len holding the same items in order (heads at 0); off, head and L
    # are updated in place.
    out = np.empty(new_len.sum())
    tot = 0
    for i in range(L.shape[0]):
        for j in range(cnt[i]):
            pos = head[i] + j
            if pos >= L[i]:
                pos -= L[i]
            out[tot + j] = dep[off[i] + pos]
        head[i] = 0
        off[i] = tot
        tot += new_len[i]
    L[:] = new_len
    return out


@numba.njit(cache=True)
def _tandem_walk(
    rng: np.random.Generator,
    H: float,
    t: float,
    high: np.ndarray,
    rate: np.ndarray,
    rate_high: np.ndarray,
    rate_low: np.ndarray,
    switch_high: np.ndarray,
    switch_low: np.ndarray,
    law: np.ndarray,
    gamma_shape: np.ndarray,
    gamma_scale: np.ndarray,
    frag_off: np.ndarray,
    frag_slot: np.ndarray,
    nvis: int,
    hop_station: np.ndarray,
    hop_time: np.ndarray,
    hop_vofs: np.ndarray,
    visit_station: np.ndarray,
    st_capacity: np.ndarray,
    w: float,
    B: int,
    dep: np.ndarray,
    off: np.ndarray,
    L: np.ndarray,
    head: np.ndarray,
    cnt: np.ndarray,
    last_dep: np.ndarray,
    counts: np.ndarray,
    lat_sum: np.ndarray,
    bat: np.ndarray,
    acc: np.ndarray,
    lats: np.ndarray,
    n_lat: int,
    n_arr: int,
    n_events: int,
) -> tuple[float, int, int, int]:
    # The loop of _tandem_sums, until the horizon or until lats is full (n_arr arrivals:
    # the rings, of length min(K, len(lats)) + 1, cannot overflow before). Returns the
    # pending time t, n_lat, n_arr and n_events.
    n_kinds = rate.shape[0]
    n_hops = hop_station.shape[0]
    cum = np.empty(n_kinds)
    last_kind = _rebuild(rate, cum)
    total = cum[n_kinds - 1]
    cap = lats.shape[0]
    T = H - w
    fac = np.ones(nvis)  # link slots hold 1.0
    va = np.empty(nvis)
    vs = np.empty(nvis)
    ve = np.empty(nvis)
    nan = np.nan
    lw = law[0]
    while t <= H and n_arr < cap:
        if n_kinds > 1:
            u = rng.random() * total
            lo, hi = 0, n_kinds
            while lo < hi:  # first kind with cum > u
                mid = (lo + hi) >> 1
                if cum[mid] > u:
                    hi = mid
                else:
                    lo = mid + 1
            kind = lo if lo < n_kinds else last_kind
            if kind >= 1:  # a state switch of the (MMPP) service
                high[0] = not high[0]
                rate[0] = rate_high[0] if high[0] else rate_low[0]
                rate[1] = switch_high[0] if high[0] else switch_low[0]
                last_kind = _rebuild(rate, cum)
                total = cum[n_kinds - 1]
                t = t + rng.standard_exponential() / total
                continue
        # An arrival: its factors, then its walk through the tandem (as _tandem).
        for f in range(frag_off[0], frag_off[1]):
            if lw == _EXPONENTIAL:
                x = rng.standard_exponential()
            elif lw == _GAMMA:
                x = rng.gamma(gamma_shape[0], gamma_scale[0])
            else:
                x = 1.0
            fac[frag_slot[f]] = x
        n_arr += 1
        t_arr = t
        tt = t
        n_events += 1
        status = _SERVED
        for h in range(n_hops):
            s = hop_station[h]
            j = hop_vofs[h]
            if status == _DROPPED:
                va[j] = nan
                vs[j] = nan
                ve[j] = nan
                continue
            va[j] = tt
            while cnt[s] > 0:
                d = dep[off[s] + head[s]]
                if d < tt or (h > 0 and d == tt):
                    head[s] += 1
                    if head[s] == L[s]:
                        head[s] = 0
                    cnt[s] -= 1
                else:
                    break
            if cnt[s] >= st_capacity[s]:
                vs[j] = nan
                ve[j] = tt
                status = _DROPPED
                continue
            start = tt if tt >= last_dep[s] else last_dep[s]
            end = start + hop_time[h] * fac[j]
            vs[j] = start
            ve[j] = end
            pos = head[s] + cnt[s]
            if pos >= L[s]:
                pos -= L[s]
            dep[off[s] + pos] = end
            cnt[s] += 1
            last_dep[s] = end
            n_events += 1
            tt = end
        # _service_kernel's sums for this request.
        if t_arr >= w:
            b = int((t_arr - w) / T * B)
            if b >= B:
                b = B - 1
            counts[0, 0] += 1
            bat[0, b, 0] += 1.0
            if status == _SERVED:
                lat = tt - t_arr
                counts[0, 1] += 1
                lat_sum[0] += lat
                bat[0, b, 1] += 1.0
                bat[0, b, 3] += lat
                lats[n_lat] = lat
                n_lat += 1
            else:
                counts[0, 2] += 1
                bat[0, b, 2] += 1.0
        # _station_kernel's sums for its visits.
        for j in range(nvis):
            a = va[j]
            if np.isnan(a):
                continue
            s = visit_station[j]
            b0 = vs[j]
            e = ve[j]
            if a >= w and a <= H:
                acc[s, 3] += 1.0
            if np.isnan(b0):
                if a >= w and a <= H:
                    acc[s, 2] += 1.0
                continue
            top = e if e < H else H
            bot = a if a > w else w
            if top > bot:
                acc[s, 0] += top - bot
            bot = b0 if b0 > w else w
            if top > bot:
                acc[s, 1] += top - bot
        t = t + rng.standard_exponential() / total
    return t, n_lat, n_arr, n_events


@numba.njit(cache=True)
def _tandem_sums(
    rng: np.random.Generator,
    horizon: float,
    t: float,
    high: np.ndarray,
    rate: np.ndarray,
    rate_high: np.ndarray,
    rate_low: np.ndarray,
    switch_high: np.ndarray,
    switch_low: np.ndarray,
    law: np.ndarray,
    gamma_shape: np.ndarray,
    gamma_scale: np.ndarray,
    frag_off: np.ndarray,
    frag_slot: np.ndarray,
    svc_nvisits: np.ndarray,
    has_links: np.ndarray,
    hop_station: np.ndarray,
    hop_time: np.ndarray,
    hop_vofs: np.ndarray,
    visit_station: np.ndarray,
    st_capacity: np.ndarray,
    w: float,
    B: int,
    est: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    # One whole run of a tandem (see _tandem) that reads the stream as _draw does and keeps
    # no records: as each request ends, it adds to the sums of _service_kernel and
    # _station_kernel (datagen.sim.metrics) in their order (request by request, visit slot
    # by visit slot), so the sums, and the metrics, are identical to the ones computed from
    # the records. Only the served cohort's latencies are kept (for the percentiles). The
    # walk pauses to grow its arrays when more than est requests arrive.
    n_st = st_capacity.shape[0]
    cap = max(est, 16)
    L = np.empty(n_st, dtype=np.int64)
    for s in range(n_st):
        L[s] = min(st_capacity[s], cap) + 1
    off = _offsets(L)
    dep = np.empty(L.sum())
    head = np.zeros(n_st, dtype=np.int64)
    cnt = np.zeros(n_st, dtype=np.int64)
    last_dep = np.full(n_st, -np.inf)
    counts = np.zeros((1, 3), dtype=np.int64)
    lat_sum = np.zeros(1)
    bat = np.zeros((1, B, 4))
    acc = np.zeros((n_st, 4))
    lats = np.empty(cap)
    n_lat = 0
    n_arr = 0
    n_events = 0
    while True:
        t, n_lat, n_arr, n_events = _tandem_walk(
            rng, horizon, t, high, rate, rate_high, rate_low, switch_high, switch_low, law,
            gamma_shape, gamma_scale, frag_off, frag_slot, svc_nvisits[0], hop_station,
            hop_time, hop_vofs, visit_station, st_capacity, w, B, dep, off, L, head, cnt,
            last_dep, counts, lat_sum, bat, acc, lats, n_lat, n_arr, n_events,
        )
        if t > horizon:
            break
        cap *= 2
        lats = _grow(lats, cap)
        new_len = np.empty(n_st, dtype=np.int64)
        for s in range(n_st):
            new_len[s] = min(st_capacity[s], cap) + 1
        dep = _resize_rings(dep, off, head, cnt, L, new_len)
    pct = np.full((1, 3), np.nan)
    if n_lat > 0:
        pct[0, :] = _percentiles(lats[:n_lat], np.array([50.0, 95.0, 99.0]))
    return counts, lat_sum, pct, bat, acc, n_events


def tandem_sums(
    compiled: CompiledScenario,
    horizon: float,
    seed: np.random.SeedSequence,
    warmup_time: float,
    batches: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """One whole run of a tandem (see :func:`_is_tandem`) reduced to the sums of its metrics.

    The same sample path as ``run_fast(compiled, draw_variates(compiled, horizon, seed))``,
    walked while the stream is read, without records: it returns the sums that
    :func:`datagen.sim.metrics.service_table` and
    :func:`datagen.sim.metrics.station_tables` take, identical to those computed from the
    records, and the event count.

    Args:
        compiled: The compiled scenario (a tandem: :func:`is_tandem`).
        horizon: The arrival horizon ``H`` (s).
        seed: The seed of the run's stream.
        warmup_time: Start of the measurement window ``w`` (s).
        batches: Number of batch-means slices.

    Returns:
        ``(counts, lat_sum, pct, bat, acc, num_events)``.
    """
    H = float(horizon)
    mean_n = float(compiled.rates.sum()) * H
    est = int(mean_n + 6.0 * math.sqrt(mean_n) + 16)
    stream = VariateStream(compiled, seed).kernel_args()
    args = (
        stream[0], H, *stream[1:], compiled.hop_station, compiled.hop_time, compiled.hop_vofs,
        compiled.visit_station, compiled.st_capacity, float(warmup_time), int(batches), est,
    )
    counts, lat_sum, pct, bat, acc, n_events = _tandem_sums(*args)
    return counts, lat_sum, pct, bat, acc, int(n_events)


def is_tandem(compiled: CompiledScenario) -> bool:
    """Whether the fast engine walks this scenario as a tandem (no event heap).

    It does for one service with one path of station hops at distinct one-server stations.
    """
    return _is_tandem(compiled)
