import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.sampling import load_sampler_config, sample_scenario
from datagen.walk import device_capacity, device_load, offered_load
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


def test_candidate_scenarios_equal_validated_ones():
    # to_scenario validates the first scenario in full and reuses its checks for the others
    old = Service("old", (Fragment("f0", 1e6, weight_bytes=1_000_000),), arrival_rate=1.0)
    req = _request(mem=(4e6, 4e6, 5e6), running=[RunningService(old, ("d2",))])
    space = CandidateSpace(req, {"a": "layer", "b": "layer"})
    rng = np.random.default_rng(1)
    batch = rng.integers(0, 3, size=(120, 5))
    feas = space.feasible_batch(batch)
    assert feas.any() and not feas.all()
    for x, ok in zip(batch, feas):
        names = [space.device_names[j] for j in x]
        placement = {"old": ("d2",), "a": tuple(names[:3]), "b": tuple(names[3:])}
        if not ok:
            with pytest.raises(ScenarioError, match="lacks memory"):
                space.to_scenario(x)
            continue
        sc = space.to_scenario(x)
        ref = Scenario(req.devices, space.services + (old,), placement, req.links)
        assert sc == ref and sc.to_json() == ref.to_json()
        assert sc.device("d1") is ref.device("d1")
        sc.validate()


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


def _sampled_requests(n):
    """Requests on sampled ``placer`` clusters (1-3 servers), their services running."""
    rng = np.random.default_rng(11)
    out = []
    for _ in range(n):
        sc = sample_scenario(load_sampler_config("placer"), rng)
        devices = []
        for d in sc.devices:
            c = int(rng.integers(1, 4))
            devices.append(dataclasses.replace(
                d, servers=c, capacity=max(c, d.capacity), memory=d.memory * 4))
        running = [RunningService(s, sc.placement[s.name]) for s in sc.services]
        services = [
            ServiceRequest("new_a", _profile("pa"), float(rng.uniform(1, 9)), k=3),
            ServiceRequest("new_b", _profile("pb"), float(rng.uniform(1, 9)), k=2),
        ]
        out.append(PlacementRequest(devices, links=sc.links, services=services, running=running))
    return out


def test_loads_are_the_walkers_on_sampled_requests():
    for req in _sampled_requests(6):
        space = CandidateSpace(req, {"new_a": "layer", "new_b": "layer"})
        np.testing.assert_array_equal(space.speed, device_capacity(req.devices))
        running = [(r.service, r.devices) for r in req.running]
        np.testing.assert_allclose(
            space._running_util(), list(offered_load(req.devices, running).values()),
            rtol=1e-14, atol=0.0)
        rng = np.random.default_rng(0)
        for a in rng.integers(0, space.num_devices, size=(10, space.num_fragments)):
            rho = space.device_load(a)
            assert np.array_equal(rho, device_load(a, space.load, space.speed))
            new = [
                (svc, tuple(space.device_names[j] for j in a[lo:hi]))
                for svc, lo, hi in zip(space.services, space.offsets, space.offsets[1:])
            ]
            np.testing.assert_allclose(
                rho, list(offered_load(req.devices, new).values()), rtol=1e-14, atol=0.0)
