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

:class:`FastRun` continues a run with more arrivals (sequential stopping): the loop pauses at
the last arrival, drains a copy of what the drain changes, and resumes from the pause.

The engine writes records, and metrics are computed from them by :mod:`datagen.sim.metrics`;
a tandem run without records (:mod:`datagen.sim.engine_tandem`) reads the random stream as it
goes and sums the same metrics in the same order.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from datagen.sim.compiled import CompiledScenario
from datagen.sim.records import RawRecords
from datagen.sim.variates import Variates

__all__ = ["run_fast", "FastRun"]

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
def _advance(
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
    tok_req: np.ndarray,
    tok_hop: np.ndarray,
    req_status: np.ndarray,
    req_end: np.ndarray,
    req_drop: np.ndarray,
    req_left: np.ndarray,
    v_arr: np.ndarray,
    v_start: np.ndarray,
    v_end: np.ndarray,
    st_n: np.ndarray,
    st_busy: np.ndarray,
    q_buf: np.ndarray,
    q_off: np.ndarray,
    q_head: np.ndarray,
    q_len: np.ndarray,
    ht: np.ndarray,
    hk: np.ndarray,
    ia: int,
    hn: int,
    tok_next: int,
    n_events: int,
    pause: bool,
) -> tuple[int, int, int, int]:
    # The event loop from a given state (the arrays above, updated in place, and the scalars
    # ia, hn, tok_next, n_events, returned updated). It runs until every request has ended
    # or, with pause, until every arrival of arr_time has been taken (the state is then the
    # one a run with more arrivals has at that point: it can be continued with them).
    # Tokens: one per (request, branch), numbered request by request. The record arrays are
    # written before they are read (req_status must start at 0): pages of memory cost a
    # fault on first touch, and a large part of a run is otherwise spent filling arrays.
    n_req = arr_time.shape[0]
    nan = np.nan
    first = 0
    last = 0
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
        elif pause and ia == n_req:
            break
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
    return ia, hn, tok_next, n_events


@numba.njit(cache=True)
def _offsets(lengths: np.ndarray) -> np.ndarray:
    # Start of each station's ring in one buffer, shape (S,).
    off = np.empty(lengths.shape[0], dtype=np.int64)
    tot = 0
    for s in range(lengths.shape[0]):
        off[s] = tot
        tot += lengths[s]
    return off


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
    req_status: np.ndarray,
    req_end: np.ndarray,
    req_drop: np.ndarray,
    v_arr: np.ndarray,
    v_start: np.ndarray,
    v_end: np.ndarray,
    off: np.ndarray,
    dep: np.ndarray,
    head: np.ndarray,
    cnt: np.ndarray,
    last_dep: np.ndarray,
    r0: int,
    n_events: int,
) -> int:
    # The sample path of _advance for one service whose single path visits distinct
    # one-server stations (a tandem): FCFS keeps the requests in order everywhere, so each
    # request can be followed through all its hops before the next one (a finite-buffer
    # Lindley recursion). A station remembers the departure times of the requests it holds
    # (ring buffers dep at off, with head and cnt; last_dep its last departure). Ties as in
    # _advance: an external arrival comes before a departure at the same instant (it still
    # counts that request as present); a request moving on arrives after departures of
    # earlier requests at that instant (smaller tokens). Requests r0.. are followed (earlier
    # ones are final: a later request never changes them); returns the event count.
    n_req = arr_time.shape[0]
    n_hops = hop_station.shape[0]
    nan = np.nan
    for r in range(r0, n_req):
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
    return n_events


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
    return FastRun(compiled).extend(variates, last=True)


def _grown(a: np.ndarray, used: int, need: int, zero: bool = False) -> np.ndarray:
    """``a`` if it holds ``need`` items, else a larger array with its first ``used`` copied.

    With ``zero`` the new items are 0 (the request status must start at 0).
    """
    if a.shape[0] >= need:
        return a
    return _copy_into_new(a, used, need, zero)


@numba.njit(cache=True)
def _copy_into_new(a: np.ndarray, used: int, size: int, zero: bool) -> np.ndarray:
    # Allocated by numba, not numpy: numpy asks for huge pages on arrays of 4 MB and more,
    # and their first touch (a compaction of memory) costs several times more here.
    out = np.empty(size, dtype=a.dtype)
    out[:used] = a[:used]
    if zero:
        out[used:] = 0
    return out


def _relayout(
    buf: np.ndarray, off: np.ndarray, head: np.ndarray, cnt: np.ndarray, old_len: np.ndarray,
    new_len: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Ring buffers of new lengths holding the same items in the same order (heads at 0).

    Returns the new buffer and offsets; ``head`` is set to 0 in place.
    """
    new_off = _offsets(new_len)
    out = _copy_into_new(buf, 0, int(new_len.sum()), False)
    for s in range(new_len.shape[0]):
        n, h, L = int(cnt[s]), int(head[s]), int(old_len[s])
        idx = (h + np.arange(n)) % L if L else np.zeros(0, dtype=np.int64)
        out[new_off[s] : new_off[s] + n] = buf[off[s] + idx]
    head[:] = 0
    return out, new_off


class FastRun:
    """A run of the fast engine that can be continued with more arrivals.

    ``FastRun(compiled).extend(v)`` is :func:`run_fast`. A later ``extend(v2)``, where ``v2``
    extends ``v`` (the variates of the same stream up to a longer horizon, see
    :class:`~datagen.sim.variates.VariateStream`), returns the records of the run of ``v2``,
    identical to ``run_fast(compiled, v2)``, without simulating the events before the last
    arrival of ``v`` again. The event loop keeps its state at the last arrival: for the
    records it drains a system whose requests have all arrived, and the next ``extend``
    first undoes that drain (it saved what the drain changes: the state of the requests
    still in the system). Sequential stopping uses it to continue a run instead of
    restarting it.

    The records returned by ``extend`` are views of the run's arrays: a later ``extend``
    changes them.

    Args:
        compiled: The compiled scenario.
        tandem: ``False`` always runs the event loop (the reference the tandem recursion is
            tested against); ``None`` (default) walks a tandem (:func:`_is_tandem`) by the
            recursion ``_tandem``.
    """

    def __init__(self, compiled: CompiledScenario, tandem: bool | None = None) -> None:
        self.compiled = compiled
        self.tandem = _is_tandem(compiled) and tandem is not False
        S = compiled.num_stations
        self._hop_last, self._hop_npaths = _hop_tables(compiled)
        self._n = 0  # arrivals taken
        self._nv = 0  # visit slots of those
        self._n_tok = 0
        self._n_events = 0
        self._qlen = np.zeros(S, dtype=np.int64)  # ring-buffer lengths
        self._q_off = np.zeros(S, dtype=np.int64)
        # Tokens waiting (event loop) or departure times of those present (tandem).
        self._q_buf = np.empty(0, dtype=np.float64 if self.tandem else np.int64)
        self._q_head = np.zeros(S, dtype=np.int64)
        self._q_len = np.zeros(S, dtype=np.int64)
        self._last_dep = np.full(S, -np.inf)
        self._st_n = np.zeros(S, dtype=np.int64)
        self._st_busy = np.zeros(S, dtype=np.int64)
        self._req_status = np.zeros(0, dtype=np.int8)
        self._req_end = np.empty(0)
        self._req_drop = np.empty(0, dtype=np.int64)
        self._req_left = np.empty(0, dtype=np.int64)
        self._v = [np.empty(0) for _ in range(3)]  # v_arr, v_start, v_end
        self._tok_req = np.empty(0, dtype=np.int64)
        self._tok_hop = np.empty(0, dtype=np.int64)
        self._ht = np.empty(1)
        self._hk = np.empty(1, dtype=np.int64)
        self._hn = 0
        self._tok_next = 0
        self._undo: tuple[Any, ...] | None = None

    def extend(self, variates: Variates, last: bool = False) -> RawRecords:
        """Take the arrivals of ``variates`` beyond those already taken; return the records.

        Args:
            variates: The variates of the run: those of the previous call (if any) extended
                to a horizon at least as long.
            last: No later call will follow (the state at the last arrival is not kept)
                (default: ``False``).

        Returns:
            The records of the whole run of ``variates``, identical to
            ``run_fast(compiled, variates)`` (views, see the class docstring).
        """
        c = self.compiled
        n, nv = variates.num_requests, variates.num_visits
        assert n >= self._n and nv >= self._nv, "variates must extend the previous ones"
        self._restore()
        # The rings must hold what each station can hold: they grow with the arrivals.
        qlen = variates.st_queue_len
        if np.any(qlen > self._qlen):
            qlen = np.maximum(qlen, self._qlen)
            self._q_buf, self._q_off = _relayout(
                self._q_buf, self._q_off, self._q_head, self._q_len, self._qlen, qlen
            )
            self._qlen = qlen
        old_n, old_nv = self._n, self._nv
        self._req_status = _grown(self._req_status, old_n, n, zero=True)
        self._req_end = _grown(self._req_end, old_n, n)
        self._req_drop = _grown(self._req_drop, old_n, n)
        self._v = [_grown(a, old_nv, nv) for a in self._v]
        v_arr, v_start, v_end = self._v
        if self.tandem:
            self._n_events = _tandem(
                variates.arr_time, variates.req_visit_base, variates.visit_factor,
                c.hop_station, c.hop_time, c.hop_vofs, c.st_capacity, self._qlen,
                self._req_status, self._req_end, self._req_drop, v_arr, v_start, v_end,
                self._q_off, self._q_buf, self._q_head, self._q_len, self._last_dep, old_n,
                self._n_events,
            )
            n_events = self._n_events
        else:
            n_tok = int(variates.svc_counts @ c.svc_npaths)
            self._req_left = _grown(self._req_left, old_n, n)
            self._tok_req = _grown(self._tok_req, self._tok_next, n_tok)
            self._tok_hop = _grown(self._tok_hop, self._tok_next, n_tok)
            self._ht = _grown(self._ht, self._hn, n_tok + 1)
            self._hk = _grown(self._hk, self._hn, n_tok + 1)
            args = (
                variates.arr_time, variates.arr_service, variates.req_visit_base,
                variates.visit_factor, c.svc_path_start, c.svc_npaths, c.svc_nvisits,
                c.path_hop_start, c.hop_station, c.hop_time, c.hop_vofs, self._hop_last,
                self._hop_npaths, c.st_servers, c.st_capacity, self._qlen, self._tok_req,
                self._tok_hop, self._req_status, self._req_end, self._req_drop,
                self._req_left, v_arr, v_start, v_end, self._st_n, self._st_busy,
                self._q_buf, self._q_off, self._q_head, self._q_len, self._ht, self._hk,
            )
            ia = old_n
            self._undo = None
            if not last:
                ia, self._hn, self._tok_next, self._n_events = _advance(
                    *args, ia, self._hn, self._tok_next, self._n_events, True
                )
                self._save(variates)
            _, _, _, n_events = _advance(
                *args, ia, self._hn, self._tok_next, self._n_events, False
            )
        self._n, self._nv = n, nv
        return RawRecords(
            self._req_status[:n], self._req_end[:n], self._req_drop[:n], v_arr[:nv],
            v_start[:nv], v_end[:nv], int(n_events),
        )

    def _save(self, variates: Variates) -> None:
        """Save what draining the system will change: the state of the requests in it."""
        hn, n, nv = self._hn, variates.num_requests, variates.num_visits
        k_min = _first_in_system(
            self._hk, hn, self._q_buf, self._q_off, self._q_head, self._q_len, self._qlen,
            self._tok_next,
        )
        # Tokens are numbered request by request, requests in arrival order: the drain
        # changes only tokens from k_min, requests from r_min and visit slots from v_min.
        r_min = int(self._tok_req[k_min]) if k_min < self._tok_next else n
        v_min = int(variates.req_visit_base[r_min]) if r_min < n else nv
        reqs = (self._req_status, self._req_end, self._req_drop, self._req_left)
        self._undo = (
            k_min, r_min, v_min,
            self._tok_hop[k_min : self._tok_next].copy(),
            [a[r_min:n].copy() for a in reqs],
            [a[v_min:nv].copy() for a in self._v],
            self._ht[:hn].copy(), self._hk[:hn].copy(), hn, self._tok_next, self._n_events,
            self._st_n.copy(), self._st_busy.copy(), self._q_buf.copy(), self._q_head.copy(),
            self._q_len.copy(),
        )

    def _restore(self) -> None:
        """Undo the drain of the previous :meth:`extend` (back to the state at its last arrival)."""
        if self._undo is None:
            return
        (k_min, r_min, v_min, tok_hop, reqs, visits, ht, hk, hn, tok_next, n_events, st_n,
         st_busy, q_buf, q_head, q_len) = self._undo
        self._tok_hop[k_min:tok_next] = tok_hop
        arrays: tuple[np.ndarray, ...] = (
            self._req_status, self._req_end, self._req_drop, self._req_left
        )
        for a, saved in zip(arrays, reqs, strict=True):
            a[r_min : r_min + saved.shape[0]] = saved
        for a, saved in zip(self._v, visits, strict=True):
            a[v_min : v_min + saved.shape[0]] = saved
        self._ht[:hn] = ht
        self._hk[:hn] = hk
        self._hn, self._tok_next, self._n_events = hn, tok_next, n_events
        self._st_n[:] = st_n
        self._st_busy[:] = st_busy
        self._q_buf[:] = q_buf
        self._q_head[:] = q_head
        self._q_len[:] = q_len
        self._undo = None


@numba.njit(cache=True)
def _first_in_system(
    hk: np.ndarray,
    hn: int,
    q_buf: np.ndarray,
    q_off: np.ndarray,
    q_head: np.ndarray,
    q_len: np.ndarray,
    q_size: np.ndarray,
    tok_next: int,
) -> int:
    # The smallest token still in the system (pending in the heap or waiting in a queue),
    # tok_next if none.
    k_min = tok_next
    for i in range(hn):
        if hk[i] < k_min:
            k_min = hk[i]
    for s in range(q_off.shape[0]):
        for j in range(q_len[s]):
            pos = q_head[s] + j
            if pos >= q_size[s]:
                pos -= q_size[s]
            k = q_buf[q_off[s] + pos]
            if k < k_min:
                k_min = k
    return k_min
