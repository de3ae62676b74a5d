"""The fast engine and the SimPy engine walk the same sample path (the main correctness test)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen import MMPP2, Device, Fragment, Link, Placement, Scenario, Service
from datagen.sim import simulate

SPEEDS = (1.0, 2.0, 4.0, 2.5)  # repeated "nice" values on purpose: they create exact ties
SCVS = (0.0, 0.0, 0.5, 1.0, 2.0)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n_dev = draw(st.integers(1, 4))
    devices = []
    for i in range(n_dev):
        cap = draw(st.integers(1, 5))
        devices.append(
            Device(
                f"d{i}",
                speed=draw(st.sampled_from(SPEEDS)),
                capacity=cap,
                servers=draw(st.integers(1, min(cap, 3))),
            )
        )
    names = [d.name for d in devices]
    links = []
    for i in range(n_dev):
        for j in range(i + 1, n_dev):
            if draw(st.booleans()):
                links.append(
                    Link(
                        names[i],
                        names[j],
                        bandwidth=draw(st.sampled_from((200.0, 1000.0, 5000.0))),
                        delay=draw(st.sampled_from((0.0, 0.05, 0.2))),
                    )
                )
    services = []
    placement = {}
    for c in range(draw(st.integers(1, 3))):
        semantic = draw(st.booleans())
        nb = draw(st.integers(2, 3)) if semantic else 1
        frags = []
        for b in range(nb):
            for k in range(draw(st.integers(1, 3))):
                frags.append(
                    Fragment(
                        f"b{b}f{k}",
                        macs=draw(st.sampled_from((0.25, 0.5, 1.0))),
                        output_bytes=draw(st.sampled_from((0, 100, 400))),
                        branch=b,
                    )
                )
        mmpp = None
        if draw(st.booleans()):
            mmpp = MMPP2(
                peak_factor=draw(st.sampled_from((1.5, 3.0))),
                high_fraction=draw(st.sampled_from((0.1, 0.3))),
                mean_high_duration=draw(st.sampled_from((0.5, 5.0))),
            )
        use_source = draw(st.booleans())
        services.append(
            Service(
                f"s{c}",
                tuple(frags),
                arrival_rate=draw(st.sampled_from((0.5, 1.0, 2.0, 3.0))),
                split="semantic" if semantic else "layer",
                scv=draw(st.sampled_from(SCVS)),
                mmpp=mmpp,
                source=draw(st.sampled_from(names)) if use_source else None,
                input_bytes=draw(st.sampled_from((0, 300))) if use_source else 0,
            )
        )
        placement[f"s{c}"] = tuple(draw(st.sampled_from(names)) for _ in frags)
    return Scenario(tuple(devices), tuple(services), Placement(placement), tuple(links))


def run_both(sc: Scenario, seed: int, n: int = 150):
    out = []
    for engine in ("fast", "simpy"):
        try:
            out.append(simulate(sc, num_requests=n, seed=seed, engine=engine, keep_records=True))
        except ValueError as exc:
            out.append(str(exc))
    return out


def assert_identical(fast, slow) -> None:
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow
        return
    for name in ("services", "devices", "links"):
        a, b = getattr(fast, name), getattr(slow, name)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=0.0)
    for field in ("req_status", "req_end", "req_drop_station", "v_arr", "v_start", "v_end"):
        assert np.array_equal(getattr(fast.raw, field), getattr(slow.raw, field), equal_nan=True)
    assert fast.num_events == slow.num_events
    pd.testing.assert_frame_equal(fast.records, slow.records)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sc=scenarios(), seed=st.integers(0, 2**16))
def test_engines_identical_on_random_scenarios(sc: Scenario, seed: int) -> None:
    fast, slow = run_both(sc, seed)
    assert_identical(fast, slow)


def tie_heavy() -> Scenario:
    # Deterministic service, equal speeds, a fork whose branches meet on a shared device at
    # the same instant, and a device re-entered by consecutive fragments.
    devs = tuple(
        Device(n, speed=1.0, capacity=2, servers=s) for n, s in (("a", 1), ("b", 2), ("c", 1))
    )
    fork = Service(
        "fork",
        (
            Fragment("x0", 0.5, branch=0),
            Fragment("x1", 0.5, branch=0),
            Fragment("y0", 0.5, branch=1),
            Fragment("y1", 0.5, branch=1),
        ),
        arrival_rate=1.5,
        split="semantic",
        scv=0.0,
    )
    chain = Service(
        "chain", (Fragment("z0", 0.5), Fragment("z1", 0.5)), arrival_rate=1.0, scv=0.0
    )
    place = Placement({"fork": ("a", "c", "b", "c"), "chain": ("c", "c")})
    return Scenario(devs, (fork, chain), place)


@pytest.mark.parametrize("seed", range(3))
def test_engines_identical_with_exact_ties(seed: int) -> None:
    fast, slow = run_both(tie_heavy(), seed, n=1500)
    assert_identical(fast, slow)


def test_simpy_arrival_delay_lands_exactly_on_the_drawn_time() -> None:
    # The SimPy engine waits t - now; where that sum rounds off t, the delay is corrected.
    from datagen.sim.engine_simpy import _delay_to

    rng = np.random.default_rng(0)
    now = rng.uniform(0.0, 1.0, 20_000) * 10.0 ** rng.integers(-8, 8, 20_000)
    t = now + rng.exponential(1.0, 20_000) * 10.0 ** rng.integers(-12, 8, 20_000)
    for a, b in zip(now.tolist(), t.tolist(), strict=True):
        d = _delay_to(a, b)
        assert d >= 0.0 and a + d == b


@st.composite
def tandems(draw: st.DrawFn) -> Scenario:
    # One layer-split service over distinct one-server devices (links without delay allowed):
    # the fast engine's tandem recursion. Nice speeds and SCV 0 make exact ties.
    n_dev = draw(st.integers(1, 4))
    devices = tuple(
        Device(f"d{i}", speed=draw(st.sampled_from(SPEEDS)), capacity=draw(st.integers(1, 5)))
        for i in range(n_dev)
    )
    names = [d.name for d in devices]
    order = draw(st.permutations(names))
    links = tuple(
        Link(a, b, bandwidth=draw(st.sampled_from((200.0, 1000.0))), delay=0.0)
        for a, b in zip(order, order[1:], strict=False)
        if draw(st.booleans())
    )
    frags = tuple(
        Fragment(f"f{i}", macs=draw(st.sampled_from((0.25, 0.5, 1.0))),
                 output_bytes=draw(st.sampled_from((0, 100, 400))))
        for i in range(n_dev)
    )
    svc = Service("s", frags, arrival_rate=draw(st.sampled_from((0.5, 1.0, 2.0, 3.0))),
                  scv=draw(st.sampled_from(SCVS)))
    return Scenario(devices, (svc,), Placement({"s": tuple(order)}), links)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sc=tandems(), seed=st.integers(0, 2**16))
def test_tandem_recursion_is_the_event_loop(sc: Scenario, seed: int) -> None:
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.engine_fast import FastRun, _is_tandem, run_fast
    from datagen.sim.variates import draw_variates

    comp = compile_scenario(sc)
    assert _is_tandem(comp)
    var = draw_variates(comp, 300.0 / sc.services[0].arrival_rate, seed)
    fast = run_fast(comp, var)
    loop = FastRun(comp, tandem=False)
    assert not loop.tandem
    ref = loop.extend(var, last=True)
    names = ("req_status", "req_end", "req_drop_station", "v_arr", "v_start", "v_end")
    for name in names:
        assert np.array_equal(getattr(fast, name), getattr(ref, name), equal_nan=True), name
    assert fast.num_events == ref.num_events
    assert_identical(*run_both(sc, seed))


@pytest.mark.parametrize("K", [1, 2, 3])
def test_tandem_recursion_with_exact_ties(K: int) -> None:
    # Deterministic, equal service times and heavy load: a request often reaches a station at
    # the very instant an earlier one leaves it (thousands of ties per run).
    devs = tuple(Device(f"d{i}", speed=1.0, capacity=K) for i in range(3))
    svc = Service("s", tuple(Fragment(f"f{i}", macs=0.5) for i in range(3)),
                  arrival_rate=1.9, scv=0.0)
    sc = Scenario(devs, (svc,), Placement({"s": ("d0", "d1", "d2")}))
    assert_identical(*run_both(sc, 1, n=3000))


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sc=scenarios(), seed=st.integers(0, 2**16))
def test_a_continued_run_is_the_run_of_the_longer_horizon(sc: Scenario, seed: int) -> None:
    # Sequential stopping continues a run (one stream, one event loop) instead of restarting
    # it: after each extension the variates and the records are those of one plain run.
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.engine_fast import FastRun, run_fast
    from datagen.sim.variates import VariateStream, draw_variates

    comp = compile_scenario(sc)
    stream = VariateStream(comp, np.random.SeedSequence(seed))
    run = FastRun(comp)
    names = ("req_status", "req_end", "req_drop_station", "v_arr", "v_start", "v_end")
    for i, H in enumerate((20.0, 20.0, 65.0, 200.0)):
        var = stream.extend(H)
        raw = run.extend(var, last=i == 3)
        ref_var = draw_variates(comp, H, seed)
        for name in ("arr_time", "arr_service", "req_visit_base", "visit_factor",
                     "svc_counts", "st_queue_len"):
            assert np.array_equal(getattr(var, name), getattr(ref_var, name)), name
        ref = run_fast(comp, ref_var)
        for name in names:
            assert np.array_equal(getattr(raw, name), getattr(ref, name), equal_nan=True), name
        assert raw.num_events == ref.num_events
    with pytest.raises(ValueError, match="horizon must be >="):
        stream.extend(100.0)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sc=tandems(), seed=st.integers(0, 2**16), mmpp=st.booleans())
def test_tandem_sums_are_the_metrics_of_the_records(sc: Scenario, seed: int, mmpp: bool) -> None:
    # Without records, simulate() walks a tandem while it reads the stream and sums the
    # metrics as it goes: the same metrics as from the records, to the last bit.
    import dataclasses

    if mmpp:
        svc = dataclasses.replace(sc.services[0], mmpp=MMPP2(3.0, 0.3, 2.0))
        sc = dataclasses.replace(sc, services=(svc,))
    H = 300.0 / sc.services[0].arrival_rate
    a = simulate(sc, horizon=H, seed=seed)
    b = simulate(sc, horizon=H, seed=seed, keep_records=True)
    for name in ("services", "devices", "links"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.num_events == b.num_events


def test_tandem_sums_grow_past_their_estimate() -> None:
    # The walk pauses to grow its arrays when more requests arrive than estimated.
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.engine_tandem import _tandem_sums, is_tandem
    from datagen.sim.metrics import service_table, station_tables
    from datagen.sim.variates import VariateStream

    devs = (Device("a", speed=1.0, capacity=3), Device("b", speed=2.0, capacity=2))
    svc = Service("s", (Fragment("f0", 0.5, output_bytes=400), Fragment("f1", 0.8)),
                  arrival_rate=1.5, scv=0.5)
    sc = Scenario(devs, (svc,), Placement({"s": ("b", "a")}),
                  (Link("a", "b", bandwidth=200.0, delay=0.0),))
    comp = compile_scenario(sc)
    assert is_tandem(comp)
    H, w = 400.0, 40.0
    args = VariateStream(comp, np.random.SeedSequence(3)).kernel_args()
    counts, lat_sum, pct, bat, acc, n_events = _tandem_sums(
        args[0], H, *args[1:], comp.hop_station, comp.hop_time, comp.hop_vofs,
        comp.visit_station, comp.st_capacity, w, 20, 1,
    )
    ref = simulate(sc, horizon=H, seed=3, keep_records=True)
    pd.testing.assert_frame_equal(
        service_table(comp, H, w, counts, lat_sum, pct, bat), ref.services, check_exact=True
    )
    devices, links = station_tables(comp, H, w, acc)
    pd.testing.assert_frame_equal(devices, ref.devices, check_exact=True)
    pd.testing.assert_frame_equal(links, ref.links, check_exact=True)
    assert n_events == ref.num_events
