import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.baselines.orric import (
    POLICIES,
    brute_force_opt,
    coefficients,
    corollary1_condition,
    objective,
    orric_scenario,
    prune,
    retraining_share,
    run,
    select,
)

# O1 instance
AT1, CT1 = (0.0, 0.5, 1.0), (0.0, 4.0, 8.0)
AI1, CI1 = (0.6, 0.9, 1.0), (2.0, 4.0, 6.0)

# O2-O4 data
MACS = (6.35, 6.71, 7.45, 7.94)
ORIGINAL = (44.93, 59.38, 73.29, 79.57)
AI_MBV2 = tuple(a / 79.57 for a in ORIGINAL)
RATIOS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
CT_O4 = tuple(20 * r for r in RATIOS)
D_O4 = (1000, 1000, 1000, 1000)
C_O4 = (13000, 13000, 17000, 13000)


def f_o4(x):
    return 0.3 + 0.4957 * (2 * x - 0.5 * x * x) / 1.5


def dt_value(V, W, pair, AT, AI):
    return V * AT[pair[0]] + W * AI[pair[1]]


def brute_select(V, W, U, AT, AI, CT, CI):
    best, pair = -math.inf, None
    for i, j in itertools.product(range(len(AT)), range(len(AI))):
        if CT[i] + CI[j] <= U and V * AT[i] + W * AI[j] > best:
            best, pair = V * AT[i] + W * AI[j], (i, j)
    return pair, best


# ---- O1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("V", "W", "U", "pair", "K"),
    [
        (1, 1, 10, (3, 1), 1.6),
        (0.5, 1, 10, (2, 3), 1.25),
        (1, 1, 7, (2, 1), 1.1),
        (2, 1, 14, (3, 3), 3.0),
    ],
)
def test_o1_select(V, W, U, pair, K):
    got = select(V, W, U, AT1, AI1, CT1, CI1)
    assert got == (pair[0] - 1, pair[1] - 1)  # the spec's indices are 1-based
    assert dt_value(V, W, got, AT1, AI1) == pytest.approx(K)
    assert brute_select(V, W, U, AT1, AI1, CT1, CI1)[1] == pytest.approx(K)


def test_o1_infeasible():
    assert select(1, 1, 1.5, AT1, AI1, CT1, CI1) is None


def test_select_maps_back_unsorted_and_dominated():
    # shuffle the lists and add a dominated inference config (expensive, worse)
    AT = (1.0, 0.0, 0.5)
    CT = (8.0, 0.0, 4.0)
    AI = (1.0, 0.6, 0.5, 0.9)
    CI = (6.0, 2.0, 7.0, 4.0)
    assert select(1, 1, 10, AT, AI, CT, CI) == (0, 1)
    assert select(0.5, 1, 10, AT, AI, CT, CI) == (2, 0)


def test_select_zero_value_pair_recorded():
    # with K initialised to 0 a zero-valued feasible pair would be lost: K starts at -inf
    assert select(1, 1, 1, (0.0,), (0.0,), (0.0,), (1.0,)) == (0, 0)
    assert select(0, 0, 5, (0.0, 0.5), (0.2, 0.3), (1.0, 2.0), (1.0, 2.0)) == (0, 0)


def test_select_v_zero_keeps_cheapest_retraining():
    assert select(0, 1, 100, AT1, AI1, CT1, CI1) == (0, 2)


# ---- O2 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acc", "kept"),
    [
        ((42.97, 55.71, 64.53, 56.28), [0, 1, 2]),  # gaussian noise
        ((41.35, 53.04, 60.38, 57.38), [0, 1, 2]),  # impulse noise
        (ORIGINAL, [0, 1, 2, 3]),
    ],
)
def test_o2_prune(acc, kept):
    assert prune(MACS, acc) == kept


def test_prune_ties_and_order():
    # equal costs: keep the best; equal profit at higher cost: dropped; unsorted input
    assert prune((3, 1, 1, 2), (5, 1, 2, 2)) == [2, 0]
    assert prune((0, 0, 0), (0, 0, 0)) == [0]


# ---- O3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "V", "W"),
    [
        (1, 0.0159740535, 0.7857),
        (2, 0.0103274530, 0.7957),
        (5, 0.0042103025, 0.7957),
        (9, 0.0006274001, 0.7957),
        (10, 0.0, 0.7957),
    ],
)
def test_o3_coefficients(t, V, W):
    assert min(AI_MBV2) == pytest.approx(0.5646600, abs=1e-7)
    got = coefficients(t, 10, 0.01, 1000, 1000, min(AI_MBV2), 0.7957, 1.0)
    assert got[0] == pytest.approx(V, abs=1e-10)
    assert got[1] == pytest.approx(W, abs=1e-12)


def test_coefficients_decreasing_and_dmin_dmax():
    Vs = [coefficients(t, 6, 0.1, 1, 1, 0.5, 0.8, 1.0)[0] for t in range(1, 7)]
    assert all(a > b for a, b in zip(Vs, Vs[1:])) and Vs[-1] == 0.0
    assert coefficients(1, 3, 0.1, 500, 1000, 0.5, 0.8, 1.0)[0] == pytest.approx(
        0.1 * 0.5 * 0.5 * 1.5
    )


# ---- O4 --------------------------------------------------------------------------------------


def test_o4_orric_run():
    r = run(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4, L=0.01)
    assert [(RATIOS[i], (20, 24, 28, 32)[j]) for i, j in r.choices] == [
        (0.2, 32),
        (0.2, 32),
        (0.3, 32),
        (0.0, 32),
    ]
    assert r.V == pytest.approx([0.01035210, 0.00470550, 0.00188220, 0.0], abs=1e-8)
    assert r.W == pytest.approx([0.7857, 0.7957, 0.7957, 0.7957])
    assert r.values == pytest.approx([0.78777042, 0.79664110, 0.79626466, 0.7957], abs=1e-8)
    assert r.objective == pytest.approx(1596.3764074, abs=1e-6)
    hand = 1000 * (f_o4(0) + 2 * f_o4(0.2) + f_o4(0.7 / 3))
    assert r.objective == pytest.approx(hand, abs=1e-9)
    same = run(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4, L=0.3305)
    assert same.choices == r.choices


def test_o4_inference_only_and_opt():
    io = run(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4, L=0.01, policy="inference_only")
    assert io.choices == [(0, 3)] * 4
    assert io.objective == pytest.approx(1200.0, abs=1e-9)
    opt = brute_force_opt(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4)
    assert opt.objective == pytest.approx(1626.6925591, abs=1e-6)
    assert [(RATIOS[i], (20, 24, 28, 32)[j]) for i, j in opt.choices] == [
        (0.3, 24),
        (0.2, 32),
        (0.3, 32),
        (0.0, 32),
    ]


def test_heuristics_feasible_and_below_opt():
    opt = brute_force_opt(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4).objective
    for policy in POLICIES:
        r = run(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4, L=0.01, policy=policy)
        for t, (i, j) in enumerate(r.choices):
            assert CT_O4[i] + MACS[j] <= C_O4[t] / D_O4[t] + 1e-12
        assert r.objective <= opt + 1e-9
        assert r.objective == pytest.approx(objective(r.choices, RATIOS, AI_MBV2, D_O4, f_o4))
    ig = run(RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4, L=0.01, policy="inference_greedy")
    assert all(j == 3 for _, j in ig.choices)
    assert ig.choices[3] == (2, 3)  # leftover 13 - 7.94 buys ratio 0.2
    kd = run(
        RATIOS, CT_O4, AI_MBV2, MACS, D_O4, C_O4, f=f_o4, L=0.01, policy="knowledge_distillation"
    )
    assert kd.choices[0] == (3, 1)  # ratio 0.3 (6 MMAC), then 24x24 fits the 7 left


def test_objective_x1_convention():
    choices = [(0, 3)] * 2
    assert objective(choices, RATIOS, AI_MBV2, (1, 1), f_o4, x1=1.0) == pytest.approx(
        f_o4(1.0) + f_o4(0.0)
    )


def test_corollary1():
    assert corollary1_condition(10, 0.7957, 0.3, 0.5)  # threshold 3.305
    assert not corollary1_condition(3, 0.7957, 0.3, 0.5)
    with pytest.raises(ValueError, match="f0"):
        corollary1_condition(3, 0.8, 0.0, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        corollary1_condition(3, 0.8, 0.3, 0.0)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: select(1, 1, 5, (0, 1), (1,), (-1, 2), (1,)), "CT must be >= 0"),
        (lambda: select(1, 1, 5, (0, 1), (1,), (1,), (1,)), "same length"),
        (lambda: select(1, 1, 5, (), (1,), (), (1,)), "non-empty"),
        (lambda: select(float("nan"), 1, 5, (0,), (1,), (0,), (1,)), "V must be finite"),
        (lambda: prune((1, -2), (1, 2)), "costs must be >= 0"),
        (lambda: coefficients(1, 0, 0.01, 1, 1, 0.5, 0.8, 1), "T must be"),
        (lambda: coefficients(5, 4, 0.01, 1, 1, 0.5, 0.8, 1), "t must be"),
        (lambda: coefficients(1, 4, -1, 1, 1, 0.5, 0.8, 1), "L must be >= 0"),
        (lambda: coefficients(1, 4, 0.01, 2, 1, 0.5, 0.8, 1), "D_min <= D_max"),
        (lambda: run(RATIOS, CT_O4, AI_MBV2, MACS, (), (), f=f_o4, L=0.01), "T = len"),
        (lambda: run(RATIOS, CT_O4, AI_MBV2, MACS, (1,), (1, 2), f=f_o4, L=0.01), "one budget"),
        (lambda: run(RATIOS, CT_O4, AI_MBV2, MACS, (1,), (5,), f=f_o4, L=0.01), "slot 1"),
        (
            lambda: run(RATIOS, CT_O4, AI_MBV2, MACS, (1,), (9,), f=f_o4, L=0.01, policy="x"),
            "policy",
        ),
        (lambda: run(RATIOS, CT_O4, AI_MBV2, MACS, (0,), (9,), f=f_o4, L=0.01), "D must hold"),
        (
            lambda: brute_force_opt(RATIOS, CT_O4, AI_MBV2, MACS, (1,) * 9, (9,) * 9, f=f_o4),
            "M\\*\\*T",
        ),
        (lambda: retraining_share(5, 4), "all the compute"),
        (lambda: retraining_share(-1, 4), "retrain_cost"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- property: two-pointer == brute force on (Dt) ----------------------------------------------

cfg = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 10)), min_size=1, max_size=7
)  # (cost, accuracy) on a grid so that ties happen


@settings(max_examples=300, deadline=None)
@given(
    rt=cfg,
    inf=cfg,
    V=st.sampled_from([0.0, 0.1, 0.5, 1.0, 3.0]),
    W=st.sampled_from([0.0, 0.2, 1.0, 2.0]),
    U=st.integers(0, 40),
)
def test_select_equals_brute_force(rt, inf, V, W, U):
    CT = [float(c) for c, _ in rt]
    AT = [a / 10 for _, a in rt]
    CI = [float(c) for c, _ in inf]
    AI = [a / 10 for _, a in inf]
    got = select(V, W, U, AT, AI, CT, CI)
    ref_pair, ref_val = brute_select(V, W, U, AT, AI, CT, CI)
    if ref_pair is None:
        assert got is None
    else:
        assert got is not None
        assert CT[got[0]] + CI[got[1]] <= U
        assert dt_value(V, W, got, AT, AI) == pytest.approx(ref_val, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    T=st.integers(1, 3),
    budgets=st.lists(st.floats(8.0, 30.0), min_size=3, max_size=3),
)
def test_orric_never_beats_opt(T, budgets):
    D = (100,) * T
    C = tuple(100 * b for b in budgets[:T])
    opt = brute_force_opt(RATIOS, CT_O4, AI_MBV2, MACS, D, C, f=f_o4)
    for policy in POLICIES:
        r = run(RATIOS, CT_O4, AI_MBV2, MACS, D, C, f=f_o4, L=0.01, policy=policy)
        assert r.objective <= opt.objective + 1e-9


# ---- integration -----------------------------------------------------------------------------


def test_orric_scenario_sets_demand_and_share():
    pytest.importorskip("datagen.zoo")
    share = retraining_share(6.0, 13.0)
    s32 = orric_scenario(32, share, arrival_rate=100.0, device="jetson_nano")
    s20 = orric_scenario(20, share, arrival_rate=100.0, device="jetson_nano")
    assert s32.services[0].fragments[0].macs == pytest.approx(7.94e6, rel=1e-3)
    assert s20.services[0].fragments[0].macs == pytest.approx(6.35e6, rel=1e-3)
    dev = s32.devices[0]
    assert dev.reserved_share == pytest.approx(6 / 13)
    assert dev.effective_speed == pytest.approx(dev.speed * 7 / 13)
    from chainnet.analytic import AnalyticSurrogate

    # saturate a slow device: the larger resolution loses more
    a = orric_scenario(32, 0.5, arrival_rate=80.0, device="rpi3", capacity=5)
    b = orric_scenario(20, 0.5, arrival_rate=80.0, device="rpi3", capacity=5)
    pa, pb = AnalyticSurrogate().predict([a, b]).loss_ratio
    assert pa > pb
