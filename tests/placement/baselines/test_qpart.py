"""Tests for placement.baselines.qpart: oracles Q1-Q4 of specs/analytical.md section 2."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from placement.baselines.qpart import (
    ALPHA,
    LayerArrays,
    QPARTParams,
    calibrate_budgets,
    calibrate_noise,
    conv_macs,
    device_layer_count,
    evaluate_partition,
    get_qpart_profile,
    layer_arrays,
    linear_macs,
    noise_measure,
    offline_patterns,
    online_partitions,
    optimal_bits,
    payload_weights,
    qpart_devices,
    qpart_mlp_profile,
    qpart_scenario,
    quantization_grid,
    quantize,
    round_bits,
    sample_channel_gain,
    select_partition,
    sequential_bits,
    shannon_rate,
)

Q3_W = np.array([401408, 131072, 32768, 8192, 2048, 320])
Q3_A = np.array([512, 256, 128, 64, 32, 10])


@pytest.fixture
def q3_layers() -> LayerArrays:
    return LayerArrays(Q3_W, Q3_A, Q3_W, a0=784)


# ---------------------------------------------------------------------------- Q1


def test_q1_macs() -> None:
    assert linear_macs(784, 512) == 401_408
    assert conv_macs(3, 16, 3, 3, 32, 32) == 442_368
    assert conv_macs(64, 128, 3, 3, 16, 16) == 18_874_368


def test_macs_reject_bad_widths() -> None:
    with pytest.raises(ValueError, match="n_out"):
        linear_macs(3, 0)
    with pytest.raises(ValueError, match="k_h"):
        conv_macs(3, 3, 0, 3, 8, 8)


def test_profile_matches_q3_arrays() -> None:
    lay = layer_arrays(qpart_mlp_profile())
    np.testing.assert_array_equal(lay.w, Q3_W)
    np.testing.assert_array_equal(lay.o, Q3_W)
    np.testing.assert_array_equal(lay.a, Q3_A)
    assert lay.a0 == 784
    # whichever source (zoo or fallback) provides it, the arrays are Q3's
    np.testing.assert_array_equal(layer_arrays(get_qpart_profile()).w, Q3_W)


# ---------------------------------------------------------------------------- Q2


def test_q2_closed_form_bits() -> None:
    theta, s, C = np.array([4.0, 1.0, 2.0]), np.array([1000.0, 400.0, 100.0]), 1e-3
    b = optimal_bits(theta, s, C)
    np.testing.assert_allclose(b, [6.27537339, 5.93633744, 7.43633744], atol=1e-8)
    np.testing.assert_allclose(sequential_bits(theta, s, C), b, atol=1e-12)
    assert noise_measure(theta, b) == pytest.approx(1e-3, rel=1e-12)
    np.testing.assert_allclose(theta * np.exp(-ALPHA * b) / s, C / s.sum(), rtol=1e-12)
    assert C / s.sum() == pytest.approx(6.6667e-7, rel=1e-4)
    assert float(s @ b) == pytest.approx(9393.542, abs=1e-3)
    bi = optimal_bits(theta, s, C, integer=True)
    np.testing.assert_array_equal(bi, [7, 6, 8])
    assert noise_measure(theta, bi) == pytest.approx(0.000518799, rel=1e-6)
    assert float(s @ bi) == 10_200


def test_q2_matches_slsqp() -> None:
    theta, s, C = np.array([4.0, 1.0, 2.0]), np.array([1000.0, 400.0, 100.0]), 1e-3
    res = _slsqp(theta, s, C)
    np.testing.assert_allclose(res, optimal_bits(theta, s, C), atol=1e-5)


def _slsqp(theta: np.ndarray, s: np.ndarray, C: float) -> np.ndarray:
    w = s / s.sum()
    res = minimize(
        lambda b: float(w @ b),
        x0=np.full(len(s), 8.0),
        jac=lambda b: w,
        method="SLSQP",
        constraints=[
            {
                "type": "ineq",
                # log form keeps the constraint well scaled across many decades of C
                "fun": lambda b: math.log(C) - math.log(float(np.sum(theta * np.exp(-ALPHA * b)))),
                "jac": lambda b: (
                    ALPHA * theta * np.exp(-ALPHA * b) / np.sum(theta * np.exp(-ALPHA * b))
                ),
            }
        ],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    # SLSQP may stop with "positive directional derivative" once at the optimum to machine
    # precision; feasibility and the objective are what the callers check.
    assert res.status in (0, 8), res.message
    assert float(np.sum(theta * np.exp(-ALPHA * res.x))) <= C * (1 + 1e-6)
    return res.x


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    log_c=st.floats(-6, 0),
)
def test_closed_form_equals_scipy_optimum(n: int, seed: int, log_c: float) -> None:
    rng = np.random.default_rng(seed)
    theta = 10 ** rng.uniform(-1, 3, n)
    s = 10 ** rng.uniform(1, 5, n)
    C = 10.0**log_c
    b = optimal_bits(theta, s, C)
    np.testing.assert_allclose(sequential_bits(theta, s, C), b, atol=1e-9)
    assert noise_measure(theta, b) == pytest.approx(C, rel=1e-9)
    ref = _slsqp(theta, s, C)
    # same objective and the optimum is unique (strictly convex constraint, linear objective)
    assert float(s @ ref) == pytest.approx(float(s @ b), rel=1e-6)
    # closed form never worse, up to the solver's own slack: SLSQP may overshoot the noise
    # budget by 1e-6 relative (checked in _slsqp), which buys it that much objective
    assert float(s @ b) <= float(s @ ref) + 1e-6 * abs(float(s @ ref))
    # bits of tiny-s layers barely move the objective, so the solver pins them loosely
    np.testing.assert_allclose(ref, b, atol=2e-2)
    bi = optimal_bits(theta, s, C, integer=True, b_min=1, b_max=64)
    if np.all(b > 1):  # clipping at b_min never breaks the budget; ceil keeps it met
        assert noise_measure(theta, bi) <= C * (1 + 1e-9)


def test_bits_errors() -> None:
    with pytest.raises(ValueError, match="theta and s"):
        optimal_bits([1.0, 2.0], [1.0], 1e-3)
    with pytest.raises(ValueError, match="theta"):
        optimal_bits([-1.0], [1.0], 1e-3)
    with pytest.raises(ValueError, match="C"):
        optimal_bits([1.0], [1.0], 0.0)
    with pytest.raises(ValueError, match="b_min"):
        round_bits([3.2], b_min=8, b_max=4)
    np.testing.assert_array_equal(round_bits([0.2, 4.0000000001, 70.0], 2, 64), [2, 4, 64])


# ---------------------------------------------------------------------------- Q3

Q3_ROWS = [  # p, O1, O2, T_loc, E_loc, T_ser, bits, payload, T_tx, J
    (
        1,
        401408,
        174400,
        1.003520e-02,
        8.028160e-05,
        7.266667e-05,
        [4],
        1_607_680,
        8.038400e-03,
        2.633761e-02,
    ),
    (
        2,
        532480,
        43328,
        1.331200e-02,
        1.064960e-04,
        1.805333e-05,
        [4, 5],
        2_262_272,
        1.131136e-02,
        3.607732e-02,
    ),
    (
        3,
        565248,
        10560,
        1.413120e-02,
        1.130496e-04,
        4.400000e-06,
        [4, 5, 6],
        2_458_368,
        1.229184e-02,
        3.883673e-02,
    ),
    (
        4,
        573440,
        2368,
        1.433600e-02,
        1.146880e-04,
        9.866667e-07,
        [4, 5, 6, 7],
        2_515_392,
        1.257696e-02,
        3.960658e-02,
    ),
    (
        5,
        575488,
        320,
        1.438720e-02,
        1.150976e-04,
        1.333333e-07,
        [4, 5, 6, 7, 8],
        2_531_584,
        1.265792e-02,
        3.981840e-02,
    ),
]


@pytest.mark.parametrize("row", Q3_ROWS, ids=[f"p{r[0]}" for r in Q3_ROWS])
def test_q3_objective_table(q3_layers: LayerArrays, row: tuple) -> None:
    p, o1, o2, t_loc, e_loc, t_ser, bits, payload, t_tx, j = row
    table = offline_patterns(q3_layers, np.ones(6), {0.01: 1e-2}, b_min=1, b_max=64)
    b = table.patterns[(p, 0.01)]
    np.testing.assert_array_equal(b, bits)
    c = evaluate_partition(q3_layers, p, b, QPARTParams())
    assert (c.o1, c.o2) == (o1, o2)
    assert c.t_loc == pytest.approx(t_loc, rel=1e-6)
    assert c.e_loc == pytest.approx(e_loc, rel=1e-6)
    assert c.t_ser == pytest.approx(t_ser, rel=1e-6)
    assert c.cost_ser == pytest.approx(t_ser, rel=1e-6)
    assert c.payload.total == payload
    assert c.t_tx == pytest.approx(t_tx, rel=1e-6)
    assert c.e_tx == pytest.approx(t_tx, rel=1e-6)
    assert c.objective == pytest.approx(j, rel=1e-6)
    # eq. (23): J = Lambda + Sigma + Gamma when E_tx = P T_tx
    assert c.lam + c.sigma + c.gamma == pytest.approx(c.objective, rel=1e-12)


def test_q3_unquantized_payload_and_online_choice(q3_layers: LayerArrays) -> None:
    c = evaluate_partition(q3_layers, 2, [64, 64])
    assert c.payload.total == 34_095_104
    assert c.t_tx == pytest.approx(0.17048, rel=1e-4)
    # QPART Table III's partitions 1..L-1: the oracle's p = 1
    inner = offline_patterns(q3_layers, np.ones(6), {0.01: 1e-2}, partitions=range(1, 6))
    d = select_partition(inner, 0.01)
    assert d.p == 1 and d.cost.objective == pytest.approx(2.633761e-02, rel=1e-6)
    # a device memory below the p=1 segment forces nothing feasible
    with pytest.raises(ValueError, match="no pattern"):
        select_partition(inner, 0.01, memory_bits=1000)
    # the default table has both ends: "all on the server" costs 36x less than p = 1 here
    table = offline_patterns(q3_layers, np.ones(6), {0.01: 1e-2})
    assert {p for p, _ in table.patterns} == set(range(7))
    d0 = select_partition(table, 0.01, memory_bits=1000)
    assert d0.p == 0 and d0.cost.objective == pytest.approx(7.3072e-4, rel=1e-4)
    with pytest.raises(ValueError, match="no pattern"):
        select_partition(table, 0.001)


def test_uplink_energy_option(q3_layers: LayerArrays) -> None:
    c = evaluate_partition(q3_layers, 1, [4], QPARTParams(tx_energy="uplink"))
    assert c.e_tx == pytest.approx(512 * 4 / 200e6)
    with pytest.raises(ValueError, match="tx_energy"):
        QPARTParams(tx_energy="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="f_d"):
        QPARTParams(f_d=0)


def test_partition_conventions_and_errors(q3_layers: LayerArrays) -> None:
    assert device_layer_count(3, 6) == 3
    assert device_layer_count(3, 6, "before_p") == 2
    with pytest.raises(ValueError, match="p must"):
        device_layer_count(0, 6, "before_p")
    with pytest.raises(ValueError, match="bits must have one entry"):
        evaluate_partition(q3_layers, 2, [4])
    with pytest.raises(ValueError, match="p must be in"):
        evaluate_partition(q3_layers, 7, [4] * 7)
    with pytest.raises(ValueError, match="equal length"):
        LayerArrays(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="theta must have one entry per layer"):
        offline_patterns(q3_layers, np.ones(5), {0.01: 1e-2})
    np.testing.assert_array_equal(payload_weights(Q3_W, 256, 2), [401408, 131328])
    # p = 0 sends the raw input
    c0 = evaluate_partition(q3_layers, 0, [])
    assert c0.payload.total == 784 * 32 and c0.o1 == 0


@settings(max_examples=40, deadline=None)
@given(
    n_layers=st.integers(1, 7),
    seed=st.integers(0, 2**31 - 1),
    log_c=st.floats(-4, 1),
    log_rate=st.floats(4, 10),
)
def test_partition_points_include_both_ends(
    n_layers: int, seed: int, log_c: float, log_rate: float
) -> None:
    rng = np.random.default_rng(seed)
    w = rng.integers(10, 500_000, n_layers).astype(float)
    lay = LayerArrays(w, rng.integers(1, 2_000, n_layers), w, a0=int(rng.integers(1, 200_000)))
    theta = 10 ** rng.uniform(-2, 2, n_layers)
    levels = {0.01: 10.0**log_c, 0.02: 10.0 ** (log_c + 0.5)}
    table = offline_patterns(lay, theta, levels)
    assert {p for p, _ in table.patterns} == set(range(n_layers + 1))
    assert all(len(b) == p for (p, _), b in table.patterns.items())
    params = QPARTParams(rate=10.0**log_rate)
    d = select_partition(table, 0.02, params)
    every = [
        evaluate_partition(lay, p, table.patterns[(p, a)], params).objective
        for p, a in table.patterns
    ]
    assert d.cost.objective == pytest.approx(min(every), rel=1e-12)
    for p in (0, n_layers):  # neither end can beat Algorithm 2's choice
        for a in levels:
            end = evaluate_partition(lay, p, table.patterns[(p, a)], params).objective
            assert d.cost.objective <= end * (1 + 1e-12)


def test_online_partitions_sample_fading() -> None:
    # a large raw input and a small network: a good channel favours the fast server (p = 0),
    # a deep fade favours computing on the device and uploading a small activation
    w = np.array([2_000.0, 500.0])
    lay = LayerArrays(w, np.array([50, 10]), w * 1_000, a0=200_000)
    table = offline_patterns(lay, np.ones(2), {0.01: 1e-3})
    out = online_partitions(table, 0.01, np.random.default_rng(0), 400)
    assert out.rate.shape == out.p.shape == out.objective.shape == (400,)
    assert 0 in out.p and np.any(out.p > 0)  # the decision follows the channel
    assert out.rate[out.p == 0].min() > out.rate[out.p > 0].max()
    # each request's choice is Algorithm 2 at its own sampled rate
    for k in range(0, 400, 40):
        ref = select_partition(table, 0.01, QPARTParams(rate=float(out.rate[k])))
        assert (ref.p, ref.cost.objective) == (out.p[k], pytest.approx(out.objective[k]))
    # h = zeta beta with zeta ~ Exp(1): the sample mean of n draws has relative sd 1/sqrt(n)
    assert abs(float(np.mean(out.gain)) / 1e-10 - 1.0) < 5.0 / math.sqrt(400)
    again = online_partitions(table, 0.01, np.random.default_rng(0), 400)
    np.testing.assert_array_equal(again.rate, out.rate)
    with pytest.raises(ValueError, match="num_requests"):
        online_partitions(table, 0.01, np.random.default_rng(0), 0)


# ---------------------------------------------------------------------------- Q4


def test_q4_shannon() -> None:
    ch = shannon_rate(20e6, 1.0, 1e-10)
    assert ch.noise_power == pytest.approx(7.9621e-14, rel=1e-4)
    assert ch.snr == pytest.approx(1255.94, rel=1e-5)
    assert ch.snr_db == pytest.approx(30.99, abs=5e-3)
    assert ch.rate == pytest.approx(205.91e6, rel=1e-4)
    with pytest.raises(ValueError, match="bandwidth_hz"):
        shannon_rate(0, 1.0, 1e-10)
    g = sample_channel_gain(1e-10, np.random.default_rng(0), size=20_000)
    assert float(np.mean(g)) == pytest.approx(1e-10, rel=0.03)


# ---------------------------------------------------------------------------- Table IV


def test_table_iv_arithmetic() -> None:
    initial = np.array([5.89, 46.55, 46.9, 107.96, 180.01])
    optimized = np.array([0.79, 5.53, 6.35, 19.00, 32.62])
    reported_ratio = np.array([13.45, 11.88, 13.53, 17.60, 18.12])
    acc0 = np.array([86.88, 89.52, 67.35, 62.75, 67.21])
    acc1 = np.array([86.79, 89.4, 67.12, 62.09, 66.63])
    reported_drop = np.array([0.08, 0.12, 0.23, 0.66, 0.58])
    ratio = 100 * optimized / initial
    np.testing.assert_allclose(ratio, reported_ratio, atol=0.05)
    np.testing.assert_allclose(acc0 - acc1, reported_drop, atol=0.05 + 1e-9)
    np.testing.assert_allclose(64 * ratio / 100, [8.6, 7.6, 8.7, 11.3, 11.6], atol=0.05)


# ---------------------------------------------------------------------------- quantizer


def test_quantizer_grid_and_error() -> None:
    g = quantization_grid(-1.0, 3.0, 2)
    assert g.delta == pytest.approx(4 / 3) and g.levels == 4 and g.zero_point == 1
    x = np.random.default_rng(0).uniform(-1, 1, 100_000)
    for b in (4, 6, 8):
        err = quantize(x, b) - x
        delta = 2.0 / (2**b - 1)
        assert float(np.abs(err).max()) <= delta / 2 + 1e-12
        assert float(np.mean(err**2)) == pytest.approx(delta**2 / 12, rel=0.05)
    with pytest.raises(ValueError, match="bits"):
        quantize(x, 0)


# ---------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def trained() -> Iterator[tuple]:
    torch = pytest.importorskip("torch")
    from placement.baselines.qpart import build_qpart_mlp, synthetic_dataset, train_qpart_mlp

    # one intra-op thread: the model is tiny and the test machine's cores are shared
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(0)
        x, y, means = synthetic_dataset(3000, g)
        xc, yc, _ = synthetic_dataset(1500, g, means=means)
        model = train_qpart_mlp(build_qpart_mlp(generator=g), x, y, g, epochs=4)
        yield model, xc, yc
    finally:
        torch.set_num_threads(threads)


def test_calibration_noise_model(trained: tuple) -> None:
    """Eq. (18), E||r||^2 = p e^{-alpha b}, checked with tolerances derived from the draws.

    The law describes the expectation over rounding errors; one deterministic rounding of a
    weight matrix is one draw, whose spread depends on the layer (a few percent for the first
    layer, about 50% per draw for the last ones, where one rounding can miss by 2-3x). So:

    1. the mean of K seeded error draws must match the calibrated law within 5 standard
       errors (of this mean and of the calibration's own 12 draws) plus the law's stated
       bias, (2^b/(2^b-1))^2 against the calibration widths (< 6% for 5 <= b <= 16);
    2. the deterministic rounding must be a plausible single draw: inside the 1e-4 and
       1 - 1e-4 quantiles of a gamma law with the draws' mean and (inflated) spread.

    Seeds are fixed; the bands come from the number of draws, not from one machine's values.
    """
    from scipy.stats import gamma

    from placement.baselines.qpart import logit_noise_energy, quantized_accuracy

    model, xc, yc = trained
    assert quantized_accuracy(model, xc, yc, []) > 0.6  # it learned something
    x = xc[:500]
    cal = calibrate_noise(model, x)  # 4 draws x widths (6, 8, 10) per weight measurement
    n_cal = 4 * 3
    assert cal.theta.shape == (6,) and np.all(cal.theta > 0)
    # estimator (a): isotropic noise over 10 logits gives t ~ 10; it must stay in a sane band
    assert np.all((cal.t_w > 1) & (cal.t_w < 100)) and np.all((cal.t_a > 1) & (cal.t_a < 100))
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(1)
    k_draws = 5
    cal_bias = np.mean([2 * math.log(2**b / (2**b - 1)) for b in (6, 8, 10)])
    for i in range(6):
        per_b = {}
        for b in (5, 12):
            law = cal.p_w[i] * math.exp(-ALPHA * b)
            draws = [logit_noise_energy(model, x, i, b, dither=gen) / law for _ in range(k_draws)]
            per_b[b] = np.array(draws)
        # the relative spread per draw hardly depends on b: pool it (2K - 2 degrees of freedom)
        cv = math.sqrt(np.mean([np.var(d / d.mean(), ddof=1) for d in per_b.values()]))
        for b, d in per_b.items():
            bias = abs(2 * math.log(2**b / (2**b - 1)) - cal_bias)  # log-ratio of the law's bias
            se = cv * math.sqrt(1 / k_draws + 1 / n_cal)
            assert abs(math.log(d.mean())) <= bias + 5 * se, (i, b, d.mean(), cv)
            det = logit_noise_energy(model, x, i, b) / (cal.p_w[i] * math.exp(-ALPHA * b))
            shape = 1 / (1.5 * max(cv, 0.02)) ** 2  # spread inflated 1.5x: cv is estimated
            lo, hi = gamma.ppf([1e-4, 1 - 1e-4], shape, scale=d.mean() / shape)
            assert lo <= det <= hi, (i, b, det, lo, hi)


@pytest.mark.slow
def test_calibrated_pipeline_meets_accuracy_demand(trained: tuple) -> None:
    from placement.baselines.qpart import quantized_accuracy

    model, xc, yc = trained
    lay = layer_arrays(qpart_mlp_profile())
    cal = calibrate_noise(model, xc)
    grid = float(cal.theta.sum()) * np.logspace(-8, -1, 22)  # ~13 down to 1.7 bits per layer
    budgets = calibrate_budgets(model, xc, yc, cal.theta, lay, grid=grid)
    levels = sorted(budgets)
    assert [budgets[a] for a in levels] == sorted(budgets[a] for a in levels)
    table = offline_patterns(lay, cal.theta, budgets)
    base = quantized_accuracy(model, xc, yc, [])
    for a in levels:
        d = select_partition(table, a)
        assert d.level <= a and len(d.bits) == d.p
        # the device segment alone never degrades more than the full-network calibration
        drop = base - quantized_accuracy(model, xc, yc, d.bits)
        assert drop <= a + 0.005
        # bits fall as the allowed degradation grows
    b_lo = table.patterns[(5, levels[0])]
    b_hi = table.patterns[(5, levels[-1])]
    assert np.all(b_hi <= b_lo) and b_hi.sum() < b_lo.sum()


# ---------------------------------------------------------------------------- scenario


def test_qpart_scenario(q3_layers: LayerArrays) -> None:
    table = offline_patterns(q3_layers, np.ones(6), {0.01: 1e-2}, partitions=range(1, 6))
    d = select_partition(table, 0.01)
    dev, srv, link = qpart_devices()
    assert dev.speed == pytest.approx(40e6) and srv.speed == pytest.approx(2.4e9)
    sc = qpart_scenario(d, dev, srv, link, arrival_rate=20.0)
    (svc,) = sc.services
    f0, f1 = svc.fragments
    assert f0.macs == 401408 and f1.macs == 174400
    assert f0.weight_bytes == 401408 * 4 / 8 and f0.output_bytes == 512 * 4 / 8
    assert f1.weight_bytes == 174400 * 4 and f1.output_bytes == 40
    assert sc.placement[svc.name] == (dev.name, srv.name)
    assert svc.source == dev.name and svc.input_bytes == 0
    # server-only partition ships the raw input over the link
    d0 = select_partition(
        offline_patterns(q3_layers, np.ones(6), {0.01: 1e-2}, partitions=[0]), 0.01
    )
    sc0 = qpart_scenario(d0, dev, srv, link, arrival_rate=5.0)
    assert len(sc0.services[0].fragments) == 1 and sc0.services[0].input_bytes == 784 * 4
    with pytest.raises(ValueError):
        qpart_scenario(d, dev.__class__("tiny", 1e6, memory=10), srv, None, 1.0)


def test_qpart_scenario_simulates(q3_layers: LayerArrays) -> None:
    sim = pytest.importorskip("datagen.sim")
    table = offline_patterns(q3_layers, np.ones(6), {0.01: 1e-2}, partitions=range(1, 6))
    d = select_partition(table, 0.01)
    dev, srv, link = qpart_devices()
    sc = qpart_scenario(d, dev, srv, link, arrival_rate=20.0)
    res = sim.simulate(sc, num_requests=3000, seed=0)
    row = res.services.loc["qpart"]
    # queueing can only add to QPART's load-free latency T_loc + T_tx(activation) + T_ser
    floor = d.cost.t_loc + d.activation_bits / 200e6 + d.cost.t_ser
    assert row["latency_mean"] >= floor * 0.999


def test_the_package_reexports_every_modules_public_names() -> None:
    import importlib

    import placement.baselines.qpart as qpart

    modules = ("params", "quantization", "channel", "cost", "bits", "selection", "bridge",
               "calibration")
    names = [n for m in modules for n in importlib.import_module(f"{qpart.__name__}.{m}").__all__]
    assert qpart.__all__ == names and len(set(names)) == len(names)
    assert all(hasattr(qpart, n) for n in qpart.__all__)
