import math

import numpy as np
import pytest

from chainnet.analytic import DEVICE_COLUMNS, PREDICT_COLUMNS, AnalyticSurrogate
from chainnet.queueing import mg1k_exact, mm1k, mmck
from datagen.world import Device, Fragment, Link, Placement, Scenario, Service


def single(lam, mean, K, scv=1.0, c=1, speed=1e9, reserved=0.0):
    d = Device("d", speed=speed, capacity=K, servers=c, reserved_share=reserved)
    s = Service("s", (Fragment("f", macs=mean * speed),), arrival_rate=lam, scv=scv)
    return Scenario((d,), (s,), Placement({"s": ("d",)}))


def tandem(rate=2.0, scale=1.0, order=(0, 1, 2)):
    devs = [
        Device("a", speed=4e9 * scale, capacity=4),
        Device("b", speed=3e9 * scale, capacity=3, servers=2),
        Device("c", speed=2e9 * scale, capacity=6),
    ]
    links = (Link("a", "b", bandwidth=1e6 * scale, delay=0.01 / scale),)
    s1 = Service(
        "s1",
        (Fragment("f0", 1e9, output_bytes=100_000), Fragment("f1", 2e9)),
        arrival_rate=rate * scale,
        scv=0.5,
        source="c",
        input_bytes=50_000,
    )
    s2 = Service(
        "s2",
        (Fragment("g0", 5e8), Fragment("g1", 5e8, branch=1), Fragment("g2", 1e9, branch=1)),
        arrival_rate=rate * scale,
        split="semantic",
        scv=1.0,
    )
    pl = Placement({"s1": ("a", "b"), "s2": ("c", "a", "b")})
    return Scenario(tuple(devs[i] for i in order), (s1, s2), pl, links)


@pytest.mark.parametrize(
    ("lam", "mu", "K"), [(2, 3, 5), (0.5, 1, 1), (1, 1, 4), (9, 10, 10), (4, 2, 3)]
)
def test_exact_for_single_mm1k(lam, mu, K):
    ref = mm1k(lam, mu, K)
    got = AnalyticSurrogate().predict([single(lam, 1 / mu, K)]).iloc[0]
    assert got["loss_ratio"] == pytest.approx(ref.loss, abs=1e-10)
    assert got["throughput"] == pytest.approx(ref.throughput, rel=1e-10)
    assert got["latency_mean"] == pytest.approx(ref.response_time, rel=1e-9)
    assert got["tput_ratio"] == pytest.approx(1 - ref.loss, abs=1e-10)
    assert got["respt_ratio"] == pytest.approx((1 / mu) / ref.response_time, rel=1e-9)
    dev = AnalyticSurrogate().predict_devices(single(lam, 1 / mu, K)).iloc[0]
    assert dev["utilization"] == pytest.approx(ref.utilization, rel=1e-9)
    assert dev["mean_present"] == pytest.approx(ref.mean_number, rel=1e-9)
    assert dev["loss_ratio"] == pytest.approx(ref.loss, abs=1e-10)


def test_exact_for_single_mmck():
    ref = mmck(3.0, 1.0, 2, 5)
    got = AnalyticSurrogate().predict(single(3.0, 1.0, 5, c=2)).iloc[0]
    assert got["loss_ratio"] == pytest.approx(ref.loss, abs=1e-10)
    assert got["latency_mean"] == pytest.approx(ref.response_time, rel=1e-9)


@pytest.mark.parametrize("scv", [0.0, 0.5, 0.3, 2.0])
def test_exact_for_single_mg1k(scv):
    ref = mg1k_exact(0.8 / 0.1, 5, mean=0.1, scv=scv, kind="gamma" if scv else "deterministic")
    got = AnalyticSurrogate().predict(single(8.0, 0.1, 5, scv=scv)).iloc[0]
    assert got["loss_ratio"] == pytest.approx(ref.loss, abs=1e-10)
    assert got["latency_mean"] == pytest.approx(ref.response_time, rel=1e-9)


def test_p95_exponential_limit():
    # M/M/1 with ample room: sojourn is exponential with mean 1/(mu - lam)
    got = AnalyticSurrogate().predict(single(0.5, 1.0, 300)).iloc[0]
    assert got["latency_mean"] == pytest.approx(2.0, rel=1e-9)
    assert got["latency_p95"] == pytest.approx(2.0 * math.log(20), rel=1e-6)
    # no queueing at all for deterministic service at tiny load
    got = AnalyticSurrogate().predict(single(1e-6, 1.0, 5, scv=0.0)).iloc[0]
    assert got["latency_p95"] == pytest.approx(1.0, rel=5e-3)


def test_columns_and_rows():
    df = AnalyticSurrogate().predict([tandem(), single(1, 0.5, 3)])
    assert tuple(df.columns) == PREDICT_COLUMNS
    assert df[["scenario", "service"]].values.tolist() == [[0, "s1"], [0, "s2"], [1, "s"]]
    assert np.all((df.tput_ratio > 0) & (df.tput_ratio <= 1))
    assert np.all((df.respt_ratio > 0) & (df.respt_ratio <= 1))
    assert np.all(df.latency_p95 >= df.latency_mean * 0.999)
    assert np.allclose(df.loss_ratio + df.tput_ratio, 1.0)
    dev = AnalyticSurrogate().predict_devices([tandem()])
    assert tuple(dev.columns) == DEVICE_COLUMNS and len(dev) == 3
    assert np.all((dev.utilization >= 0) & (dev.utilization <= 1))


def test_loss_ratios_are_the_predicted_column():
    scns = [tandem(rate=r) for r in (0.5, 8.0)] + [single(2, 0.3, 4, scv=0.5)]
    a = AnalyticSurrogate()
    # the compiled fixed point evaluates the last losses (numpy does for predict): rounding
    np.testing.assert_allclose(a.loss_ratios(scns), a.predict(scns)["loss_ratio"].to_numpy(),
                               rtol=0, atol=1e-13)
    assert a.loss_ratios([]).shape == (0,)


def test_empty_and_errors():
    df = AnalyticSurrogate().predict([])
    assert list(df.columns) == list(PREDICT_COLUMNS) and len(df) == 0
    with pytest.raises(ValueError, match="must be a datagen.Scenario"):
        AnalyticSurrogate().predict(["nope"])
    with pytest.raises(ValueError, match="max_iter"):
        AnalyticSurrogate(max_iter=0)
    with pytest.raises(ValueError, match="quantile"):
        AnalyticSurrogate(quantile=1.5)


def test_time_scale_invariance():
    a = AnalyticSurrogate().predict(tandem(scale=1.0))
    b = AnalyticSurrogate().predict(tandem(scale=7.0))
    for col in ("tput_ratio", "respt_ratio", "loss_ratio"):
        assert np.allclose(a[col], b[col], rtol=1e-8, atol=1e-12)
    assert np.allclose(a.latency_mean, 7.0 * b.latency_mean, rtol=1e-8)
    assert np.allclose(a.latency_p95, 7.0 * b.latency_p95, rtol=1e-6)


def test_device_order_invariance():
    a = AnalyticSurrogate().predict(tandem(order=(0, 1, 2)))
    b = AnalyticSurrogate().predict(tandem(order=(2, 0, 1)))
    cols = ["throughput", "loss_ratio", "latency_mean", "latency_p95"]
    assert np.allclose(a[cols].values, b[cols].values, rtol=1e-9)


def test_batch_equals_one_by_one():
    scns = [tandem(rate=r) for r in (0.5, 2.0, 8.0)] + [single(2, 0.3, 4, scv=0.5)]
    batch = AnalyticSurrogate().predict(scns)
    for i, s in enumerate(scns):
        one = AnalyticSurrogate().predict(s)
        rows = batch[batch.scenario == i]
        assert np.allclose(rows.latency_mean.values, one.latency_mean.values, rtol=1e-8)
        assert np.allclose(rows.tput_ratio.values, one.tput_ratio.values, rtol=1e-8)


def test_load_monotone():
    rates = [0.2, 1.0, 3.0, 10.0]
    df = AnalyticSurrogate().predict([tandem(rate=r) for r in rates])
    for svc in ("s1", "s2"):
        sub = df[df.service == svc]
        assert np.all(np.diff(sub.loss_ratio.values) > 0)
        assert np.all(np.diff(sub.respt_ratio.values) < 0)


def test_reserved_share_slows_device():
    free = AnalyticSurrogate().predict(single(2, 0.3, 4)).iloc[0]
    busy = AnalyticSurrogate().predict(single(2, 0.3, 4, reserved=0.5)).iloc[0]
    ref = mm1k(2, 1 / 0.6, 4)
    assert busy.loss_ratio == pytest.approx(ref.loss, abs=1e-10)
    assert busy.loss_ratio > free.loss_ratio


def test_fork_join_identical_branches():
    devs = (Device("x", speed=1e9, capacity=4), Device("y", speed=1e9, capacity=4))
    svc = Service(
        "s",
        (Fragment("a", 5e8), Fragment("b", 5e8, branch=1)),
        arrival_rate=1.0,
        split="semantic",
        scv=1.0,
    )
    scn = Scenario(devs, (svc,), Placement({"s": ("x", "y")}))
    got = AnalyticSurrogate().predict(scn).iloc[0]
    ref = mm1k(1.0, 2.0, 4)
    assert got.tput_ratio == pytest.approx((1 - ref.loss) ** 2, rel=1e-10)
    assert got.latency_mean == pytest.approx(ref.response_time, rel=1e-9)
    # the p95 of a fork-join is its slowest branch's (comonotone branches, see the module doc)
    one = AnalyticSurrogate().predict(single(1.0, 0.5, 4)).iloc[0]
    assert got.latency_p95 == pytest.approx(one.latency_p95, rel=1e-9)


def test_link_pollaczek_khinchine():
    devs = (Device("src", speed=1e9, capacity=1), Device("d", speed=1e9, capacity=50))
    link = Link("src", "d", bandwidth=1e6, delay=0.02)
    svc = Service(
        "s", (Fragment("f", 1e7),), arrival_rate=5.0, scv=1.0, source="src", input_bytes=100_000
    )
    scn = Scenario(devs, (svc,), Placement({"s": ("d",)}), (link,))
    got = AnalyticSurrogate().predict(scn).iloc[0]
    t = 0.1  # 1e5 bytes at 1e6 B/s
    rho = 5.0 * t
    link_time = t + 5.0 * t**2 / (2 * (1 - rho)) + 0.02
    ref = mm1k(5.0, 100.0, 50)
    assert got.latency_mean == pytest.approx(link_time + ref.response_time, rel=1e-9)
    assert got.respt_ratio == pytest.approx((t + 0.02 + 0.01) / got.latency_mean, rel=1e-9)
    # an overloaded link has unbounded latency but loses nothing
    scn2 = scn.replace(services=(svc.__class__(**{**svc.__dict__, "arrival_rate": 20.0}),))
    got2 = AnalyticSurrogate().predict(scn2).iloc[0]
    assert math.isinf(got2.latency_mean) and got2.respt_ratio == 0.0


def test_consecutive_visits_to_one_device_are_one_job_dropped_once():
    # two fragments of one service on one device: the request re-joins the queue as it leaves
    # it, so only its first visit can be dropped; the queue sees one 0.2 s job per request
    d = Device("d", speed=1e9, capacity=3)
    svc = Service("s", (Fragment("a", 1e8), Fragment("b", 1e8)), arrival_rate=4.0, scv=1.0)
    scn = Scenario((d,), (svc,), Placement({"s": ("d", "d")}))
    dev = AnalyticSurrogate().predict_devices(scn).iloc[0]
    got = AnalyticSurrogate().predict(scn).iloc[0]
    L = mm1k(4.0, 5.0, 3).loss  # exponential pieces: the run is M/M/1/K whatever its split
    assert got.tput_ratio == pytest.approx(1 - L, rel=1e-9)
    # the simulator counts the re-entry as an arrival that is never dropped
    assert dev.arrival_rate == pytest.approx(4.0 * (1 + (1 - L)), rel=1e-9)
    assert dev.loss_ratio == pytest.approx(4.0 * L / dev.arrival_rate, rel=1e-9)
    assert dev.throughput == pytest.approx(2 * 4.0 * (1 - L), rel=1e-9)


@pytest.mark.parametrize("lam,capacity,pieces", [(30.0, 4, 3), (8.0, 4, 2), (6.0, 2, 3)])
def test_consecutive_visits_agree_with_the_simulator(lam, capacity, pieces):
    # deterministic pieces of one 0.1 s job on one device, from saturated to moderate load:
    # counting every piece as an arrival lost 0.84 instead of 0.67 at 3x the capacity
    sim = pytest.importorskip("datagen.sim")
    d = Device("d", speed=1e9, capacity=capacity)
    frags = tuple(Fragment(f"f{i}", 1e8 / pieces) for i in range(pieces))
    scn = Scenario((d,), (Service("s", frags, arrival_rate=lam),),
                   Placement({"s": ("d",) * pieces}))
    got = AnalyticSurrogate().predict(scn).iloc[0]
    res = sim.simulate(scn, num_requests=50_000, seed=3).services.iloc[0]
    assert got.loss_ratio == pytest.approx(res.loss_ratio, abs=0.015)
    assert got.latency_mean == pytest.approx(res.latency_mean, rel=0.04)


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["chainnet_like", "edge"])
def test_agrees_with_simulator(regime):
    sampling = pytest.importorskip("datagen.sampling")
    sim = pytest.importorskip("datagen.sim")
    rng = np.random.default_rng(7)
    config = sampling.load_sampler_config(regime)
    scns = [sampling.sample_scenario(config, rng) for _ in range(40)]
    pred = AnalyticSurrogate().predict(scns)
    rows = []
    for i, scn in enumerate(scns):
        res = sim.simulate(scn, num_requests=20_000, seed=i).services
        rows.append(res.assign(scenario=i).reset_index(names="service"))
    import pandas as pd

    m = pred.merge(pd.concat(rows), on=["scenario", "service"], suffixes=("_p", "_s"))
    assert len(m) == len(pred)
    assert (m.tput_ratio_p - m.tput_ratio_s).abs().mean() < 0.05
    assert (m.respt_ratio_p - m.respt_ratio_s).abs().mean() < 0.08
    fin = np.isfinite(m.latency_mean_p)
    ape = ((m.latency_mean_p - m.latency_mean_s).abs() / m.latency_mean_s)[fin]
    assert ape.median() < 0.1
    ape95 = ((m.latency_p95_p - m.latency_p95_s).abs() / m.latency_p95_s)[fin]
    assert ape95.median() < 0.15


def test_erlang_loss_insensitive_for_k_equal_c():
    # M/G/c/c: Erlang B whatever the service law
    ref = mmck(5.0, 10.0, 3, 3)
    for scv in (0.0, 1.0, 2.0):
        got = AnalyticSurrogate().predict(single(5.0, 0.1, 3, scv=scv, c=3)).iloc[0]
        assert got.loss_ratio == pytest.approx(ref.loss, abs=1e-12)
        assert got.latency_mean == pytest.approx(0.1, rel=1e-9)


def test_unused_device_and_single_place_station():
    devs = (
        Device("a", speed=1e9, capacity=1),
        Device("b", speed=1e9, capacity=3),
        Device("u", speed=1e9),
    )
    svc = Service("s", (Fragment("f", 1e8), Fragment("g", 1e8)), arrival_rate=5.0, scv=2.0)
    scn = Scenario(devs, (svc,), Placement({"s": ("a", "b")}), (Link("a", "u", 1e6),))
    dev = AnalyticSurrogate().predict_devices(scn).set_index("device")
    assert dev.loc["a", "loss_ratio"] == pytest.approx(0.5 / 1.5)  # M/G/1/1, insensitive
    assert dev.loc["b", "arrival_rate"] == pytest.approx(5.0 * (1 - 0.5 / 1.5))
    assert dev.loc["u", "utilization"] == 0.0 and dev.loc["u", "loss_ratio"] == 0.0


def test_fork_join_branches_on_one_device_are_served_one_after_the_other():
    """Light load: three co-located branches of 0.1 s take 0.3 s, as the simulator says."""
    from datagen.sim import simulate

    devs = (Device("x", speed=1e9, capacity=8), Device("y", speed=1e9, capacity=8))
    frags = tuple(Fragment(f"b{i}", 1e8, branch=i) for i in range(4))
    svc = Service("s", frags, arrival_rate=0.01, split="semantic", scv=0.0)
    scn = Scenario(devs, (svc,), Placement({"s": ("x", "x", "x", "y")}))
    got = AnalyticSurrogate().predict(scn).iloc[0]
    sim = simulate(scn, num_requests=2_000, seed=0).services.iloc[0]
    assert got.latency_mean == pytest.approx(0.3, rel=0.01)
    assert got.latency_mean == pytest.approx(sim.latency_mean, rel=0.01)
    assert got.respt_ratio == pytest.approx(sim.respt_ratio, rel=0.01)
    assert got.latency_p95 >= got.latency_mean
    # spread over both devices: the busier one (two branches) sets the pace
    spread = Scenario(devs, (svc,), Placement({"s": ("x", "y", "x", "y")}))
    assert AnalyticSurrogate().predict(spread).iloc[0].latency_mean == pytest.approx(0.2, rel=0.01)


def test_fork_join_branch_inputs_over_one_link_are_sent_one_after_the_other():
    """Schema 7: three branch inputs of 0.05 s each cross one link in turn, then compute."""
    from chainnet import features  # noqa: F401  (the learned priors use the same floor)
    from datagen.sim import simulate

    devs = (Device("src", speed=1e9, capacity=8), Device("x", speed=1e9, capacity=8))
    frags = tuple(Fragment(f"b{i}", 1e7, branch=i) for i in range(3))  # 0.01 s each
    svc = Service("s", frags, arrival_rate=0.01, split="semantic", scv=0.0, source="src",
                  input_bytes=50_000)
    link = Link("src", "x", bandwidth=1e6, delay=0.002)  # 0.05 s per input
    scn = Scenario(devs, (svc,), Placement({"s": ("x", "x", "x")}), (link,))
    got = AnalyticSurrogate().predict(scn).iloc[0]
    sim = simulate(scn, num_requests=2_000, seed=0).services.iloc[0]
    # 0.002 delay + 3 x 0.05 transfers + the last 0.01 s branch
    assert got.latency_mean == pytest.approx(0.162, rel=0.01)
    assert got.latency_mean == pytest.approx(sim.latency_mean, rel=0.02)
    # compute-bound: 0.05 s branches after 0.01 s transfers: first input, then 3 x 0.05
    slow = Service("s", tuple(Fragment(f"b{i}", 5e7, branch=i) for i in range(3)),
                   arrival_rate=0.01, split="semantic", scv=0.0, source="src",
                   input_bytes=10_000)
    scn = Scenario(devs, (slow,), Placement({"s": ("x", "x", "x")}), (link,))
    got = AnalyticSurrogate().predict(scn).iloc[0]
    sim = simulate(scn, num_requests=2_000, seed=0).services.iloc[0]
    assert got.latency_mean == pytest.approx(0.002 + 0.01 + 0.15, rel=0.01)
    assert got.latency_mean == pytest.approx(sim.latency_mean, rel=0.02)


def test_gamma_quantile_is_bit_identical_to_scipy_stats():
    # scipy.special.gammaincinv instead of scipy.stats.gamma.ppf: same numbers, cheaper import
    from scipy import stats

    from chainnet.analytic import _gamma_quantile

    rng = np.random.default_rng(0)
    level = np.r_[rng.uniform(0, 1, 50), 0.0, 1.0]
    mean, var = rng.uniform(1e-4, 2, level.size), rng.uniform(1e-8, 3, level.size)
    ref = stats.gamma.ppf(level, mean**2 / var, scale=var / mean)
    np.testing.assert_array_equal(_gamma_quantile(level, mean, var), ref)
    edge = _gamma_quantile(np.full(3, 0.9), np.array([1.0, np.inf, 2.0]), np.array([0, 1, np.nan]))
    np.testing.assert_array_equal(edge, [1.0, np.inf, np.inf])


@pytest.mark.parametrize(("branches", "lam", "K", "scv", "other"), [
    (5, 3.0, 6, 1.0, 0.0), (5, 20.0, 6, 0.0, 0.0), (2, 6.0, 3, 1.0, 2.0), (4, 6.0, 8, 1.0, 4.0),
])
def test_branches_starting_on_one_device_arrive_as_one_batch(branches, lam, K, scv, other):
    """chainnet.queueing.bulk: a request is kept only if its whole batch of branches fits.

    Five 0.02 s branches with K = 6 at load 0.3: the independent-branch rule (1 - L)^5 said
    0.25% lost where the simulation loses 22%; at three times the capacity it said 97%, 83%.
    """
    from datagen.sim import simulate

    frags = tuple(Fragment(f"b{i}", 1e8 / branches, branch=i) for i in range(branches))
    svcs = [Service("s", frags, arrival_rate=lam, split="semantic", scv=scv)]
    placement = {"s": ("d",) * branches}
    if other:
        svcs.append(Service("o", (Fragment("f", 5e7),), arrival_rate=other, scv=scv))
        placement["o"] = ("d",)
    scn = Scenario((Device("d", speed=1e9, capacity=K),), tuple(svcs), Placement(placement))
    got = AnalyticSurrogate().predict(scn).set_index("service")
    res = simulate(scn, num_requests=40_000, seed=1).services
    for name in got.index:
        assert got.loss_ratio[name] == pytest.approx(res.loss_ratio[name], abs=0.015)
        assert got.latency_mean[name] == pytest.approx(res.latency_mean[name], rel=0.04)
        assert got.latency_p95[name] == pytest.approx(res.latency_p95[name], rel=0.15)
    dev = AnalyticSurrogate().predict_devices(scn).iloc[0]
    # every visit the simulator counts: the lost ones are those of partly admitted batches too
    kept = sum(got.throughput[n] * (branches if n == "s" else 1) for n in got.index)
    assert dev.throughput >= kept - 1e-9


def test_compiled_fixed_point_matches_the_numpy_iteration():
    """Without batch arrivals the fixed point runs compiled: the same losses to rounding.

    Batches mix scenarios that converge after different numbers of iterations, multi-server
    devices (the M/M/c/K correction, K = c included), re-entries and links.
    """
    from chainnet.analytic_paths import compile_scenarios, segment_starts
    from tests.chainnet.conftest import sample_scenarios

    an = AnalyticSurrogate()
    devs = (Device("a", speed=1e9, capacity=5, servers=2), Device("b", speed=2e9, capacity=3,
                                                                  servers=3),
            Device("c", speed=5e8, capacity=4))
    frags = tuple(Fragment(f"f{i}", 2e8) for i in range(4))
    crafted = [Scenario(devs, (Service("s", frags, arrival_rate=r),),
                        Placement({"s": ("a", "a", "b", "c")})) for r in (0.5, 5.0, 40.0)]
    batches = [crafted, sample_scenarios("chainnet_like", 40, seed=5),
               sample_scenarios("large", 3, seed=6)] + [[sc] for sc in crafted]
    compared = 0
    for scenarios in batches:
        cs = compile_scenarios(scenarios)
        if cs.b_max != 1:
            continue
        compared += 1
        loss, at_flows = an._fixed_point(cs, evaluate=True)
        np.testing.assert_allclose(loss, an._fixed_point_numpy(cs), rtol=0, atol=1e-12)
        numpy_at_flows = an._devices(cs, an._flows(cs, loss, segment_starts(cs.v_path)))
        np.testing.assert_allclose(at_flows, numpy_at_flows["loss"], rtol=0, atol=1e-12)
    assert compared == len(batches)
    assert any(d.servers > 1 for d in devs)
