import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.catalog import get_device
from datagen.splitting import (
    DEFAULT_LAYER_FRAGMENTS,
    SEMANTIC_ACCURACY_RATIO,
    balanced_cuts,
    layer_split,
    make_service,
    semantic_split,
    split_accuracy,
)
from datagen.world import MMPP2, DNNProfile, LayerProfile, Placement, Scenario, Service
from datagen.zoo import get_profile


def _profile(macs, params=None, out=None):
    params = params or [1] * len(macs)
    out = out or list(range(1, len(macs) + 1))
    layers = tuple(
        LayerProfile(f"l{i}", "conv", m, p, o) for i, (m, p, o) in enumerate(zip(macs, params, out))
    )
    return DNNProfile("toy", layers, 0.9, input_elems=7)


# ---- layer split -------------------------------------------------------------------------------


def test_cuts_on_qpart_mlp():
    frags = layer_split(get_profile("qpart_mlp"), cuts=[1, 3])
    assert [f.macs for f in frags] == [401408.0, 163840.0, 10560.0]
    assert [f.weight_bytes for f in frags] == [4 * 401408, 4 * 163840, 4 * 10560]
    assert [f.output_bytes for f in frags] == [4 * 512, 4 * 128, 4 * 10]
    assert [f.name for f in frags] == ["f0", "f1", "f2"]
    assert all(f.branch == 0 for f in frags)


def test_default_k_is_four():
    assert DEFAULT_LAYER_FRAGMENTS == 4
    assert len(layer_split(get_profile("resnet50"))) == 4
    assert len(layer_split(_profile([5, 0, 3]))) == 2  # capped at layers with MACs > 0


def test_k_one_is_whole_model():
    p = get_profile("vgg16")
    (f,) = layer_split(p, k=1)
    assert f.macs == p.total_macs
    assert f.weight_bytes == p.weight_bytes
    assert f.output_bytes == p.layers[-1].output_bytes


def test_balanced_split_minimises_bottleneck():
    frags = layer_split(_profile([4, 4, 4, 4, 8]), k=3)
    assert [f.macs for f in frags] == [8.0, 8.0, 8.0]
    frags = layer_split(_profile([1, 2, 3, 4, 5, 6]), k=2)
    assert [f.macs for f in frags] == [10.0, 11.0]


def test_tie_break_prefers_even_split():
    # Every 3-way split has max 10 (the big layer); the most even rest is (3, 3 | 10 | ...)
    frags = layer_split(_profile([3, 3, 10, 2, 2, 2]), k=3)
    assert [f.macs for f in frags] == [6.0, 10.0, 6.0]


def test_zero_mac_layers_never_form_a_fragment():
    p = _profile([0, 5, 0, 0, 3, 0])
    frags = layer_split(p, k=2)
    assert all(f.macs > 0 for f in frags)
    assert sum(f.macs for f in frags) == 8


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet_v2"])
def test_balanced_cuts_reproduce_layer_split(name):
    p = get_profile(name)
    cuts = balanced_cuts(p, 3)
    assert len(cuts) == 2 and list(cuts) == sorted(cuts)
    assert layer_split(p, cuts=cuts) == layer_split(p, k=3)
    assert balanced_cuts(p, 1) == ()


def test_zero_mac_layers_stay_with_the_layer_they_follow():
    # conv, bn, relu | conv: the cut goes after the activation
    frags = layer_split(_profile([5, 0, 0, 3], params=[1, 10, 0, 1]), k=2)
    assert [f.weight_bytes for f in frags] == [44, 4]
    assert frags[0].output_bytes == 4 * 3


def test_splitplace_layer_split_is_unbalanced_as_published():
    p = get_profile("splitplace_mnist")
    frags = layer_split(p, k=4)
    assert max(f.macs for f in frags) / p.total_macs == pytest.approx(0.88, abs=0.01)
    assert max(f.weight_bytes for f in frags) / p.weight_bytes == pytest.approx(0.98, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 1000), min_size=1, max_size=9).filter(lambda m: any(m)),
    st.data(),
)
def test_balanced_split_is_optimal_and_conserves(macs, data):
    positive = sum(1 for m in macs if m > 0)
    k = data.draw(st.integers(1, positive))
    params = data.draw(st.lists(st.integers(0, 50), min_size=len(macs), max_size=len(macs)))
    p = _profile(macs, params)
    frags = layer_split(p, k=k)
    assert len(frags) == k
    assert sum(f.macs for f in frags) == p.total_macs
    assert sum(f.weight_bytes for f in frags) == p.weight_bytes
    # brute force over all cut positions with positive fragments
    n = len(macs)
    best = math.inf
    for cuts in itertools.combinations(range(1, n), k - 1):
        bounds = [0, *cuts, n]
        sums = [sum(macs[a:b]) for a, b in zip(bounds, bounds[1:])]
        if all(s > 0 for s in sums):
            best = min(best, max(sums))
    assert max(f.macs for f in frags) == best


@given(st.integers(1, 20))
def test_any_k_conserves_totals_on_resnet50(k):
    p = get_profile("resnet50")
    frags = layer_split(p, k=k)
    assert sum(f.macs for f in frags) == p.total_macs
    assert sum(f.weight_bytes for f in frags) == p.weight_bytes
    assert frags[-1].output_bytes == p.layers[-1].output_bytes


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be an integer >= 1"),
        ({"k": 2.0}, "k must be an integer >= 1"),
        ({"k": 7}, "k must be <= 6 for profile 'qpart_mlp'"),
        ({"cuts": [3, 2]}, "cuts must be strictly increasing"),
        ({"cuts": [0, 2]}, r"cuts must lie in 1\.\.5"),
        ({"cuts": [6]}, r"cuts must lie in 1\.\.5"),
        ({"cuts": [1.5]}, "cuts must be layer indices"),
        ({"cuts": [2], "k": 3}, r"k must equal len\(cuts\) \+ 1 = 2"),
    ],
)
def test_layer_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layer_split(get_profile("qpart_mlp"), **kwargs)


def test_cut_leaving_zero_mac_fragment():
    with pytest.raises(ValueError, match=r"fragment 1 \(layers 1\.\.1.*has 0 MACs; move the cut"):
        layer_split(_profile([5, 0, 3]), cuts=[1, 2])


def test_not_a_profile():
    with pytest.raises(ValueError, match="profile must be a DNNProfile"):
        layer_split("resnet50")


# ---- semantic split ----------------------------------------------------------------------------


def test_semantic_split_splitplace_uses_published_fraction():
    p = get_profile("splitplace_cifar100")
    frags = semantic_split(p, 5)
    assert [f.branch for f in frags] == [0, 1, 2, 3, 4]
    assert [f.name for f in frags] == ["b0", "b1", "b2", "b3", "b4"]
    assert sum(f.macs for f in frags) == pytest.approx(0.36 * p.total_macs)
    assert frags[0].output_bytes == 4 * 20  # 100 classes / 5 branches
    assert sum(f.weight_bytes for f in frags) == pytest.approx(0.36 * p.weight_bytes, abs=5)


def test_semantic_split_default_rule_keeps_total_compute():
    p = get_profile("resnet50")
    frags = semantic_split(p, 4)
    assert sum(f.macs for f in frags) == pytest.approx(p.total_macs)
    assert all(f.macs == pytest.approx(p.total_macs / 4) for f in frags)
    assert frags[0].output_bytes == 4 * 250


@pytest.mark.parametrize("bad", [1, 0, 2.5, True])
def test_semantic_split_needs_two_branches(bad):
    with pytest.raises(ValueError, match="branches must be an integer >= 2"):
        semantic_split(get_profile("resnet18"), bad)


# ---- accuracy ----------------------------------------------------------------------------------


def test_split_accuracy():
    p = get_profile("splitplace_fashionmnist")
    assert split_accuracy(p, "layer") == 0.957
    assert split_accuracy(p, "semantic") == 0.917
    r = get_profile("resnet50")
    assert split_accuracy(r, "semantic") == pytest.approx(0.7613 * 0.966)
    assert SEMANTIC_ACCURACY_RATIO == 0.966
    with pytest.raises(ValueError, match="split must be 'layer' or 'semantic', got 'hybrid'"):
        split_accuracy(p, "hybrid")


# ---- services ----------------------------------------------------------------------------------


def test_make_service_layer():
    s = make_service("cam", "resnet50", "layer", 2.0, 0.5, k=3, scv=1.0, source="rpi")
    assert isinstance(s, Service)
    assert (s.split, s.profile, s.accuracy, s.scv, s.sla) == ("layer", "resnet50", 0.7613, 1.0, 0.5)
    assert len(s.fragments) == 3
    assert s.input_bytes == 4 * 3 * 224 * 224
    assert s.source == "rpi"


def test_make_service_semantic_and_mmpp():
    mmpp = MMPP2(peak_factor=2.0, high_fraction=0.2, mean_high_duration=1.0)
    s = make_service("digits", get_profile("splitplace_mnist"), "semantic", 5.0, mmpp=mmpp)
    assert s.num_branches == 5
    assert s.accuracy == 0.957
    assert s.mmpp == mmpp
    assert s.total_macs == pytest.approx(0.36 * get_profile("splitplace_mnist").total_macs)


def test_make_service_errors():
    with pytest.raises(ValueError, match="k and cuts apply to split='layer' only"):
        make_service("x", "resnet18", "semantic", 1.0, k=2)
    with pytest.raises(ValueError, match="split must be 'layer' or 'semantic'"):
        make_service("x", "resnet18", "pipeline", 1.0)
    with pytest.raises(ValueError, match="unknown DNN profile"):
        make_service("x", "resnet101", "layer", 1.0)
    with pytest.raises(ValueError, match="arrival_rate must be > 0"):
        make_service("x", "resnet18", "layer", 0.0)


def test_services_fit_catalog_devices_in_a_scenario():
    devices = (get_device("rpi4", "edge-0"), get_device("jetson_nano", "edge-1"))
    layer = make_service("a", "mobilenet_v2", "layer", 1.0, k=2)
    semantic = make_service("b", "splitplace_mnist", "semantic", 1.0, branches=2)
    sc = Scenario(
        devices=devices,
        services=(layer, semantic),
        placement=Placement({"a": ("edge-0", "edge-1"), "b": ("edge-0", "edge-1")}),
    )
    assert Scenario.from_json(sc.to_json()) == sc
