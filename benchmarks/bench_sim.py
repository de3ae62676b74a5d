"""Benchmark the simulator engines: events/s of the fast (numba) and SimPy engines.

Covers three workloads (events = external arrivals + service completions):

- (a) a 3-station tandem, exponential service, K=10, rho=0.8 at every station, 200k arrivals;
- (b) 3 services over 8 devices with shared devices and deterministic service;
- (c) the fixed cost of one call: 100 services on 10 devices, 1,000 arrivals in all.

Each figure is the median of ``--repeats`` runs; the variants of one workload run interleaved
(one run of each, then again), so a busy machine slows them alike. The engine figure times the
event loop alone (variates drawn beforehand, numba compiled beforehand); the ``simulate``
figure times the whole call (validation, variates, loop, metrics) and is printed beside the
baseline of the same call with the variate builder of earlier versions (one generator per
service and stream, merged by a sort; ``legacy streams``). SimPy runs a shorter horizon
(events/s is a rate). Rates are given per wall-clock second and per CPU second of this process
(the latter is robust when other jobs share the machine).

To run: ``.venv/bin/python benchmarks/bench_sim.py [--arrivals 200000] [--simpy_arrivals 20000]``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from datagen.sim.compiled import compile_scenario
from datagen.sim.engine_fast import run_fast
from datagen.sim.engine_simpy import run_simpy
from datagen.sim.runner import MAX_EVENTS, _prepare, _run, simulate
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


def many_services(C: int = 100, D: int = 10) -> Scenario:
    devs = tuple(Device(f"d{i}", speed=100.0, capacity=8) for i in range(D))
    svcs = tuple(
        Service(f"s{c}", tuple(Fragment(f"f{c}_{i}", macs=0.5) for i in range(3)),
                arrival_rate=1.0, scv=1.0)
        for c in range(C)
    )
    place = Placement({f"s{c}": tuple(f"d{(c + i) % D}" for i in range(3)) for c in range(C)})
    return Scenario(devs, svcs, place)


def median_rates(
    fns: dict[str, Callable[[], int]], runs: int
) -> dict[str, tuple[float, float, int]]:
    """Median events (or calls) per wall second and per CPU second, the variants interleaved."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    n: dict[str, int] = {}
    for _ in range(runs):
        for key, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            n[key] = fn()
            wall[key].append(n[key] / (time.perf_counter() - t0))
            cpu[key].append(n[key] / max(time.process_time() - c0, 1e-9))
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), n[k]) for k in fns}


def whole_call(sc: Scenario, horizon: float, legacy: bool) -> Callable[[], int]:
    """One whole ``simulate`` call (the baseline: the same call with the legacy streams)."""
    if not legacy:
        return lambda: simulate(sc, horizon=horizon, seed=0).num_events

    def run() -> int:
        compiled, H = _prepare(sc, 1, 0.1, 0, "fast", 20, horizon, MAX_EVENTS)
        return _run(compiled, H, 0.1, 0, "fast", 20, False, legacy_streams=True).num_events

    return run


def bench(name: str, sc: Scenario, arrivals: int, simpy_arrivals: int, runs: int) -> None:
    comp = compile_scenario(sc)
    horizon = arrivals / float(comp.rates.sum())
    var = draw_variates(comp, horizon, 0)
    small = draw_variates(comp, simpy_arrivals / float(comp.rates.sum()), 0)
    run_fast(comp, small)  # compile / warm up
    for legacy in (False, True):
        whole_call(sc, simpy_arrivals / float(comp.rates.sum()), legacy)()
    r = median_rates(
        {
            "loop": lambda: run_fast(comp, var).num_events,
            "whole": whole_call(sc, horizon, legacy=False),
            "legacy": whole_call(sc, horizon, legacy=True),
        },
        runs,
    )
    s = median_rates({"simpy": lambda: run_simpy(comp, small).num_events}, max(1, runs // 2))
    (fast, fast_cpu, n_fast), (full, full_cpu, _) = r["loop"], r["whole"]
    base, base_cpu, _ = r["legacy"]
    slow, slow_cpu, n_slow = s["simpy"]
    print(
        f"({name}) events: fast {n_fast}, simpy {n_slow}   [wall | cpu]\n"
        f"    fast engine loop : {fast / 1e6:8.2f} | {fast_cpu / 1e6:8.2f} M events/s\n"
        f"    fast simulate()  : {full / 1e6:8.2f} | {full_cpu / 1e6:8.2f} M events/s "
        f"(validation + variates + loop + metrics)\n"
        f"      legacy streams : {base / 1e6:8.2f} | {base_cpu / 1e6:8.2f} M events/s "
        f"(baseline, same run)   speed-up {full / base:.2f} | {full_cpu / base_cpu:.2f} x\n"
        f"    simpy engine     : {slow / 1e3:8.1f} | {slow_cpu / 1e3:8.1f} k events/s\n"
        f"    fast/simpy ratio : {fast / slow:8.0f} | {fast_cpu / slow_cpu:8.0f} x (loop), "
        f"{full / slow:.0f} | {full_cpu / slow_cpu:.0f} x (simulate)"
    )


def bench_fixed_cost(runs: int) -> None:
    sc = many_services()
    horizon = 1000.0 / 100.0  # 1,000 arrivals over 100 services of rate 1
    for legacy in (False, True):
        whole_call(sc, horizon, legacy)()

    def calls(fn: Callable[[], int]) -> Callable[[], int]:
        def run() -> int:
            for _ in range(10):
                fn()
            return 10

        return run

    r = median_rates(
        {"new": calls(whole_call(sc, horizon, False)),
         "legacy": calls(whole_call(sc, horizon, True))},
        runs,
    )
    (new, new_cpu, _), (old, old_cpu, _) = r["new"], r["legacy"]
    print(
        f"(c: 100 services, 1,000 arrivals: fixed cost of one call)   [wall | cpu]\n"
        f"    fast simulate()  : {1e3 / new:8.2f} | {1e3 / new_cpu:8.2f} ms per call\n"
        f"      legacy streams : {1e3 / old:8.2f} | {1e3 / old_cpu:8.2f} ms per call "
        f"(baseline, same run)   speed-up {new / old:.2f} | {new_cpu / old_cpu:.2f} x"
    )


PROG = "python benchmarks/bench_sim.py"


def build_parser() -> Any:
    """The command-line parser of this tool (:func:`datagen.cli_common.tool_parser`)."""
    from datagen.cli_common import tool_parser

    ap = tool_parser(PROG, __doc__.splitlines()[0])
    ap.add_argument("--arrivals", type=int, default=200_000)
    ap.add_argument("--simpy_arrivals", "--simpy-arrivals", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=7)
    return ap


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from datagen.cli_common import parse_or_exit

    a = parse_or_exit(build_parser(), sys.argv[1:] if argv is None else argv)
    bench("a: 3-station tandem, M/M/1/10, rho=0.8", tandem(), a.arrivals, a.simpy_arrivals,
          a.repeats)
    bench("b: 3 services on 8 devices, shared, deterministic", shared8(), a.arrivals,
          a.simpy_arrivals, a.repeats)
    bench_fixed_cost(a.repeats)


if __name__ == "__main__":
    main()
