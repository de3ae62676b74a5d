import dataclasses
import math

import numpy as np
import pytest

from chainnet.analytic import AnalyticSurrogate
from datagen.sampling import load_sampler_config, sample_scenario
from datagen.splitting import make_service
from datagen.walk import offered_load, placed_services
from datagen.world import Device, DNNProfile, LayerProfile, Link
from placement.baselines.classic import (
    GreedyPlacer,
    ILPPlacer,
    NeurosurgeonPlacer,
    RandomPlacer,
    RoundRobinPlacer,
)
from placement.candidates import CandidateSpace, InfeasibleRequestError
from placement.decision import Decision
from placement.request import PlacementRequest, RequestError, RunningService, ServiceRequest

ALL = [RandomPlacer, RoundRobinPlacer, GreedyPlacer, NeurosurgeonPlacer, ILPPlacer]


def _profile(name, params=250_000):
    layers = tuple(
        LayerProfile(f"l{i}", "conv", macs=50_000_000 * (1 + i % 2), params=params,
                     out_elems=1000 // (i + 1))
        for i in range(6)
    )
    return DNNProfile(name, layers, accuracy=0.9, semantic_accuracy=0.85)


def _request(mem=(1e9, 1e9, 1e9, 1e9), rates=(20.0, 10.0), links=()):
    devices = [
        Device("d0", 1e9, memory=mem[0]),
        Device("d1", 2e9, memory=mem[1]),
        Device("d2", 4e9, memory=mem[2]),
        Device("d3", 1e9, memory=mem[3]),
    ]
    services = [
        ServiceRequest("a", _profile("pa"), rates[0], k=3),
        ServiceRequest("b", _profile("pb"), rates[1], k=2),
    ]
    return PlacementRequest(devices, links=links, services=services)


@pytest.mark.parametrize("cls", ALL)
def test_every_baseline_returns_a_feasible_decision(cls):
    req = _request(mem=(4.5e6, 4.5e6, 4.5e6, 4.5e6))
    d = cls(predictor=AnalyticSurrogate(), verify_top_k=0).place(req)
    assert isinstance(d, Decision) and d.method == cls.name
    used = d.scenario.memory_used()
    assert all(used[x.name] <= x.memory for x in d.scenario.devices)
    assert set(d.predicted["service"]) == {"a", "b"}
    assert d.splits == {"a": "layer", "b": "layer"}
    assert math.isfinite(d.objective)


@pytest.mark.parametrize("cls", ALL)
def test_infeasible_and_invalid_requests(cls):
    with pytest.raises(InfeasibleRequestError, match="service 'a'"):
        cls(verify_top_k=0).place(_request(mem=(1e6, 1e6, 1e6, 1e6)))
    with pytest.raises(RequestError, match="PlacementRequest"):
        cls(verify_top_k=0).place("request")


def test_greedy_uses_the_fastest_device_with_memory():
    d = GreedyPlacer(verify_top_k=0).place(_request())
    assert set(d.scenario.placement["a"]) == {"d2"}
    # 2 MB fragments; d2 holds two, then d1 (the next fastest) takes over.
    d = GreedyPlacer(verify_top_k=0).place(_request(mem=(4.5e6,) * 4))
    assert d.scenario.placement["a"] == ("d2", "d2", "d1")


def test_round_robin_deals_fragments_in_turn():
    d = RoundRobinPlacer(verify_top_k=0).place(_request())
    assert d.scenario.placement["a"] == ("d0", "d1", "d2")
    assert d.scenario.placement["b"] == ("d3", "d0")


def test_random_is_deterministic_for_a_seed():
    a = RandomPlacer(seed=5, verify_top_k=0).place(_request())
    b = RandomPlacer(seed=5, verify_top_k=0).place(_request())
    assert a.scenario == b.scenario


def test_ilp_balances_the_load():
    req = _request(rates=(4.0, 4.0))
    ilp = ILPPlacer(verify_top_k=0).place(req)
    greedy = GreedyPlacer(verify_top_k=0).place(req)

    def max_util(sc):
        return max(offered_load(sc.devices, placed_services(sc)).values())

    assert max_util(ilp.scenario) < max_util(greedy.scenario)
    assert max_util(ilp.scenario) < 1.0


def test_neurosurgeon_cuts_each_service_at_most_once():
    link = [Link("d0", "d2", 1e6, 0.001), Link("d1", "d2", 1e6, 0.001)]
    d = NeurosurgeonPlacer(verify_top_k=0).place(_request(links=link))
    for s in d.scenario.services:
        assert len(s.fragments) in (1, 2)
        assert sum(f.macs for f in s.fragments) == pytest.approx(_profile("x").total_macs)


def test_baseline_with_simulation_only():
    d = GreedyPlacer(verify_requests=300).place(_request())
    assert d.simulated is not None and d.simulated_objective is not None
    assert {"loss_ratio", "latency_mean"} <= set(d.predicted.columns)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="split must be"):
        GreedyPlacer(split="pipeline")
    with pytest.raises(ValueError, match="verify_top_k"):
        GreedyPlacer(verify_top_k=3)
    with pytest.raises(ValueError, match="epsilon"):
        ILPPlacer(epsilon=-1.0)
    with pytest.raises(ValueError, match="predict"):
        RandomPlacer(predictor=np.zeros(3))


def test_neurosurgeon_loads_are_the_walkers():
    # sampled clusters (1-3 servers) with their services running; random cuts of a new service
    rng = np.random.default_rng(8)
    for _ in range(4):
        sc = sample_scenario(load_sampler_config("placer"), rng)
        devices = []
        for d in sc.devices:
            c = int(rng.integers(1, 4))
            devices.append(dataclasses.replace(d, servers=c, capacity=max(c, d.capacity)))
        running = tuple(RunningService(s, sc.placement[s.name]) for s in sc.services)
        prof = _profile("pa")
        rate = float(rng.uniform(0.1, 2.0))
        req = PlacementRequest(tuple(devices), services=[ServiceRequest("new", prof, rate)],
                               running=running)
        space = CandidateSpace(req, {"new": "layer"})
        names = space.device_names
        n = len(prof.layers)
        for _ in range(5):
            cut = int(rng.integers(1, n))
            loc, rem = (int(x) for x in rng.choice(len(devices), size=2, replace=False))
            new = make_service("new", prof, "layer", rate, cuts=[cut])
            placed = [(r.service, r.devices) for r in running] + [
                (new, (names[loc], names[rem]))]
            rho = offered_load(req.devices, placed)
            fm, bm = (f.macs for f in new.fragments)
            expected = 0.0
            for m, d in ((fm, loc), (bm, rem)):
                if rho[names[d]] >= 1:
                    expected = math.inf
                    break
                expected += m / space.speed[d] / (1 - rho[names[d]])
            got = NeurosurgeonPlacer._latency(fm, bm, loc, rem, cut, n, np.zeros(n), None,
                                              space._running_util(), space.speed, rate)
            assert got == pytest.approx(expected, rel=1e-12)
