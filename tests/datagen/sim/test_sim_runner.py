import math

import numpy as np
import pandas as pd
import pytest

from datagen import MMPP2, Device, Fragment, Link, Placement, Scenario, ScenarioError, Service
from datagen.sim import SERVICE_COLUMNS, STATION_COLUMNS, SimResult, simulate


def single(lam: float = 2.0, mu: float = 3.0, K: int = 5, scv: float = 1.0) -> Scenario:
    d = Device("d", speed=mu, capacity=K)
    s = Service("s", (Fragment("f", macs=1.0),), arrival_rate=lam, scv=scv)
    return Scenario((d,), (s,), Placement({"s": ("d",)}))


def mixed() -> Scenario:
    devs = (
        Device("a", speed=10.0, capacity=4),
        Device("b", speed=8.0, capacity=4, servers=2),
        Device("c", speed=12.0, capacity=3),
    )
    s1 = Service(
        "s1",
        (Fragment("f0", 1.0, output_bytes=100), Fragment("f1", 1.0)),
        arrival_rate=3.0,
        scv=1.0,
        source="c",
        input_bytes=200,
    )
    s2 = Service(
        "s2",
        (Fragment("g0", 1.0, branch=0), Fragment("g1", 1.0, branch=1)),
        arrival_rate=2.0,
        split="semantic",
        scv=0.5,
        mmpp=MMPP2(2.0, 0.25, 1.0),
    )
    place = Placement({"s1": ("a", "b"), "s2": ("b", "c")})
    links = (Link("a", "b", 2000.0, 0.01), Link("c", "a", 4000.0, 0.0))
    return Scenario(devs, (s1, s2), place, links)


def test_result_frames_have_the_agreed_columns() -> None:
    res = simulate(mixed(), num_requests=2000, seed=1)
    assert isinstance(res, SimResult)
    assert tuple(res.services.columns) == SERVICE_COLUMNS
    assert list(res.services.index) == ["s1", "s2"]
    assert tuple(res.devices.columns) == STATION_COLUMNS
    assert list(res.devices.index) == ["a", "b", "c"]
    assert list(res.links.index) == ["a-b", "c-a"]
    assert tuple(res.links.columns) == STATION_COLUMNS
    assert res.num_events > 0 and res.horizon == pytest.approx(2000 / 2.0)
    assert res.warmup_time == pytest.approx(0.1 * res.horizon)
    svc = res.services
    assert np.all(svc[list(SERVICE_COLUMNS)].notna().to_numpy())
    assert np.allclose(svc.tput_ratio + svc.loss_ratio, 1.0)
    assert np.all((svc.respt_ratio > 0) & (svc.respt_ratio <= 1.0 + 1e-12))
    assert np.all(svc.latency_p50 <= svc.latency_p95)
    assert np.all(svc.latency_p95 <= svc.latency_p99)
    assert np.all((res.devices.utilization >= 0) & (res.devices.utilization <= 1 + 1e-12))
    assert (res.links.drop_rate == 0).all()
    assert res.records is None and res.raw is None
    assert "SimResult(engine='fast'" in repr(res)


def test_links_absent_gives_empty_frame() -> None:
    res = simulate(single(), num_requests=500)
    assert len(res.links) == 0 and tuple(res.links.columns) == STATION_COLUMNS


def test_same_seed_same_result_other_seed_differs() -> None:
    a = simulate(mixed(), num_requests=1000, seed=7)
    b = simulate(mixed(), num_requests=1000, seed=7)
    c = simulate(mixed(), num_requests=1000, seed=8)
    pd.testing.assert_frame_equal(a.services, b.services)
    assert not a.services.equals(c.services)


def test_seed_sequence_accepted() -> None:
    a = simulate(single(), num_requests=500, seed=np.random.SeedSequence(3))
    b = simulate(single(), num_requests=500, seed=3)
    pd.testing.assert_frame_equal(a.services, b.services)


def test_records() -> None:
    res = simulate(mixed(), num_requests=500, seed=2, keep_records=True)
    rec = res.records
    assert rec is not None
    assert list(rec.columns) == [
        "service", "request", "arrival", "completion", "record_type", "drop_station",
    ]
    assert set(rec.record_type.unique()) <= {"served", "dropped"}
    assert (rec.completion >= rec.arrival).all()
    dropped = rec[rec.record_type == "dropped"]
    assert dropped.drop_station.notna().all()
    assert rec[rec.record_type == "served"].drop_station.isna().all()
    assert rec.arrival.is_monotonic_increasing
    # Request numbers within each service follow arrival order.
    for _, grp in rec.groupby("service", observed=True):
        assert grp.request.tolist() == list(range(len(grp)))


def test_overload_is_legal_and_loses() -> None:
    res = simulate(single(lam=10.0, mu=2.0, K=3), num_requests=5000, seed=0)
    loss = res.services.loss_ratio.iloc[0]
    assert 0.75 < loss < 0.85  # M/M/1/3 at rho = 5: 0.8


def test_invalid_scenario_raises_before_simulating() -> None:
    with pytest.raises(ScenarioError, match="Scenario"):
        simulate("not a scenario", num_requests=10)  # type: ignore[arg-type]
    sc = single()
    object.__setattr__(sc, "placement", Placement({"s": ("ghost",)}))
    with pytest.raises(ScenarioError, match="unknown device"):
        simulate(sc)


@pytest.mark.parametrize("bad", [0, -5, math.nan, math.inf, "100", True])
def test_bad_num_requests(bad: object) -> None:
    with pytest.raises(ValueError, match="num_requests"):
        simulate(single(), num_requests=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-0.1, 1.0, math.nan, math.inf, None])
def test_bad_warmup(bad: object) -> None:
    with pytest.raises(ValueError, match="warmup"):
        simulate(single(), num_requests=100, warmup=bad)  # type: ignore[arg-type]


def test_bad_engine_batches_seed_horizon() -> None:
    with pytest.raises(ValueError, match="engine"):
        simulate(single(), engine="ciw")
    with pytest.raises(ValueError, match="batches"):
        simulate(single(), batches=1)
    with pytest.raises(ValueError, match="seed"):
        simulate(single(), seed=-1)
    with pytest.raises(ValueError, match="seed"):
        simulate(single(), seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon"):
        simulate(single(), horizon=-1.0)


def test_run_without_completions_raises_clearly() -> None:
    # One expected arrival over the horizon: the window is almost surely empty.
    with pytest.raises(ValueError, match="completed no request"):
        simulate(single(lam=0.001), num_requests=1, warmup=0.9, seed=0)


def test_explicit_horizon() -> None:
    res = simulate(single(), horizon=300.0, num_requests=1)
    assert res.horizon == 300.0


def test_batch_ci_shrinks_with_length() -> None:
    short = simulate(single(), num_requests=2000, seed=0).services
    long = simulate(single(), num_requests=50_000, seed=0).services
    for col in ("throughput_ci", "loss_ratio_ci", "latency_mean_ci"):
        assert long[col].iloc[0] < short[col].iloc[0]


def test_same_seed_sequence_object_twice_is_reproducible() -> None:
    ss = np.random.SeedSequence(42)
    a = simulate(single(), num_requests=500, seed=ss)
    b = simulate(single(), num_requests=500, seed=ss)
    pd.testing.assert_frame_equal(a.services, b.services)


def test_variates_are_one_stream_of_one_generator() -> None:
    # One generator, default_rng(seed), read in time order: per arrival one standard
    # exponential (the gap, scaled by 1/rate) then the factors of its fragments.
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.variates import draw_variates

    comp = compile_scenario(single(lam=2.0))
    var = draw_variates(comp, 100.0, 9)
    draws = np.random.default_rng(np.random.SeedSequence(9)).standard_exponential(10)
    assert np.array_equal(var.arr_time[:5], np.cumsum(draws[0::2] / 2.0))
    assert np.array_equal(var.visit_factor[:5], draws[1::2])
    assert np.array_equal(var.arr_local, np.arange(var.num_requests))


def test_legacy_variates_follow_seed_sequence_spawn() -> None:
    # The builder of earlier versions (benchmarks only): service c uses child c of
    # SeedSequence(seed), which spawns (arrivals, factors).
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.variates import draw_variates

    comp = compile_scenario(single(lam=2.0))
    var = draw_variates(comp, 100.0, 9, legacy=True)
    arr_ss, fac_ss = np.random.SeedSequence(9).spawn(1)[0].spawn(2)
    gaps = np.random.default_rng(arr_ss).exponential(0.5, 5)
    assert np.array_equal(var.arr_time[:5], np.cumsum(gaps))
    facs = np.random.default_rng(fac_ss).standard_exponential(5)
    assert np.array_equal(var.visit_factor[:5], facs)


@pytest.mark.parametrize("scenario", [single(), mixed()], ids=["single", "mixed"])
def test_longer_run_extends_the_shorter_ones_variates(scenario: Scenario) -> None:
    # Prefix property: nothing drawn depends on the horizon, so with the same seed a longer
    # run's variates start with the shorter run's (MMPP services and links included), and the
    # sample path up to the shorter horizon is the same.
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.variates import draw_variates

    comp = compile_scenario(scenario)
    short = draw_variates(comp, 200.0, 11)
    long = draw_variates(comp, 700.0, 11)
    n, nv = short.num_requests, short.num_visits
    assert 0 < n < long.num_requests
    for name in ("arr_time", "arr_service", "req_visit_base", "arr_local"):
        assert np.array_equal(getattr(long, name)[:n], getattr(short, name)), name
    assert np.array_equal(long.visit_factor[:nv], short.visit_factor)
    C = len(scenario.services)
    assert np.array_equal(long.svc_counts, np.bincount(long.arr_service, minlength=C))
    a = simulate(scenario, horizon=200.0, seed=11, keep_records=True).records
    b = simulate(scenario, horizon=700.0, seed=11, keep_records=True).records
    # Requests that end before the short horizon have identical records in both runs.
    done = a[a.completion < 0.9 * 200.0]
    pd.testing.assert_frame_equal(done, b.loc[done.index])


def test_sequential_stopping_reaches_target() -> None:
    res = simulate(single(), num_requests=1000, seed=0, target_rel_ci=0.02)
    s = res.services.iloc[0]
    assert s.throughput_ci / s.throughput <= 0.02
    assert s.latency_mean_ci / s.latency_mean <= 0.02
    assert res.horizon > 1000 / 2.0
    capped = simulate(single(), num_requests=1000, seed=0, target_rel_ci=1e-6, max_requests=4000)
    assert capped.horizon == pytest.approx(4000 / 2.0)
    with pytest.raises(ValueError, match="target_rel_ci"):
        simulate(single(), target_rel_ci=-1.0)


def test_sequential_stopping_policy_validates_and_sizes() -> None:
    from datagen.sim.runner import MARGIN, PILOT_MARGIN, SequentialStopping

    with pytest.raises(ValueError, match="rel_latency_ci must be a finite number > 0"):
        SequentialStopping(rel_latency_ci=0.0)
    with pytest.raises(ValueError, match="abs_loss_ci must be a finite number > 0"):
        SequentialStopping(abs_loss_ci=math.inf)
    with pytest.raises(ValueError, match="max_rounds must be an integer >= 1"):
        SequentialStopping(rel_latency_ci=0.1, max_rounds=0)
    with pytest.raises(ValueError, match="margin must be a finite number >= 1"):
        SequentialStopping(rel_latency_ci=0.1, margin=0.5)
    with pytest.raises(ValueError, match="max_requests must be a number > 0"):
        SequentialStopping(rel_latency_ci=0.1, max_requests=-1)
    rule = SequentialStopping(rel_latency_ci=0.02, abs_loss_ci=0.01, max_requests=50_000)
    svc = pd.DataFrame({"throughput": [1.0, 2.0], "throughput_ci": [5.0, 5.0],
                        "latency_mean": [2.0, 4.0], "latency_mean_ci": [0.02, 0.16],
                        "loss_ratio": [0.1, 0.2], "loss_ratio_ci": [0.005, 0.0]})
    # latency: 0.01 / 0.02 and 0.04 / 0.02; loss: 0.5 and 0; throughput is not checked
    assert rule.shortfall(svc) == pytest.approx(2.0)
    assert math.isinf(rule.shortfall(svc.assign(loss_ratio_ci=[np.nan, 0.0])))
    assert SequentialStopping().shortfall(svc) == 0.0  # no target: always precise enough
    assert rule.next_requests(1000, 2.0, first=True) == math.ceil(PILOT_MARGIN * 4000)
    assert rule.next_requests(1000, 2.0, first=False) == math.ceil(MARGIN * 4000)
    assert rule.next_requests(1000, math.inf, first=False) == 50_000
    assert rule.next_requests(40_000, 3.0, first=False) == 50_000


def test_sequential_result_is_one_plain_run_and_engines_agree() -> None:
    from datagen.sim.runner import SequentialStopping, simulate_sequential

    rule = SequentialStopping(rel_latency_ci=0.05, abs_loss_ci=0.02, max_requests=20_000)
    run = simulate_sequential(single(lam=2.5, K=8), rule, num_requests=300, seed=4)
    assert run.rounds > 1 and run.num_requests > 300 and run.shortfall <= 1.0
    # Every round uses the same seed: the label is one plain run of the final length.
    plain = simulate(single(lam=2.5, K=8), num_requests=run.num_requests, seed=4)
    pd.testing.assert_frame_equal(run.result.services, plain.services)
    pd.testing.assert_frame_equal(run.result.devices, plain.devices)
    ref = simulate_sequential(single(lam=2.5, K=8), rule, num_requests=300, seed=4,
                              engine="simpy")
    assert (ref.rounds, ref.num_requests) == (run.rounds, run.num_requests)
    pd.testing.assert_frame_equal(ref.result.services, run.result.services)
    with pytest.raises(ValueError, match="stopping must be a SequentialStopping"):
        simulate_sequential(single(), 0.05)  # type: ignore[arg-type]


def test_job_records() -> None:
    from datagen.sim import JobRecord

    res = simulate(mixed(), num_requests=200, seed=2, keep_records=True)
    recs = list(res.job_records())
    assert len(recs) == len(res.records)
    assert all(isinstance(r, JobRecord) for r in recs)
    assert {r.record_type for r in recs} <= {"served", "dropped"}
    assert all((r.drop_station is None) == (r.record_type == "served") for r in recs)
    with pytest.raises(ValueError, match="keep_records"):
        next(simulate(single(), num_requests=100).job_records())


@pytest.mark.parametrize("rate", [-1.0, 0.0, math.inf, math.nan])
def test_bad_rates_raise_in_the_world_model(rate: float) -> None:
    with pytest.raises(ScenarioError, match="arrival_rate"):
        Service("s", (Fragment("f", macs=1.0),), arrival_rate=rate)


def test_device_drop_probability_of_a_single_station_is_its_loss_ratio() -> None:
    res = simulate(single(lam=4.0, mu=3.0, K=3), num_requests=20_000, seed=5)
    dev = res.devices.iloc[0]
    svc = res.services.iloc[0]
    assert dev["drop_prob"] == pytest.approx(svc["loss_ratio"], rel=0.02)
    assert dev["arrival_rate"] == pytest.approx(4.0, rel=0.03)
    assert dev["drop_rate"] == pytest.approx(dev["arrival_rate"] * dev["drop_prob"], rel=1e-9)


def test_merged_stream_has_the_rates_and_burstiness_of_each_service() -> None:
    # One generator draws the superposition: each service keeps its mean rate, and the MMPP
    # service's counts per window are over-dispersed (index of dispersion > 1) while the
    # Poisson service's are not.
    from datagen.sim.compiled import compile_scenario
    from datagen.sim.variates import draw_variates

    sc = mixed()
    H = 40_000.0
    var = draw_variates(compile_scenario(sc), H, 3)
    for c, svc in enumerate(sc.services):
        times = var.arr_time[var.arr_service == c]
        lam = svc.arrival_rate
        sd = math.sqrt(lam * H) * (4.0 if svc.mmpp is not None else 1.0)
        assert abs(times.size - lam * H) < 5 * sd
        counts = np.bincount((times // 10.0).astype(int), minlength=int(H // 10.0))
        dispersion = counts.var() / counts.mean()
        if svc.mmpp is None:
            assert 0.9 < dispersion < 1.1
        else:
            assert dispersion > 1.5
    assert np.all(np.diff(var.arr_time) >= 0) and var.arr_time[-1] <= H
