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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from datagen.world import Device

__all__ = ["DeviceSpec", "DEVICE_CATALOG", "get_device", "list_devices"]

_MIB = 2**20
_GIB = 2**30


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


DEVICE_CATALOG: Mapping[str, DeviceSpec] = MappingProxyType(
    {
        spec.kind: spec
        for spec in (
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
    }
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
