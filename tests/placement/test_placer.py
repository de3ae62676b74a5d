import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from chainnet.analytic import AnalyticSurrogate
from datagen.world import Device, DNNProfile, Fragment, LayerProfile, Scenario, Service
from placement import Decision, Objective, Placer
from placement.candidates import InfeasibleRequestError
from placement.request import PlacementRequest, RequestError, RunningService, ServiceRequest
from placement.search import ExhaustiveSearch, LocalSearch, SimulatedAnnealing


def _profile(name, params=250_000, semantic=0.85):
    layers = tuple(
        LayerProfile(f"l{i}", "conv", macs=50_000_000, params=params, out_elems=100)
        for i in range(6)
    )
    return DNNProfile(name, layers, accuracy=0.9, semantic_accuracy=semantic)


def _request(splits=("layer",), mem=(5e6, 5e6, 8e6), running=(), sla=math.inf):
    devices = [
        Device("slow", 1e9, memory=mem[0], capacity=4),
        Device("mid", 2e9, memory=mem[1], capacity=4),
        Device("fast", 4e9, memory=mem[2], capacity=4),
    ]
    services = [
        ServiceRequest("a", _profile("pa"), 20.0, sla=sla, k=3, splits=splits),
        ServiceRequest("b", _profile("pb"), 10.0, sla=sla, k=2, splits=splits),
    ]
    return PlacementRequest(devices, services=services, running=running)


def _placer(**kw):
    kw.setdefault("predictor", AnalyticSurrogate())
    kw.setdefault("verify_requests", 300)
    kw.setdefault("verify_top_k", 0)
    kw.setdefault("search", LocalSearch(max_seconds=None, max_evaluations=300))
    kw.setdefault("refine_evaluations", 0)
    return Placer(**kw)


def test_place_returns_a_complete_decision():
    req = _request()
    d = _placer(verify_top_k=3).place(req)
    assert isinstance(d, Decision)
    assert isinstance(d.scenario, Scenario)
    d.scenario.validate()
    assert d.splits == {"a": "layer", "b": "layer"}
    assert list(d.predicted["service"]) == ["a", "b"]
    assert set(d.predicted["scenario"]) == {d.chosen_scenario}
    assert {"throughput", "loss_ratio", "latency_mean", "latency_p95"} <= set(d.predicted.columns)
    cand = d.candidates
    assert (cand["source"] == "surrogate").sum() == 3 and cand["chosen"].sum() == 1
    # the analytic predictor drives the search: only the greedy plan is added (if new)
    assert set(cand["source"]) <= {"surrogate", "greedy"}
    assert set(d.simulated["scenario"]) == set(cand["scenario"])
    assert d.source in {"surrogate", "greedy"} and d.uncertain is False
    assert d.simulated_objective is not None and math.isfinite(d.simulated_objective)
    for key in ("evaluations", "predictor_calls", "wall_time", "total_time"):
        assert key in d.stats
    assert d.stats["evaluations"] > d.stats["predictor_calls"] >= 1
    assert d.predictor_fallback is None
    assert "a [layer]" in d.summary()
    assert len(d.devices_of("a")) == 3


def test_top_k_is_reranked_on_the_simulated_objective():
    d = _placer(verify_top_k=3).place(_request())
    cand = d.candidates
    chosen = cand[cand["chosen"]].iloc[0]
    assert chosen["simulated_objective"] == cand["simulated_objective"].min()
    assert d.simulated_objective == pytest.approx(chosen["simulated_objective"])
    assert d.objective == pytest.approx(chosen["predicted_objective"])
    learned = cand[cand["source"] == "surrogate"]
    assert np.all(np.diff(learned["predicted_objective"].to_numpy()) >= -1e-12)


def test_no_verification():
    d = _placer(verify_top_k=0).place(_request())
    assert d.simulated is None and d.simulated_objective is None
    assert d.candidates["source"].iloc[0] == "surrogate"
    assert len(d.candidates) <= 2
    off = _placer(verify_top_k=0, safeguards=False).place(_request())
    assert len(off.candidates) == 1


def test_deterministic_for_a_seed():
    req = _request(splits=("layer", "semantic"))
    kw = {"seed": 3, "verify_top_k": 2}
    a = _placer(search=SimulatedAnnealing(max_steps=30, max_seconds=None), **kw).place(req)
    b = _placer(search=SimulatedAnnealing(max_steps=30, max_seconds=None), **kw).place(req)
    assert a.scenario == b.scenario and a.splits == b.splits
    pd.testing.assert_frame_equal(a.candidates, b.candidates)


def test_memory_is_never_violated():
    # 2 MB fragments; the devices hold at most 2, 2 and 3 of them.
    req = _request(mem=(4.5e6, 4.5e6, 6.5e6))
    for search in (LocalSearch(max_evaluations=200, max_seconds=None),
                   SimulatedAnnealing(max_steps=40, max_seconds=None),
                   ExhaustiveSearch()):
        d = _placer(search=search).place(req)
        used = d.scenario.memory_used()
        assert all(used[dv.name] <= dv.memory for dv in d.scenario.devices)


def test_infeasible_request_names_the_shortfall():
    req = _request(mem=(1e6, 1e6, 1.5e6))
    with pytest.raises(InfeasibleRequestError, match=r"service 'a' cannot be placed.*MB"):
        _placer().place(req)


def test_invalid_requests():
    with pytest.raises(RequestError, match="PlacementRequest"):
        _placer().place({"devices": []})
    with pytest.raises(RequestError, match="unknown service 'zz'"):
        _placer().place(_request(), splits={"zz": "layer"})
    with pytest.raises(RequestError, match="not allowed"):
        _placer().place(_request(), splits={"a": "semantic"})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"verify_top_k": -1}, "verify_top_k"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"predictor": object()}, "predict"),
        ({"search": "local"}, "SearchMethod"),
        ({"objective": {"loss": 1}}, "Objective"),
        ({"split_policy": "oracle"}, "unknown policy"),
    ],
)
def test_invalid_placer_arguments(kwargs, match):
    kwargs.setdefault("predictor", AnalyticSurrogate())
    with pytest.raises(ValueError, match=match):
        Placer(**kwargs)


def test_split_policy_and_forced_splits():
    req = _request(splits=("layer", "semantic"))
    sem = _placer(split_policy="semantic_only").place(req)
    assert set(sem.splits.values()) == {"semantic"}
    assert sem.scenario.service("a").split == "semantic"
    assert {"latency_layer", "latency_semantic", "context"} <= set(sem.split_context.columns)
    lay = _placer(split_policy="layer_only").place(req)
    assert set(lay.splits.values()) == {"layer"}
    forced = _placer(split_policy="semantic_only").place(req, splits={"b": "layer"})
    assert forced.splits == {"a": "semantic", "b": "layer"}


def test_default_policy_is_informed_and_learned_policies_work_unfitted():
    req = _request(splits=("layer", "semantic"), sla=0.5)
    p = _placer()
    assert type(p.split_policy).__name__ == "InformedPolicy"
    d = p.place(req)
    table = d.split_context
    # zero-shot: the split with the larger predicted expected reward (the prior), unless the
    # pre-warmed correction outweighs it; both are finite and in [0, 1]
    exp = table[["expected_reward_layer", "expected_reward_semantic"]].to_numpy(float)
    assert np.all((exp >= 0) & (exp <= 1))
    assert set(d.splits.values()) <= {"layer", "semantic"}
    assert type(_placer(split_policy="splitplace").split_policy).__name__ == "SplitPlacePolicy"
    for name in ("linucb", "thompson", "random"):
        d = _placer(split_policy=name).place(req)
        ctx = d.split_context.loc["a", "context"]
        assert ctx.shape == (4,)  # slack per split + 2 load features


def test_running_services_stay_put_and_count():
    old = Service(
        "old", (Fragment("f0", 5e7, weight_bytes=1_000_000),), arrival_rate=30.0
    )
    req = _request(running=[RunningService(old, ("fast",))])
    d = _placer().place(req)
    assert d.scenario.placement["old"] == ("fast",)
    assert "old" in set(d.predicted["service"])
    assert d.simulated is None
    assert set(d.splits) == {"a", "b"}


def test_each_allowed_split_is_built_once_per_place(monkeypatch):
    import placement.placer
    from placement.candidates import CandidateSpace, build_service

    calls = []

    def counting(request, split):
        calls.append((request.name, split))
        return build_service(request, split)

    class GivenServices(CandidateSpace):
        """A candidate space that must receive the Placer's services, never build its own."""

        def __init__(self, request, splits, services=None):
            assert services is not None
            assert set(services) == {s.name for s in request.services}
            super().__init__(request, splits, services)

    monkeypatch.setattr(placement.placer, "build_service", counting)
    monkeypatch.setattr(placement.placer, "CandidateSpace", GivenServices)
    d = _placer().place(_request(splits=("layer", "semantic")))
    assert set(d.splits) == {"a", "b"}
    assert sorted(calls) == [("a", "layer"), ("a", "semantic"), ("b", "layer"), ("b", "semantic")]


def test_objective_weights_change_the_decision_inputs():
    d = _placer(objective=Objective(latency_weight=1.0)).place(_request())
    assert d.objective >= 0


def test_default_predictor_falls_back_with_a_warning(monkeypatch):
    import chainnet

    def boom():
        raise FileNotFoundError("no packaged checkpoint")

    monkeypatch.setattr(chainnet.Surrogate, "default", staticmethod(boom))
    with pytest.warns(RuntimeWarning, match="AnalyticSurrogate"):
        p = Placer(verify_top_k=0, search=LocalSearch(max_evaluations=50))
    assert isinstance(p.predictor, AnalyticSurrogate)
    d = p.place(_request())
    assert d.predictor_fallback is not None and "no packaged checkpoint" in d.predictor_fallback
    assert "fallback" in d.summary()


def test_no_warning_with_an_explicit_predictor():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _placer()


def test_diverse_top_skips_near_duplicates():
    from placement.placer import diverse_top

    a = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 0], [2, 2, 2]])
    np.testing.assert_array_equal(diverse_top(a, 2), a[[0, 2]])
    np.testing.assert_array_equal(diverse_top(a, 2, min_distance=1), a[[0, 1]])
    np.testing.assert_array_equal(diverse_top(a[:2], 2), a[:2])  # fills up when needed
    with pytest.raises(ValueError, match="min_distance"):
        Placer(predictor=AnalyticSurrogate(), min_distance=0)


def test_custom_policy_without_keys():
    class AlwaysSemantic:
        def select(self, contexts):
            return np.ones(len(contexts), dtype=int)

    d = _placer(split_policy=AlwaysSemantic()).place(_request(splits=("layer", "semantic")))
    assert set(d.splits.values()) == {"semantic"}


def test_simulator_refinement_is_verified_first():
    d = _placer(verify_top_k=2, refine_seconds=0.2).place(_request())
    assert "refine_evaluations" in d.stats and d.stats["refine_evaluations"] >= 1
    assert set(d.candidates["source"].iloc[:2]) <= {"refined", "surrogate"}
    assert set(d.candidates["source"].iloc[2:]) <= {"greedy"}
    assert d.simulated_objective == pytest.approx(d.candidates["simulated_objective"].min())
    with pytest.raises(ValueError, match="refine_seconds"):
        Placer(predictor=AnalyticSurrogate(), refine_seconds=-1.0)


# -- safeguards: never worse than a plan the placer could have checked -------------------------


class _Fooled:
    """A predictor that is confidently wrong: it loves piling everything on one device."""

    def __init__(self, uncertain=False):
        self.analytic = AnalyticSurrogate()
        self.uncertain = uncertain

    def predict(self, scenarios):
        frame = self.analytic.predict(scenarios)
        frame["uncertain"] = self.uncertain
        hosts = [len({d for s in sc.services for d in sc.placement[s.name]}) for sc in scenarios]
        piled = np.array(hosts)[frame["scenario"].to_numpy()] == 1
        frame.loc[piled, "loss_ratio"] = 0.0
        frame.loc[piled, "throughput"] = [
            next(s.arrival_rate for s in scenarios[i].services if s.name == n)
            for i, n in zip(frame.loc[piled, "scenario"], frame.loc[piled, "service"])
        ]
        frame.loc[~piled, "loss_ratio"] = 0.5
        return frame


def test_a_fooled_predictor_cannot_win_against_the_safe_plans():
    req = _request(mem=(1e8, 1e8, 1e8))
    d = _placer(predictor=_Fooled(), verify_top_k=1, verify_requests=2_000).place(req)
    cand = d.candidates
    assert {"surrogate", "analytic", "greedy"} <= set(cand["source"])
    piled = cand[cand["source"] == "surrogate"].iloc[0]
    assert len(set(sum(json.loads(piled["placement"]).values(), []))) == 1
    assert d.source in {"analytic", "greedy"}
    assert d.simulated_objective < piled["simulated_objective"]
    # without safeguards the fooled plan ships
    bad = _placer(predictor=_Fooled(), verify_top_k=1, verify_requests=2_000,
                  safeguards=False).place(req)
    assert bad.source == "surrogate" and bad.simulated_objective > d.simulated_objective


def test_an_uncertain_plan_is_simulated_before_it_can_win():
    req = _request(mem=(1e8, 1e8, 1e8))
    sure = _placer(predictor=_Fooled(uncertain=False), verify_top_k=0).place(req)
    assert sure.simulated is None and sure.source == "surrogate"
    unsure = _placer(predictor=_Fooled(uncertain=True), verify_top_k=0).place(req)
    assert unsure.simulated is not None and unsure.uncertain
    assert unsure.source in {"analytic", "greedy"}
    assert "unsure" in unsure.summary() and "unsure" not in sure.summary()


def _random_request(rng):
    n_dev = int(rng.integers(2, 5))
    devices = [
        Device(f"d{i}", float(10 ** rng.uniform(8.5, 10)), memory=float(rng.uniform(3e6, 2e7)),
               capacity=int(rng.integers(1, 9)))
        for i in range(n_dev)
    ]
    services = []
    for j in range(int(rng.integers(1, 4))):
        k = int(rng.integers(1, 4))
        services.append(ServiceRequest(
            f"s{j}", _profile(f"p{j}", params=int(rng.integers(50_000, 400_000))),
            float(rng.uniform(1.0, 40.0)), sla=float(rng.choice([math.inf, 0.5])), k=k,
            splits=("layer",)))
    return PlacementRequest(devices, services=services)


def test_the_chosen_plan_is_never_worse_than_greedy_or_analytic_in_200_requests():
    """Property: the verification simulation ranks the chosen plan first, always."""
    rng = np.random.default_rng(2026)
    fooled = _Fooled()
    checked = 0
    while checked < 200:
        req = _random_request(rng)
        try:
            d = Placer(predictor=fooled, seed=checked, verify_top_k=1, verify_requests=200,
                       search=LocalSearch(max_seconds=None, max_evaluations=40),
                       analytic_search=LocalSearch(max_seconds=None, max_evaluations=40)
                       ).place(req)
        except InfeasibleRequestError:
            continue
        cand = d.candidates.set_index("source")
        assert {"analytic", "greedy"} <= set(cand.index) or len(cand) < 3
        sim = d.candidates["simulated_objective"].to_numpy()
        assert d.simulated_objective == pytest.approx(np.min(sim))
        for source in ("analytic", "greedy", "surrogate"):
            rows = d.candidates[d.candidates["source"] == source]
            assert (d.simulated_objective <= rows["simulated_objective"] + 1e-12).all()
        checked += 1


def test_refinement_by_evaluations_is_deterministic_and_never_worse():
    req = _request(mem=(1e8, 1e8, 1e8))
    plain = _placer(predictor=_Fooled(), verify_top_k=1, verify_requests=2_000,
                    safeguards=False).place(req)
    runs = [_placer(predictor=_Fooled(), verify_top_k=1, verify_requests=2_000,
                    safeguards=False, refine_evaluations=12).place(req) for _ in range(2)]
    assert runs[0].scenario.placement == runs[1].scenario.placement
    assert runs[0].stats["refine_evaluations"] <= 12
    # the polished plan is verified next to the predicted best and only wins if better
    assert runs[0].simulated_objective <= plain.simulated_objective + 1e-9
    assert runs[0].source in {"refined", "surrogate"}
    with pytest.raises(ValueError, match="refine_evaluations"):
        Placer(predictor=AnalyticSurrogate(), refine_evaluations=-1)


def test_place_is_reproducible_from_its_seed():
    """The default search has an evaluation budget, not a time budget: no machine dependence."""
    req = _request(splits=("layer", "semantic"))
    a, b = (_placer(seed=3).place(req) for _ in range(2))
    assert a.scenario.placement == b.scenario.placement and a.splits == b.splits
    assert a.stats["evaluations"] == b.stats["evaluations"]
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
