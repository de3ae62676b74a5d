import math

import pytest

from datagen.world import Device, DNNProfile, Fragment, LayerProfile, Link, Scenario, Service
from placement.request import (
    PlacementRequest,
    RequestError,
    RunningService,
    ServiceRequest,
    as_running,
)


def _profile(name="tiny"):
    layers = tuple(
        LayerProfile(f"l{i}", "conv", macs=1_000_000 * (i + 1), params=1000, out_elems=100)
        for i in range(5)
    )
    return DNNProfile(name, layers, accuracy=0.9, semantic_accuracy=0.85)


def _devices():
    return [Device("a", 1e9, memory=1e6), Device("b", 2e9, memory=1e6)]


def _running(dev="a", weight=1000):
    svc = Service("old", (Fragment("f0", 1e6, weight_bytes=weight),), arrival_rate=1.0)
    return RunningService(svc, (dev,))


def test_service_request_defaults_and_normalisation():
    sr = ServiceRequest("s", _profile(), 2, sla=1)
    assert sr.arrival_rate == 2.0 and isinstance(sr.arrival_rate, float)
    assert sr.splits == ("layer", "semantic")
    assert ServiceRequest("s", _profile(), 1.0, splits="layer").splits == ("layer",)
    assert ServiceRequest("s", _profile(), 1.0, splits=("layer", "layer")).splits == ("layer",)
    assert math.isinf(ServiceRequest("s", _profile(), 1.0).sla)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "name must be"),
        ({"profile": "resnet18"}, "profile must be a datagen.DNNProfile"),
        ({"arrival_rate": 0.0}, "arrival_rate must be > 0"),
        ({"arrival_rate": math.nan}, "arrival_rate must be a finite"),
        ({"sla": -1.0}, "sla must be"),
        ({"splits": ()}, "splits must name at least one"),
        ({"splits": ("layer", "pipeline")}, "subset"),
        ({"k": 0}, "k must be an integer >= 1"),
        ({"branches": 1.5}, "branches must be an integer"),
        ({"scv": -0.1}, "scv must be >= 0"),
    ],
)
def test_service_request_rejects(kwargs, match):
    base = {"name": "s", "profile": _profile(), "arrival_rate": 1.0}
    base.update(kwargs)
    with pytest.raises(RequestError, match=match):
        ServiceRequest(**base)


def test_request_error_is_value_error():
    assert issubclass(RequestError, ValueError)


def test_placement_request_valid_and_free_memory():
    req = PlacementRequest(
        devices=_devices(),
        links=[Link("a", "b", 1e6)],
        services=[ServiceRequest("s", _profile(), 1.0)],
        running=[_running("a", 250_000)],
    )
    assert req.free_memory() == {"a": 750_000.0, "b": 1e6}
    assert req.service("s").name == "s"
    with pytest.raises(KeyError):
        req.service("nope")


def test_running_accepts_pairs_and_scenarios():
    svc = Service("old", (Fragment("f0", 1e6, weight_bytes=10),), arrival_rate=1.0)
    sc = Scenario(_devices(), (svc,), {"old": ("b",)})
    r1 = PlacementRequest(_devices(), services=[ServiceRequest("s", _profile(), 1.0)], running=[sc])
    r2 = PlacementRequest(
        _devices(), services=[ServiceRequest("s", _profile(), 1.0)], running=[(svc, ["b"])]
    )
    assert r1.running == r2.running
    assert r1.running[0].devices == ("b",)


def test_as_running_gives_one_record_shape():
    svc = Service("old", (Fragment("f0", 1e6, weight_bytes=10),), arrival_rate=1.0)
    record = RunningService(svc, ("b",))
    sc = Scenario(_devices(), (svc,), {"old": ("b",)})
    assert as_running([record]) == as_running([(svc, ["b"])]) == as_running([sc]) == (record,)
    with pytest.raises(RequestError, match=r"running\[0\] must be a RunningService"):
        as_running(["old"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"devices": []}, "devices must hold at least one"),
        ({"devices": [Device("a", 1e9), Device("a", 2e9)]}, "duplicates"),
        ({"devices": ["a"]}, r"devices\[0\] must be a datagen.Device"),
        ({"links": [Link("a", "zz", 1e6)]}, "unknown device 'zz'"),
        ({"services": []}, "at least one ServiceRequest"),
        ({"services": ["s"]}, r"services\[0\] must be a ServiceRequest"),
        ({"running": [object()]}, r"running\[0\] must be"),
        ({"running": [_running("zz")]}, "unknown device 'zz'"),
        ({"running": [_running("a", 2_000_000)]}, "already exceed the memory of device 'a'"),
    ],
)
def test_placement_request_rejects(kwargs, match):
    base = {"devices": _devices(), "services": [ServiceRequest("s", _profile(), 1.0)]}
    base.update(kwargs)
    with pytest.raises(RequestError, match=match):
        PlacementRequest(**base)


def test_duplicate_names_across_new_and_running():
    with pytest.raises(RequestError, match="unique across new and running"):
        PlacementRequest(
            _devices(), services=[ServiceRequest("old", _profile(), 1.0)], running=[_running()]
        )


def test_running_service_length_checked():
    svc = Service("old", (Fragment("f0", 1e6),), arrival_rate=1.0)
    with pytest.raises(RequestError, match="must name 1 devices"):
        RunningService(svc, ("a", "b"))
    with pytest.raises(RequestError, match="sequence of device names"):
        RunningService(svc, "a")


def test_star_request_links_every_pair():
    from datagen.catalog import LINK_CATALOG

    devices = _devices() + [Device("c", 3e9, memory=1e6)]
    svc = ServiceRequest("s", _profile(), 1.0)
    req = PlacementRequest.star(devices, services=svc)  # Wi-Fi by default
    assert len(req.links) == 3 and req.services == (svc,)
    assert {x.bandwidth for x in req.links} == {LINK_CATALOG["wifi"].bandwidth}
    fast = Link("a", "b", 1e9)
    req = PlacementRequest.star(devices, "5g", services=[svc], links=[fast])
    assert req.links[-1] is fast and len(req.links) == 3  # replaces the star's a-b link
    with pytest.raises(RequestError, match="link must be a link kind of the catalog, got 'x'"):
        PlacementRequest.star(devices, "x", services=[svc])
    with pytest.raises(RequestError, match=r"devices\[0\] must be a datagen.Device"):
        PlacementRequest.star(["a"], services=[svc])  # type: ignore[list-item]
