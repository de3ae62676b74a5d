"""The simulator against queueing theory (exact values: specs/analytical.md section 4)."""

import math

import numpy as np
import pytest
from scipy import stats

from datagen import MMPP2, Device, Fragment, Placement, Scenario, Service
from datagen.sim import simulate
from datagen.sim.compiled import compile_scenario
from datagen.sim.engine_fast import run_fast
from datagen.sim.records import DROPPED, SERVED, visit_stations
from datagen.sim.variates import draw_variates

# (lam, mu, K, P_0, P_K, X, N, R, U) from specs/analytical.md section 4.2.
MM1K_TABLE = [
    (2, 3, 5, 0.3654135338, 0.0481203008, 1.9037593985, 1.4225563910, 0.7472353870, 0.6345864662),
    (0.5, 1, 1, 0.6666666667, 0.3333333333, 0.3333333333, 0.3333333333, 1.0, 0.3333333333),
    (1, 1, 4, 0.2, 0.2, 0.8, 2.0, 2.5, 0.8),
    (9, 10, 10, 0.1457323582, 0.0508137313, 8.5426764181, 3.9694405986, 0.4646600672, 0.8542676418),
    (4, 2, 3, 0.0666666667, 0.5333333333, 1.8666666667, 2.2666666667, 1.2142857143, 0.9333333333),
]


def station(lam: float, mu: float, K: int, scv: float, servers: int = 1) -> Scenario:
    d = Device("d", speed=mu, capacity=K, servers=servers)
    s = Service("s", (Fragment("f", macs=1.0),), arrival_rate=lam, scv=scv)
    return Scenario((d,), (s,), Placement({"s": ("d",)}))


def close(sim: float, exact: float, ci95: float, rel: float = 0.02) -> bool:
    """Within ``rel`` relative error or inside the 99% confidence interval."""
    ci99 = ci95 * stats.norm.ppf(0.995) / stats.norm.ppf(0.975)
    return abs(sim - exact) <= max(rel * abs(exact), ci99)


def md1k_exact(lam: float, d: float, K: int) -> tuple[float, float, float]:
    """Exact M/D/1/K (embedded chain at departures): ``(loss, throughput, response_time)``."""
    rho = lam * d
    a = stats.poisson.pmf(np.arange(K + 1), rho)
    n = max(K, 1)
    P = np.zeros((n, n))
    for i in range(n):
        base = max(i - 1, 0)
        for j in range(base, n - 1):
            P[i, j] = a[j - base]
        P[i, n - 1] = 1.0 - a[: n - 1 - base].sum()
    A = np.vstack([P.T - np.eye(n), np.ones(n)])
    pi = np.linalg.lstsq(A, np.r_[np.zeros(n), 1.0], rcond=None)[0]
    p = np.r_[pi / (pi[0] + rho), 1.0 - 1.0 / (pi[0] + rho)]
    p = p[: K + 1] if K > 1 else np.array([1.0 / (1 + rho), rho / (1 + rho)])
    loss = p[K]
    X = lam * (1 - loss)
    N = float(np.arange(K + 1) @ p)
    return loss, X, N / X


def mmck_exact(lam: float, mu: float, c: int, K: int) -> tuple[float, float, float, float]:
    """Exact M/M/c/K: ``(loss, throughput, mean_number, response_time)``."""
    w = np.ones(K + 1)
    for n in range(1, K + 1):
        w[n] = w[n - 1] * lam / (min(n, c) * mu)
    p = w / w.sum()
    X = lam * (1 - p[K])
    N = float(np.arange(K + 1) @ p)
    return p[K], X, N, N / X


def test_md1k_helper_matches_spec_table() -> None:
    # specs/analytical.md section 4.4, deterministic rows (exact column).
    for rho, K, exact in [(0.5, 2, 0.096274), (0.8, 5, 0.035290), (0.9, 10, 0.016632),
                          (1.2, 5, 0.199147)]:
        assert md1k_exact(rho, 1.0, K)[0] == pytest.approx(exact, abs=2e-6)


@pytest.mark.parametrize("row", MM1K_TABLE)
def test_mm1k(row: tuple) -> None:
    lam, mu, K, _p0, loss, X, N, R, U = row
    res = simulate(station(lam, mu, K, 1.0), num_requests=200_000, seed=11)
    s = res.services.iloc[0]
    d = res.devices.iloc[0]
    assert close(s.loss_ratio, loss, s.loss_ratio_ci)
    assert close(s.throughput, X, s.throughput_ci)
    assert close(s.latency_mean, R, s.latency_mean_ci)
    assert d.utilization == pytest.approx(U, rel=0.02)
    assert d.mean_present == pytest.approx(N, rel=0.02)
    assert d.drop_rate == pytest.approx(lam * loss, rel=0.05)  # noisier: drops per second


@pytest.mark.parametrize(("rho", "K"), [(0.5, 2), (0.8, 5), (0.9, 10), (1.2, 5), (0.7, 1)])
def test_md1k(rho: float, K: int) -> None:
    lam, d = rho / 0.5, 0.5
    loss, X, R = md1k_exact(lam, d, K)
    res = simulate(station(lam, 1.0 / d, K, 0.0), num_requests=200_000, seed=5)
    s = res.services.iloc[0]
    assert close(s.loss_ratio, loss, s.loss_ratio_ci)
    assert close(s.throughput, X, s.throughput_ci)
    assert close(s.latency_mean, R, s.latency_mean_ci)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "K"), [(5.0, 2.0, 3, 6), (3.0, 1.0, 2, 2), (8.0, 2.0, 4, 10)]
)
def test_mmck(lam: float, mu: float, c: int, K: int) -> None:
    loss, X, N, R = mmck_exact(lam, mu, c, K)
    res = simulate(station(lam, mu, K, 1.0, servers=c), num_requests=200_000, seed=3)
    s = res.services.iloc[0]
    assert close(s.loss_ratio, loss, s.loss_ratio_ci)
    assert close(s.throughput, X, s.throughput_ci)
    assert close(s.latency_mean, R, s.latency_mean_ci)
    assert res.devices.mean_present.iloc[0] == pytest.approx(N, rel=0.02)
    assert res.devices.utilization.iloc[0] == pytest.approx(X / (c * mu), rel=0.02)


def shared_scenario() -> Scenario:
    devs = (
        Device("a", speed=3.0, capacity=4),
        Device("b", speed=5.0, capacity=3, servers=2),
        Device("c", speed=4.0, capacity=6),
    )
    s1 = Service("s1", (Fragment("f0", 1.0), Fragment("f1", 1.0)), arrival_rate=1.2, scv=1.0)
    s2 = Service(
        "s2",
        (Fragment("g0", 1.0, branch=0), Fragment("g1", 2.0, branch=1)),
        arrival_rate=0.8,
        split="semantic",
        scv=0.5,
        mmpp=MMPP2(2.0, 0.3, 2.0),
    )
    return Scenario(devs, (s1, s2), Placement({"s1": ("a", "b"), "s2": ("b", "c")}))


def test_littles_law_per_station() -> None:
    sc = shared_scenario()
    comp = compile_scenario(sc)
    var = draw_variates(comp, 100_000.0, 1)
    raw = run_fast(comp, var)
    res = simulate(sc, horizon=100_000.0, seed=1, warmup=0.0)
    st = visit_stations(comp, var)
    accepted = ~np.isnan(raw.v_start)
    for s, name in enumerate(comp.station_names):
        m = accepted & (st == s)
        lam_acc = m.sum() / var.horizon
        W = float((raw.v_end[m] - raw.v_arr[m]).mean())
        assert res.devices.loc[name, "mean_present"] == pytest.approx(lam_acc * W, rel=0.01)
        busy = float((raw.v_end[m] - raw.v_start[m]).sum()) / var.horizon
        servers = sc.devices[s].servers
        assert res.devices.loc[name, "utilization"] == pytest.approx(busy / servers, rel=0.01)


def test_conservation() -> None:
    sc = shared_scenario()
    comp = compile_scenario(sc)
    var = draw_variates(comp, 20_000.0, 2)
    raw = run_fast(comp, var)
    H = var.horizon
    # After the drain every request is served or dropped.
    assert np.isin(raw.req_status, [SERVED, DROPPED]).all()
    # At the horizon: arrived = completed + dropped + present.
    arrived = (var.arr_time <= H).sum()
    done = ((raw.req_status == SERVED) & (raw.req_end <= H)).sum()
    dropped = ((raw.req_status == DROPPED) & (raw.req_end <= H)).sum()
    present = (raw.req_end > H).sum()
    assert arrived == done + dropped + present == var.num_requests
    # Per station: reached = served + dropped; events = arrivals + completions.
    reached = ~np.isnan(raw.v_arr)
    served_visits = ~np.isnan(raw.v_start)
    assert np.all(~np.isnan(raw.v_end[reached]))
    assert raw.num_events == var.num_requests + served_visits.sum()
    # A dropped request has exactly one ... at least one dropped visit, a served one none.
    st = visit_stations(comp, var)
    drops_per_station = np.bincount(st[reached & ~served_visits], minlength=comp.num_stations)
    first_drops = np.bincount(raw.req_drop_station[raw.req_status == DROPPED],
                              minlength=comp.num_stations)
    assert np.all(drops_per_station >= first_drops)
    assert drops_per_station.sum() >= (raw.req_status == DROPPED).sum()


def test_no_loss_with_large_capacity() -> None:
    res = simulate(station(0.5, 1.0, 80, 1.0), num_requests=50_000, seed=0)
    assert res.services.loss_ratio.iloc[0] == 0.0
    assert res.devices.drop_rate.iloc[0] == 0.0
    # ... and then it is an M/M/1 queue: R = 1/(mu - lam) = 2.
    s = res.services.iloc[0]
    assert close(s.latency_mean, 2.0, s.latency_mean_ci)


def test_tandem_mm1k_end_to_end_loss() -> None:
    devs = tuple(Device(f"d{i}", speed=1.0, capacity=10) for i in range(3))
    svc = Service("t", tuple(Fragment(f"f{i}", macs=0.8) for i in range(3)), 1.0, scv=1.0)
    sc = Scenario(devs, (svc,), Placement({"t": ("d0", "d1", "d2")}))
    res = simulate(sc, num_requests=1_000_000, seed=0)
    assert res.services.loss_ratio.iloc[0] == pytest.approx(0.0529, rel=0.03)


def test_fork_join_branches_are_marginally_mm1k() -> None:
    # Two branches on separate M/M/1/K devices. Siblings of a dropped branch keep running, so
    # each device sees the full Poisson stream and is exactly M/M/1/K; a request is lost if
    # either branch is, so its loss lies between the larger branch loss and their sum (the
    # branches' losses are correlated: they see the same arrivals).
    devs = (Device("a", speed=1.0, capacity=4), Device("b", speed=1.0, capacity=6))
    svc = Service(
        "fj",
        (Fragment("x", 0.7, branch=0), Fragment("y", 0.9, branch=1)),
        1.0,
        split="semantic",
        scv=1.0,
    )
    sc = Scenario(devs, (svc,), Placement({"fj": ("a", "b")}))
    res = simulate(sc, num_requests=300_000, seed=4)

    def mm1k_loss(rho: float, K: int) -> float:
        return (1 - rho) * rho**K / (1 - rho ** (K + 1))

    pa, pb = mm1k_loss(0.7, 4), mm1k_loss(0.9, 6)
    loss = res.services.loss_ratio.iloc[0]
    assert max(pa, pb) < loss < pa + pb
    assert res.devices.drop_rate.loc["a"] == pytest.approx(pa, rel=0.05)
    assert res.devices.drop_rate.loc["b"] == pytest.approx(pb, rel=0.05)
    assert res.devices.utilization.loc["a"] == pytest.approx(0.7 * (1 - pa), rel=0.02)
    # Latency is that of the slower branch: above branch b's own M/M/1/6 response time.
    _, X_b, N_b, R_b = mmck_exact(1.0, 1 / 0.9, 1, 6)
    assert res.services.latency_mean.iloc[0] > R_b


def test_mmpp_loses_more_than_poisson() -> None:
    base = station(0.8, 1.0, 5, 1.0)
    bursty_svc = Service("s", (Fragment("f", 1.0),), 0.8, scv=1.0, mmpp=MMPP2(3.0, 0.2, 10.0))
    bursty = base.replace(services=(bursty_svc,))
    p = simulate(base, num_requests=100_000, seed=0).services.loss_ratio.iloc[0]
    b = simulate(bursty, num_requests=100_000, seed=0).services.loss_ratio.iloc[0]
    assert b > 1.5 * p


def test_respt_ratio_is_one_without_queueing() -> None:
    # Deterministic service, tiny load: latency equals the sum of service times.
    devs = (Device("a", speed=100.0, capacity=50), Device("b", speed=50.0, capacity=50))
    svc = Service("s", (Fragment("x", 1.0), Fragment("y", 1.0)), 0.001, scv=0.0)
    sc = Scenario(devs, (svc,), Placement({"s": ("a", "b")}))
    res = simulate(sc, num_requests=2000, seed=0)
    s = res.services.iloc[0]
    assert s.latency_mean == pytest.approx(0.03, rel=1e-9)
    assert s.respt_ratio == pytest.approx(1.0, rel=1e-9)
    assert math.isclose(s.latency_p99, 0.03, rel_tol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("row", MM1K_TABLE[:2])
def test_mm1k_simpy_engine(row: tuple) -> None:
    lam, mu, K, _p0, loss, X, N, R, U = row
    res = simulate(station(lam, mu, K, 1.0), num_requests=100_000, seed=2, engine="simpy")
    s = res.services.iloc[0]
    assert close(s.loss_ratio, loss, s.loss_ratio_ci)
    assert close(s.latency_mean, R, s.latency_mean_ci)


@pytest.mark.slow
def test_tandem_full_precision() -> None:
    devs = tuple(Device(f"d{i}", speed=1.0, capacity=10) for i in range(3))
    svc = Service("t", tuple(Fragment(f"f{i}", macs=0.8) for i in range(3)), 1.0, scv=1.0)
    sc = Scenario(devs, (svc,), Placement({"t": ("d0", "d1", "d2")}))
    losses = [simulate(sc, num_requests=2_000_000, seed=s).services.loss_ratio.iloc[0]
              for s in range(3)]
    assert float(np.mean(losses)) == pytest.approx(0.0529, rel=0.01)


@pytest.mark.parametrize("seed", [0, 1])
def test_fcfs_order_and_server_count(seed: int) -> None:
    # At every station, service starts follow arrival order (FCFS), and never more than
    # `servers` requests are in service nor more than K present.
    sc = shared_scenario()
    comp = compile_scenario(sc)
    var = draw_variates(comp, 5_000.0, seed)
    raw = run_fast(comp, var)
    st = visit_stations(comp, var)
    for s, dev in enumerate(sc.devices):
        m = (st == s) & ~np.isnan(raw.v_start)
        order = np.lexsort((raw.v_start[m], raw.v_arr[m]))
        starts = raw.v_start[m][order]
        assert np.all(np.diff(starts) >= 0)
        # Sweep the event times: +1 at start, -1 at end (ends first at equal times).
        for lo, hi, limit in ((raw.v_start[m], raw.v_end[m], dev.servers),
                              (raw.v_arr[m], raw.v_end[m], dev.capacity)):
            times = np.concatenate([hi, lo])
            delta = np.concatenate([-np.ones(hi.size), np.ones(lo.size)])
            idx = np.lexsort((delta, times))
            assert np.cumsum(delta[idx]).max() <= limit
