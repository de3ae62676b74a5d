"""The SimPy engine: the readable reference implementation of the simulator contract.

One SimPy process generates the arrivals at their pre-drawn times (every service's, in global
order); each arrival forks one process per branch (one for a layer split), which walks its path
of hops:

- a station hop (device or link): **finite capacity is explicit at arrival** — if
  ``len(res.queue) + res.count >= K`` the branch is dropped (and with it the request);
  otherwise ``with res.request() as req: yield req; yield <service time>``;
- a delay hop: wait ``delay`` seconds.

A request is served when its last branch ends; it is dropped as soon as one branch is dropped,
while its surviving branches keep running (they still load their stations).

Ties: every wait of a branch is scheduled with SimPy priority ``2 + token`` (token = the
request's first token number + branch index), so simultaneous completions are processed in
token order, the rule of :mod:`datagen.sim.engine_fast`; arrivals use SimPy's ``NORMAL``
priority and so come before completions at the same instant, as in the fast engine.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from simpy.events import Event, EventPriority

from datagen.sim.compiled import CompiledScenario
from datagen.sim.records import DROPPED, SERVED, RawRecords
from datagen.sim.variates import Variates

__all__ = ["run_simpy"]


class _Wait(Event):
    """A timeout with an explicit SimPy priority (used to break ties by token)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int) -> None:
        super().__init__(env)
        # Same as simpy.Timeout, but with our priority instead of NORMAL.
        self._ok = True
        self._value = None
        env.schedule(self, EventPriority(priority), delay)


def _delay_to(now: float, t: float) -> float:
    """A delay ``d >= 0`` with ``now + d == t`` exactly in floating point (SimPy adds delays).

    ``t - now`` is usually exact; where rounding makes ``now + (t - now)`` miss ``t`` by an
    ulp, the delay is stepped by one ulp towards ``t`` until the sum lands on it (a few steps
    at most; the bound only guards against a pathological float pair).
    """
    d = t - now
    for _ in range(8):
        if now + d == t:
            break
        d = math.nextafter(d, math.inf if now + d < t else -math.inf)
    return max(d, 0.0)


class _Run:
    """State and processes of one SimPy run."""

    def __init__(self, compiled: CompiledScenario, variates: Variates) -> None:
        self.c = compiled
        self.v = variates
        self.env = simpy.Environment()
        self.stations = [
            simpy.Resource(self.env, capacity=int(n)) for n in compiled.st_servers
        ]
        n_req = variates.num_requests
        self.req_status = np.zeros(n_req, dtype=np.int8)
        self.req_end = np.full(n_req, np.nan)
        self.req_drop = np.full(n_req, -1, dtype=np.int64)
        self.req_left = np.zeros(n_req, dtype=np.int64)
        self.v_arr = np.full(variates.num_visits, np.nan)
        self.v_start = np.full(variates.num_visits, np.nan)
        self.v_end = np.full(variates.num_visits, np.nan)
        self.num_events = 0
        self.env.process(self.arrivals(self.env))

    def arrivals(self, env: simpy.Environment) -> Generator[Event, Any, None]:
        """Generate every arrival at its time and fork it into its branches."""
        c = self.c
        token = 0  # tokens are numbered request by request, branch by branch
        for r, (t, svc) in enumerate(
            zip(self.v.arr_time.tolist(), self.v.arr_service.tolist(), strict=True)
        ):
            yield env.timeout(_delay_to(env.now, t))
            self.num_events += 1
            p0 = int(c.svc_path_start[svc])
            npaths = int(c.svc_npaths[svc])
            self.req_left[r] = npaths
            for b in range(npaths):
                env.process(self.branch(env, r, token + b, p0 + b))
            token += npaths

    def branch(
        self, env: simpy.Environment, r: int, token: int, path: int
    ) -> Generator[Event, Any, None]:
        """Walk one branch of request ``r`` along its path of hops."""
        c, v = self.c, self.v
        prio = 2 + token
        visit_base = int(v.req_visit_base[r])
        for h in range(int(c.path_hop_start[path]), int(c.path_hop_end[path])):
            s = int(c.hop_station[h])
            if s < 0:
                yield _Wait(env, float(c.hop_time[h]), prio)
                continue
            res = self.stations[s]
            vid = visit_base + int(c.hop_vofs[h])
            self.v_arr[vid] = env.now
            if len(res.queue) + res.count >= c.st_capacity[s]:
                self.v_end[vid] = env.now
                self.req_left[r] -= 1
                if self.req_status[r] == 0:
                    self.req_status[r] = DROPPED
                    self.req_end[r] = env.now
                    self.req_drop[r] = s
                return
            # A fragment's factor scales its mean time; link slots hold 1.0.
            dt = float(c.hop_time[h]) * float(v.visit_factor[vid])
            with res.request() as req:
                yield req
                self.v_start[vid] = env.now
                yield _Wait(env, dt, prio)
                self.v_end[vid] = env.now
                self.num_events += 1
        self.req_left[r] -= 1
        if self.req_left[r] == 0 and self.req_status[r] == 0:
            self.req_status[r] = SERVED
            self.req_end[r] = env.now


def run_simpy(compiled: CompiledScenario, variates: Variates) -> RawRecords:
    """Run the SimPy engine until every request has been served or dropped.

    Args:
        compiled: The compiled scenario.
        variates: The pre-drawn variates.

    Returns:
        The raw per-request and per-visit records (same layout as the fast engine's).
    """
    run = _Run(compiled, variates)
    run.env.run()
    return RawRecords(
        req_status=run.req_status,
        req_end=run.req_end,
        req_drop_station=run.req_drop,
        v_arr=run.v_arr,
        v_start=run.v_start,
        v_end=run.v_end,
        num_events=run.num_events,
    )
