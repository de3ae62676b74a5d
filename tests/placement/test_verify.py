"""placement.verify: verification by simulation and decision assembly."""

import math

import numpy as np

from chainnet.analytic import AnalyticSurrogate
from datagen.world import Device, DNNProfile, LayerProfile
from placement import Objective
from placement.candidates import CandidateSpace
from placement.request import PlacementRequest, ServiceRequest
from placement.verify import make_decision, verify_candidates


def _space(rate=20.0):
    layers = tuple(
        LayerProfile(f"l{i}", "conv", macs=50_000_000, params=250_000, out_elems=100)
        for i in range(4)
    )
    profile = DNNProfile("p", layers, accuracy=0.9, semantic_accuracy=0.85)
    devices = [Device("slow", 1e9, memory=5e6, capacity=4), Device("fast", 4e9, memory=8e6,
                                                                     capacity=4)]
    request = PlacementRequest(devices, services=[ServiceRequest("a", profile, rate, k=2)])
    return CandidateSpace(request, {"a": "layer"})


def test_make_decision_returns_its_statistics_and_leaves_the_callers_dict_alone():
    space = _space()
    ranked = np.array([[1, 1], [0, 0]])
    stats = {"evaluations": 2, "predictor_calls": 0}
    decision = make_decision(
        space, ranked, AnalyticSurrogate(), Objective(), verify_top_k=2, verify_requests=300,
        seed=0, stats=stats, method="test",
    )
    assert stats == {"evaluations": 2, "predictor_calls": 0}
    assert decision.stats["predictor_calls"] == 1
    assert decision.stats["verify_time"] >= 0.0
    assert decision.stats["total_time"] >= decision.stats["verify_time"]
    # the fast device alone beats the slow one alone in the verification simulation
    assert decision.scenario.placement["a"] == ("fast", "fast")


def test_a_candidate_that_completes_nothing_scores_infinite():
    space = _space(rate=20.0)
    scenarios = [space.to_scenario(np.array([1, 1]))]
    values, frame = verify_candidates(scenarios, Objective(), num_requests=50, seed=0,
                                      horizon=1e-6)
    assert math.isinf(values[0])
    assert frame["loss_ratio"].iloc[0] == 1.0


def test_decide_uses_the_placers_predictor_objective_and_verification_settings():
    from types import SimpleNamespace

    from placement.verify import decide

    space, ranked = _space(), np.array([[1, 1], [0, 0]])
    placer = SimpleNamespace(predictor=AnalyticSurrogate(), objective=Objective(),
                             verify_top_k=2, verify_requests=300, seed=0)
    got = decide(placer, space, ranked, stats={}, method="test", sources=["x", "y"])
    want = make_decision(space, ranked, placer.predictor, placer.objective, verify_top_k=2,
                         verify_requests=300, seed=0, stats={}, method="test",
                         sources=["x", "y"])
    assert got.scenario.placement == want.scenario.placement
    assert got.simulated_objective == want.simulated_objective
    assert got.candidates.equals(want.candidates) and got.method == "test"
