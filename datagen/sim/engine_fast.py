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

A single service whose one path visits distinct one-server stations (a tandem, no delay hops)
takes a shortcut with the same sample path: FCFS keeps its requests in order at every
station, so each request is followed through all its hops before the next (a finite-buffer
Lindley recursion, no event heap; see ``_tandem``); a test checks it against the loop.

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


@numba.njit(cache=True, inline="always")
def _before(t1: float, k1: int, t2: float, k2: int) -> bool:
    # The heap order: event (t1, k1) comes before (t2, k2) by time, then by token.
    return t1 < t2 or (t1 == t2 and k1 < k2)


@numba.njit(cache=True, inline="always")
def _put(ht: np.ndarray, hk: np.ndarray, i: int, t: float, k: int) -> None:
    ht[i] = t
    hk[i] = k


@numba.njit(cache=True, inline="always")
def _push(ht: np.ndarray, hk: np.ndarray, n: int, t: float, k: int) -> int:
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if _before(ht[p], hk[p], t, k):
            break
        _put(ht, hk, i, ht[p], hk[p])
        i = p
    _put(ht, hk, i, t, k)
    return n + 1


@numba.njit(cache=True, inline="always")
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
        if c + 1 < n and _before(ht[c + 1], hk[c + 1], ht[c], hk[c]):
            c += 1
        if _before(t, k, ht[c], hk[c]):
            break
        _put(ht, hk, i, ht[c], hk[c])
        i = c
    _put(ht, hk, i, t, k)
    return n


@numba.njit(cache=True, inline="always")
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
    hop_vofs: np.ndarray,
    hop_time: np.ndarray,
    vfac: np.ndarray,
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
        vid = req_visit_base[tok_req[k]] + hop_vofs[h]
        v_start[vid] = t
        # Link slots hold the factor 1.0, so a transfer takes exactly hop_time.
        hn = _push(ht, hk, hn, t + hop_time[h] * vfac[vid], k)
    return hn


@numba.njit(cache=True)
def _loop(
    arr_time: np.ndarray,
    arr_service: np.ndarray,
    req_visit_base: np.ndarray,
    vfac: np.ndarray,
    svc_path_start: np.ndarray,
    svc_npaths: np.ndarray,
    svc_nvisits: np.ndarray,
    path_hop_start: np.ndarray,
    hop_station: np.ndarray,
    hop_time: np.ndarray,
    hop_vofs: np.ndarray,
    hop_last: np.ndarray,
    hop_npaths: np.ndarray,
    st_servers: np.ndarray,
    st_capacity: np.ndarray,
    st_queue_len: np.ndarray,
    num_visits: int,
    n_tok: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    n_req = arr_time.shape[0]
    n_st = st_servers.shape[0]
    # Tokens: one per (request, branch), numbered request by request. Arrays are allocated
    # uninitialised and written before they are read: pages of memory cost a fault on first
    # touch, and a large part of a run is otherwise spent filling arrays.
    tok_req = np.empty(n_tok, dtype=np.int64)
    tok_hop = np.empty(n_tok, dtype=np.int64)

    req_status = np.zeros(n_req, dtype=np.int8)
    req_end = np.empty(n_req)  # every request ends (served or dropped) before the loop does
    req_drop = np.empty(n_req, dtype=np.int64)
    req_left = np.empty(n_req, dtype=np.int64)  # written only for fork-join requests
    v_arr = np.empty(num_visits)  # NaN-filled request by request at arrival
    v_start = np.empty(num_visits)
    v_end = np.empty(num_visits)

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

    # At most one pending event per token; only the used part of the heap is ever touched.
    ht = np.empty(n_tok + 1)
    hk = np.empty(n_tok + 1, dtype=np.int64)
    hn = 0
    n_events = 0
    ia = 0
    tok_next = 0
    nan = np.nan

    while True:
        done_st = -1
        if ia < n_req and (hn == 0 or arr_time[ia] <= ht[0]):
            # External arrival: fork into all branches, in branch order.
            r = ia
            ia += 1
            n_events += 1
            t = arr_time[r]
            c = arr_service[r]
            vb = req_visit_base[r]
            for j in range(vb, vb + svc_nvisits[c]):
                v_arr[j] = nan
                v_start[j] = nan
                v_end[j] = nan
            npth = svc_npaths[c]
            if npth > 1:
                req_left[r] = npth
            p0 = svc_path_start[c]
            first = tok_next
            for b in range(npth):
                tok_req[first + b] = r
                tok_hop[first + b] = path_hop_start[p0 + b]
            tok_next += npth
            last = tok_next
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
            if hop_last[h]:
                # The branch is done; the request is served when its last branch is.
                r = tok_req[k]
                if hop_npaths[h] > 1:
                    req_left[r] -= 1
                    left = req_left[r]
                else:
                    left = 0
                if left == 0 and req_status[r] == 0:
                    req_status[r] = _SERVED
                    req_end[r] = t
                    req_drop[r] = -1
                first = 0
                last = 0
            else:
                tok_hop[k] = h + 1
                first = k
                last = k + 1
        else:
            break

        # Move each token in [first, last) onto its (new) hop.
        for k in range(first, last):
            r = tok_req[k]
            h = tok_hop[k]
            s = hop_station[h]
            if s < 0:
                hn = _push(ht, hk, hn, t + hop_time[h], k)
                continue
            vid = req_visit_base[r] + hop_vofs[h]
            v_arr[vid] = t
            if st_n[s] >= st_capacity[s]:
                v_end[vid] = t
                if hop_npaths[h] > 1:
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
                tok_req, req_visit_base, hop_vofs, hop_time, vfac, v_start, ht, hk, hn,
            )
        if done_st >= 0:
            hn = _pump(
                done_st, t, st_busy, st_servers, q_buf, q_off, q_head, q_len, st_queue_len,
                tok_hop, tok_req, req_visit_base, hop_vofs, hop_time, vfac, v_start, ht, hk, hn,
            )

    return req_status, req_end, req_drop, v_arr, v_start, v_end, n_events


@numba.njit(cache=True)
def _tandem(
    arr_time: np.ndarray,
    req_visit_base: np.ndarray,
    vfac: np.ndarray,
    hop_station: np.ndarray,
    hop_time: np.ndarray,
    hop_vofs: np.ndarray,
    st_capacity: np.ndarray,
    st_queue_len: np.ndarray,
    num_visits: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    # The sample path of _loop for one service whose single path visits distinct one-server
    # stations (a tandem): FCFS keeps the requests in order everywhere, so each request can
    # be followed through all its hops before the next one (a finite-buffer Lindley
    # recursion). A station remembers the departure times of the requests it holds. Ties as
    # in _loop: an external arrival comes before a departure at the same instant (it still
    # counts that request as present); a request moving on arrives after departures of
    # earlier requests at that instant (smaller tokens).
    n_req = arr_time.shape[0]
    n_st = st_capacity.shape[0]
    n_hops = hop_station.shape[0]
    req_status = np.empty(n_req, dtype=np.int8)
    req_end = np.empty(n_req)
    req_drop = np.empty(n_req, dtype=np.int64)
    v_arr = np.empty(num_visits)
    v_start = np.empty(num_visits)
    v_end = np.empty(num_visits)
    off = np.empty(n_st, dtype=np.int64)
    tot = 0
    for s in range(n_st):
        off[s] = tot
        tot += st_queue_len[s]
    dep = np.empty(tot)
    head = np.zeros(n_st, dtype=np.int64)
    cnt = np.zeros(n_st, dtype=np.int64)
    last_dep = np.full(n_st, -np.inf)
    n_events = 0
    nan = np.nan
    for r in range(n_req):
        t = arr_time[r]
        vb = req_visit_base[r]
        n_events += 1
        status = _SERVED
        drop_st = -1
        for h in range(n_hops):
            s = hop_station[h]
            vid = vb + hop_vofs[h]
            if status == _DROPPED:
                v_arr[vid] = nan
                v_start[vid] = nan
                v_end[vid] = nan
                continue
            v_arr[vid] = t
            L = st_queue_len[s]
            while cnt[s] > 0:
                d = dep[off[s] + head[s]]
                if d < t or (h > 0 and d == t):
                    head[s] += 1
                    if head[s] == L:
                        head[s] = 0
                    cnt[s] -= 1
                else:
                    break
            if cnt[s] >= st_capacity[s]:
                v_start[vid] = nan
                v_end[vid] = t
                status = _DROPPED
                drop_st = s
                continue
            start = t if t >= last_dep[s] else last_dep[s]
            end = start + hop_time[h] * vfac[vid]
            v_start[vid] = start
            v_end[vid] = end
            pos = head[s] + cnt[s]
            if pos >= L:
                pos -= L
            dep[off[s] + pos] = end
            cnt[s] += 1
            last_dep[s] = end
            n_events += 1
            t = end
        req_status[r] = status
        req_end[r] = t
        req_drop[r] = drop_st
    return req_status, req_end, req_drop, v_arr, v_start, v_end, n_events


def _is_tandem(compiled: CompiledScenario) -> bool:
    """Whether :func:`_tandem` walks this scenario's sample path.

    It does for one service with one path of station hops at distinct one-server stations.
    """
    hs = compiled.hop_station
    return (
        compiled.num_services == 1
        and int(compiled.svc_npaths[0]) == 1
        and bool(np.all(hs >= 0))
        and np.unique(hs).shape[0] == hs.shape[0]
        and bool(np.all(compiled.st_servers[hs] == 1))
    )


def _hop_tables(compiled: CompiledScenario) -> tuple[np.ndarray, np.ndarray]:
    """Per hop: whether it ends its path, and the number of paths of its service."""
    ends = compiled.path_hop_end
    hop_last = np.zeros(compiled.hop_station.shape[0], dtype=np.bool_)
    hop_last[ends - 1] = True
    path_npaths = np.repeat(compiled.svc_npaths, compiled.svc_npaths)
    hop_npaths = np.repeat(path_npaths, ends - compiled.path_hop_start)
    return hop_last, hop_npaths


def run_fast(compiled: CompiledScenario, variates: Variates) -> RawRecords:
    """Run the numba event loop.

    Args:
        compiled: The compiled scenario.
        variates: The pre-drawn variates.

    Returns:
        The raw per-request and per-visit records.
    """
    # Both kernels return the arrays in the field order of RawRecords, then the event count.
    if _is_tandem(compiled):
        out = _tandem(
            variates.arr_time, variates.req_visit_base, variates.visit_factor,
            compiled.hop_station, compiled.hop_time, compiled.hop_vofs, compiled.st_capacity,
            variates.st_queue_len, variates.num_visits,
        )
    else:
        hop_last, hop_npaths = _hop_tables(compiled)
        n_tok = int(variates.svc_counts @ compiled.svc_npaths)
        out = _loop(
            variates.arr_time,
            variates.arr_service,
            variates.req_visit_base,
            variates.visit_factor,
            compiled.svc_path_start,
            compiled.svc_npaths,
            compiled.svc_nvisits,
            compiled.path_hop_start,
            compiled.hop_station,
            compiled.hop_time,
            compiled.hop_vofs,
            hop_last,
            hop_npaths,
            compiled.st_servers,
            compiled.st_capacity,
            variates.st_queue_len,
            variates.num_visits,
            n_tok,
        )
    req_status, req_end, req_drop, v_arr, v_start, v_end, n_ev = out
    return RawRecords(req_status, req_end, req_drop, v_arr, v_start, v_end, int(n_ev))
