"""Tests for placement.baselines.infida: oracles O5-O8 of specs/analytical.md section 3."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from datagen.world import Device
from placement.baselines.infida import (
    Candidate,
    InferenceNetwork,
    ModelVariant,
    RequestType,
    allocation_scenario,
    best_allocation,
    depround,
    gain,
    greedy_allocation,
    initial_allocation,
    mirror_step,
    model_updates,
    ntag,
    optimal_step_size,
    path_delivery_problem,
    project,
    regret_bound,
    run_greedy,
    run_infida,
    served_amounts,
    serving_cost,
    subgradient,
)

INF = math.inf


def _o5_network() -> InferenceNetwork:
    c = Candidate
    return InferenceNetwork(
        models=("m1", "m2", "m3"),
        sizes={"v1": [1, 2, 3], "v2": [1, 2, 3]},
        budgets={"v1": 2, "v2": 3},
        request_types=(
            RequestType(
                "rho1",
                (
                    c("v1", "m1", 3, 5),
                    c("v1", "m2", 2, 3),
                    c("v2", "m1", 5, 6),
                    c("v2", "m2", 4, 4),
                    c("v2", "m3", 3.5, 2),
                    c("v3", "m3", 10, INF),
                ),
            ),
            RequestType(
                "rho2",
                (
                    c("v2", "m1", 4, 6),
                    c("v2", "m2", 3, 4),
                    c("v2", "m3", 2.5, 2),
                    c("v3", "m3", 8, INF),
                ),
            ),
        ),
        repository=frozenset({("v3", "m3")}),
    )


@pytest.fixture
def net() -> InferenceNetwork:
    return _o5_network()


R = np.array([6.0, 5.0])


def _alloc(v1: list[float], v2: list[float]) -> dict[str, np.ndarray]:
    return {"v1": np.array(v1, dtype=float), "v2": np.array(v2, dtype=float)}


# ---------------------------------------------------------------------------- O5

O5_CASES = [
    # allocation, C, G, subgradient v1, subgradient v2
    (([0, 1, 0], [0, 0, 1]), 52.0, 48.0, (35, 24, 0), (54, 44, 24)),
    (([1, 0, 0], [1, 1, 0]), 35.0, 65.0, (5, 6, 0), (0, 4, 4)),
    (([0.4, 0.8, 0], [0.3, 0.6, 0.5]), 32.8, 67.2, (5, 6, 0), (0, 4, 4)),
]


@pytest.mark.parametrize("case", O5_CASES, ids=["x1", "x2", "y"])
def test_o5_cost_gain_subgradient(net: InferenceNetwork, case: tuple) -> None:
    (a1, a2), cost, g, g1, g2 = case
    x = _alloc(a1, a2)
    assert serving_cost(net, R, net.empty_allocation()) == pytest.approx(100.0)
    assert serving_cost(net, R, x) == pytest.approx(cost, abs=1e-12)
    assert gain(net, R, x) == pytest.approx(g, abs=1e-12)
    assert gain(net, R, x, form="telescoped") == pytest.approx(g, abs=1e-12)
    sg = subgradient(net, R, x)
    np.testing.assert_allclose(sg["v1"], g1)
    np.testing.assert_allclose(sg["v2"], g2)
    assert all(float(s.sum()) == pytest.approx(r) for s, r in zip(served_amounts(net, R, x), R))


def test_o5_subgradient_matches_finite_differences(net: InferenceNetwork) -> None:
    y = _alloc([0.4, 0.8, 0.0], [0.3, 0.6, 0.5])
    sg = subgradient(net, R, y)
    h = 1e-7
    for v in ("v1", "v2"):
        for m in range(3):
            if v == "v1" and m == 2:
                continue  # v1 cannot serve m3: the gain is flat there, subgradient 0
            up = {k: a.copy() for k, a in y.items()}
            up[v][m] += h
            fd = (gain(net, R, up) - gain(net, R, y)) / h
            assert fd == pytest.approx(sg[v][m], abs=1e-6)


def test_o5_brute_force_greedy_and_ntag(net: InferenceNetwork) -> None:
    x_opt, g_opt = best_allocation(net, R)
    assert g_opt == pytest.approx(66.0)
    np.testing.assert_array_equal(x_opt["v1"], [0, 1, 0])
    np.testing.assert_array_equal(x_opt["v2"], [1, 1, 0])
    x_gr = greedy_allocation(net, R)
    np.testing.assert_array_equal(x_gr["v1"], [1, 0, 0])
    np.testing.assert_array_equal(x_gr["v2"], [1, 1, 0])
    assert gain(net, R, x_gr) == pytest.approx(65.0)
    assert ntag([65.0], [R]) == pytest.approx(5.909, abs=5e-4)
    assert ntag([g_opt], [R]) == pytest.approx(6.0)


# ---------------------------------------------------------------------------- O6

O6_CASES = [
    ((0.9, 0.5, 0.2), (1, 2, 3), 3, (1, 0.625, 0.25)),
    ((2, 0.1, 0.4, 0.3), (1, 1, 1, 1), 2, (1, 0.125, 0.5, 0.375)),
    ((0.8, 0.8, 0.05), (1, 2, 3), 2, (0.62745098, 0.62745098, 0.03921569)),
    ((0.2, 0.3, 0.1), (2, 1, 1), 1, (0.25, 0.375, 0.125)),
]


@pytest.mark.parametrize("case", O6_CASES)
def test_o6_projection(case: tuple) -> None:
    h, s, b, expected = case
    y = project(h, s, b)
    np.testing.assert_allclose(y, expected, atol=1e-8)
    assert float(np.dot(s, y)) == pytest.approx(b)
    # against SLSQP on the Bregman divergence
    hs, ss = np.array(h, float), np.array(s, float)
    res = minimize(
        lambda z: float(np.sum(ss * (z * np.log(z / hs) - z + hs))),
        x0=np.full(len(h), b / ss.sum()),
        bounds=[(1e-12, 1.0)] * len(h),
        constraints=[{"type": "eq", "fun": lambda z: float(ss @ z) - b}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    np.testing.assert_allclose(res.x, y, atol=1e-5)


def test_o6_beta_and_inequality_variant() -> None:
    y = project([0.9, 0.5, 0.2], [1, 2, 3], 3)
    assert y[1] / 0.5 == pytest.approx(1.25)  # beta
    np.testing.assert_allclose(
        project([0.2, 0.3, 0.1], [2, 1, 1], 1, inequality=True), [0.2, 0.3, 0.1]
    )
    # inequality variant falls back to the equality projection when min(1, h) does not fit
    np.testing.assert_allclose(
        project([0.9, 0.5, 0.2], [1, 2, 3], 3, inequality=True), [0.9, 0.5, 0.2]
    )
    h = [0.9, 0.5, 0.2]  # s.h = 2.5 > 2: falls back to the equality projection
    np.testing.assert_allclose(project(h, [1, 2, 3], 2, inequality=True), project(h, [1, 2, 3], 2))
    np.testing.assert_allclose(project([0.1, 0.2], [1, 1], 5), [1, 1])  # b >= |s|_1


@settings(max_examples=60, deadline=None)
@given(
    h=st.lists(st.floats(1e-6, 1e3), min_size=1, max_size=8),
    seed=st.integers(0, 2**31 - 1),
    frac=st.floats(0.01, 0.99),
)
def test_projection_properties(h: list[float], seed: int, frac: float) -> None:
    ha = np.array(h)
    s = np.random.default_rng(seed).uniform(0.5, 5.0, len(h))
    b = frac * float(s.sum())
    y = project(ha, s, b)
    assert np.all(y >= 0) and np.all(y <= 1 + 1e-12)
    assert float(s @ y) == pytest.approx(b, rel=1e-9)
    # KKT form y = min(1, beta h) with one beta: uncapped coordinates share y/h
    free = y < 1 - 1e-9
    if free.any():
        beta = y[free] / ha[free]
        np.testing.assert_allclose(beta, beta[0], rtol=1e-9)
        assert np.all(beta[0] * ha[~free] >= 1 - 1e-9)


def test_projection_errors() -> None:
    with pytest.raises(ValueError, match="h and s"):
        project([0.1, 0.2], [1.0], 1)
    with pytest.raises(ValueError, match="h must"):
        project([-0.1, 0.2], [1.0, 1.0], 1)
    with pytest.raises(ValueError, match="s must"):
        project([0.1, 0.2], [0.0, 1.0], 1)
    with pytest.raises(ValueError, match="b must"):
        project([0.1, 0.2], [1.0, 1.0], 0)


# ---------------------------------------------------------------------------- O7


def test_o7_one_mirror_step(net: InferenceNetwork) -> None:
    """Spec O7: the spec's feasible set keeps mass on m3 at v1 although s = 3 > b = 2.

    The arithmetic of the oracle is checked on the building blocks (``project`` over the full
    vector reproduces the spec's v1 numbers); INFIDA itself now keeps y = 0 on a model larger
    than the node's budget, which leaves v2 (every model fits) exactly as in the spec.
    """
    y_spec = {"v1": np.full(3, 1 / 3), "v2": np.full(3, 0.5)}
    assert gain(net, R, y_spec) == pytest.approx(63.333333, abs=1e-6)
    g = subgradient(net, R, y_spec)
    np.testing.assert_allclose(g["v1"], [10, 9, 0])
    np.testing.assert_allclose(g["v2"], [0, 8, 6])
    h1 = y_spec["v1"] * np.exp(0.05 * g["v1"] / net.sizes["v1"])
    np.testing.assert_allclose(h1, [0.54957376, 0.41744091, 0.33333333], atol=1e-8)
    np.testing.assert_allclose(
        project(h1, net.sizes["v1"], 2.0), [0.46096372, 0.35013519, 0.27958863], atol=1e-8
    )
    # INFIDA with the budget rule: m3 does not fit v1 (3 > 2), so it starts and stays at 0
    y1 = initial_allocation(net)
    np.testing.assert_allclose(y1["v1"], [2 / 3, 2 / 3, 0])
    np.testing.assert_allclose(y1["v2"], [0.5] * 3)
    g1 = subgradient(net, R, y1)
    y2 = mirror_step(y1, g1, net, 0.05)
    assert y2["v1"][2] == 0.0
    h = y1["v1"][:2] * np.exp(0.05 * g1["v1"][:2] / net.sizes["v1"][:2])
    np.testing.assert_allclose(y2["v1"][:2], 2.0 * h / float(net.sizes["v1"][:2] @ h))
    h2 = y1["v2"] * np.exp(0.05 * g1["v2"] / net.sizes["v2"])
    np.testing.assert_allclose(y2["v2"], project(h2, net.sizes["v2"], 3.0))
    # every model fits v2, so a step from the spec's point reproduces the spec's v2 numbers
    y2_spec = mirror_step(y_spec, g, net, 0.05)
    np.testing.assert_allclose(y2_spec["v2"], [0.44389741, 0.54217753, 0.49058251], atol=1e-8)
    assert y2_spec["v1"][2] == 0.0
    assert float(net.sizes["v1"] @ y2["v1"]) == pytest.approx(2.0)
    assert float(net.sizes["v2"] @ y2["v2"]) == pytest.approx(3.0)


def test_mirror_step_survives_huge_gradients(net: InferenceNetwork) -> None:
    y = initial_allocation(net)
    g = {"v1": np.array([1e6, 0.0, 0.0]), "v2": np.array([0.0, 1e6, 2e6])}
    y2 = mirror_step(y, g, net, 1.0)
    assert all(np.all(np.isfinite(a)) for a in y2.values())
    assert float(net.sizes["v2"] @ y2["v2"]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="eta"):
        mirror_step(y, g, net, 0.0)


# ---------------------------------------------------------------------------- O8


def test_o8_depround_unit_sizes() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0.7, 0.3, 0.5, 0.5])
    draws = np.array([depround(y, None, rng) for _ in range(20_000)])
    np.testing.assert_allclose(draws.mean(axis=0), y, atol=0.015)
    assert np.all(draws.sum(axis=1) == 2)
    assert set(np.unique(draws)) <= {0.0, 1.0}


def test_o8_depround_sizes_expected_and_strict() -> None:
    rng = np.random.default_rng(0)
    y, s = np.full(3, 1 / 3), np.array([1.0, 2.0, 3.0])
    draws = np.array([depround(y, s, rng, budget="expected") for _ in range(20_000)])
    np.testing.assert_allclose(draws.mean(axis=0), 1 / 3, atol=0.015)
    freq = np.bincount((draws @ s).astype(int), minlength=5) / len(draws)
    np.testing.assert_allclose(freq, [1 / 9, 2 / 9, 3 / 9, 2 / 9, 1 / 9], atol=0.015)
    assert freq[3:].sum() > 0.3  # the budget s.y = 2 is exceeded often: spec 3.6
    strict = np.array([depround(y, s, rng, budget="strict") for _ in range(2_000)])
    assert np.all(strict @ s <= 2.0 + 1e-9)


@pytest.mark.slow
def test_o8_full_200k_draws() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0.7, 0.3, 0.5, 0.5])
    draws = np.array([depround(y, None, rng) for _ in range(200_000)])
    np.testing.assert_allclose(draws.mean(axis=0), y, atol=0.004)
    y3, s = np.full(3, 1 / 3), np.array([1.0, 2.0, 3.0])
    d3 = np.array([depround(y3, s, rng, budget="expected") for _ in range(200_000)])
    freq = np.bincount((d3 @ s).astype(int), minlength=5) / len(d3)
    np.testing.assert_allclose(freq, [0.11, 0.22, 0.33, 0.22, 0.11], atol=0.01)


def test_depround_errors() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="y must"):
        depround([1.2, 0.0], None, rng)
    with pytest.raises(ValueError, match="s must"):
        depround([0.5, 0.5], [1.0], rng)
    with pytest.raises(ValueError, match="budget"):
        depround([0.5, 0.5], None, rng, budget="loose")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- regret, baselines


def test_regret_falls_on_synthetic_trace(net: InferenceNetwork) -> None:
    T = 200
    trace = np.random.default_rng(1).poisson([6, 5], size=(T, 2)).astype(float)
    x_opt, _ = best_allocation(net, trace)
    g_opt = np.array([gain(net, r, x_opt) for r in trace])
    run = run_infida(net, trace, eta=0.02, rng=np.random.default_rng(2))
    t = np.arange(1, T + 1)
    avg = np.cumsum(g_opt - run.fractional_gains) / t
    assert avg[9] > avg[49] > avg[199]
    assert avg[199] < 0.1 * avg[9]
    # the rounded allocations also approach the static optimum on average, more slowly: at v1
    # (sizes 1, 2, budget 2) the fractional state (about 0.97, 0.51) lies outside the hull of
    # the feasible allocations {m1}, {m2}, so budget-respecting rounding must give some up
    avg_x = np.cumsum(g_opt - run.gains) / t
    assert avg_x[9] > avg_x[49] > avg_x[199]
    assert avg_x[199] < 0.4 * avg_x[9]
    for x in run.allocations:
        for v, used in net.allocated_size(x).items():
            assert used <= net.budgets[v] + 1e-9
    # the (1 - 1/e) guarantee of DepRound holds on the whole run
    assert run.gains.sum() >= (1 - 1 / math.e) * run.fractional_gains.sum()
    assert run.ntag == pytest.approx(run.gains.sum() / trace.sum())
    # refreshing less often fetches fewer models
    slow = run_infida(net, trace, eta=0.02, rng=np.random.default_rng(2), refresh=10)
    assert slow.updates < run.updates


def test_greedy_refresh_and_metrics(net: InferenceNetwork) -> None:
    trace = np.tile(R, (20, 1))
    run = run_greedy(net, trace, refresh=4)
    assert np.all(run.gains[:4] == 0)  # nothing observed yet
    assert np.all(run.gains[4:] == pytest.approx(65.0))
    assert run.updates == 3  # (v2,m1), (v1,m1), (v2,m2) fetched once
    assert run.ntag == pytest.approx(65.0 * 16 / (11 * 20))
    xs = [_alloc([0, 0, 0], [0, 0, 0]), _alloc([1, 0, 0], [0, 0, 0]), _alloc([0, 1, 0], [0, 0, 0])]
    assert model_updates(xs) == 2
    assert model_updates(xs[1:], count_initial=True) == 2
    assert model_updates(xs, per_slot=True) == pytest.approx(2 / 3)


def test_step_size_and_bound(net: InferenceNetwork) -> None:
    d = 2 * math.log(3) + 3 * math.log(2)
    eta = optimal_step_size(2, 6, 8, net.sizes, net.budgets, T=1000)
    assert eta == pytest.approx(1 / 96 * math.sqrt(2 * d / (3 * 2 * 3 * 1000)))
    b1 = regret_bound(2, 6, 8, net.sizes, net.budgets, T=100)
    b4 = regret_bound(2, 6, 8, net.sizes, net.budgets, T=400)
    assert b4 == pytest.approx(2 * b1)  # O(sqrt T)
    # the bound is D/eta + eta T G^2 s_max |V||M| / (2 s_min^2) at eta*, times psi
    g = 2 * 6 * 8
    reg = d / eta + eta * 1000 * g**2 * 3 * 2 * 3 / 2
    assert regret_bound(2, 6, 8, net.sizes, net.budgets, T=1000) == pytest.approx(
        (1 - 1 / math.e) * reg
    )
    with pytest.raises(ValueError, match="T must"):
        optimal_step_size(2, 6, 8, net.sizes, net.budgets, T=0)


# ---------------------------------------------------------------------------- validation


def test_invalid_inputs_name_the_field(net: InferenceNetwork) -> None:
    c = Candidate
    with pytest.raises(ValueError, match="cost must be"):
        RequestType("bad", (c("v1", "m1", -1.0, 1.0), c("v3", "m3", 5.0, INF)))
    with pytest.raises(ValueError, match="capacity must be"):
        RequestType("bad", (c("v1", "m1", 1.0, -1.0),))
    rt = RequestType("ok", (c("v1", "m1", 1.0, 1.0), c("v3", "m3", 5.0, INF)))
    repo = frozenset({("v3", "m3")})
    with pytest.raises(ValueError, match="below the smallest model"):
        InferenceNetwork(("m1", "m3"), {"v1": [2, 3]}, {"v1": 1}, (rt,), repo)
    with pytest.raises(ValueError, match="one entry per model"):
        InferenceNetwork(("m1", "m3"), {"v1": [2]}, {"v1": 3}, (rt,), repo)
    with pytest.raises(ValueError, match="repository"):
        InferenceNetwork(("m1", "m3"), {"v1": [1, 3]}, {"v1": 3}, (rt,), frozenset())
    # candidates costlier than the repository never serve: the ranking is cut there
    rt2 = RequestType("cut", (c("v1", "m1", 9.0, 1.0), c("v3", "m3", 5.0, INF)))
    cut = InferenceNetwork(("m1", "m3"), {"v1": [1, 3]}, {"v1": 3}, (rt2,), repo)
    assert [k.node for k in cut.request_types[0].candidates] == ["v3"]
    with pytest.raises(ValueError, match="r must have one entry"):
        gain(net, [1.0], net.empty_allocation())
    with pytest.raises(ValueError, match="r must be finite and >= 0"):
        gain(net, [-1.0, 1.0], net.empty_allocation())
    with pytest.raises(ValueError, match="x is missing"):
        gain(net, R, {"v1": np.zeros(3)})
    with pytest.raises(ValueError, match="T >= 1"):
        run_infida(net, np.zeros((0, 2)), 0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="refresh"):
        run_greedy(net, np.ones((3, 2)), refresh=0)
    with pytest.raises(ValueError, match="capacity must be finite"):
        bad = RequestType("inf", (c("v1", "m1", 1.0, INF), c("v3", "m3", 5.0, INF)))
        InferenceNetwork(("m1", "m3"), {"v1": [1, 3]}, {"v1": 3}, (bad,), repo)
    with pytest.raises(ValueError, match="same T"):
        ntag([1.0, 2.0], [R])
    with pytest.raises(ValueError, match="form"):
        gain(net, R, net.empty_allocation(), form="other")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- scenario bridge


@pytest.fixture
def problem():  # type: ignore[no-untyped-def]
    variants = [
        ModelVariant("tiny", 5e6, 0.3e9, 0.60),
        ModelVariant("small", 14e6, 0.6e9, 0.72),
        ModelVariant("large", 100e6, 4.1e9, 0.80),
    ]
    edges = [Device("e0", 20e9, capacity=8), Device("e1", 60e9, capacity=8)]
    cloud = Device("cloud", 2e12, capacity=50)
    return path_delivery_problem(
        variants, edges, cloud, bandwidth=2.5e6, budgets=[20e6, 120e6], alpha=0.1
    )


def test_delivery_problem_and_scenario(problem) -> None:  # type: ignore[no-untyped-def]
    net = problem.network
    assert net.nodes == ("e0", "e1") and len(net.request_types) == 2
    rt0 = net.request_types[0]
    assert rt0.candidates[-1].node == "cloud" and rt0.candidates[-1].capacity == INF
    # the cheapest option at e0 for its own requests: tiny model, no hop
    c0 = next(c for c in rt0.candidates if (c.node, c.model) == ("e0", "tiny"))
    assert c0.cost == pytest.approx(0.3e9 / 20e9 + 0.04)
    assert c0.capacity == pytest.approx(20e9 / 0.3e9)
    trace = np.random.default_rng(0).poisson([40, 30], size=(30, 2)).astype(float)
    run = run_infida(net, trace, eta=0.002, rng=np.random.default_rng(1))
    x = run.allocations[-1]
    for v in net.nodes:
        assert float(net.sizes[v] @ x[v]) <= net.budgets[v] + max(net.sizes[v])
    x_ok = {"e0": np.array([1.0, 0, 0]), "e1": np.array([0, 1.0, 1.0])}
    sc = allocation_scenario(problem, x_ok, [40, 30])
    assert sum(s.arrival_rate for s in sc.services) == pytest.approx(70)
    names = {s.name for s in sc.services}
    assert "from_e0@e0/tiny" in names
    assert all(
        s.source in ("e0", "e1") and s.input_bytes == problem.input_bytes for s in sc.services
    )
    with pytest.raises(ValueError, match="integral"):
        allocation_scenario(problem, {"e0": np.array([0.5, 0, 0]), "e1": np.zeros(3)}, [1, 1])


def test_delivery_scenario_simulates(problem) -> None:  # type: ignore[no-untyped-def]
    sim = pytest.importorskip("datagen.sim")
    x = {"e0": np.array([1.0, 0, 0]), "e1": np.array([0, 1.0, 1.0])}
    sc = allocation_scenario(problem, x, [40, 30])
    res = sim.simulate(sc, num_requests=4000, seed=0)
    df = res.services
    assert set(df.index) == {s.name for s in sc.services}
    assert np.all(df["throughput"] <= df["arrival_rate"] * 1.2)
    # the local tiny model answers faster than the cloud across two hops
    local = df.loc["from_e0@e0/tiny", "latency_mean"]
    assert local < 0.5


def test_infida_allocation_runs_through_simulator(problem) -> None:  # type: ignore[no-untyped-def]
    sim = pytest.importorskip("datagen.sim")
    net = problem.network
    trace = np.random.default_rng(0).poisson([40, 30], size=(40, 2)).astype(float)
    # strict rounding keeps every device within its memory, so the scenario validates
    run = run_infida(net, trace, eta=0.01, rng=np.random.default_rng(1), budget="strict")
    x = run.allocations[-1]
    for v in net.nodes:
        assert float(net.sizes[v] @ x[v]) <= net.budgets[v] + 1e-9
    greedy = run_greedy(net, trace, refresh=8)
    assert run.ntag > 0 and greedy.ntag > 0
    sc = allocation_scenario(problem, x, trace.mean(axis=0))
    res = sim.simulate(sc, num_requests=3000, seed=1)
    assert set(res.services.index) == {s.name for s in sc.services}
    assert np.all(res.services["loss_ratio"] <= 1.0)


# ---------------------------------------------------------------------------- budgets (property)


def _random_network(rng: np.random.Generator) -> InferenceNetwork:
    """A random line of 1-3 optimizable nodes to a cloud repository, 1-5 models."""
    n_nodes, n_models = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    models = tuple(f"m{i}" for i in range(n_models))
    nodes = [f"v{j}" for j in range(n_nodes)]
    sizes = {v: rng.uniform(0.5, 10.0, n_models) for v in nodes}
    # budgets from the smallest model up to more than all of them: often some model is larger
    budgets = {v: float(rng.uniform(s.min(), 1.2 * s.sum())) for v, s in sizes.items()}
    rts = []
    for j in range(n_nodes):
        cands = [
            Candidate(nodes[k], m, float(rng.uniform(0.0, 5.0)), float(rng.uniform(0.0, 20.0)))
            for k in range(j, n_nodes)
            for m in models
        ]
        cands.append(Candidate("cloud", models[0], 6.0, INF))
        rts.append(RequestType(f"from_{nodes[j]}", tuple(cands)))
    return InferenceNetwork(models, sizes, budgets, tuple(rts), frozenset({("cloud", models[0])}))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    log_eta=st.floats(-3.0, 0.0),
    refresh=st.integers(1, 4),
    projection=st.sampled_from(["equality", "inequality"]),
)
def test_infida_allocations_never_exceed_budgets(
    seed: int, log_eta: float, refresh: int, projection: str
) -> None:
    rng = np.random.default_rng(seed)
    net = _random_network(rng)
    trace = rng.poisson(8.0, size=(12, len(net.request_types))).astype(float)
    run = run_infida(
        net, trace, 10.0**log_eta, rng, refresh=refresh, projection=projection  # type: ignore[arg-type]
    )
    for x, y in zip(run.allocations, run.fractional):
        used = net.allocated_size(x)
        for v in net.nodes:
            too_big = ~net.fits(v)
            assert used[v] <= net.budgets[v] + 1e-9, (v, used[v], net.budgets[v])
            assert np.all(x[v][too_big] == 0) and np.all(y[v][too_big] == 0)
            assert float(net.sizes[v] @ y[v]) <= net.budgets[v] * (1 + 1e-9)
            assert set(np.unique(x[v])) <= {0.0, 1.0}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 8),
    seed=st.integers(0, 2**31 - 1),
    slack=st.floats(0.0, 3.0),
)
def test_depround_strict_respects_the_size_budget(n: int, seed: int, slack: float) -> None:
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.0, 1.0, n) * (rng.random(n) < 0.8)
    s = rng.uniform(0.1, 5.0, n)
    b = float(s @ y) + slack
    for _ in range(20):
        x = depround(y, s, rng, size_budget=b)
        assert float(s @ x) <= b + 1e-9
        assert set(np.unique(x)) <= {0.0, 1.0}
        assert np.all(x[y == 0] == 0)
    with pytest.raises(ValueError, match="size_budget"):
        depround(y, s, rng, size_budget=float(s @ y) - 1.0)


def test_depround_strict_keeps_unit_marginals() -> None:
    # unit sizes and an integral budget leave nothing fractional: marginals stay exact
    rng = np.random.default_rng(0)
    y = np.array([0.7, 0.3, 0.5, 0.5])
    draws = np.array([depround(y, None, rng, size_budget=2.0) for _ in range(4_000)])
    assert np.all(draws.sum(axis=1) == 2)
    # binomial standard error of a mean of 4000 draws is <= 0.008: 5 sigma
    np.testing.assert_allclose(draws.mean(axis=0), y, atol=0.04)


def test_report_scenario_never_allocates_the_large_model_at_e0(problem) -> None:  # type: ignore[no-untyped-def]
    """The issue's case: a 100 MB model on a 20 MB node gets neither mass nor slots."""
    net = problem.network
    assert net.fits("e0").tolist() == [True, True, False]
    trace = np.random.default_rng(0).poisson([40, 30], size=(60, 2)).astype(float)
    run = run_infida(net, trace, 0.05, np.random.default_rng(1))
    assert all(x["e0"][2] == 0 and y["e0"][2] == 0 for x, y in zip(run.allocations, run.fractional))
    assert all(u <= b + 1e-9 for x in run.allocations for u, b in zip(
        net.allocated_size(x).values(), net.budgets.values()))


def test_the_package_reexports_every_modules_public_names() -> None:
    import importlib

    import placement.baselines.infida as infida

    modules = ("network", "gain", "mirror", "rounding", "policies", "metrics", "regret", "bridge")
    names = [n for m in modules for n in importlib.import_module(f"{infida.__name__}.{m}").__all__]
    assert infida.__all__ == names and len(set(names)) == len(names)
    assert all(hasattr(infida, n) for n in infida.__all__)
    assert callable(infida.gain)  # the function, not the module of the same name
