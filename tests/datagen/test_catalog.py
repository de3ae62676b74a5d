import math

import pytest

from datagen.catalog import DEVICE_CATALOG, DeviceSpec, get_device, list_devices
from datagen.world import Device, ScenarioError

KINDS = [
    "rpi3", "rpi4", "orangepi_zero", "jetson_nano", "jetson_xavier_nx", "edge_server", "cloud_vm",
]  # fmt: skip


def test_list_devices():
    assert list_devices() == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_builds_a_valid_device(kind):
    d = get_device(kind)
    assert isinstance(d, Device)
    assert d.name == kind and d.kind == kind
    assert d.speed > 0 and math.isfinite(d.memory) and d.memory > 0
    assert 0 < d.idle_power < d.busy_power
    spec = DEVICE_CATALOG[kind]
    assert isinstance(spec, DeviceSpec) and spec.source and spec.description


def test_options_pass_through():
    d = get_device("jetson_nano", "nano-3", capacity=4, servers=2, reserved_share=0.25)
    assert (d.name, d.capacity, d.servers, d.reserved_share) == ("nano-3", 4, 2, 0.25)
    assert d.effective_speed == pytest.approx(0.75 * 1.5e11)


def test_aliases():
    assert get_device("rpi3b+").kind == "rpi3"
    assert get_device("rpi4b", "x").kind == "rpi4"


def test_relative_ordering_is_plausible():
    speed = {k: get_device(k).speed for k in KINDS}
    assert speed["orangepi_zero"] < speed["rpi3"] < speed["rpi4"] < speed["jetson_nano"]
    assert speed["jetson_nano"] < speed["jetson_xavier_nx"] < speed["edge_server"]
    assert speed["edge_server"] < speed["cloud_vm"]
    mem = {k: get_device(k).memory for k in KINDS}
    assert mem["orangepi_zero"] < mem["rpi3"] < mem["rpi4"] < mem["edge_server"] < mem["cloud_vm"]


def test_resnet50_fits_a_pi4_but_vgg16_does_not_fit_a_pi3():
    from datagen.zoo import get_profile

    assert get_profile("resnet50").weight_bytes < get_device("rpi4").memory
    assert get_profile("vgg16").weight_bytes > get_device("rpi3").memory


def test_unknown_kind_lists_known():
    with pytest.raises(ValueError, match=r"unknown device kind 'tpu'; known kinds: \['rpi3'"):
        get_device("tpu")


def test_invalid_device_fields():
    with pytest.raises(ScenarioError, match="capacity must be an integer >= 1"):
        get_device("rpi4", capacity=0)
    with pytest.raises(ValueError, match=r"reserved_share must be in \[0, 1\)"):
        get_device("rpi4", reserved_share=1.0)


def test_catalog_is_read_only():
    with pytest.raises(TypeError):
        DEVICE_CATALOG["new"] = DEVICE_CATALOG["rpi3"]  # type: ignore[index]


# -- link presets (issue 21) -------------------------------------------------------------------


def test_link_presets_are_plausible():
    from datagen.catalog import LINK_CATALOG, get_link, list_links

    assert list_links() == ["wifi", "ethernet", "4g_uplink", "5g_uplink"]
    bw = {k: LINK_CATALOG[k].bandwidth for k in list_links()}
    assert bw["ethernet"] > bw["wifi"] > bw["5g_uplink"] > bw["4g_uplink"]  # bytes/s
    assert LINK_CATALOG["4g_uplink"].delay > LINK_CATALOG["5g_uplink"].delay > \
        LINK_CATALOG["wifi"].delay > LINK_CATALOG["ethernet"].delay
    link = get_link("LTE", "a", "b")  # aliases, any case
    assert (link.a, link.b, link.bandwidth, link.delay) == ("a", "b", 1.0e6, 0.025)
    with pytest.raises(ValueError, match=r"link must be a link kind of the catalog, got 'pigeon'"
                                         r"; known kinds: \['wifi'"):
        get_link("pigeon", "a", "b")
    with pytest.raises(TypeError):
        LINK_CATALOG["new"] = LINK_CATALOG["wifi"]  # type: ignore[index]


def test_star_links_cross_two_access_links():
    from datagen.catalog import star_links

    links = star_links(["a", "b", "c"], "wifi", access={"c": "ethernet"})
    by_pair = {tuple(sorted(x.key)): x for x in links}
    assert len(links) == 3
    assert by_pair[("a", "b")].bandwidth == 12.5e6 and by_pair[("a", "b")].delay == 0.004
    assert by_pair[("a", "c")].bandwidth == 12.5e6  # the slower end
    assert by_pair[("a", "c")].delay == pytest.approx(0.0021)
    assert star_links(["solo"]) == ()
    with pytest.raises(ValueError, match="access names device 'z', which is not in the network"):
        star_links(["a", "b"], access={"z": "wifi"})
    with pytest.raises(ValueError, match=r"unique, got duplicates \['a'\]"):
        star_links(["a", "a"])
    with pytest.raises(ValueError, match=r"access\['b'\] must be a link kind"):
        star_links(["a", "b"], access={"b": "smoke"})
