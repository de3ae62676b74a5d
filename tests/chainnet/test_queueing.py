import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainnet.queueing import (
    arrival_pmf,
    gg1k_loss_two_moment,
    mg1k_exact,
    mg1k_loss_mgs,
    mixture_moments,
    mm1k,
    mmck,
)

# spec 4.2: lam, mu, K, P0, PK, X, N, R, U
MM1K_TABLE = [
    (2, 3, 5, 0.3654135338, 0.0481203008, 1.9037593985, 1.4225563910, 0.7472353870, 0.6345864662),
    (0.5, 1, 1, 0.6666666667, 0.3333333333, 0.3333333333, 0.3333333333, 1.0, 0.3333333333),
    (1, 1, 4, 0.2, 0.2, 0.8, 2.0, 2.5, 0.8),
    (9, 10, 10, 0.1457323582, 0.0508137313, 8.5426764181, 3.9694405986, 0.4646600672, 0.8542676418),
    (4, 2, 3, 0.0666666667, 0.5333333333, 1.8666666667, 2.2666666667, 1.2142857143, 0.9333333333),
]


@pytest.mark.parametrize("row", MM1K_TABLE)
def test_mm1k_oracle(row):
    lam, mu, K, p0, pk, x, n, r, u = row
    res = mm1k(lam, mu, K)
    got = (res.probabilities[0], res.loss, res.throughput, res.mean_number, res.response_time)
    assert got == pytest.approx((p0, pk, x, n, r), abs=1e-9)
    assert res.utilization == pytest.approx(u, abs=1e-9)
    assert res.probabilities.sum() == pytest.approx(1.0)
    assert res.throughput == pytest.approx(mu * (1 - res.probabilities[0]))


def test_mm1k_extreme_load_is_finite():
    res = mm1k(1e6, 1.0, 200)
    assert res.loss == pytest.approx(1 - 1e-6, rel=1e-9)
    assert np.all(np.isfinite(res.probabilities))
    assert mm1k(0.0, 2.0, 3).loss == 0.0
    assert mm1k(0.0, 2.0, 3).response_time == 0.5


def test_mmck_reduces_to_mm1k_and_erlang_b():
    a, b = mmck(2, 3, 1, 5), mm1k(2, 3, 5)
    assert a.loss == pytest.approx(b.loss) and a.mean_number == pytest.approx(b.mean_number)
    # M/M/c/c is Erlang B: B(c, A) with A = lam/mu = 2, c = 3 -> 4/19
    res = mmck(2.0, 1.0, 3, 3)
    assert res.loss == pytest.approx((2**3 / 6) / (1 + 2 + 2 + 8 / 6), abs=1e-12)
    assert res.utilization == pytest.approx(res.throughput / 3.0)


def test_mmck_textbook_value():
    # M/M/2/4, lam=3, mu=1: weights 1, 3, 4.5, 6.75, 10.125
    w = np.array([1, 3, 4.5, 6.75, 10.125])
    res = mmck(3.0, 1.0, 2, 4)
    assert res.probabilities == pytest.approx(w / w.sum(), abs=1e-12)
    assert res.response_time == pytest.approx(res.mean_number / res.throughput)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mm1k(-1, 1, 3), "lam must be >= 0"),
        (lambda: mm1k(1, 0, 3), "mu must be > 0"),
        (lambda: mm1k(1, 1, 0), "K must be an integer >= 1"),
        (lambda: mm1k(1, 1, 2.5), "K must be an integer"),
        (lambda: mm1k(float("nan"), 1, 2), "lam must be finite"),
        (lambda: mmck(1, 1, 3, 2), "K must be >= c"),
        (lambda: mmck(1, 1, 0, 2), "c must be an integer >= 1"),
        (lambda: mg1k_exact(1, 0, mean=1), "K must be"),
        (lambda: mg1k_exact(-1, 3, mean=1), "lam must be >= 0"),
        (lambda: mg1k_exact(1, 3), "mean"),
        (lambda: mg1k_exact(1, 3, mean=1, kind="h2", scv=0.5), "scv >= 1"),
        (lambda: mg1k_exact(1, 3, mean=1, kind="erlang", scv=0.3), "scv = 1/n"),
        (lambda: mg1k_exact(1, 3, mean=1, kind="weibull"), "kind must be one of"),
        (lambda: mg1k_exact(1, 3, kind="mixture", times=[1, 2], probs=[1]), "equal length"),
        (lambda: mg1k_exact(1, 3, kind="mixture", times=[1, 2], probs=[0.2, 0.2]), "sum to 1"),
        (lambda: mg1k_loss_mgs(-0.1, 1, 3), "rho must be"),
        (lambda: mg1k_loss_mgs(0.5, -1, 3), "scv must be"),
        (lambda: mg1k_loss_mgs(0.5, 1, 0), "K must be >= 1"),
        (lambda: mg1k_loss_mgs(0.5, 1, 2, fallback="x"), "fallback"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# spec 4.3
MGS_MM1K = [
    (0.3, 2, 0.0647482014),
    (0.5, 1, 0.3333333333),
    (0.5, 5, 0.0158730159),
    (0.8, 10, 0.0234928576),
    (0.9, 5, 0.1260225500),
    (0.9, 20, 0.0136513864),
    (1.0, 5, 0.1666666667),
    (1.2, 10, 0.1925864951),
    (2.0, 3, 0.5333333333),
]


@pytest.mark.parametrize(("rho", "K", "value"), MGS_MM1K)
def test_mgs_equals_mm1k_for_scv_one(rho, K, value):
    got = mg1k_loss_mgs(rho, 1.0, K)
    assert isinstance(got, float)
    assert abs(got - mm1k(rho, 1.0, K).loss) < 1e-12
    assert got == pytest.approx(value, abs=1e-10)


# spec 4.4: scv, kind, rho, K, approx, exact
MG1K_TABLE = [
    (0.0, "deterministic", 0.5, 2, 0.093566, 0.096274),
    (0.0, "deterministic", 0.8, 5, 0.036477, 0.035290),
    (0.0, "deterministic", 0.9, 10, 0.017099, 0.016632),
    (0.0, "deterministic", 1.2, 5, 0.193454, 0.199147),
    (0.5, "erlang", 0.5, 2, 0.120716, 0.122807),
    (0.5, "erlang", 0.8, 5, 0.063566, 0.063647),
    (0.5, "erlang", 0.9, 10, 0.033883, 0.033808),
    (0.5, "erlang", 1.2, 5, 0.223524, 0.226720),
    (2.0, "h2", 0.5, 2, 0.176207, 0.163636),
    (2.0, "h2", 0.8, 5, 0.131915, 0.124652),
    (2.0, "h2", 0.9, 10, 0.082380, 0.080145),
    (2.0, "h2", 1.2, 5, 0.294209, 0.277765),
    (4.0, "h2", 0.5, 2, 0.217418, 0.185185),
    (4.0, "h2", 0.8, 5, 0.194174, 0.168395),
    (4.0, "h2", 0.9, 10, 0.134535, 0.123348),
    (4.0, "h2", 1.2, 5, 0.352360, 0.309166),
]


@pytest.mark.parametrize("row", MG1K_TABLE)
def test_mg1k_table(row):
    scv, kind, rho, K, approx, exact = row
    assert mg1k_loss_mgs(rho, scv, K) == pytest.approx(approx, abs=1e-6)
    # lam scaled so rho = lam * mean, with mean != 1 to exercise units
    res = mg1k_exact(rho / 0.02, K, mean=0.02, scv=scv, kind=kind)
    assert res.loss == pytest.approx(exact, abs=1e-6)
    assert res.probabilities.sum() == pytest.approx(1.0)
    assert res.utilization == pytest.approx(1 - res.probabilities[0])
    assert res.utilization == pytest.approx(res.throughput * 0.02)


def test_mg1k_exact_light_load_tail():
    assert mg1k_loss_mgs(0.5, 0.0, 10) == pytest.approx(1.6e-5, rel=0.01)
    assert mg1k_exact(0.5, 10, mean=1.0, scv=0.0).loss == pytest.approx(4.1e-6, rel=0.02)


@pytest.mark.parametrize(
    ("rho", "K"), [(0.3, 1), (0.5, 2), (0.9, 5), (1.0, 4), (2.0, 3), (4.0, 10)]
)
def test_mg1k_exact_exponential_equals_mm1k(rho, K):
    for kind, kw in [
        ("exponential", {}),
        ("gamma", {"scv": 1.0}),
        ("erlang", {"erlang_stages": 1}),
    ]:
        res = mg1k_exact(rho, K, mean=1.0, kind=kind, **kw)
        ref = mm1k(rho, 1.0, K)
        assert res.probabilities == pytest.approx(ref.probabilities, abs=1e-10)
        assert res.response_time == pytest.approx(ref.response_time, rel=1e-9)


def test_mg1k_exact_gamma_interpolates_erlang():
    e2 = mg1k_exact(0.8, 5, mean=1.0, kind="erlang", erlang_stages=2).loss
    g2 = mg1k_exact(0.8, 5, mean=1.0, kind="gamma", scv=0.5).loss
    assert g2 == pytest.approx(e2, abs=1e-12)
    auto = mg1k_exact(0.8, 5, mean=1.0, scv=0.5).loss
    assert auto == pytest.approx(e2, abs=1e-12)
    g = mg1k_exact(0.8, 5, mean=1.0, kind="gamma", scv=0.7).loss
    assert e2 < g < mm1k(0.8, 1.0, 5).loss


# spec 4.6
MIX_TABLE = [
    (1, 0.3103448, 0.3103448),
    (2, 0.1009215, 0.1030589),
    (3, 0.0361525, 0.0353665),
    (5, 0.0050021, 0.0040786),
    (10, 3.777e-5, 1.785e-5),
]


@pytest.mark.parametrize(("K", "approx", "exact"), MIX_TABLE)
def test_early_exit_mixture(K, approx, exact):
    times, probs = [2e-3, 5e-3, 10e-3], [0.5, 0.3, 0.2]
    mean, scv = mixture_moments(times, probs)
    assert mean == pytest.approx(4.5e-3)
    assert scv == pytest.approx(0.4567901, abs=1e-7)
    rho = 100.0 * mean
    assert rho == pytest.approx(0.45)
    assert mg1k_loss_mgs(rho, scv, K) == pytest.approx(approx, rel=1e-4)
    res = mg1k_exact(100.0, K, kind="mixture", times=times, probs=probs)
    assert res.loss == pytest.approx(exact, rel=1e-3)


def test_mgs_limit_and_k1():
    assert mg1k_loss_mgs(1.0, 0.5, 5) == pytest.approx(0.136364, abs=1e-6)
    assert mg1k_loss_mgs(1.0 - 1e-9, 0.5, 5) == pytest.approx(1.5 / 11, abs=1e-7)
    assert mg1k_loss_mgs(1.0 + 1e-9, 0.5, 5) == pytest.approx(1.5 / 11, abs=1e-7)
    for scv in (0.0, 0.5, 3.0):
        assert mg1k_loss_mgs(0.7, scv, 1) == pytest.approx(0.7 / 1.7, abs=1e-14)
    assert mg1k_loss_mgs(0.0, 0.5, 3) == 0.0


def test_mgs_domain_guard():
    # s2=0, rho=5, K=5: raw formula is -4e-23, exact 0.8
    assert mg1k_loss_mgs(5.0, 0.0, 5) == pytest.approx(0.8)
    assert mg1k_loss_mgs(3.99, 0.0, 5) == pytest.approx(1 - 1 / 3.99)
    assert mg1k_loss_mgs(5.0, 0.0, 5, fallback="exact") == pytest.approx(
        mg1k_exact(5.0, 5, mean=1.0, scv=0.0).loss, abs=1e-12
    )


def test_mgs_vectorised_broadcast():
    rho = np.linspace(0.0, 6.0, 13)[:, None, None]
    scv = np.array([0.0, 0.5, 1.0, 4.0])[None, :, None]
    K = np.array([1, 2, 10])[None, None, :]
    out = mg1k_loss_mgs(rho, scv, K)
    assert out.shape == (13, 4, 3)
    assert np.all((out >= 0) & (out <= 1))
    for i, j, k in [(3, 1, 1), (5, 3, 2), (12, 0, 2), (2, 2, 0)]:
        assert out[i, j, k] == mg1k_loss_mgs(
            float(rho[i, 0, 0]), float(scv[0, j, 0]), int(K[0, 0, k])
        )
    # monotone in rho for fixed scv, K
    assert np.all(np.diff(out, axis=0) >= -1e-12)


@settings(max_examples=60, deadline=None)
@given(
    rho=st.floats(0.01, 3.0),
    K=st.integers(1, 30),
)
def test_mgs_matches_mm1k_property(rho, K):
    assert abs(mg1k_loss_mgs(rho, 1.0, K) - mm1k(rho, 1.0, K).loss) < 1e-12


def test_arrival_pmf_sums_to_one():
    a, m = arrival_pmf(2.0, 200, mean=0.5, kind="h2", scv=3.0)
    assert m == 0.5 and a.sum() == pytest.approx(1.0)
    assert np.dot(np.arange(200), a) == pytest.approx(1.0)
    a, _ = arrival_pmf(2.0, 200, mean=0.5, kind="gamma", scv=0.3)
    assert np.dot(np.arange(200), a) == pytest.approx(1.0)
    assert math.isclose(arrival_pmf(1.0, 1, mean=1.0, scv=0.0)[0][0], math.exp(-1))


def test_two_moment_loss_reduces_to_mgs_for_poisson_input():
    rho = np.array([0.3, 0.8, 1.0, 1.7, 5.0])
    for cs2 in (0.0, 0.5, 2.0):
        for K in (1, 3, 20):
            got = gg1k_loss_two_moment(rho, 1.0, cs2, K)
            np.testing.assert_allclose(got, mg1k_loss_mgs(rho, cs2, K), rtol=1e-12, atol=1e-15)


def test_two_moment_loss_smooth_input_loses_less():
    rho, K = 0.8, 5
    losses = [float(gg1k_loss_two_moment(rho, ca2, 0.0, K)) for ca2 in (1.0, 0.6, 0.3, 0.0)]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 1e-3  # D/D/1/K below saturation loses (almost) nothing
    # K = 1 keeps the Erlang loss whatever the variability
    assert float(gg1k_loss_two_moment(0.7, 0.2, 0.0, 1)) == pytest.approx(0.7 / 1.7)
    # overload: the large-K limit 1 - 1/rho
    assert float(gg1k_loss_two_moment(5.0, 0.2, 0.0, 10)) == pytest.approx(0.8)


@pytest.mark.parametrize(
    "kind, opts",
    [
        ("deterministic", {"mean": 0.3}),
        ("exponential", {"mean": 0.3}),
        ("erlang", {"mean": 0.3, "erlang_stages": 3}),
        ("gamma", {"mean": 0.3, "scv": 0.37}),
        ("h2", {"mean": 0.3, "scv": 4.0}),
        ("mixture", {"times": [0.1, 0.5], "probs": [0.7, 0.3]}),
    ],
)
def test_arrival_pmf_is_bit_identical_to_scipy_stats(kind: str, opts: dict) -> None:
    # the pmfs avoid importing scipy.stats (~1 s at import chainnet) but not its numbers
    from scipy import stats

    lam, n, k = 2.7, 60, np.arange(60)
    a, m = arrival_pmf(lam, n, kind=kind, **opts)
    if kind == "mixture":
        t, p = np.array(opts["times"]), np.array(opts["probs"])
        ref = (p[None, :] * stats.poisson.pmf(k[:, None], lam * t[None, :])).sum(axis=1)
    elif kind == "deterministic":
        ref = stats.poisson.pmf(k, lam * m)
    elif kind == "h2":
        p1 = 0.5 * (1.0 + math.sqrt((4.0 - 1.0) / (4.0 + 1.0)))
        m1, m2 = m / (2.0 * p1), m / (2.0 * (1.0 - p1))
        ref = p1 * stats.geom.pmf(k + 1, 1.0 / (1.0 + lam * m1)) + (1.0 - p1) * stats.geom.pmf(
            k + 1, 1.0 / (1.0 + lam * m2)
        )
    else:
        shape = {"exponential": 1.0, "erlang": 3.0, "gamma": 1.0 / 0.37}[kind]
        ref = stats.nbinom.pmf(k, shape, 1.0 / (1.0 + lam * m / shape))
    np.testing.assert_array_equal(a, ref)


def test_mgs_kernel_matches_the_vectorised_formula():
    """The compiled MacGregor Smith form equals the numpy formula it replaced, to rounding."""
    from chainnet.queueing.station import _MGS_DEN_MIN, _RHO_ONE_TOL, _mgs_core

    def reference(r, s2, k):
        with np.errstate(all="ignore"):
            x = np.sqrt(r) * (s2 - 1.0)
            den = 2.0 + x
            b = 2.0 * (1.0 + x + k) / den
            log_r = np.log(r)
            below = (1.0 - r) * np.exp((b - 1.0) * log_r) / -np.expm1(b * log_r)
            above = -np.expm1(-log_r) / -np.expm1(-b * log_r)
            out = np.where(r < 1.0, below, above)
            out = np.where(np.abs(r - 1.0) < _RHO_ONE_TOL, (1.0 + s2) / (2.0 * (s2 + k)), out)
            out = np.where(r == 0.0, 0.0, out)
            bad = (den <= _MGS_DEN_MIN) | ~np.isfinite(out) | (out < 0.0) | (out > 1.0)
            out = np.where(bad, np.maximum(0.0, 1.0 - 1.0 / r), out)
            return np.where(k == 1.0, r / (1.0 + r), out), bad

    rng = np.random.default_rng(0)
    r = np.concatenate([rng.uniform(0, 3, 5000), rng.uniform(0, 80, 5000),
                        [0.0, 1.0, 1.0 + 1e-13, 1e-300, 50.0]])
    s2 = np.concatenate([rng.uniform(0, 4, 10000), [0.0, 1.0, 0.5, 2.0, 0.0]])
    k = np.concatenate([rng.integers(1, 60, 10000).astype(float), [1.0, 5.0, 3.0, 2.0, 2.0]])
    want, want_bad = reference(r, s2, k)
    got, got_bad = _mgs_core(r, s2, k)
    np.testing.assert_array_equal(got_bad, want_bad)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # broadcasting and scalars keep their shapes
    grid, _ = _mgs_core(np.array([[0.5], [2.0]]), np.array([1.0]), np.array([3.0, 4.0]))
    assert grid.shape == (2, 2)
    assert isinstance(mg1k_loss_mgs(0.5, 1.0, 5), float)
