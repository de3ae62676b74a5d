r"""Pre-drawn random variates shared by both engines.

All randomness of a run comes from **one** generator, ``numpy.random.default_rng(seed)`` (a
:class:`numpy.random.SeedSequence` seeds it), read as one stream in time order by a numba
kernel. The engines then only replay these numbers, so for the same seed they walk the same
sample path.

The arrivals of all services form one Markov-modulated Poisson process: with every MMPP
service in its current state (high or low), the next event comes after an exponential time of
rate :math:`R`, the sum of the arrival rates :math:`\lambda_c(\text{state}_c)` and of the
switching rates :math:`1/\bar d(\text{state}_c)` of the MMPP services, and it is an arrival of
service :math:`c` or a state switch of service :math:`m` with probability proportional to its
rate. Without MMPP services this is the superposition of independent Poisson processes, drawn
already merged (no sort). The stream reads, in this order:

1. one uniform per MMPP service (scenario order): the initial state, high with probability
   ``high_fraction`` (the stationary law);
2. per event: one standard exponential (the time to it), then, when more than one kind of
   event is possible, one uniform (which event); for an arrival of service :math:`c`, its
   fragments' unit-mean service factors in fragment order (nothing for SCV 0, one standard
   exponential for SCV 1, one ``gamma(1/scv, scv)`` otherwise).

The stream stops at the first event after the horizon. Nothing in it depends on the horizon,
so a longer run's variates start with a shorter run's (the *prefix property*): with the same
seed, a longer run extends the shorter one's sample path. :class:`VariateStream` keeps the
stream open to extend a run to a longer horizon without drawing its start again.

- ``arr_time``: arrival times, ascending, ``<= horizon`` (s); ties keep stream order.
- ``arr_service``: the service of each request (requests are numbered in arrival order).
- ``visit_factor``: one factor per station visit slot: fragment ``i`` of request ``r`` takes
  ``macs_i / speed * visit_factor[req_visit_base[r] + slot_i]`` seconds; link slots hold 1.0
  (transfers are deterministic, ``bytes / bandwidth``).

``draw_variates(..., legacy=True)`` is the builder of earlier versions (one generator per
service for arrivals and one for factors, children of the seed's ``SeedSequence``, merged by
a sort), in the same layout; it is kept only so the benchmark can time it beside the new one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numba
import numpy as np

from datagen.sim.compiled import CompiledScenario
from datagen.sim.distributions import (
    ArrivalProcess,
    Deterministic,
    Exponential,
    MMPP2Arrivals,
    PoissonArrivals,
    service_factor,
)

__all__ = ["Variates", "VariateStream", "draw_variates", "arrival_process"]

# Service-factor laws of the kernel.
_DETERMINISTIC = 0
_EXPONENTIAL = 1
_GAMMA = 2


@dataclass(frozen=True, eq=False)
class Variates:
    """The pre-drawn variates of one run plus the global request numbering.

    Args:
        horizon: The common arrival horizon ``H`` (s).
        arr_time: Arrival time of each request, ascending, shape ``(N,)`` (s).
        arr_service: Service index of each request, shape ``(N,)``.
        svc_counts: Arrivals per service, shape ``(C,)``.
        visit_factor: Service factor of each visit slot (1.0 for link slots), shape
            ``(num_visits,)``.
        req_visit_base: Offset of each request's visit block in the visit arrays, ``(N,)``.
        num_visits: Total number of station visit slots.
        st_queue_len: Ring-buffer length each station needs.
    """

    horizon: float
    arr_time: np.ndarray
    arr_service: np.ndarray
    svc_counts: np.ndarray
    visit_factor: np.ndarray
    req_visit_base: np.ndarray
    num_visits: int
    st_queue_len: np.ndarray

    @property
    def num_requests(self) -> int:
        """Total number of arrivals over all services."""
        return int(self.arr_time.shape[0])

    @cached_property
    def arr_local(self) -> np.ndarray:
        """Index of each request within its service, shape ``(N,)`` (computed on first use)."""
        svc = self.arr_service
        order = np.argsort(svc, kind="stable")
        starts = np.concatenate([[0], np.cumsum(self.svc_counts)])[:-1]
        local = np.empty(svc.shape[0], dtype=np.int64)
        local[order] = np.arange(svc.shape[0], dtype=np.int64) - starts[svc[order]]
        return local


def arrival_process(rate: float, mmpp: object | None) -> ArrivalProcess:
    """Return the arrival process of a service (Poisson, or MMPP-2 when ``mmpp`` is set)."""
    if mmpp is None:
        return PoissonArrivals(rate)
    return MMPP2Arrivals(rate, mmpp)  # type: ignore[arg-type]


@numba.njit(cache=True)
def _grow(a: np.ndarray, need: int) -> np.ndarray:
    out = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def _rebuild(rate: np.ndarray, cum: np.ndarray) -> int:
    # Cumulative event weights; returns the last kind with a positive weight.
    total = 0.0
    last = 0
    for i in range(rate.shape[0]):
        total += rate[i]
        cum[i] = total
        if rate[i] > 0.0:
            last = i
    return last


@numba.njit(cache=True)
def _start(
    rng: np.random.Generator,
    rate_high: np.ndarray,
    rate_low: np.ndarray,
    switch_high: np.ndarray,
    switch_low: np.ndarray,
    p_high: np.ndarray,
    is_mmpp: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float]:
    # The head of the stream: the initial MMPP states, then the time to the first event.
    # Returns (high, rate, t): event kinds 0..C-1 are the arrivals of service c, C..2C-1 the
    # switches of MMPP service c - C (present only when some service is MMPP).
    C = rate_high.shape[0]
    high = np.zeros(C, dtype=np.bool_)
    n_kinds = C
    for c in range(C):
        if is_mmpp[c]:
            high[c] = rng.random() < p_high[c]
            n_kinds = 2 * C
    rate = np.zeros(n_kinds)
    for c in range(C):
        rate[c] = rate_high[c] if high[c] or not is_mmpp[c] else rate_low[c]
        if is_mmpp[c]:
            rate[C + c] = switch_high[c] if high[c] else switch_low[c]
    cum = np.empty(n_kinds)
    _rebuild(rate, cum)
    t = 0.0
    t = t + rng.standard_exponential() / cum[n_kinds - 1]
    return high, rate, t


@numba.njit(cache=True)
def _draw(
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
    arr_time: np.ndarray,
    arr_service: np.ndarray,
    req_visit_base: np.ndarray,
    vfac: np.ndarray,
    counts: np.ndarray,
    n: int,
    nv: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int, float]:
    # Reads the stream from the pending event at time t (its exponential already drawn) up to
    # the first event after the horizon, whose time it returns (still pending: a later call
    # with a longer horizon resumes there, reading exactly what one longer call would read).
    # Arrivals are appended at n (visit slots at nv); the arrays grow when full. high, rate and
    # counts are updated in place.
    C = rate_high.shape[0]
    n_kinds = rate.shape[0]
    cum = np.empty(n_kinds)
    last_kind = _rebuild(rate, cum)
    total = cum[n_kinds - 1]
    while t <= horizon:
        kind = 0
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
        if kind >= C:  # a state switch of an MMPP service
            c = kind - C
            high[c] = not high[c]
            rate[c] = rate_high[c] if high[c] else rate_low[c]
            rate[kind] = switch_high[c] if high[c] else switch_low[c]
            last_kind = _rebuild(rate, cum)
            total = cum[n_kinds - 1]
        else:
            c = kind
            if n == arr_time.shape[0]:
                arr_time = _grow(arr_time, n + 1)
                arr_service = _grow(arr_service, n + 1)
                req_visit_base = _grow(req_visit_base, n + 1)
            arr_time[n] = t
            arr_service[n] = c
            req_visit_base[n] = nv
            n += 1
            counts[c] += 1
            nvis = svc_nvisits[c]
            if nv + nvis > vfac.shape[0]:
                vfac = _grow(vfac, nv + nvis)
            if has_links[c]:
                for j in range(nvis):
                    vfac[nv + j] = 1.0
            lw = law[c]
            for f in range(frag_off[c], frag_off[c + 1]):
                if lw == _EXPONENTIAL:
                    x = rng.standard_exponential()
                elif lw == _GAMMA:
                    x = rng.gamma(gamma_shape[c], gamma_scale[c])
                else:
                    x = 1.0
                vfac[nv + frag_slot[f]] = x
            nv += nvis
        t = t + rng.standard_exponential() / total
    return arr_time, arr_service, req_visit_base, vfac, n, nv, t


def _frag_slots(compiled: CompiledScenario) -> tuple[np.ndarray, np.ndarray]:
    """Per service, the visit slot of each fragment: ``slot[off[c] + i]``."""
    off = np.concatenate([[0], np.cumsum(compiled.num_frags)]).astype(np.int64)
    slot = np.empty(int(off[-1]), dtype=np.int64)
    frag_hop = np.flatnonzero(compiled.hop_frag >= 0)
    # The service of each hop: paths are numbered service after service.
    path_svc = np.repeat(np.arange(compiled.num_services), compiled.svc_npaths)
    hop_path = np.repeat(
        np.arange(path_svc.shape[0]), compiled.path_hop_end - compiled.path_hop_start
    )
    hop_svc = path_svc[hop_path]
    slot[off[hop_svc[frag_hop]] + compiled.hop_frag[frag_hop]] = compiled.hop_vofs[frag_hop]
    return off, slot


def _queue_lengths(compiled: CompiledScenario, counts: np.ndarray) -> np.ndarray:
    """Ring-buffer length per station: at most ``K`` present, at most every visit, plus one."""
    per_station = np.bincount(
        compiled.visit_station,
        weights=np.repeat(counts, compiled.svc_nvisits).astype(np.float64),
        minlength=compiled.num_stations,
    ).astype(np.int64)
    return np.minimum(per_station, compiled.st_capacity) + 1


def draw_variates(
    compiled: CompiledScenario,
    horizon: float,
    seed: int | np.random.SeedSequence,
    *,
    legacy: bool = False,
) -> Variates:
    """Draw every random number of one run.

    Args:
        compiled: The compiled scenario.
        horizon: The common arrival horizon (s).
        seed: An integer seed or a :class:`numpy.random.SeedSequence` (not mutated: the same
            object always gives the same variates).
        legacy: Use the builder of earlier versions (per-service generators and a merge
            sort), for benchmarks only (default: ``False``).

    Returns:
        The variates and the global request numbering.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if legacy:
        return _draw_legacy(compiled, float(horizon), ss)
    return VariateStream(compiled, ss).extend(horizon)


class VariateStream:
    """The one random stream of a run, drawn up to a horizon and extendable to a longer one.

    ``VariateStream(compiled, seed).extend(H)`` is :func:`draw_variates`; a later
    ``extend(H2)`` with ``H2 >= H`` reads on from where the stream stopped and returns the
    variates of horizon ``H2``, identical to ``draw_variates(compiled, H2, seed)`` (the prefix
    property) without drawing the first ``H`` seconds again. Sequential stopping uses it to
    continue a run instead of restarting it.

    Args:
        compiled: The compiled scenario.
        seed: A :class:`numpy.random.SeedSequence` (not mutated).
    """

    def __init__(self, compiled: CompiledScenario, seed: np.random.SeedSequence) -> None:
        self.compiled = compiled
        services = compiled.scenario.services
        C = compiled.num_services
        rates = compiled.rates
        self._rate_high = rates.copy()
        self._rate_low = rates.copy()
        self._switch_high = np.zeros(C)
        self._switch_low = np.zeros(C)
        p_high = np.zeros(C)
        is_mmpp = np.zeros(C, dtype=np.bool_)
        self._law = np.empty(C, dtype=np.int64)
        self._gamma_shape = np.ones(C)
        self._gamma_scale = np.ones(C)
        for c, svc in enumerate(services):
            if svc.mmpp is not None:
                is_mmpp[c] = True
                self._rate_high[c], self._rate_low[c] = svc.mmpp.rates(svc.arrival_rate)
                d_high, d_low = svc.mmpp.mean_durations()
                self._switch_high[c], self._switch_low[c] = 1.0 / d_high, 1.0 / d_low
                p_high[c] = svc.mmpp.high_fraction
            dist = service_factor(svc.scv)
            if isinstance(dist, Deterministic):
                self._law[c] = _DETERMINISTIC
            elif isinstance(dist, Exponential):
                self._law[c] = _EXPONENTIAL
            else:  # Gamma: shape 1/scv, scale scv, as Gamma.sample draws it
                self._law[c] = _GAMMA
                self._gamma_shape[c], self._gamma_scale[c] = 1.0 / svc.scv, float(svc.scv)
        self._frag_off, self._frag_slot = _frag_slots(compiled)
        self._has_links = compiled.svc_nvisits != compiled.num_frags
        self._rng = np.random.default_rng(seed)
        self._high, self._rate, self._t = _start(
            self._rng, self._rate_high, self._rate_low, self._switch_high, self._switch_low,
            p_high, is_mmpp,
        )
        self._arr_time = np.empty(0)
        self._arr_service = np.empty(0, dtype=np.int64)
        self._req_visit_base = np.empty(0, dtype=np.int64)
        self._vfac = np.empty(0)
        self._counts = np.zeros(C, dtype=np.int64)
        self._n = 0
        self._nv = 0
        self.horizon = 0.0

    def kernel_args(self) -> tuple[Any, ...]:
        """What a kernel reading the stream needs, in the argument order of ``_draw``.

        ``(rng, t, high, rate, rate_high, rate_low, switch_high, switch_low, law,
        gamma_shape, gamma_scale, frag_off, frag_slot, svc_nvisits, has_links)``: ``t`` is
        the time of the pending event (its exponential drawn), ``high`` and ``rate`` the
        MMPP states and event rates (updated in place by a kernel).
        """
        return (
            self._rng, self._t, self._high, self._rate, self._rate_high, self._rate_low,
            self._switch_high, self._switch_low, self._law, self._gamma_shape,
            self._gamma_scale, self._frag_off, self._frag_slot, self.compiled.svc_nvisits,
            self._has_links,
        )

    def extend(self, horizon: float) -> Variates:
        """Draw on up to ``horizon`` and return the variates of the run of that horizon.

        Args:
            horizon: The common arrival horizon (s), at least the previous one.

        Returns:
            The variates of horizon ``horizon`` (views: valid however the stream goes on).

        Raises:
            ValueError: If ``horizon`` is shorter than the horizon already drawn.
        """
        H = float(horizon)
        if not H >= self.horizon:
            raise ValueError(
                f"horizon must be >= the horizon already drawn ({self.horizon!r} s), got {H!r}"
            )
        compiled = self.compiled
        rates = compiled.rates
        # Room for the expected arrivals plus six standard deviations (Poisson case); the
        # kernel grows its arrays beyond that (MMPP bursts), and pages never written cost
        # nothing.
        mean_n = float(rates.sum()) * H
        est = int(mean_n + 6.0 * math.sqrt(mean_n) + 16)
        mean_v = float((rates * compiled.svc_nvisits).sum()) * H
        est_v = int(
            mean_v + 6.0 * math.sqrt(mean_v) * max(1, int(compiled.svc_nvisits.max())) + 64
        )
        self._arr_time = _reserve(self._arr_time, self._n, est)
        self._arr_service = _reserve(self._arr_service, self._n, est)
        self._req_visit_base = _reserve(self._req_visit_base, self._n, est)
        self._vfac = _reserve(self._vfac, self._nv, est_v)
        (self._arr_time, self._arr_service, self._req_visit_base, self._vfac, n, nv,
         self._t) = _draw(
            self._rng, H, self._t, self._high, self._rate, self._rate_high, self._rate_low,
            self._switch_high, self._switch_low, self._law, self._gamma_shape,
            self._gamma_scale, self._frag_off, self._frag_slot, compiled.svc_nvisits,
            self._has_links, self._arr_time, self._arr_service, self._req_visit_base,
            self._vfac, self._counts, self._n, self._nv,
        )
        self._n, self._nv = int(n), int(nv)
        self.horizon = H
        counts = self._counts.copy()
        return Variates(
            horizon=H,
            arr_time=self._arr_time[:n],
            arr_service=self._arr_service[:n],
            svc_counts=counts,
            visit_factor=self._vfac[:nv],
            req_visit_base=self._req_visit_base[:n],
            num_visits=int(nv),
            st_queue_len=_queue_lengths(compiled, counts),
        )


def _reserve(a: np.ndarray, used: int, need: int) -> np.ndarray:
    """``a`` if it holds ``need`` items, else a larger array with its first ``used`` copied."""
    if a.shape[0] >= need:
        return a
    return _copy_grown(a, used, max(need, int(1.25 * a.shape[0])))


@numba.njit(cache=True)
def _copy_grown(a: np.ndarray, used: int, size: int) -> np.ndarray:
    # Allocated by numba, not numpy: numpy asks for huge pages on arrays of 4 MB and more,
    # and their first touch (a compaction of memory) costs several times more here.
    out = np.empty(size, dtype=a.dtype)
    out[:used] = a[:used]
    return out


def _draw_legacy(compiled: CompiledScenario, H: float, ss: np.random.SeedSequence) -> Variates:
    """The variates of earlier versions, in the new layout (benchmark baseline).

    Service ``c`` uses child ``c`` of ``ss``, which spawns one stream for its arrivals and one
    for its factors; the streams are merged by a sort.
    """
    gaps: list[np.ndarray] = []
    factors: list[np.ndarray] = []
    for c, svc in enumerate(compiled.scenario.services):
        child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, c),
                                       pool_size=ss.pool_size)
        arr_ss, fac_ss = (
            np.random.SeedSequence(child.entropy, spawn_key=(*child.spawn_key, j),
                                   pool_size=ss.pool_size)
            for j in range(2)
        )
        g = arrival_process(svc.arrival_rate, svc.mmpp).sample_gaps(
            np.random.default_rng(arr_ss), H
        )
        f = service_factor(svc.scv).sample(
            np.random.default_rng(fac_ss), (g.shape[0], int(compiled.num_frags[c]))
        )
        gaps.append(g)
        factors.append(np.asarray(f, dtype=np.float64))
    counts = np.array([g.shape[0] for g in gaps], dtype=np.int64)
    times = np.concatenate([np.cumsum(g) for g in gaps]) if counts.sum() else np.empty(0)
    service = np.repeat(np.arange(len(gaps), dtype=np.int64), counts)
    local = np.concatenate([np.arange(n, dtype=np.int64) for n in counts])
    order = np.lexsort((service, times))
    arr_service = np.ascontiguousarray(service[order])
    arr_local = local[order]
    nvis = compiled.svc_nvisits[arr_service]
    req_visit_base = np.concatenate([[0], np.cumsum(nvis)])[:-1].astype(np.int64)
    num_visits = int(nvis.sum())
    vfac = np.ones(num_visits)
    frag_off, frag_slot = _frag_slots(compiled)
    for c, f in enumerate(factors):
        mine = arr_service == c
        base = req_visit_base[mine][arr_local[mine].argsort()]
        slots = frag_slot[frag_off[c] : frag_off[c + 1]]
        vfac[(base[:, None] + slots[None, :]).ravel()] = f.ravel()
    return Variates(
        horizon=H,
        arr_time=np.ascontiguousarray(times[order]),
        arr_service=arr_service,
        svc_counts=counts,
        visit_factor=vfac,
        req_visit_base=req_visit_base,
        num_visits=num_visits,
        st_queue_len=_queue_lengths(compiled, counts),
    )
