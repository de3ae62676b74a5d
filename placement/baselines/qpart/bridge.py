r"""Bridge from QPART to the world model: the 6-FC profile, devices and a two-fragment scenario.

The simulator can then judge the chosen partition under queueing load, which QPART's cost
model ignores.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from datagen.devices import Device, Link
from datagen.scenario import Placement, Scenario
from datagen.services import DNNProfile, Fragment, LayerProfile, Service
from datagen.zoo import get_profile
from placement.baselines.qpart.cost import linear_macs, segment_macs
from placement.baselines.qpart.params import QPART_MLP_WIDTHS, LayerArrays, QPARTParams
from placement.baselines.qpart.selection import QPARTDecision

__all__ = [
    "qpart_mlp_profile",
    "get_qpart_profile",
    "layer_arrays",
    "qpart_devices",
    "qpart_scenario",
]


def qpart_mlp_profile(
    widths: Sequence[int] = QPART_MLP_WIDTHS, accuracy: float = 0.9619
) -> DNNProfile:
    """A bias-free MLP as a :class:`~datagen.DNNProfile`, QPART's 6-FC network by default [A].

    With the default widths this is the zoo's ``qpart_mlp`` (one home for the profile: the
    zoo); other widths build the same kind of network: :math:`o_l=w_l=n_{l-1}n_l` (eq. 1),
    :math:`a_l=n_l`.

    Args:
        widths: Layer widths, input first (default: 784-512-256-128-64-32-10).
        accuracy: Float accuracy (default: ``0.9619``, "No Opt." in QPART Table III).

    Returns:
        The profile ``"qpart_mlp"``.

    Raises:
        ValueError: If fewer than two widths are given or a width is < 1.
    """
    if len(widths) < 2:
        raise ValueError(
            f"widths needs an input and at least one layer, got {list(widths)}; pass e.g. "
            f"{list(QPART_MLP_WIDTHS)}"
        )
    if tuple(int(w) for w in widths) == QPART_MLP_WIDTHS:
        zoo = get_qpart_profile()
        return zoo if accuracy == zoo.accuracy else dataclasses.replace(zoo, accuracy=accuracy)
    layers = tuple(
        LayerProfile(f"fc{i + 1}", "linear", linear_macs(n_in, n_out), n_in * n_out, n_out)
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:]))
    )
    return DNNProfile("qpart_mlp", layers, accuracy, input_elems=int(widths[0]))


def get_qpart_profile() -> DNNProfile:
    """QPART's 6-FC MNIST network, ``datagen.zoo.get_profile("qpart_mlp")``.

    Returns:
        The zoo profile (575,808 MAC and weights, accuracy 0.9619).
    """
    return get_profile("qpart_mlp")


def layer_arrays(profile: DNNProfile) -> LayerArrays:
    """QPART's per-layer arrays from a DNN profile.

    QPART layers are the layers with weights. A weightless layer (activation, pooling) is
    folded into the preceding weighted layer: its MACs are added and its output becomes that
    layer's transmitted activation. Leading weightless layers are folded into the first one.

    Args:
        profile: A DNN profile.

    Returns:
        The :class:`LayerArrays` (``a0`` from ``profile.input_elems``).

    Raises:
        ValueError: If the profile has no weighted layer.
    """
    w: list[float] = []
    a: list[float] = []
    o: list[float] = []
    pending_macs = 0.0
    for layer in profile.layers:
        if layer.params > 0:
            w.append(layer.params)
            a.append(layer.out_elems)
            o.append(layer.macs + pending_macs)
            pending_macs = 0.0
        elif w:
            o[-1] += layer.macs
            a[-1] = layer.out_elems
        else:
            pending_macs += layer.macs
    if not w:
        raise ValueError(f"profile {profile.name!r} has no layer with weights; QPART needs one")
    bpe = profile.layers[0].bytes_per_elem
    return LayerArrays(np.array(w), np.array(a), np.array(o), profile.input_elems, bpe)


def qpart_devices(
    params: QPARTParams | None = None,
    *,
    device_capacity: int = 10,
    server_capacity: int = 10,
    device_memory: float = math.inf,
    link_delay: float = 0.0,
) -> tuple[Device, Device, Link]:
    """World-model device, server and link matching QPART's parameters.

    Speeds are :math:`f_d/c_d` and :math:`f_s/c_s` MAC/s; the link carries :math:`R/8`
    bytes/s.

    Args:
        params: QPART parameters (default: Table II).
        device_capacity: Device capacity ``K`` (default: ``10``).
        server_capacity: Server capacity ``K`` (default: ``10``).
        device_memory: Device memory (bytes) (default: ``inf``).
        link_delay: Propagation delay (s) (default: ``0``).

    Returns:
        ``(device, server, link)`` named ``"qpart_device"``, ``"qpart_server"``.
    """
    q = params or QPARTParams()
    dev = Device(
        "qpart_device",
        q.f_d / q.c_d,
        memory=device_memory,
        capacity=device_capacity,
        kind="qpart_device",
    )
    srv = Device("qpart_server", q.f_s / q.c_s, capacity=server_capacity, kind="edge_server")
    return dev, srv, Link(dev.name, srv.name, q.rate / 8.0, link_delay)


def qpart_scenario(
    decision: QPARTDecision,
    device: Device,
    server: Device,
    link: Link | None,
    arrival_rate: float,
    *,
    name: str = "qpart",
    sla: float = math.inf,
    scv: float = 0.0,
    input_bits: int = 32,
    accuracy: float | None = None,
) -> Scenario:
    r"""Turn a QPART decision into a two-fragment device -> server :class:`~datagen.Scenario`.

    Fragment ``f0`` (layers ``1..p``) runs on ``device``: MACs :math:`O_1(p)`, weights
    :math:`\lceil\sum_{i\le p}w_ib_i/8\rceil` bytes (quantized), output
    :math:`\lceil a_pb_p/8\rceil` bytes. Fragment ``f1`` (layers ``p+1..L``) runs on
    ``server``: MACs :math:`O_2(p)`, unquantized weights, output :math:`a_L` elements. Requests
    originate at ``device``. With ``p = 0`` the service is the server fragment alone and the raw
    input (:math:`a_0` x ``input_bits``) crosses the link; with ``p = L`` it is the device
    fragment alone. Unlike QPART's objective, the model download :math:`D^W` is a one-off
    deployment cost and does not load the link per request.

    Args:
        decision: Output of :func:`select_partition`.
        device: The end device.
        server: The edge server.
        link: The device-server link, or ``None`` for instantaneous transfers.
        arrival_rate: Request rate (requests/s).
        name: Service name (default: ``"qpart"``).
        sla: Deadline (s) (default: ``inf``).
        scv: Service-time SCV (default: ``0``, deterministic).
        input_bits: Bits per raw input element (default: ``32``).
        accuracy: Accuracy of the quantized model, if known (default: ``None``).

    Returns:
        A validated :class:`~datagen.Scenario`.

    Raises:
        ValueError: If the device memory cannot hold the quantized segment, or on any invalid
            world-model field (:class:`~datagen.ScenarioError`).
    """
    lay, p = decision.layers, decision.p
    seg = segment_macs(lay.o, p)
    frags: list[Fragment] = []
    hosts: list[str] = []
    if p > 0:
        frags.append(
            Fragment(
                "f0",
                seg.device,
                math.ceil(decision.device_weight_bits / 8),
                math.ceil(decision.activation_bits / 8),
            )
        )
        hosts.append(device.name)
    if p < lay.num_layers:
        bpe = lay.weight_bytes_per_elem
        frags.append(
            Fragment(f"f{len(frags)}", seg.server, int(lay.w[p:].sum()) * bpe, int(lay.a[-1]) * bpe)
        )
        hosts.append(server.name)
    svc = Service(
        name,
        tuple(frags),
        arrival_rate,
        sla=sla,
        scv=scv,
        profile="qpart_mlp",
        accuracy=accuracy,
        source=device.name,
        input_bytes=math.ceil(lay.a0 * input_bits / 8) if p == 0 else 0,
    )
    return Scenario(
        (device, server), (svc,), Placement({name: tuple(hosts)}), () if link is None else (link,)
    )
