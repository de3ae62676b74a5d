import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen import (
    MMPP2,
    Device,
    DNNProfile,
    Fragment,
    LayerProfile,
    Link,
    Placement,
    Scenario,
    ScenarioError,
    Service,
)


def small_scenario() -> Scenario:
    devices = (
        Device("rpi-1", speed=2e9, memory=8e6, capacity=5),
        Device("edge", speed=5e10, capacity=20, servers=2),
    )
    services = (
        Service(
            "cam",
            (Fragment("f0", 1e8, weight_bytes=4_000_000, output_bytes=1000), Fragment("f1", 2e8)),
            arrival_rate=3.0,
            sla=0.5,
        ),
        Service(
            "sem",
            (Fragment("b0", 5e7, branch=0), Fragment("b1", 5e7, branch=1)),
            arrival_rate=1.0,
            split="semantic",
            scv=0.5,
            mmpp=MMPP2(2.0, 0.25, 3.0),
            source="rpi-1",
            input_bytes=3072,
        ),
    )
    placement = Placement({"cam": ("rpi-1", "edge"), "sem": ("rpi-1", "edge")})
    return Scenario(devices, services, placement, links=(Link("rpi-1", "edge", 1e7, 0.002),))


# -- unit: construction and errors ------------------------------------------------------------


def test_device_capacity_error_names_field_value_and_device():
    with pytest.raises(
        ValueError, match=r"capacity must be an integer >= 1 for device 'rpi-2', got 0"
    ):
        Device("rpi-2", speed=1e9, capacity=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"speed": -1.0}, "speed must be > 0"),
        ({"speed": math.nan}, "speed must be finite"),
        ({"speed": 1e9, "servers": 0}, "servers must be an integer >= 1"),
        ({"speed": 1e9, "reserved_share": 1.0}, r"reserved_share must be in \[0, 1\)"),
        ({"speed": 1e9, "memory": -5}, "memory must be >= 0"),
        ({"speed": 1e9, "capacity": 2, "servers": 3}, "servers must be <= capacity"),
    ],
)
def test_device_rejects_bad_fields(kwargs, match):
    with pytest.raises(ScenarioError, match=match):
        Device("d", **kwargs)


def test_effective_speed_uses_reserved_share():
    assert Device("d", speed=1e9, reserved_share=0.25).effective_speed == pytest.approx(7.5e8)


def test_service_errors():
    frag = Fragment("f", 1.0)
    with pytest.raises(ScenarioError, match="arrival_rate must be > 0"):
        Service("s", (frag,), arrival_rate=0.0)
    with pytest.raises(ScenarioError, match="arrival_rate must be finite"):
        Service("s", (frag,), arrival_rate=math.inf)
    with pytest.raises(ScenarioError, match="split must be one of"):
        Service("s", (frag,), arrival_rate=1.0, split="diagonal")
    with pytest.raises(ScenarioError, match="every fragment.branch must be 0"):
        Service("s", (frag, Fragment("g", 1.0, branch=1)), arrival_rate=1.0)
    with pytest.raises(ScenarioError, match="without gaps"):
        Service("s", (frag, Fragment("g", 1.0, branch=2)), arrival_rate=1.0, split="semantic")
    with pytest.raises(ScenarioError, match="unique"):
        Service("s", (frag, frag), arrival_rate=1.0)
    with pytest.raises(ScenarioError, match="scv must be >= 0"):
        Service("s", (frag,), arrival_rate=1.0, scv=-1)


def test_fragment_and_layer_errors():
    with pytest.raises(ScenarioError, match="macs must be > 0 for fragment 'f'"):
        Fragment("f", 0.0)
    with pytest.raises(ScenarioError, match="weight_bytes must be an integer >= 0"):
        Fragment("f", 1.0, weight_bytes=-3)
    with pytest.raises(ScenarioError, match="out_elems must be an integer >= 1"):
        LayerProfile("l", "conv", 10, 10, 0)
    with pytest.raises(ScenarioError, match="accuracy must be in"):
        DNNProfile("p", (LayerProfile("l", "conv", 10, 10, 1),), accuracy=1.5)


def test_mmpp_keeps_mean_rate():
    m = MMPP2(peak_factor=3.0, high_fraction=0.2, mean_high_duration=2.0)
    hi, lo = m.rates(10.0)
    assert 0.2 * hi + 0.8 * lo == pytest.approx(10.0)
    dh, dl = m.mean_durations()
    assert dh / (dh + dl) == pytest.approx(0.2)
    with pytest.raises(ScenarioError, match="low-state rate would be negative"):
        MMPP2(peak_factor=5.0, high_fraction=0.5, mean_high_duration=1.0)


def test_link_errors():
    with pytest.raises(ScenarioError, match="two different devices"):
        Link("a", "a", 1e6)
    with pytest.raises(ScenarioError, match="bandwidth must be > 0"):
        Link("a", "b", 0)


# -- scenario validation -------------------------------------------------------------------


def test_scenario_memory_error_names_device_need_and_capacity():
    sc = small_scenario()
    big = Fragment("huge", 1e6, weight_bytes=9_000_000)
    svc = Service("big", (big,), arrival_rate=1.0)
    with pytest.raises(
        ScenarioError, match=r"device 'rpi-1' lacks memory: .*13\.000 MB .*8\.000 MB"
    ):
        sc.replace(
            services=(*sc.services, svc),
            placement={**sc.placement.devices, "big": ("rpi-1",)},
        )


def test_scenario_reference_errors():
    sc = small_scenario()
    with pytest.raises(ScenarioError, match="unknown device 'nowhere'"):
        sc.replace(placement={"cam": ("rpi-1", "nowhere"), "sem": ("rpi-1", "edge")})
    with pytest.raises(ScenarioError, match="must name 2 devices"):
        sc.replace(placement={"cam": ("rpi-1",), "sem": ("rpi-1", "edge")})
    with pytest.raises(ScenarioError, match="service 'sem' is not placed"):
        sc.replace(placement={"cam": ("rpi-1", "edge")})
    with pytest.raises(ScenarioError, match="unknown services"):
        sc.replace(placement={**sc.placement.devices, "ghost": ("edge",)})
    with pytest.raises(ScenarioError, match="device names must be unique"):
        sc.replace(devices=(*sc.devices, Device("edge", 1.0)))
    with pytest.raises(ScenarioError, match="unknown device 'x'"):
        sc.replace(links=(Link("x", "edge", 1.0),))
    with pytest.raises(ScenarioError, match="declared twice"):
        sc.replace(links=(Link("rpi-1", "edge", 1.0), Link("edge", "rpi-1", 2.0)))


def test_lookups():
    sc = small_scenario()
    assert sc.device("edge").servers == 2
    assert sc.device_index("edge") == 1
    assert sc.link_between("edge", "rpi-1") is not None
    assert sc.service("sem").num_branches == 2
    assert sc.service("sem").branch_indices() == [[0], [1]]
    assert sc.memory_used()["rpi-1"] == 4_000_000


# -- serialisation -------------------------------------------------------------------------


def test_json_round_trip(tmp_path):
    sc = small_scenario()
    path = tmp_path / "s.json"
    sc.to_json(path)
    assert Scenario.from_json(path) == sc
    assert Scenario.from_json(sc.to_json()) == sc
    assert Scenario.from_dict(json.loads(json.dumps(sc.to_dict()))) == sc


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("devices"), r"devices is missing"),
        (lambda d: d["devices"][0].pop("speed"), r"devices\[0\]\.speed is missing"),
        (
            lambda d: d["devices"][1].update(capacity="ten"),
            r"devices\[1\]\.capacity must be an integer",
        ),
        (
            lambda d: d["services"][0]["fragments"][0].update(macs=-1.0),
            r"services\[0\]\.fragments\[0\].*macs must be > 0",
        ),
        (
            lambda d: d["services"][1].update(arrival_rate=float("nan")),
            r"services\[1\]\.arrival_rate must be finite",
        ),
        (
            lambda d: d["services"][0].update(fragments={}),
            r"services\[0\]\.fragments must be a list",
        ),
        (lambda d: d["links"][0].update(a=3), r"links\[0\]\.a must be a string"),
        (lambda d: d["placement"].update(cam="edge"), r"placement\.cam must be a list"),
        (lambda d: d["placement"].update(cam=["edge", "mars"]), r"unknown device 'mars'"),
        (lambda d: d["services"][1].update(mmpp=[1, 2]), r"services\[1\]\.mmpp must be an object"),
    ],
)
def test_from_dict_reports_path_to_bad_field(mutate, match):
    d = small_scenario().to_dict()
    mutate(d)
    with pytest.raises(ValueError, match=match):
        Scenario.from_dict(d)


def test_from_json_rejects_nan_and_garbage(tmp_path):
    text = small_scenario().to_json().replace('"arrival_rate": 3.0', '"arrival_rate": NaN')
    with pytest.raises(ScenarioError, match="non-finite"):
        Scenario.from_json(text)
    with pytest.raises(ScenarioError, match="malformed"):
        Scenario.from_json("{not json")
    with pytest.raises(ScenarioError, match="cannot read"):
        Scenario.from_json(tmp_path / "missing.json")


# -- property tests ------------------------------------------------------------------------

names = st.text(alphabet="abcdefghij-_0123456789", min_size=1, max_size=6)
pos = st.floats(min_value=1e-6, max_value=1e12, allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw):
    n_dev = draw(st.integers(1, 5))
    devices = [
        Device(
            f"d{i}",
            speed=draw(pos),
            capacity=draw(st.integers(2, 60)),
            servers=draw(st.integers(1, 2)),
            reserved_share=draw(st.floats(0, 0.9)),
            idle_power=draw(st.floats(0, 10)),
        )
        for i in range(n_dev)
    ]
    services = []
    placement = {}
    for s in range(draw(st.integers(1, 4))):
        split = draw(st.sampled_from(["layer", "semantic"]))
        n = draw(st.integers(1, 5))
        if split == "layer":
            branches = [0] * n
        else:
            nb = draw(st.integers(1, n))
            branches = sorted(
                [
                    *range(nb),
                    *draw(st.lists(st.integers(0, nb - 1), min_size=n - nb, max_size=n - nb)),
                ]
            )
        frags = tuple(
            Fragment(
                f"f{j}",
                draw(pos),
                weight_bytes=draw(st.integers(0, 10**6)),
                output_bytes=draw(st.integers(0, 10**6)),
                branch=b,
            )
            for j, b in enumerate(branches)
        )
        mmpp = draw(st.none() | st.builds(MMPP2, st.just(2.0), st.floats(0.05, 0.5), pos))
        services.append(
            Service(
                f"s{s}-{draw(names)}",
                frags,
                arrival_rate=draw(pos),
                sla=draw(st.just(math.inf) | pos),
                split=split,
                scv=draw(st.floats(0, 4)),
                mmpp=mmpp,
                accuracy=draw(st.none() | st.floats(0, 1)),
            )
        )
        placement[services[-1].name] = tuple(f"d{draw(st.integers(0, n_dev - 1))}" for _ in frags)
    links = []
    if n_dev > 1 and draw(st.booleans()):
        links.append(Link("d0", "d1", draw(pos), draw(st.floats(0, 1))))
    return Scenario(tuple(devices), tuple(services), Placement(placement), tuple(links))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_json_round_trip_is_lossless(sc):
    assert Scenario.from_json(sc.to_json()) == sc
    assert Scenario.from_dict(sc.to_dict()).to_dict() == sc.to_dict()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_from_dict_fuzz_raises_only_value_error(data):
    d = small_scenario().to_dict()
    paths = [p for p in _paths(d) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = d
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        Scenario.from_dict(d)
    except ValueError:
        pass


@given(json_values)
@settings(max_examples=100, deadline=None)
def test_from_dict_garbage_top_level(value):
    with pytest.raises(ValueError):
        Scenario.from_dict(value)
