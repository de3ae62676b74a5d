"""Pre-drawn random variates shared by both engines.

All randomness of a run is drawn here, before any event is simulated, from one
:class:`numpy.random.SeedSequence`: service ``c`` (in scenario order) gets child ``c``, which
spawns one stream for its arrivals and one for its service factors. The engines then only
replay these numbers, so for the same seed they walk the same sample path.

- ``gaps[c]``: inter-arrival gaps of service ``c`` over ``[0, horizon]`` (s); arrival times are
  their running sum.
- ``factors[c]``: unit-mean service factors, shape ``(num_arrivals_c, num_fragments_c)``;
  fragment ``i`` of request ``k`` takes ``macs_i / speed * factors[c][k, i]`` seconds.
- Link transfers are deterministic (``bytes / bandwidth``) and need no variates.

Requests are also numbered globally in order of arrival time (ties: lower service index
first); the engines write their records at these global indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.sim.compiled import CompiledScenario
from datagen.sim.distributions import (
    ArrivalProcess,
    MMPP2Arrivals,
    PoissonArrivals,
    service_factor,
)

__all__ = ["Variates", "draw_variates", "arrival_process"]


@dataclass(frozen=True, eq=False)
class Variates:
    """The pre-drawn variates of one run plus the global request numbering.

    Args:
        horizon: The common arrival horizon ``H`` (s).
        gaps: Per service, the inter-arrival gaps (s).
        factors: Per service, the service factors, shape ``(n_c, F_c)``.
        arr_time: Arrival time of each global request, ascending, shape ``(N,)`` (s).
        arr_service: Service index of each global request, shape ``(N,)``.
        arr_local: Index of each global request within its service, shape ``(N,)``.
        svc_global: Per service, the global index of each of its requests.
        fac_flat: All factors, flattened service after service.
        req_fac_base: Offset of each global request's factor row in ``fac_flat``.
        req_visit_base: Offset of each global request's visit block in the visit arrays.
        num_visits: Total number of station visits slots.
        st_queue_len: Ring-buffer length each station needs.
    """

    horizon: float
    gaps: tuple[np.ndarray, ...]
    factors: tuple[np.ndarray, ...]
    arr_time: np.ndarray
    arr_service: np.ndarray
    arr_local: np.ndarray
    svc_global: tuple[np.ndarray, ...]
    fac_flat: np.ndarray
    req_fac_base: np.ndarray
    req_visit_base: np.ndarray
    num_visits: int
    st_queue_len: np.ndarray

    @property
    def num_requests(self) -> int:
        """Total number of arrivals over all services."""
        return int(self.arr_time.shape[0])


def arrival_process(rate: float, mmpp: object | None) -> ArrivalProcess:
    """Return the arrival process of a service (Poisson, or MMPP-2 when ``mmpp`` is set)."""
    if mmpp is None:
        return PoissonArrivals(rate)
    return MMPP2Arrivals(rate, mmpp)  # type: ignore[arg-type]


def draw_variates(
    compiled: CompiledScenario, horizon: float, seed: int | np.random.SeedSequence
) -> Variates:
    """Draw every random number of one run.

    Args:
        compiled: The compiled scenario.
        horizon: The common arrival horizon (s).
        seed: An integer seed or a :class:`numpy.random.SeedSequence`.

    Returns:
        The variates and the global request numbering.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    # The children SeedSequence.spawn would give, built without mutating ``ss`` (spawn counts
    # its calls), so the same SeedSequence always yields the same variates.
    children = [
        np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, c), pool_size=ss.pool_size)
        for c in range(compiled.num_services)
    ]
    gaps: list[np.ndarray] = []
    factors: list[np.ndarray] = []
    for c, svc in enumerate(compiled.scenario.services):
        arr_ss, fac_ss = (
            np.random.SeedSequence(
                children[c].entropy, spawn_key=(*children[c].spawn_key, j), pool_size=ss.pool_size
            )
            for j in range(2)
        )
        g = arrival_process(svc.arrival_rate, svc.mmpp).sample_gaps(
            np.random.default_rng(arr_ss), horizon
        )
        dist = service_factor(svc.scv)
        f = dist.sample(np.random.default_rng(fac_ss), (g.shape[0], int(compiled.num_frags[c])))
        gaps.append(g)
        factors.append(np.ascontiguousarray(f, dtype=np.float64))

    counts = np.array([g.shape[0] for g in gaps], dtype=np.int64)
    times = np.concatenate([np.cumsum(g) for g in gaps]) if counts.sum() else np.empty(0)
    service = np.repeat(np.arange(len(gaps), dtype=np.int64), counts)
    local = np.concatenate([np.arange(n, dtype=np.int64) for n in counts])
    order = np.lexsort((service, times))
    arr_time = times[order]
    arr_service = service[order]
    arr_local = local[order]
    svc_global: list[np.ndarray] = []
    inv = np.empty_like(order)
    inv[order] = np.arange(order.shape[0], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for c in range(len(gaps)):
        svc_global.append(inv[starts[c] : starts[c + 1]])

    fac_sizes = counts * compiled.num_frags
    fac_off = np.concatenate([[0], np.cumsum(fac_sizes)])[:-1]
    fac_flat = (
        np.concatenate([f.ravel() for f in factors]) if fac_sizes.sum() else np.empty(0)
    )
    req_fac_base = fac_off[arr_service] + arr_local * compiled.num_frags[arr_service]
    nvis = compiled.svc_nvisits[arr_service]
    req_visit_base = np.concatenate([[0], np.cumsum(nvis)])[:-1].astype(np.int64)
    num_visits = int(nvis.sum())
    per_station = (counts[:, None] * compiled.station_visits_per_request()).sum(axis=0)
    st_queue_len = np.minimum(per_station, compiled.st_capacity) + 1
    return Variates(
        horizon=float(horizon),
        gaps=tuple(gaps),
        factors=tuple(factors),
        arr_time=np.ascontiguousarray(arr_time),
        arr_service=np.ascontiguousarray(arr_service),
        arr_local=np.ascontiguousarray(arr_local),
        svc_global=tuple(svc_global),
        fac_flat=fac_flat,
        req_fac_base=np.ascontiguousarray(req_fac_base, dtype=np.int64),
        req_visit_base=req_visit_base,
        num_visits=num_visits,
        st_queue_len=st_queue_len.astype(np.int64),
    )
