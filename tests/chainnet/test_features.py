import numpy as np
import pytest

from chainnet.builder import scenarios_to_arrays
from chainnet.features import (
    _collision_windows,
    _PathPrefix,
    compute_features,
    compute_structure,
    mm1k_wait_ratio,
)
from chainnet.queueing import mm1k
from chainnet.schema import FEATURES
from datagen.world import Device, Fragment, Placement, Scenario, Service


@pytest.mark.parametrize(
    ("lam", "mu", "K", "R"),
    [(2, 3, 5, 0.7472353870), (1, 1, 4, 2.5), (4, 2, 3, 1.2142857143), (9, 10, 10, 0.4646600672)],
)
def test_mm1k_wait_ratio_matches_textbook(lam, mu, K, R):
    # W / E[S] = R * mu - 1
    got = mm1k_wait_ratio(np.array([lam / mu]), np.array([K]))[0]
    assert got == pytest.approx(R * mu - 1.0, rel=1e-8)


def test_mm1k_wait_ratio_is_stable():
    rho = np.array([0.0, 1e-12, 1 - 1e-9, 1.0, 1 + 1e-9, 50.0, 1e6])
    w = mm1k_wait_ratio(rho, np.full(7, 50))
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert w[0] == pytest.approx(0.0, abs=1e-6)
    assert w[3] == pytest.approx(50 / 2 / (1 - 1 / 51) - 1, rel=1e-6)


def _single_station(scv: float = 1.0) -> Scenario:
    dev = Device("d", speed=3.0, capacity=5)
    svc = Service("s", (Fragment("f", 1.0),), arrival_rate=2.0, scv=scv)
    return Scenario((dev,), (svc,), Placement({"s": ("d",)}))


def test_priors_exact_for_single_mm1k_station():
    a = scenarios_to_arrays([_single_station()])
    f = compute_features(a, compute_structure(a))
    exact = mm1k(2.0, 3.0, 5)
    assert f.prior["service"][0, 0] == pytest.approx(1 - exact.loss, rel=1e-9)
    assert f.prior["service"][0, 1] == pytest.approx((1 / 3) / exact.response_time, rel=1e-9)
    assert f.prior["device"][0, 1] == pytest.approx(exact.loss, rel=1e-9)
    assert f.prior["device"][0, 0] == pytest.approx(exact.utilization, rel=1e-9)
    assert f.service_time_scale[0] == pytest.approx(1 / 3)


def test_feature_columns_and_values():
    a = scenarios_to_arrays([_single_station(scv=0.5)])
    f = compute_features(a, compute_structure(a))
    for nt, names in FEATURES.items():
        assert f.x[nt].shape[1] == len(names)
    col = dict(zip(FEATURES["device"], f.x["device"][0]))
    assert col["load"] == pytest.approx(2 / 3)
    assert col["inv_capacity"] == pytest.approx(0.2)
    assert col["scv_mix"] == pytest.approx(0.5)
    svc = dict(zip(FEATURES["service"], f.x["service"][0]))
    assert svc["sla_is_inf"] == 1.0 and svc["critical_time_over_sla"] == 0.0


def test_upstream_timing_of_two_flows_through_a_shared_pair():
    # a -> u -> d (S = 2 then 1) and b -> u -> d (S = 0.5 then 3); c -> d alone (S = 1)
    devs = tuple(Device(n, speed=1.0, capacity=10) for n in ("u", "d", "x"))
    svcs = (
        Service("a", (Fragment("f0", 2.0), Fragment("f1", 1.0)), arrival_rate=0.1),
        Service("b", (Fragment("f0", 0.5), Fragment("f1", 3.0)), arrival_rate=0.1),
        Service("c", (Fragment("f0", 1.0),), arrival_rate=0.2),
    )
    sc = Scenario(devs, svcs, Placement({"a": ("u", "d"), "b": ("u", "d"), "c": ("d",)}))
    a = scenarios_to_arrays([sc])
    f = compute_features(a, compute_structure(a))
    col = {n: f.x["fragment"][:, i] for i, n in enumerate(FEATURES["fragment"])}
    host_mean = (0.1 * 1.0 + 0.1 * 3.0 + 0.2 * 1.0) / 0.4  # rate-weighted mean time on d
    # fragments: a.f0, a.f1, b.f0, b.f1, c.f0
    assert col["gap_over_host_service"][1] == pytest.approx(2.0 / (2.0 + host_mean))
    assert col["gap_over_host_service"][3] == pytest.approx(0.5 / (0.5 + host_mean))
    # u sends half of d's arrivals (c comes from outside): thinning is negligible here
    assert col["co_source_share"][[1, 3]] == pytest.approx([0.5, 0.5], rel=1e-3)
    assert col["upstream_utilization"][1] == pytest.approx(0.1 * 2.0 + 0.1 * 0.5, rel=1e-3)
    # on d, only b's 3.0 outlasts a's gap of 2.0; everything outlasts b's gap of 0.5
    assert col["longer_than_gap_share"][[1, 3]] == pytest.approx([0.25, 1.0], rel=1e-3)
    first = [0, 2, 4]
    for name in ("gap_over_host_service", "co_source_share", "upstream_utilization",
                 "longer_than_gap_share"):
        assert np.all(col[name][first] == 0.0)
    conc = dict(zip(FEATURES["device"], f.x["device"][1]))["input_concentration"]
    assert conc == pytest.approx(0.5, rel=1e-3)


def test_collision_windows_through_a_common_ancestor_station():
    # s1: a -> b -> d (S = 1.0, 0.5, 0.4); s2: a -> d (S = 0.8, 0.6); d has one place.
    # On d, s1 arrives 0.5 after leaving a, s2 right after leaving a (D_f = 0.5, D_o = 0).
    devs = (Device("a", speed=1.0, capacity=20), Device("b", speed=1.0, capacity=20),
            Device("d", speed=1.0, capacity=1))
    svcs = (
        Service("s1", (Fragment("f0", 1.0), Fragment("f1", 0.5), Fragment("f2", 0.4)),
                arrival_rate=0.01),
        Service("s2", (Fragment("f0", 0.8), Fragment("f1", 0.6)), arrival_rate=0.01),
    )
    sc = Scenario(devs, svcs, Placement({"s1": ("a", "b", "d"), "s2": ("a", "d")}))
    a = scenarios_to_arrays([sc])
    s = compute_structure(a)
    stime = a.fragment_macs / a.device_speed[a.fragment_device]
    arrive = np.array([0.0, 1.0, 1.5, 0.0, 0.8])  # fragments s1.f0-f2, s2.f0-f1
    owner = np.array([2, 4, 2, 4, 0])
    other = np.array([4, 2, 2, 4, 3])
    got = _collision_windows(s, _PathPrefix(s), a.fragment_device, stime, arrive, owner, other,
                             3)
    # (s1, s2): s2 leaving a after s1 reaches d after s1 (>= 0.8 > 0.5), s2 leaving before
    # s1 left a >= 1.0 earlier and is done: 0.  (s2, s1): s1 left a g >= 0.8 before s2 and
    # is in service on d for g in [0.5, 0.9): 0.1.  Each with itself: its previous request
    # left the upstream station S_up >= S_d earlier: 0.  s1 and s2 on a (Poisson input): S_o.
    assert got == pytest.approx([0.0, 0.1, 0.0, 0.0, 0.8])
    f = compute_features(a, s)
    col = {n: f.x["fragment"][:, i] for i, n in enumerate(FEATURES["fragment"])}
    # s2 on d sees s1's jobs busy 0.1 of their 0.4 (s1's share of d's load is 0.4 / 1.0)
    assert col["seen_busy_share"][4] == pytest.approx(0.1 * 0.01 / (0.01 * 0.4 + 0.01 * 0.6),
                                                      rel=1e-3)
    assert col["seen_busy_share"][2] == pytest.approx(0.0)
    assert col["seen_busy_share"][[0, 3]] == pytest.approx([1.0, 1.0])
    host_loss = col["host_loss"]
    assert col["host_loss_timing"] == pytest.approx(host_loss * col["seen_busy_share"])


def test_reserved_share_lowers_effective_speed():
    base = _single_station()
    res = base.replace(devices=(Device("d", speed=3.0, capacity=5, reserved_share=0.5),))
    fa = [compute_features(a, compute_structure(a))
          for a in (scenarios_to_arrays([base]), scenarios_to_arrays([res]))]
    load = FEATURES["device"].index("load")
    assert fa[1].x["device"][0, load] == pytest.approx(2 * fa[0].x["device"][0, load])


def test_structure_of_semantic_split_with_source_and_links(semantic_scenario):
    a = scenarios_to_arrays([semantic_scenario])
    s = compute_structure(a)
    # service "sem" has 2 branches: fragments (g0, g2) on branch 0 and g1 on branch 1
    assert s.path_length.tolist() == [3, 2, 1]
    assert s.fragment_pos.tolist() == [0, 1, 2, 0, 0, 1]
    assert s.path_service.tolist() == [0, 1, 1]
    # s1: a->b->c with links a-b and b-c, source a; sem: b, c, a (g0 on b, g2 on a; g1 on c)
    assert s.fragment_in_link.tolist() == [-1, 0, 1, -1, -1, 0]


def test_latency_prior_serialises_co_located_fork_branches():
    devs = (Device("x", speed=1e9, capacity=8), Device("y", speed=1e9, capacity=8))
    frags = tuple(Fragment(f"b{i}", 1e8, branch=i) for i in range(4))
    svc = Service("s", frags, arrival_rate=0.01, split="semantic", scv=0.0)
    for devices, ratio in ((("x", "x", "x", "y"), 1 / 3), (("x", "y", "x", "y"), 1 / 2),
                           (("x", "x", "x", "x"), 1 / 4)):
        a = scenarios_to_arrays([Scenario(devs, (svc,), Placement({"s": devices}))])
        f = compute_features(a, compute_structure(a))
        assert f.prior["service"][0, 1] == pytest.approx(ratio, rel=0.01)


def test_latency_prior_serialises_fork_branch_inputs_over_one_link():
    """Schema 7: the prior agrees with the analytic floor (transfers in turn, then compute)."""
    from chainnet.analytic import AnalyticSurrogate
    from datagen.world import Link

    devs = (Device("src", speed=1e9, capacity=8), Device("x", speed=1e9, capacity=8))
    link = Link("src", "x", bandwidth=1e6, delay=0.002)
    for macs, nbytes in ((1e7, 50_000), (5e7, 10_000)):
        svc = Service("s", tuple(Fragment(f"b{i}", macs, branch=i) for i in range(3)),
                      arrival_rate=0.01, split="semantic", scv=0.0, source="src",
                      input_bytes=nbytes)
        scn = Scenario(devs, (svc,), Placement({"s": ("x", "x", "x")}), (link,))
        a = scenarios_to_arrays([scn])
        f = compute_features(a, compute_structure(a))
        analytic = AnalyticSurrogate().predict(scn).iloc[0]
        assert f.prior["service"][0, 1] == pytest.approx(analytic.respt_ratio, rel=0.01)
        assert f.prior["service"][0, 1] < 0.5  # one branch's no-queue time over the floor
