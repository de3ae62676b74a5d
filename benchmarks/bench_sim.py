"""Benchmark the simulator engines: events/s of the fast (numba) and SimPy engines.

Covers two workloads (events = external arrivals + service completions):

- (a) a 3-station tandem, exponential service, K=10, rho=0.8 at every station, 200k arrivals;
- (b) 3 services over 8 devices with shared devices and deterministic service.

Each figure is the median of 3 runs. The engine figure times the event loop alone (variates
drawn beforehand, numba compiled beforehand); the ``simulate`` figure times the whole call
(variates, loop, metrics). SimPy runs a shorter horizon (events/s is a rate). Rates are given
per wall-clock second and per CPU second of this process (the latter is robust when other jobs
share the machine).

To run: ``.venv/bin/python benchmarks/bench_sim.py [--arrivals 200000] [--simpy-arrivals 20000]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from datagen.sim.compiled import compile_scenario
from datagen.sim.engine_fast import run_fast
from datagen.sim.engine_simpy import run_simpy
from datagen.sim.runner import simulate
from datagen.sim.variates import draw_variates
from datagen.world import Device, Fragment, Placement, Scenario, Service


def tandem(rho: float = 0.8, K: int = 10) -> Scenario:
    devs = tuple(Device(f"d{i}", speed=1.0, capacity=K) for i in range(3))
    svc = Service(
        "tandem",
        tuple(Fragment(f"f{i}", macs=rho) for i in range(3)),
        arrival_rate=1.0,
        scv=1.0,
    )
    return Scenario(devs, (svc,), Placement({"tandem": ("d0", "d1", "d2")}))


def shared8() -> Scenario:
    devs = tuple(Device(f"d{i}", speed=1.0, capacity=8) for i in range(8))
    # Loads per device stay below 1; d2, d4 and d6 are shared by two or three services.
    s1 = Service("s1", tuple(Fragment(f"a{i}", macs=0.25) for i in range(4)), arrival_rate=1.0)
    s2 = Service("s2", tuple(Fragment(f"b{i}", macs=0.3) for i in range(4)), arrival_rate=1.0)
    s3 = Service("s3", tuple(Fragment(f"c{i}", macs=0.2) for i in range(3)), arrival_rate=1.5)
    place = Placement(
        {
            "s1": ("d0", "d1", "d2", "d4"),
            "s2": ("d3", "d2", "d5", "d6"),
            "s3": ("d4", "d6", "d7"),
        }
    )
    return Scenario(devs, (s1, s2, s3), place)


def median_rate(fn: Callable[[], int], runs: int = 3) -> tuple[float, float, int]:
    """Median events per wall second and per CPU second over ``runs`` runs."""
    wall, cpu = [], []
    n = 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        n = fn()
        wall.append(n / (time.perf_counter() - t0))
        cpu.append(n / max(time.process_time() - c0, 1e-9))
    return statistics.median(wall), statistics.median(cpu), n


def bench(name: str, sc: Scenario, arrivals: int, simpy_arrivals: int) -> None:
    comp = compile_scenario(sc)
    horizon = arrivals / float(comp.rates.sum())
    var = draw_variates(comp, horizon, 0)
    small = draw_variates(comp, simpy_arrivals / float(comp.rates.sum()), 0)
    run_fast(comp, small)  # compile / warm up
    fast, fast_cpu, n_fast = median_rate(lambda: run_fast(comp, var).num_events)
    slow, slow_cpu, n_slow = median_rate(lambda: run_simpy(comp, small).num_events)

    def whole() -> int:
        return simulate(sc, horizon=horizon, seed=0).num_events

    full, full_cpu, _ = median_rate(whole)
    print(
        f"({name}) events: fast {n_fast}, simpy {n_slow}   [wall | cpu]\n"
        f"    fast engine loop : {fast / 1e6:8.2f} | {fast_cpu / 1e6:8.2f} M events/s\n"
        f"    fast simulate()  : {full / 1e6:8.2f} | {full_cpu / 1e6:8.2f} M events/s "
        f"(variates + loop + metrics)\n"
        f"    simpy engine     : {slow / 1e3:8.1f} | {slow_cpu / 1e3:8.1f} k events/s\n"
        f"    fast/simpy ratio : {fast / slow:8.0f} | {fast_cpu / slow_cpu:8.0f} x (loop), "
        f"{full / slow:.0f} | {full_cpu / slow_cpu:.0f} x (simulate)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arrivals", type=int, default=200_000)
    p.add_argument("--simpy-arrivals", type=int, default=20_000)
    a = p.parse_args()
    bench("a: 3-station tandem, M/M/1/10, rho=0.8", tandem(), a.arrivals, a.simpy_arrivals)
    bench("b: 3 services on 8 devices, shared, deterministic", shared8(), a.arrivals,
          a.simpy_arrivals)


if __name__ == "__main__":
    main()
