"""A catalog of edge and cloud devices: effective DNN speed, memory for weights and power.

:func:`get_device` turns a catalog entry into a :class:`~datagen.world.Device`. The figures
are round numbers meant to make generated scenarios realistic in their *ratios* (a Jetson Nano
is ~100x a Raspberry Pi 3 on DNN inference; a Pi has a GiB or less for weights). They were
not measured by this project; the table says where each comes from or what was assumed.

**Effective speed** (MAC/s) is the sustained batch-1 DNN inference rate, i.e. the MACs of a
reference model divided by its single-image latency in the usual deployment runtime (TFLite /
ONNX Runtime fp32 on CPUs, TensorRT fp16 on NVIDIA GPUs). It is far below the peak
arithmetic rate because batch-1 inference is memory bound.
**Memory** (bytes) is what is left for model weights once the OS and the runtime are loaded.
**Power** (W) is the whole board at idle and under full inference load.

================ ============= ========== ======= ======= =====================================
kind             speed (MAC/s) memory     idle W  busy W  source / assumption
================ ============= ========== ======= ======= =====================================
rpi3             1.5e9         512 MiB    1.9     5.1     Raspberry Pi 3B+ (4x Cortex-A53
                                                          1.4 GHz, 1 GiB): MobileNetV2 (0.30
                                                          GMAC) in ~0.2 s with fp32 TFLite on 4
                                                          threads; 1 GiB minus ~512 MiB for OS
                                                          and runtime; power as commonly
                                                          measured at the wall (~0.35 A idle,
                                                          ~1 A under 4-core load, at 5.1 V)
rpi4             4.0e9         3 GiB      2.7     6.4     Raspberry Pi 4B 4 GB (4x Cortex-A72
                                                          1.5 GHz): MobileNetV2 in ~75 ms
                                                          (fp32, 4 threads); 4 GiB minus 1 GiB;
                                                          ~0.54 A idle, ~1.28 A loaded at 5.1 V
orangepi_zero    5.0e8         256 MiB    1.0     2.5     Orange Pi Zero (Allwinner H2+, 4x
                                                          Cortex-A7 1.2 GHz, 512 MiB): assumed
                                                          1/3 of a Pi 3B+ (weaker NEON, lower
                                                          clock); half the RAM for weights;
                                                          power assumed (5 V, 0.2 A / 0.5 A)
jetson_nano      1.5e11        2 GiB      1.5     10.0    Jetson Nano 4 GB (128 Maxwell cores,
                                                          472 GFLOPS fp16 peak): NVIDIA's
                                                          published ResNet-50 rate of ~36
                                                          images/s with TensorRT fp16 x 4.1
                                                          GMAC; half the shared 4 GiB; 10 W
                                                          power mode, idle assumed
jetson_xavier_nx 5.0e11        6 GiB      3.5     15.0    Jetson Xavier NX 8 GB (384 Volta
                                                          cores, 6 TFLOPS fp16 peak = 3 TMAC/s):
                                                          assumed ~120 ResNet-50 images/s at
                                                          batch 1 with TensorRT fp16 (GPU
                                                          only); 8 GiB minus 2 GiB; 15 W mode,
                                                          idle assumed
edge_server      2.0e12        14 GiB     90.0    160.0   Assumed: an edge server with one
                                                          NVIDIA T4 (65 TFLOPS fp16 tensor
                                                          peak, 16 GiB): ~2 ms per ResNet-50
                                                          image with TensorRT fp16; 14 GiB of
                                                          the GPU for weights; host idle plus
                                                          the T4's 70 W TDP when busy
cloud_vm         1.0e13        36 GiB     60.0    250.0   Assumed: a cloud VM with one NVIDIA
                                                          A100 40 GB: ~0.4 ms per ResNet-50
                                                          image at batch 1 with TensorRT fp16;
                                                          36 GiB of the GPU for weights; A100
                                                          PCIe board power (idle ~60 W, 250 W
                                                          TDP); the VM's host is not counted
================ ============= ========== ======= ======= =====================================

Aliases: ``"rpi3b+"`` and ``"rpi3b"`` mean ``"rpi3"``; ``"rpi4b"`` means ``"rpi4"``.

**Link presets** (:func:`get_link`, :func:`star_links`) give a device's access link to the
local network: typical sustained TCP goodput (bytes/s, as :class:`~datagen.world.Link` takes
it) and one-way latency of one hop (s). Like the devices, they are typical figures, not
measurements of this project:

=========== ================== ====== ================================================
kind        bandwidth (B/s)    delay  source / assumption
=========== ================== ====== ================================================
wifi        12.5e6 (100 Mb/s)  2 ms   Wi-Fi 5 (802.11ac) client such as a Raspberry Pi
                                      4 near its access point: ~100 Mbit/s iperf3
                                      goodput; 1-3 ms one-way on an idle WLAN
ethernet    117.5e6 (940 Mb/s) 0.1 ms Gigabit Ethernet: ~940 Mbit/s TCP goodput after
                                      framing; ~0.1 ms one-way through one switch
4g_uplink   1.0e6 (8 Mb/s)     25 ms  LTE uplink: typical measured upload speeds of
                                      5-10 Mbit/s (crowd-sourced reports such as
                                      Opensignal's); ~50 ms round trip
5g_uplink   6.25e6 (50 Mb/s)   10 ms  5G NR sub-6 GHz (non-standalone) uplink: typical
                                      measured upload 30-60 Mbit/s; ~20 ms round trip
=========== ================== ====== ================================================

Aliases: ``"wi-fi"``/``"wlan"`` mean ``"wifi"``, ``"lan"``/``"gigabit"`` ``"ethernet"``,
``"4g"``/``"lte"`` ``"4g_uplink"`` and ``"5g"`` ``"5g_uplink"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from datagen.world import Device, Link

__all__ = [
    "DeviceSpec",
    "DEVICE_CATALOG",
    "LINK_CATALOG",
    "LinkPreset",
    "get_device",
    "get_link",
    "list_devices",
    "list_links",
    "star_links",
]

_MIB = 2**20
_GIB = 2**30

_Spec = TypeVar("_Spec", "DeviceSpec", "LinkPreset")


def _by_kind(*specs: _Spec) -> Mapping[str, _Spec]:
    """A read-only catalog of ``specs`` keyed by their ``kind``, in the given order."""
    return MappingProxyType({spec.kind: spec for spec in specs})


@dataclass(frozen=True)
class DeviceSpec:
    """One catalog entry.

    Args:
        kind: Catalog key, e.g. ``"rpi4"``.
        description: The hardware, in words.
        speed: Effective batch-1 DNN inference speed (MAC/s).
        memory: Memory available for model weights (bytes).
        idle_power: Board power when idle (W).
        busy_power: Board power under full inference load (W).
        source: Where the figures come from, or what was assumed.
    """

    kind: str
    description: str
    speed: float
    memory: float
    idle_power: float
    busy_power: float
    source: str


DEVICE_CATALOG: Mapping[str, DeviceSpec] = _by_kind(
    DeviceSpec(
        "rpi3",
        "Raspberry Pi 3B+, 4x Cortex-A53 @ 1.4 GHz, 1 GiB LPDDR2",
        1.5e9,
        512 * _MIB,
        1.9,
        5.1,
        "MobileNetV2 (0.30 GMAC) in ~0.2 s with fp32 TFLite on 4 threads; power as "
        "commonly measured at the wall",
    ),
    DeviceSpec(
        "rpi4",
        "Raspberry Pi 4B 4 GB, 4x Cortex-A72 @ 1.5 GHz",
        4.0e9,
        3 * _GIB,
        2.7,
        6.4,
        "MobileNetV2 in ~75 ms with fp32 TFLite on 4 threads; power as commonly measured "
        "at the wall",
    ),
    DeviceSpec(
        "orangepi_zero",
        "Orange Pi Zero, Allwinner H2+ 4x Cortex-A7 @ 1.2 GHz, 512 MiB",
        5.0e8,
        256 * _MIB,
        1.0,
        2.5,
        "assumed: 1/3 of a Raspberry Pi 3B+; power assumed (5 V, 0.2 A idle, 0.5 A busy)",
    ),
    DeviceSpec(
        "jetson_nano",
        "NVIDIA Jetson Nano 4 GB, 128 Maxwell CUDA cores, 472 GFLOPS fp16 peak",
        1.5e11,
        2 * _GIB,
        1.5,
        10.0,
        "NVIDIA's published ResNet-50 rate (~36 images/s, TensorRT fp16) x 4.1 GMAC; 10 W "
        "mode; idle assumed",
    ),
    DeviceSpec(
        "jetson_xavier_nx",
        "NVIDIA Jetson Xavier NX 8 GB, 384 Volta CUDA cores, 6 TFLOPS fp16 peak",
        5.0e11,
        6 * _GIB,
        3.5,
        15.0,
        "assumed: ~120 ResNet-50 images/s at batch 1 (TensorRT fp16, GPU only); 15 W "
        "mode; idle assumed",
    ),
    DeviceSpec(
        "edge_server",
        "Edge server with one NVIDIA T4 GPU (65 TFLOPS fp16 tensor peak, 16 GiB)",
        2.0e12,
        14 * _GIB,
        90.0,
        160.0,
        "assumed: ~2 ms per ResNet-50 image with TensorRT fp16; host idle power plus the "
        "T4's 70 W TDP when busy",
    ),
    DeviceSpec(
        "cloud_vm",
        "Cloud VM with one NVIDIA A100 40 GB GPU",
        1.0e13,
        36 * _GIB,
        60.0,
        250.0,
        "assumed: ~0.4 ms per ResNet-50 image at batch 1 with TensorRT fp16; A100 PCIe "
        "board power (idle ~60 W, 250 W TDP)",
    ),
)

_ALIASES = {"rpi3b+": "rpi3", "rpi3b": "rpi3", "rpi4b": "rpi4"}


def list_devices() -> list[str]:
    """Device kinds accepted by :func:`get_device` (aliases excluded), in catalog order."""
    return list(DEVICE_CATALOG)


def get_device(
    kind: str,
    name: str | None = None,
    *,
    capacity: int = 10,
    servers: int = 1,
    reserved_share: float = 0.0,
) -> Device:
    """Return a :class:`~datagen.world.Device` of a catalog kind.

    Args:
        kind: One of :func:`list_devices` (or an alias such as ``"rpi3b+"``).
        name: Device name (default: ``None`` = the kind).
        capacity: Capacity ``K``, requests present including those in service
            (default: ``10``).
        servers: Parallel servers (default: ``1``).
        reserved_share: Fraction of compute taken by colocated work, in [0, 1)
            (default: ``0.0``).

    Returns:
        The device, with the catalog's speed (MAC/s), memory (bytes) and power (W).

    Raises:
        ValueError: If the kind is unknown (the message lists the known kinds), or the device
            fields are invalid (:class:`~datagen.world.ScenarioError`).

    Example:
        >>> get_device("rpi4", "edge-1").speed
        4000000000.0
    """
    key = _ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if key not in DEVICE_CATALOG:
        raise ValueError(
            f"unknown device kind {kind!r}; known kinds: {list_devices()} (aliases: "
            f"{sorted(_ALIASES)})"
        )
    spec = DEVICE_CATALOG[key]
    return Device(
        name=spec.kind if name is None else name,
        speed=spec.speed,
        memory=spec.memory,
        capacity=capacity,
        servers=servers,
        kind=spec.kind,
        idle_power=spec.idle_power,
        busy_power=spec.busy_power,
        reserved_share=reserved_share,
    )


@dataclass(frozen=True)
class LinkPreset:
    """One link preset of the catalog: a device's access link to the local network.

    Args:
        kind: Catalog key, e.g. ``"wifi"``.
        description: The technology, in words.
        bandwidth: Typical sustained goodput (bytes/s).
        delay: Typical one-way latency of one hop (s).
        source: Where the figures come from, or what was assumed.
    """

    kind: str
    description: str
    bandwidth: float
    delay: float
    source: str


LINK_CATALOG: Mapping[str, LinkPreset] = _by_kind(
    # 100 Mbit/s = 12.5e6 B/s: a Raspberry Pi 4's 802.11ac goodput near the access point
    LinkPreset(
        "wifi",
        "Wi-Fi 5 (802.11ac) client near its access point",
        12.5e6,
        0.002,
        "~100 Mbit/s iperf3 goodput of a Raspberry Pi 4 class client; 1-3 ms one-way on "
        "an idle WLAN",
    ),
    # 940 Mbit/s = 117.5e6 B/s: Gigabit Ethernet TCP goodput after framing overhead
    LinkPreset(
        "ethernet",
        "Gigabit Ethernet through one switch",
        117.5e6,
        0.0001,
        "~940 Mbit/s TCP goodput after framing; ~0.1 ms one-way through one switch",
    ),
    # 8 Mbit/s = 1e6 B/s: typical measured LTE upload speed (5-10 Mbit/s)
    LinkPreset(
        "4g_uplink",
        "LTE (4G) cellular uplink",
        1.0e6,
        0.025,
        "typical crowd-sourced LTE upload speeds of 5-10 Mbit/s (e.g. Opensignal "
        "reports); ~50 ms round trip",
    ),
    # 50 Mbit/s = 6.25e6 B/s: typical measured 5G NR (sub-6 GHz, NSA) upload speed
    LinkPreset(
        "5g_uplink",
        "5G NR sub-6 GHz (non-standalone) cellular uplink",
        6.25e6,
        0.010,
        "typical measured 5G upload speeds of 30-60 Mbit/s (e.g. Opensignal reports); "
        "~20 ms round trip",
    ),
)

_LINK_ALIASES = {
    "wi-fi": "wifi",
    "wlan": "wifi",
    "gigabit": "ethernet",
    "lan": "ethernet",
    "4g": "4g_uplink",
    "lte": "4g_uplink",
    "5g": "5g_uplink",
}


def list_links() -> list[str]:
    """Link kinds accepted by :func:`get_link` (aliases excluded), in catalog order."""
    return list(LINK_CATALOG)


def _link_preset(kind: str | LinkPreset, field: str = "link") -> LinkPreset:
    if isinstance(kind, LinkPreset):
        return kind
    key = _LINK_ALIASES.get(kind.lower(), kind.lower()) if isinstance(kind, str) else kind
    if key not in LINK_CATALOG:
        raise ValueError(
            f"{field} must be a link kind of the catalog, got {kind!r}; known kinds: "
            f"{list_links()} (aliases: {sorted(_LINK_ALIASES)})"
        )
    return LINK_CATALOG[key]


def get_link(kind: str | LinkPreset, a: str, b: str) -> Link:
    """Return a :class:`~datagen.world.Link` between devices ``a`` and ``b`` of a catalog kind.

    Args:
        kind: One of :func:`list_links` (or an alias such as ``"4g"``), or a
            :class:`LinkPreset`.
        a: Name of one end device.
        b: Name of the other end device.

    Returns:
        The link, with the preset's bandwidth (bytes/s) and one-hop delay (s).

    Raises:
        ValueError: If the kind is unknown (the message lists the known kinds), or the link
            fields are invalid (:class:`~datagen.world.ScenarioError`).

    Example:
        >>> get_link("wifi", "pi-1", "pi-2").bandwidth
        12500000.0
    """
    preset = _link_preset(kind)
    return Link(a, b, bandwidth=preset.bandwidth, delay=preset.delay)


def star_links(
    devices: Sequence[str],
    link: str | LinkPreset = "wifi",
    access: Mapping[str, str | LinkPreset] | None = None,
) -> tuple[Link, ...]:
    r"""Links of a star network: every device joins one access point (switch, router, cell).

    The simulator's links join two devices directly, so the two hops of a transfer between
    devices ``i`` and ``j`` (``i`` up to the access point, then down to ``j``) become one link
    per pair, whose bandwidth is the slower access link's and whose delay is the sum of both:

    .. math::
        B_{ij} = \min(B_i, B_j), \qquad \delta_{ij} = \delta_i + \delta_j

    Transfers of different pairs do not queue behind each other (a shared medium such as
    Wi-Fi is therefore modelled optimistically).

    Args:
        devices: Device names (unique), in order.
        link: Access link of every device: a kind of :func:`list_links` or a
            :class:`LinkPreset` (default: ``"wifi"``).
        access: Per-device access links overriding ``link``, e.g. ``{"server": "ethernet"}``
            (default: ``None`` = none).

    Returns:
        One link per unordered pair of devices, ``n (n - 1) / 2`` in all (none for one
        device).

    Raises:
        ValueError: On an unknown link kind, duplicate device names, or an ``access`` key that
            is not a device.
    """
    names = [str(n) for n in devices]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"devices of a star network must be unique, got duplicates {dup}")
    default = _link_preset(link)
    access = dict(access or {})
    unknown = [k for k in access if k not in names]
    if unknown:
        raise ValueError(
            f"access names device {unknown[0]!r}, which is not in the network; known devices: "
            f"{names}"
        )
    per = {n: _link_preset(access[n], f"access[{n!r}]") if n in access else default for n in names}
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pa, pb = per[a], per[b]
            out.append(
                Link(a, b, bandwidth=min(pa.bandwidth, pb.bandwidth), delay=pa.delay + pb.delay)
            )
    return tuple(out)
