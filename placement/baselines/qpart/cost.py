r"""QPART's cost model: computation, payload, transmission and the joint objective.

Equations (1)-(8) and (14)-(17), (24)-(26) of the paper as reconstructed in
``shared/specs/analytical.md`` section 2.2. Downlink in :math:`E^{tx}`: ``tx_energy="total"``
(default) counts weights and activation (oracle Q3); ``"uplink"`` counts only the activation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from datagen import layers as _layers
from placement.baselines.qpart._checks import _arr, _nonneg, _pos
from placement.baselines.qpart.params import Convention, LayerArrays, QPARTParams

__all__ = [
    "SegmentMACs",
    "Payload",
    "QPARTCost",
    "linear_macs",
    "conv_macs",
    "device_layer_count",
    "segment_macs",
    "local_time",
    "local_energy",
    "server_time",
    "server_cost",
    "payload_weights",
    "payload_sizes",
    "transmission",
    "local_cost",
    "server_side_cost",
    "transmission_cost",
    "evaluate_partition",
]

# --------------------------------------------------------------------------------------------
# Eqs (1)-(8): computation
# --------------------------------------------------------------------------------------------


def linear_macs(n_in: int, n_out: int) -> int:
    r"""MACs of a fully connected layer, QPART eq. (1) (bias ignored).

    Validates and delegates to :func:`datagen.layers.linear_macs` (one implementation).

    .. math::
        o_l = n_{l-1}\,n_l

    Args:
        n_in: Fan-in :math:`n_{l-1}`.
        n_out: Fan-out :math:`n_l`.

    Returns:
        MACs per inference (MAC).

    Raises:
        ValueError: If a width is < 1.
    """
    for name, v in (("n_in", n_in), ("n_out", n_out)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return _layers.linear_macs(int(n_in), int(n_out))


def conv_macs(c_in: int, c_out: int, k_h: int, k_w: int, h: int, w: int) -> int:
    r"""MACs of a convolution layer, QPART eq. (2) (output spatial size ``h x w``).

    Validates and delegates to :func:`datagen.layers.conv2d_macs` (one implementation).

    .. math::
        o_l = C^{in}_l\,C^{out}_l\,K^h_l\,K^w_l\,H_l\,W_l

    Args:
        c_in: Input channels.
        c_out: Output channels.
        k_h: Kernel height.
        k_w: Kernel width.
        h: Output height (equal to the input height for stride 1, same padding).
        w: Output width.

    Returns:
        MACs per inference (MAC).

    Raises:
        ValueError: If any argument is < 1.
    """
    args = {"c_in": c_in, "c_out": c_out, "k_h": k_h, "k_w": k_w, "h": h, "w": w}
    for name, v in args.items():
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return _layers.conv2d_macs(int(c_in), int(c_out), (int(k_h), int(k_w)), (int(h), int(w)))


def device_layer_count(p: int, num_layers: int, convention: Convention = "through_p") -> int:
    """Number of layers run on the device for partition point ``p`` (spec 2.1, open point).

    ``"through_p"``: layers ``1..p`` on the device (``p`` in ``0..L``). ``"before_p"``: layers
    ``1..p-1`` (``p`` in ``1..L+1``).

    Args:
        p: Partition point.
        num_layers: ``L``.
        convention: Index base (default: ``"through_p"``).

    Returns:
        The device layer count ``n`` in ``0..L``.

    Raises:
        ValueError: If ``p`` is out of range or the convention is unknown.
    """
    if convention == "through_p":
        n = p
    elif convention == "before_p":
        n = p - 1
    else:
        raise ValueError(f"convention must be 'through_p' or 'before_p', got {convention!r}")
    if int(p) != p or not 0 <= n <= num_layers:
        raise ValueError(
            f"p must give 0..{num_layers} device layers under convention {convention!r}, got p={p}"
        )
    return int(n)


class SegmentMACs(NamedTuple):
    """Compute of the two segments (MAC)."""

    device: float
    """:math:`O_1(p)`, eq. (3)."""
    server: float
    """:math:`O_2(p)`, eq. (4)."""


def segment_macs(o: Sequence[float] | np.ndarray, p: int) -> SegmentMACs:
    r"""Split the per-layer MACs at ``p`` (``p`` = device layer count), QPART eqs. (3)-(4).

    .. math::
        O_1(p)=\sum_{l=1}^{p}o_l,\qquad O_2(p)=\sum_{l=p+1}^{L}o_l

    Args:
        o: Per-layer MACs (MAC).
        p: Device layer count in ``0..L``.

    Returns:
        The :class:`SegmentMACs`.

    Raises:
        ValueError: If ``o`` is negative or ``p`` out of range.
    """
    oa = _arr("o", o)
    if int(p) != p or not 0 <= p <= len(oa):
        raise ValueError(f"p must be in 0..{len(oa)}, got {p}")
    return SegmentMACs(float(oa[:p].sum()), float(oa[p:].sum()))


def local_time(macs: float, c_d: float, f_d: float) -> float:
    r"""Device compute time, QPART eq. (5): :math:`T^{loc}=c_d\,O_1(p)/f_d` (s).

    Args:
        macs: :math:`O_1(p)` (MAC).
        c_d: Cycles per MAC.
        f_d: Clock (Hz).

    Raises:
        ValueError: On negative MACs or non-positive ``c_d``/``f_d``.
    """
    return _nonneg("macs", macs) * _pos("c_d", c_d) / _pos("f_d", f_d)


def local_energy(macs: float, c_d: float, f_d: float, kappa_d: float) -> float:
    r"""Device compute energy, QPART eq. (6), energy per cycle :math:`\kappa f^2` (J).

    .. math::
        E^{loc}=\kappa_d f_d^2\,c_d\,O_1(p)

    Raises:
        ValueError: On negative MACs or ``kappa_d``, or non-positive ``c_d``/``f_d``.
    """
    return (
        _nonneg("kappa_d", kappa_d)
        * _pos("f_d", f_d) ** 2
        * _pos("c_d", c_d)
        * _nonneg("macs", macs)
    )


def server_time(macs: float, c_s: float, f_s: float) -> float:
    r"""Server compute time, QPART eq. (7): :math:`T^{ser}=c_s\,O_2(p)/f_s` (s).

    Raises:
        ValueError: On negative MACs or non-positive ``c_s``/``f_s``.
    """
    return _nonneg("macs", macs) * _pos("c_s", c_s) / _pos("f_s", f_s)


def server_cost(t_ser: float, mu: float) -> float:
    r"""Server rental cost, QPART eq. (8): :math:`\mathrm{Cost}^{ser}=\mu\,T^{ser}`.

    Raises:
        ValueError: On a negative time or price.
    """
    return _nonneg("mu", mu) * _nonneg("t_ser", t_ser)


class Payload(NamedTuple):
    """Transmitted payload of eq. (14) (bits)."""

    weights: float
    r""":math:`D^W(p,\mathbf b)=\sum_{i\le p}w_ib_i`."""
    activation: float
    r""":math:`D^A(p,\mathbf b)=a_pb_p`."""
    total: float
    """:math:`D^W+D^A`."""


def payload_weights(w: Sequence[float] | np.ndarray, a_p: float, p: int) -> np.ndarray:
    """Payload weights :math:`s_i` of eq. (26): :math:`s_i=w_i` (:math:`i<p`), :math:`s_p=w_p+a_p`.

    Args:
        w: Per-layer weight counts (at least ``p`` entries).
        a_p: Output activation elements of layer ``p``.
        p: Device layer count ``>= 1``.

    Returns:
        ``s`` of length ``p``.

    Raises:
        ValueError: If ``p`` is out of range.
    """
    wa = _arr("w", w)
    if int(p) != p or not 1 <= p <= len(wa):
        raise ValueError(f"p must be in 1..{len(wa)}, got {p}")
    s = wa[:p].copy()
    s[-1] += _nonneg("a_p", a_p)
    return s


def payload_sizes(
    layers: LayerArrays, p: int, bits: Sequence[float] | np.ndarray, input_bits: int = 32
) -> Payload:
    r"""Transmitted bits for partition ``p`` and bit widths ``bits``, QPART eq. (14) [R, M].

    .. math::
        D^W(p,\mathbf b)=\sum_{i=1}^{p}w_ib_i,\qquad D^A(p,\mathbf b)=a_p\,b_p

    For ``p = 0`` (everything on the server) the raw input is sent: :math:`D^A=a_0\cdot`
    ``input_bits``.

    Args:
        layers: The network.
        p: Device layer count in ``0..L``.
        bits: Bit widths of layers ``1..p``.
        input_bits: Bits per raw input element for ``p = 0`` (default: ``32``).

    Returns:
        The :class:`Payload` (bits).

    Raises:
        ValueError: If ``len(bits) != p`` or ``p`` is out of range.
    """
    b = _arr("bits", bits)
    if int(p) != p or not 0 <= p <= layers.num_layers:
        raise ValueError(f"p must be in 0..{layers.num_layers}, got {p}")
    if len(b) != p:
        raise ValueError(f"bits must have one entry per device layer: len(bits)={len(b)} != p={p}")
    if p == 0:
        act = float(layers.a0) * input_bits
        return Payload(0.0, act, act)
    dw = float(np.dot(layers.w[:p], b))
    da = float(layers.a[p - 1] * b[-1])
    return Payload(dw, da, dw + da)


def transmission(payload: Payload, params: QPARTParams) -> tuple[float, float]:
    r"""Transmission latency and energy, QPART eqs. (15)-(16) [R, M / L-M].

    .. math::
        T^{tx}=\frac{D^W+D^A}{R},\qquad E^{tx}=P\,T^{tx}\ \text{(total)}\ \text{or}\
        P\,\frac{D^A}{R}\ \text{(uplink)}

    Args:
        payload: Payload of eq. (14).
        params: Channel and power parameters; ``params.tx_energy`` picks the energy form.

    Returns:
        ``(T_tx, E_tx)`` in (s, J).
    """
    t_tx = payload.total / params.rate
    bits = payload.total if params.tx_energy == "total" else payload.activation
    return t_tx, params.tx_power * bits / params.rate


# --------------------------------------------------------------------------------------------
# Eqs (17), (24)-(26): objective
# --------------------------------------------------------------------------------------------


def local_cost(o1: float, params: QPARTParams) -> float:
    r"""Local term of the reformulated objective, QPART eq. (24) [M-H].

    .. math::
        \Lambda(p)=\Big(\omega_T\frac{c_d}{f_d}+\omega_E\kappa_dc_df_d^2\Big)O_1(p)
    """
    q = params
    return (q.w_time * q.c_d / q.f_d + q.w_energy * q.kappa_d * q.c_d * q.f_d**2) * _nonneg(
        "o1", o1
    )


def server_side_cost(o2: float, params: QPARTParams) -> float:
    r"""Server term of the reformulated objective, QPART eq. (25) [M-H].

    .. math::
        \Sigma(p)=(\omega_T+\omega_C\mu)\,c_s\,O_2(p)/f_s
    """
    q = params
    return (q.w_time + q.w_cost * q.mu) * q.c_s * _nonneg("o2", o2) / q.f_s


def transmission_cost(payload_bits: float, params: QPARTParams) -> float:
    r"""Transmission term of the reformulated objective, QPART eq. (26) [M].

    .. math::
        \Gamma(p,\mathbf b)=(\omega_T+\omega_EP)\,\frac{\sum_{i\le p}s_ib_i}{R}

    ``payload_bits`` is :math:`\sum_i s_ib_i=D^W+D^A`. Exact for ``tx_energy="total"``; with
    ``"uplink"`` use :func:`evaluate_partition`, whose ``objective`` follows eq. (17).
    """
    q = params
    return (q.w_time + q.w_energy * q.tx_power) * _nonneg("payload_bits", payload_bits) / q.rate


class QPARTCost(NamedTuple):
    """Every term of QPART's objective for one ``(p, b)`` (eqs. 3-8, 14-17, 24-26)."""

    p: int
    """Device layer count."""
    o1: float
    """Device MACs :math:`O_1` (MAC)."""
    o2: float
    """Server MACs :math:`O_2` (MAC)."""
    t_loc: float
    """Device time (s), eq. (5)."""
    e_loc: float
    """Device energy (J), eq. (6)."""
    t_ser: float
    """Server time (s), eq. (7)."""
    cost_ser: float
    """Server cost, eq. (8)."""
    payload: Payload
    """Payload (bits), eq. (14)."""
    t_tx: float
    """Transmission time (s), eq. (15)."""
    e_tx: float
    """Transmission energy (J), eq. (16)."""
    objective: float
    """:math:`J`, eq. (17)."""
    lam: float
    r""":math:`\Lambda(p)`, eq. (24)."""
    sigma: float
    r""":math:`\Sigma(p)`, eq. (25)."""
    gamma: float
    r""":math:`\Gamma(p,\mathbf b)`, eq. (26)."""

    @property
    def latency(self) -> float:
        """End-to-end latency ignoring queueing, :math:`T^{loc}+T^{tx}+T^{ser}` (s)."""
        return self.t_loc + self.t_tx + self.t_ser


def evaluate_partition(
    layers: LayerArrays,
    p: int,
    bits: Sequence[float] | np.ndarray,
    params: QPARTParams | None = None,
    input_bits: int = 32,
) -> QPARTCost:
    r"""Evaluate QPART's joint objective for device layer count ``p`` and bits ``b``, eq. (17).

    .. math::
        J=\omega_T(T^{loc}+T^{tx}+T^{ser})+\omega_E(E^{loc}+E^{tx})+\omega_C\,
        \mathrm{Cost}^{ser}

    With ``tx_energy="total"``, :math:`J=\Lambda(p)+\Sigma(p)+\Gamma(p,\mathbf b)` (eq. 23).

    Args:
        layers: The network.
        p: Device layer count in ``0..L``.
        bits: Bit widths of layers ``1..p``.
        params: Parameters (default: Table II, :class:`QPARTParams`).
        input_bits: Bits per raw input element when ``p = 0`` (default: ``32``).

    Returns:
        The :class:`QPARTCost`.

    Raises:
        ValueError: If ``p`` or ``bits`` are inconsistent with ``layers``.
    """
    q = params or QPARTParams()
    seg = segment_macs(layers.o, p)
    t_loc = local_time(seg.device, q.c_d, q.f_d)
    e_loc = local_energy(seg.device, q.c_d, q.f_d, q.kappa_d)
    t_ser = server_time(seg.server, q.c_s, q.f_s)
    c_ser = server_cost(t_ser, q.mu)
    pay = payload_sizes(layers, p, bits, input_bits)
    t_tx, e_tx = transmission(pay, q)
    j = q.w_time * (t_loc + t_tx + t_ser) + q.w_energy * (e_loc + e_tx) + q.w_cost * c_ser
    return QPARTCost(
        int(p),
        seg.device,
        seg.server,
        t_loc,
        e_loc,
        t_ser,
        c_ser,
        pay,
        t_tx,
        e_tx,
        j,
        local_cost(seg.device, q),
        server_side_cost(seg.server, q),
        transmission_cost(pay.total, q),
    )
