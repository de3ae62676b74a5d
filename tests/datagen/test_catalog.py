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
