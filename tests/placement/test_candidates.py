import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.world import (
    Device,
    DNNProfile,
    Fragment,
    LayerProfile,
    Scenario,
    ScenarioError,
    Service,
)
from placement.candidates import CandidateSpace, InfeasibleRequestError, build_service, check_fit
from placement.request import PlacementRequest, RunningService, ServiceRequest


def _profile(name="tiny", params=250_000):
    layers = tuple(
        LayerProfile(f"l{i}", "conv", macs=1_000_000 * (i + 1), params=params, out_elems=100)
        for i in range(6)
    )
    return DNNProfile(name, layers, accuracy=0.9, semantic_accuracy=0.85)


def _request(mem=(4e6, 4e6, 8e6), running=()):
    devices = [Device(f"d{i}", 1e9 * (i + 1), memory=m) for i, m in enumerate(mem)]
    services = [
        ServiceRequest("a", _profile("pa"), 5.0, k=3),
        ServiceRequest("b", _profile("pb"), 3.0, k=2, splits=("layer",)),
    ]
    return PlacementRequest(devices, services=services, running=running)


def test_build_service_respects_allowed_splits():
    req = _request()
    svc = build_service(req.services[0], "layer")
    assert svc.split == "layer" and len(svc.fragments) == 3
    sem = build_service(req.services[0], "semantic")
    assert sem.split == "semantic" and sem.num_branches > 1
    with pytest.raises(ValueError, match="not allowed for service 'b'"):
        build_service(req.services[1], "semantic")


def test_space_shapes_and_round_trip():
    req = _request()
    space = CandidateSpace(req, {"a": "layer", "b": "layer"})
    assert space.num_fragments == 5 and space.num_devices == 3
    a = np.array([0, 1, 2, 2, 1])
    sc = space.to_scenario(a)
    assert isinstance(sc, Scenario)
    assert sc.placement["a"] == ("d0", "d1", "d2") and sc.placement["b"] == ("d2", "d1")
    np.testing.assert_array_equal(space.assignment_of(sc.placement.devices), a)
    with pytest.raises(ValueError, match="shape"):
        space.to_scenario([0, 1])
    with pytest.raises(ValueError, match="outside"):
        space.to_scenario([0, 1, 2, 3, 0])


def test_memory_feasibility_matches_scenario_validation():
    # 6 MB per layer-split service of "a" (3 x 2 MB) in 4 MB devices: 2 fragments per device.
    req = _request(mem=(4e6, 4e6, 4e6))
    space = CandidateSpace(req, {"a": "layer", "b": "layer"})
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 3, size=(200, 5))
    feas = space.feasible_batch(batch)
    assert feas.any() and not feas.all()
    for x, ok in zip(batch[:60], feas[:60]):
        assert space.feasible(x) == ok
        if ok:
            space.to_scenario(x)
        else:
            with pytest.raises(ScenarioError, match="lacks memory"):
                space.to_scenario(x)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m0=st.floats(4.5e6, 9e6), m1=st.floats(4.5e6, 9e6))
def test_random_and_greedy_assignments_are_feasible(seed, m0, m1):
    req = _request(mem=(m0, m1, 4.5e6))
    space = CandidateSpace(req, {"a": "layer", "b": "layer"})
    rng = np.random.default_rng(seed)
    assert space.feasible(space.random_assignment(rng))
    assert space.feasible(space.greedy_assignment())


def test_greedy_balances_load_towards_fast_devices():
    req = _request(mem=(1e9, 1e9, 1e9))
    space = CandidateSpace(req, {"a": "layer", "b": "layer"})
    util = space.device_load(space.greedy_assignment())
    assert util.max() <= space.device_load(np.zeros(5, dtype=int)).max()


def test_running_services_reduce_free_memory_and_are_kept():
    old = Service("old", (Fragment("f0", 1e6, weight_bytes=3_000_000),), arrival_rate=1.0)
    req = _request(running=[RunningService(old, ("d2",))])
    space = CandidateSpace(req, {"a": "layer", "b": "layer"})
    assert space.free[2] == pytest.approx(5e6)
    sc = space.to_scenario(space.greedy_assignment())
    assert sc.placement["old"] == ("d2",)


def test_check_fit_names_the_shortfall():
    req = PlacementRequest(
        [Device("d0", 1e9, memory=1e6), Device("d1", 1e9, memory=1.5e6)],
        services=[ServiceRequest("big", _profile("pbig", params=1_000_000), 1.0, k=2)],
    )
    with pytest.raises(InfeasibleRequestError, match=r"service 'big' cannot be placed") as info:
        check_fit(req)
    msg = str(info.value)
    assert "MB" in msg and "largest free device memory is 1.500 MB" in msg
    assert issubclass(InfeasibleRequestError, ValueError)


def test_check_fit_total_memory_shortfall():
    req = PlacementRequest(
        [Device("d0", 1e9, memory=5e6), Device("d1", 1e9, memory=5e6)],
        services=[
            ServiceRequest("a", _profile("pa"), 1.0, k=6, splits=("layer",)),
            ServiceRequest("b", _profile("pb"), 1.0, k=6, splits=("layer",)),
        ],
    )
    with pytest.raises(InfeasibleRequestError, match="together need at least 12.000 MB"):
        check_fit(req)


def test_check_fit_keeps_only_fitting_splits():
    ok = check_fit(_request())
    assert ok["a"] == ("layer", "semantic") and ok["b"] == ("layer",)
