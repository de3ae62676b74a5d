"""The fast engine: a numba event loop over the compiled arrays.

Same contract and same variates as :mod:`datagen.sim.engine_simpy`; only the event loop
differs. State lives in flat arrays:

- a binary min-heap of pending events keyed by ``(time, token)``: a token (one per request
  and branch) has at most one pending event, so simultaneous events are processed in token
  order whatever order they were scheduled in; the SimPy engine uses the same key (token as
  event priority), which makes ties deterministic and identical in both engines;
- one ring-buffer FCFS queue per station;
- one *token* per (request, branch), pointing at the hop it is on.

External arrivals are already sorted (see :mod:`datagen.sim.variates`), so they are merged
with the heap instead of being pushed into it; an arrival at the same instant as a heap event
goes first. At a service completion the server is released, the finished token moves on, and
only then do free servers go to the head of the station's queue, exactly like leaving
``with resource.request()`` in the SimPy engine (a token that re-enters the same station queues
behind the ones already waiting). The loop runs until every request has completed or been
dropped (arrivals stop at the horizon; the system then drains).

The engine writes records only; metrics are computed from them by :mod:`datagen.sim.metrics`.
"""

from __future__ import annotations

import numba
import numpy as np

from datagen.sim.compiled import CompiledScenario
from datagen.sim.records import RawRecords
from datagen.sim.variates import Variates

__all__ = ["run_fast"]

_SERVED = 1
_DROPPED = 2


@numba.njit(cache=True)
def _push(ht: np.ndarray, hk: np.ndarray, n: int, t: float, k: int) -> int:
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] < t or (ht[p] == t and hk[p] < k):
            break
        ht[i] = ht[p]
        hk[i] = hk[p]
        i = p
    ht[i] = t
    hk[i] = k
    return n + 1


@numba.njit(cache=True)
def _pop(ht: np.ndarray, hk: np.ndarray, n: int) -> int:
    # Removes the root (the caller has read it). Returns the new size.
    n -= 1
    t = ht[n]
    k = hk[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c] and hk[c + 1] < hk[c])):
            c += 1
        if t < ht[c] or (t == ht[c] and k < hk[c]):
            break
        ht[i] = ht[c]
        hk[i] = hk[c]
        i = c
    ht[i] = t
    hk[i] = k
    return n


@numba.njit(cache=True)
def _pump(
    s: int,
    t: float,
    st_busy: np.ndarray,
    st_servers: np.ndarray,
    q_buf: np.ndarray,
    q_off: np.ndarray,
    q_head: np.ndarray,
    q_len: np.ndarray,
    st_queue_len: np.ndarray,
    tok_hop: np.ndarray,
    tok_req: np.ndarray,
    req_visit_base: np.ndarray,
    req_fac_base: np.ndarray,
    hop_vofs: np.ndarray,
    hop_frag: np.ndarray,
    hop_time: np.ndarray,
    fac: np.ndarray,
    v_start: np.ndarray,
    ht: np.ndarray,
    hk: np.ndarray,
    hn: int,
) -> int:
    # Give free servers of station s to the head of its queue (FCFS), as SimPy's
    # Resource._trigger_put does. Returns the new heap size.
    while q_len[s] > 0 and st_busy[s] < st_servers[s]:
        k = q_buf[q_off[s] + q_head[s]]
        q_head[s] += 1
        if q_head[s] == st_queue_len[s]:
            q_head[s] = 0
        q_len[s] -= 1
        st_busy[s] += 1
        h = tok_hop[k]
        r = tok_req[k]
        v_start[req_visit_base[r] + hop_vofs[h]] = t
        f = hop_frag[h]
        if f >= 0:
            dt = hop_time[h] * fac[req_fac_base[r] + f]
        else:
            dt = hop_time[h]
        hn = _push(ht, hk, hn, t + dt, k)
    return hn


@numba.njit(cache=True)
def _loop(
    arr_time: np.ndarray,
    arr_service: np.ndarray,
    req_fac_base: np.ndarray,
    req_visit_base: np.ndarray,
    fac: np.ndarray,
    svc_path_start: np.ndarray,
    svc_npaths: np.ndarray,
    path_hop_end: np.ndarray,
    path_hop_start: np.ndarray,
    hop_station: np.ndarray,
    hop_time: np.ndarray,
    hop_frag: np.ndarray,
    hop_vofs: np.ndarray,
    st_servers: np.ndarray,
    st_capacity: np.ndarray,
    st_queue_len: np.ndarray,
    num_visits: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_req = arr_time.shape[0]
    n_st = st_servers.shape[0]
    # Tokens: one per (request, branch), numbered request by request.
    req_tok_base = np.empty(n_req + 1, dtype=np.int64)
    req_tok_base[0] = 0
    for r in range(n_req):
        req_tok_base[r + 1] = req_tok_base[r] + svc_npaths[arr_service[r]]
    n_tok = req_tok_base[n_req]
    tok_req = np.empty(n_tok, dtype=np.int64)
    tok_hop = np.empty(n_tok, dtype=np.int64)
    tok_end = np.empty(n_tok, dtype=np.int64)

    req_status = np.zeros(n_req, dtype=np.int8)
    req_end = np.full(n_req, np.nan)
    req_drop = np.full(n_req, -1, dtype=np.int64)
    req_left = np.zeros(n_req, dtype=np.int64)
    v_arr = np.full(num_visits, np.nan)
    v_start = np.full(num_visits, np.nan)
    v_end = np.full(num_visits, np.nan)

    st_n = np.zeros(n_st, dtype=np.int64)
    st_busy = np.zeros(n_st, dtype=np.int64)
    q_off = np.empty(n_st, dtype=np.int64)
    tot = 0
    for s in range(n_st):
        q_off[s] = tot
        tot += st_queue_len[s]
    q_buf = np.empty(tot, dtype=np.int64)
    q_head = np.zeros(n_st, dtype=np.int64)
    q_len = np.zeros(n_st, dtype=np.int64)

    ht = np.empty(n_tok + 1)
    hk = np.empty(n_tok + 1, dtype=np.int64)
    hn = 0
    n_events = 0
    ia = 0
    done_st = -1

    while True:
        if ia < n_req and (hn == 0 or arr_time[ia] <= ht[0]):
            # External arrival: fork into all branches, in branch order.
            r = ia
            ia += 1
            n_events += 1
            t = arr_time[r]
            c = arr_service[r]
            npth = svc_npaths[c]
            req_left[r] = npth
            p0 = svc_path_start[c]
            for b in range(npth):
                k = req_tok_base[r] + b
                tok_req[k] = r
                tok_hop[k] = path_hop_start[p0 + b]
                tok_end[k] = path_hop_end[p0 + b]
            first = req_tok_base[r]
            last = first + npth
            done_st = -1
        elif hn > 0:
            t = ht[0]
            k = hk[0]
            hn = _pop(ht, hk, hn)
            h = tok_hop[k]
            done_st = hop_station[h]
            if done_st >= 0:
                # Service completion: leave the station (its queue is served below, after the
                # token has moved on, like SimPy's deferred grant).
                n_events += 1
                v_end[req_visit_base[tok_req[k]] + hop_vofs[h]] = t
                st_n[done_st] -= 1
                st_busy[done_st] -= 1
            tok_hop[k] = h + 1
            first = k
            last = k + 1
        else:
            break

        # Move each token in [first, last) to its next hop.
        for k in range(first, last):
            r = tok_req[k]
            h = tok_hop[k]
            if h == tok_end[k]:
                req_left[r] -= 1
                if req_left[r] == 0 and req_status[r] == 0:
                    req_status[r] = _SERVED
                    req_end[r] = t
                continue
            s = hop_station[h]
            if s < 0:
                hn = _push(ht, hk, hn, t + hop_time[h], k)
                continue
            vid = req_visit_base[r] + hop_vofs[h]
            v_arr[vid] = t
            if st_n[s] >= st_capacity[s]:
                v_end[vid] = t
                req_left[r] -= 1
                if req_status[r] == 0:
                    req_status[r] = _DROPPED
                    req_end[r] = t
                    req_drop[r] = s
                continue
            st_n[s] += 1
            pos = q_head[s] + q_len[s]
            if pos >= st_queue_len[s]:
                pos -= st_queue_len[s]
            q_buf[q_off[s] + pos] = k
            q_len[s] += 1
            hn = _pump(
                s, t, st_busy, st_servers, q_buf, q_off, q_head, q_len, st_queue_len, tok_hop,
                tok_req, req_visit_base, req_fac_base, hop_vofs, hop_frag, hop_time, fac,
                v_start, ht, hk, hn,
            )
        if done_st >= 0:
            hn = _pump(
                done_st, t, st_busy, st_servers, q_buf, q_off, q_head, q_len, st_queue_len,
                tok_hop, tok_req, req_visit_base, req_fac_base, hop_vofs, hop_frag, hop_time,
                fac, v_start, ht, hk, hn,
            )

    n_ev = np.zeros(1, dtype=np.int64)
    n_ev[0] = n_events
    return req_status, req_end, req_drop, v_arr, v_start, v_end, n_ev


def run_fast(compiled: CompiledScenario, variates: Variates) -> RawRecords:
    """Run the numba event loop.

    Args:
        compiled: The compiled scenario.
        variates: The pre-drawn variates.

    Returns:
        The raw per-request and per-visit records.
    """
    req_status, req_end, req_drop, v_arr, v_start, v_end, n_ev = _loop(
        variates.arr_time,
        variates.arr_service,
        variates.req_fac_base,
        variates.req_visit_base,
        variates.fac_flat,
        compiled.svc_path_start,
        compiled.svc_npaths,
        compiled.path_hop_end,
        compiled.path_hop_start,
        compiled.hop_station,
        compiled.hop_time,
        compiled.hop_frag,
        compiled.hop_vofs,
        compiled.st_servers,
        compiled.st_capacity,
        variates.st_queue_len,
        variates.num_visits,
    )
    return RawRecords(
        req_status=req_status,
        req_end=req_end,
        req_drop_station=req_drop,
        v_arr=v_arr,
        v_start=v_start,
        v_end=v_end,
        num_events=int(n_ev[0]),
    )
