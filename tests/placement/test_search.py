import numpy as np
import pandas as pd
import pytest

from datagen.world import Device, DNNProfile, LayerProfile
from placement.candidates import CandidateSpace
from placement.objective import Objective
from placement.request import PlacementRequest, ServiceRequest
from placement.search import (
    PREDICTION_COLUMNS,
    Evaluator,
    ExhaustiveSearch,
    LocalSearch,
    SearchBudget,
    SimulatedAnnealing,
    SimulationPredictor,
    capped_horizon,
    make_search,
    neighbours,
)


class FluidPredictor:
    """Deterministic toy predictor: fluid loss 1 - 1/rho and M/M/1-like latency."""

    def __init__(self):
        self.calls = 0
        self.sizes = []

    def predict(self, scenarios):
        self.calls += 1
        self.sizes.append(len(scenarios))
        rows = []
        for i, sc in enumerate(scenarios):
            rho = {d.name: 0.0 for d in sc.devices}
            speed = {d.name: d.effective_speed for d in sc.devices}
            for s in sc.services:
                for f, d in zip(s.fragments, sc.placement[s.name]):
                    rho[d] += s.arrival_rate * f.macs / speed[d]
            for s in sc.services:
                devs = sc.placement[s.name]
                loss = max(max(0.0, 1.0 - 1.0 / rho[d]) if rho[d] > 0 else 0.0 for d in devs)
                lat = sum(
                    f.macs / speed[d] / (1 - min(rho[d], 0.95)) for f, d in zip(s.fragments, devs)
                )
                rows.append(
                    {"scenario": i, "service": s.name, "throughput": s.arrival_rate * (1 - loss),
                     "loss_ratio": loss, "latency_mean": lat, "latency_p95": 2 * lat,
                     "tput_ratio": 1 - loss, "respt_ratio": 0.5}
                )
        return pd.DataFrame(rows)


OBJ = Objective(latency_weight=0.01)


def _profile(name, params=250_000):
    layers = tuple(
        LayerProfile(f"l{i}", "conv", macs=100_000_000, params=params, out_elems=100)
        for i in range(6)
    )
    return DNNProfile(name, layers, accuracy=0.9)


def _space(mem=(1e9, 1e9, 1e9), speeds=(1e9, 2e9, 4e9)):
    devices = [Device(f"d{i}", s, memory=m) for i, (s, m) in enumerate(zip(speeds, mem))]
    services = [
        ServiceRequest("a", _profile("pa"), 8.0, k=3, splits=("layer",)),
        ServiceRequest("b", _profile("pb"), 6.0, k=3, splits=("layer",)),
    ]
    req = PlacementRequest(devices, services=services)
    return CandidateSpace(req, {"a": "layer", "b": "layer"})


def _optimum(space):
    return ExhaustiveSearch().search(space, FluidPredictor(), OBJ, rng=np.random.default_rng(0))


def test_exhaustive_enumerates_all_feasible_in_batches():
    space = _space()
    pred = FluidPredictor()
    res = ExhaustiveSearch(chunk=100).search(space, pred, OBJ, rng=np.random.default_rng(0))
    assert res.stats.evaluations == 3**6
    assert pred.calls == res.stats.predictor_calls > 1
    assert max(pred.sizes) <= 100
    assert np.all(np.diff(res.values) >= 0)


def test_exhaustive_rejects_large_spaces():
    with pytest.raises(ValueError, match="max_candidates"):
        ExhaustiveSearch(max_candidates=100).search(
            _space(), FluidPredictor(), OBJ, rng=np.random.default_rng(0)
        )


@pytest.mark.parametrize("method", [LocalSearch(), SimulatedAnnealing(max_steps=200)])
def test_heuristics_reach_the_optimum_on_a_tiny_instance(method):
    space = _space()
    best = _optimum(space).best_value
    res = method.search(space, FluidPredictor(), OBJ, rng=np.random.default_rng(1))
    assert res.best_value <= best + 1e-6 + 0.02 * abs(best)
    assert res.stats.evaluations < 3**6


def test_searches_batch_their_predictions():
    pred = FluidPredictor()
    res = LocalSearch().search(_space(), pred, OBJ, rng=np.random.default_rng(0))
    assert res.stats.predictor_calls == pred.calls
    assert res.stats.evaluations > 3 * res.stats.predictor_calls


@pytest.mark.parametrize(
    "method", [LocalSearch(), SimulatedAnnealing(max_steps=100), ExhaustiveSearch()]
)
def test_never_returns_an_infeasible_placement(method):
    # 2 MB fragments, 4.5 MB devices: at most two fragments per device.
    space = _space(mem=(4.5e6, 4.5e6, 4.5e6))
    res = method.search(space, FluidPredictor(), OBJ, rng=np.random.default_rng(3), top_k=10)
    assert res.assignments.shape[0] == 10
    assert all(space.feasible(a) for a in res.assignments)


def test_budget_in_evaluations_is_respected():
    res = LocalSearch(restarts=50, max_evaluations=40, max_seconds=None).search(
        _space(), FluidPredictor(), OBJ, rng=np.random.default_rng(0)
    )
    assert res.stats.evaluations <= 40
    override = SearchBudget(max_evaluations=10)
    res = SimulatedAnnealing().search(
        _space(), FluidPredictor(), OBJ, rng=np.random.default_rng(0), budget=override
    )
    assert res.stats.evaluations <= 10


def test_budget_in_seconds_is_respected():
    res = SimulatedAnnealing(max_steps=10**6, max_evaluations=None, max_seconds=0.2).search(
        _space(speeds=(1e9,) * 3), FluidPredictor(), OBJ, rng=np.random.default_rng(0)
    )
    assert res.stats.wall_time < 1.5


@pytest.mark.parametrize("method", [LocalSearch(), SimulatedAnnealing(max_steps=50)])
def test_deterministic_for_a_seed(method):
    r1 = method.search(_space(), FluidPredictor(), OBJ, rng=np.random.default_rng(7))
    r2 = method.search(_space(), FluidPredictor(), OBJ, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(r1.assignments, r2.assignments)
    np.testing.assert_array_equal(r1.values, r2.values)


def test_rng_must_be_a_generator():
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        LocalSearch().search(_space(), FluidPredictor(), OBJ, rng=0)


def test_invalid_configs():
    with pytest.raises(ValueError, match="restarts"):
        LocalSearch(restarts=0)
    with pytest.raises(ValueError, match="cooling"):
        SimulatedAnnealing(cooling=1.5)
    with pytest.raises(ValueError, match="max_evaluations"):
        SearchBudget(max_evaluations=0)
    with pytest.raises(ValueError, match="max_seconds"):
        SearchBudget(max_seconds=-1.0)
    with pytest.raises(ValueError, match="unknown search"):
        make_search("tabu")
    assert isinstance(make_search("annealing", cooling=0.9), SimulatedAnnealing)


def test_evaluator_caches_and_scores_infeasible_as_inf():
    space = _space(mem=(4.5e6, 4.5e6, 4.5e6))
    pred = FluidPredictor()
    ev = Evaluator(space, pred, OBJ)
    x = space.greedy_assignment()
    bad = np.zeros(space.num_fragments, dtype=int)
    v = ev.evaluate(np.stack([x, x, bad]))
    assert np.isfinite(v[0]) and v[0] == v[1] and np.isinf(v[2])
    ev.evaluate(x[None, :])
    assert pred.calls == 1 and ev.stats.cache_hits == 1 and ev.stats.evaluations == 1
    assert ev.stats.infeasible_skipped == 1
    with pytest.raises(ValueError, match="predict"):
        Evaluator(space, object(), OBJ)


def test_neighbours_are_distinct_and_subsampled():
    space = _space()
    x = space.greedy_assignment()
    nb = neighbours(space, x, np.random.default_rng(0))
    assert len(np.unique(nb, axis=0)) == len(nb)
    assert not np.any(np.all(nb == x, axis=1))
    assert neighbours(space, x, np.random.default_rng(0), max_size=5).shape == (5, 6)


def test_simulation_predictor_has_the_predictor_interface():
    space = _space()
    scs = [space.to_scenario(space.greedy_assignment())] * 2
    sim = SimulationPredictor(num_requests=300, seed=1)
    out = sim.predict(scs)
    assert set(PREDICTION_COLUMNS) <= set(out.columns)
    assert list(out["scenario"]) == [0, 0, 1, 1]
    # Common random numbers: the same scenario gets the same numbers.
    a = out[out["scenario"] == 0]["loss_ratio"].to_numpy()
    b = out[out["scenario"] == 1]["loss_ratio"].to_numpy()
    np.testing.assert_array_equal(a, b)
    assert sim.calls == 1 and sim.simulations == 2
    with pytest.raises(ValueError, match="num_requests"):
        SimulationPredictor(num_requests=0)


def test_search_driven_by_the_simulator():
    space = _space()
    res = LocalSearch(max_evaluations=30, max_seconds=None).search(
        space, SimulationPredictor(num_requests=200), OBJ, rng=np.random.default_rng(0)
    )
    assert space.feasible(res.best) and res.stats.evaluations <= 30


def test_capped_horizon():
    space = _space()
    sc = space.to_scenario(space.greedy_assignment())
    # rates 8 and 6: uncapped n / 6; capped at 2 n / 14 (still >= 200 / 6).
    assert capped_horizon(sc, 1000) == pytest.approx(2000 / 14)
    assert capped_horizon(sc, 100) == pytest.approx(100 / 6)


def test_local_search_parallel_descents_share_predictor_calls():
    pred = FluidPredictor()
    res = LocalSearch(parallel=4, restarts=8, max_seconds=None).search(
        _space(), pred, OBJ, rng=np.random.default_rng(0)
    )
    assert res.stats.evaluations / res.stats.predictor_calls > 10
    with pytest.raises(ValueError, match="parallel"):
        LocalSearch(parallel=0)


def test_time_budget_holds_with_a_slow_predictor():
    import time

    class Slow(FluidPredictor):
        def predict(self, scenarios):
            time.sleep(0.002 * len(scenarios))
            return super().predict(scenarios)

    res = LocalSearch(max_seconds=0.3, max_evaluations=None, max_neighbours=512).search(
        _space(), Slow(), OBJ, rng=np.random.default_rng(0)
    )
    assert res.stats.wall_time < 0.6


def test_a_search_driven_by_the_analytic_model_reads_flat_arrays(monkeypatch):
    """AnalyticSurrogate.predict_arrays: the scenario path's values, no Scenario per candidate."""
    from chainnet import AnalyticSurrogate

    space = _space(speeds=(1e9, 1.5e9, 3e9))
    runs = {}
    built: list[int] = []
    original = CandidateSpace.to_scenario
    monkeypatch.setattr(CandidateSpace, "to_scenario",
                        lambda self, a: built.append(1) or original(self, a))
    for on in (True, False):
        monkeypatch.setattr(Evaluator, "array_path", on)
        built.clear()
        runs[on] = (LocalSearch(max_evaluations=300).search(
            space, AnalyticSurrogate(), OBJ, rng=np.random.default_rng(0)), len(built))
    (fast, built_fast), (ref, built_ref) = runs[True], runs[False]
    np.testing.assert_array_equal(fast.assignments, ref.assignments)
    np.testing.assert_array_equal(fast.values, ref.values)
    assert built_ref >= ref.stats.evaluations and built_fast <= 1  # one template at most


def test_unique_rows_equals_numpy_unique():
    from placement.search.moves import unique_rows

    rng = np.random.default_rng(0)
    for shape in [(0, 4), (1, 4), (2, 3), (50, 1), (300, 7), (500, 12)]:
        a = rng.integers(0, 4, size=shape)
        np.testing.assert_array_equal(unique_rows(a), np.unique(a, axis=0))
    a = np.repeat(rng.integers(0, 13, size=(40, 9)), 3, axis=0)
    np.testing.assert_array_equal(unique_rows(a), np.unique(a, axis=0))
