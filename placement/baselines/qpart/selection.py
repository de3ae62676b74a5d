r"""QPART's offline pattern table (Algorithm 1) and online partition selection (Algorithm 2)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from placement.baselines.qpart._checks import _arr, _nonneg, _pos
from placement.baselines.qpart.bits import round_bits, sequential_bits
from placement.baselines.qpart.channel import sample_channel_gain, shannon_rate
from placement.baselines.qpart.cost import QPARTCost, evaluate_partition, payload_weights
from placement.baselines.qpart.params import ALPHA, LayerArrays, QPARTParams

__all__ = [
    "PatternTable",
    "QPARTDecision",
    "OnlineDecisions",
    "offline_patterns",
    "select_partition",
    "online_partitions",
]


@dataclass(frozen=True)
class PatternTable:
    r"""QPART's offline table of quantization patterns (Algorithm 1).

    Args:
        layers: The network.
        theta: Layer sensitivities :math:`\theta_i` (length ``L``).
        budgets: Accuracy-degradation level ``a`` -> noise budget ``C(a)``.
        patterns: ``(p, a)`` -> integer bit widths of layers ``1..p``.
    """

    layers: LayerArrays
    theta: np.ndarray
    budgets: Mapping[float, float]
    patterns: Mapping[tuple[int, float], np.ndarray] = field(repr=False)


def offline_patterns(
    layers: LayerArrays,
    theta: Sequence[float] | np.ndarray,
    budgets: Mapping[float, float],
    *,
    partitions: Sequence[int] | None = None,
    b_min: int = 1,
    b_max: int = 32,
    alpha: float = ALPHA,
) -> PatternTable:
    r"""Build the offline pattern table, QPART Algorithm 1 (spec 2.4) [S structure, R details].

    For every partition ``p`` and accuracy level ``a``: :math:`s_i=w_i` (:math:`i<p`),
    :math:`s_p=w_p+a_p`; bits by the sequential recursion (eq. 40), then
    :math:`\mathrm{clip}(\lceil b\rceil,b_{\min},b_{\max})`. ``p = 0`` (server only) has no
    device bits and gets an empty pattern. Cost :math:`O(L^2|A|)`.

    Args:
        layers: The network.
        theta: Calibrated sensitivities :math:`\theta_i > 0`, one per layer.
        budgets: Level ``a`` (max accuracy drop, fraction) -> :math:`C(a) > 0`.
        partitions: Device layer counts to tabulate (default: ``0..L``: both ends, ``p = 0``
            "all on the server" and ``p = L`` "all on the device", are candidates).
        b_min: Smallest width (default: ``1``).
        b_max: Largest width (default: ``32``).
        alpha: Decay per bit (default: ln 4).

    Returns:
        The :class:`PatternTable`.

    Raises:
        ValueError: On a ``theta`` of the wrong length, an empty or non-positive budget map, or
            a partition out of ``0..L``.
    """
    L = layers.num_layers
    t = _arr("theta", theta, positive=True)
    if len(t) != L:
        raise ValueError(f"theta must have one entry per layer: len(theta)={len(t)} != L={L}")
    if not budgets:
        raise ValueError("budgets must map at least one accuracy level to C(a)")
    for a, c in budgets.items():
        _nonneg("accuracy level", a)
        _pos(f"budgets[{a}]", c)
    parts = list(range(0, L + 1)) if partitions is None else [int(p) for p in partitions]
    if not parts:
        raise ValueError("partitions must not be empty")
    table: dict[tuple[int, float], np.ndarray] = {}
    for p in parts:
        if not 0 <= p <= L:
            raise ValueError(f"partitions must lie in 0..{L}, got {p}")
        for a, c in budgets.items():
            if p == 0:
                table[(p, float(a))] = np.zeros(0)
                continue
            s = payload_weights(layers.w, layers.a[p - 1], p)
            b = sequential_bits(t[:p], s, c, alpha)
            table[(p, float(a))] = round_bits(b, b_min, b_max)
    return PatternTable(layers, t, {float(k): float(v) for k, v in budgets.items()}, table)


@dataclass(frozen=True)
class QPARTDecision:
    """The pattern chosen by :func:`select_partition`.

    Args:
        p: Device layer count.
        level: Accuracy level ``a`` of the pattern.
        bits: Integer bit widths of layers ``1..p``.
        cost: Objective breakdown (:class:`QPARTCost`).
        layers: The network.
    """

    p: int
    level: float
    bits: np.ndarray
    cost: QPARTCost
    layers: LayerArrays

    @property
    def device_weight_bits(self) -> float:
        r"""Quantized weight storage of the device segment, :math:`\sum_{i\le p}w_ib_i` (bits)."""
        return self.cost.payload.weights

    @property
    def activation_bits(self) -> float:
        """Uplink activation per request, :math:`a_pb_p` (bits)."""
        return self.cost.payload.activation


def select_partition(
    table: PatternTable,
    accuracy_demand: float,
    params: QPARTParams | None = None,
    *,
    memory_bits: float = math.inf,
    input_bits: int = 32,
) -> QPARTDecision:
    r"""Choose the cheapest pattern meeting the accuracy demand, QPART Algorithm 2 (spec 2.4).

    .. math::
        (p^*,a^*)=\arg\min_{(p,a):\,a\le a_{req},\ \sum_{i\le p}w_ib_i\le M}
        \Lambda(p)+\Sigma(p)+\Gamma(p,\mathbf b_{p,a})

    The objective is evaluated by :func:`evaluate_partition` (eq. 17); ties go to the first
    pattern in table order.

    Args:
        table: The offline table.
        accuracy_demand: Largest acceptable accuracy drop :math:`a_{req}` (fraction).
        params: Device, channel and server parameters (default: Table II).
        memory_bits: Device memory :math:`M_k` for the quantized segment (bits)
            (default: ``inf``).
        input_bits: Bits per raw input element for ``p = 0`` (default: ``32``).

    Returns:
        The :class:`QPARTDecision`.

    Raises:
        ValueError: If no pattern meets the demand and the memory limit.
    """
    demand = _nonneg("accuracy_demand", accuracy_demand)
    q = params or QPARTParams()
    best: QPARTDecision | None = None
    for (p, a), bits in table.patterns.items():
        if a > demand + 1e-15:
            continue
        cost = evaluate_partition(table.layers, p, bits, q, input_bits)
        if cost.payload.weights > memory_bits:
            continue
        if best is None or cost.objective < best.cost.objective:
            best = QPARTDecision(p, a, bits, cost, table.layers)
    if best is None:
        raise ValueError(
            f"no pattern meets accuracy_demand={demand} within memory_bits={memory_bits}; "
            f"levels available: {sorted(table.budgets)}; raise the demand or the memory"
        )
    return best


class OnlineDecisions(NamedTuple):
    """Algorithm 2 run per request under a fading channel (:func:`online_partitions`)."""

    gain: np.ndarray
    r"""Channel gain :math:`h=\zeta\beta` of each request (linear), shape ``(n,)``."""
    rate: np.ndarray
    """Shannon capacity :math:`R` seen by each request (bit/s), shape ``(n,)``."""
    p: np.ndarray
    """Chosen device layer count per request, shape ``(n,)`` (int)."""
    level: np.ndarray
    """Accuracy level ``a`` of the chosen pattern per request, shape ``(n,)``."""
    objective: np.ndarray
    """Objective :math:`J` (eq. 17) of the chosen pattern per request, shape ``(n,)``."""
    decisions: tuple[QPARTDecision, ...]
    """The full decision of every request."""


def online_partitions(
    table: PatternTable,
    accuracy_demand: float,
    rng: np.random.Generator,
    num_requests: int,
    params: QPARTParams | None = None,
    *,
    bandwidth_hz: float = 20e6,
    path_gain: float = 1e-10,
    noise_psd_dbm_hz: float = -174.0,
    memory_bits: float = math.inf,
    input_bits: int = 32,
) -> OnlineDecisions:
    r"""QPART Algorithm 2 per request with a Rayleigh-fading channel (eqs. 11-13), seeded.

    Each request draws its small-scale fading :math:`\zeta\sim\mathrm{Exp}(1)`, sees the
    capacity

    .. math::
        R=B\log_2\Big(1+\frac{P\,\zeta\beta}{N_0B}\Big)

    and picks the cheapest pattern with :func:`select_partition` at that rate (the rest of
    ``params`` is fixed). The defaults (:math:`B=20` MHz, :math:`\beta=-100` dB, oracle Q4)
    give a median capacity near Table II's 200 Mbit/s.

    Args:
        table: The offline table (Algorithm 1).
        accuracy_demand: Largest acceptable accuracy drop :math:`a_{req}` (fraction).
        rng: Random generator for the fading draws.
        num_requests: Number of requests ``n >= 1``.
        params: Device, server and objective parameters; ``params.rate`` is replaced per
            request (default: Table II).
        bandwidth_hz: Bandwidth :math:`B` (Hz) (default: ``20e6``).
        path_gain: Large-scale gain :math:`\beta` (linear) (default: ``1e-10``).
        noise_psd_dbm_hz: Noise density :math:`N_0` (dBm/Hz) (default: ``-174``).
        memory_bits: Device memory for the quantized segment (bits) (default: ``inf``).
        input_bits: Bits per raw input element for ``p = 0`` (default: ``32``).

    Returns:
        The :class:`OnlineDecisions`.

    Raises:
        ValueError: If ``num_requests < 1``, on an invalid channel parameter, or if no
            pattern meets the demand (:func:`select_partition`).
    """
    if isinstance(num_requests, bool) or int(num_requests) != num_requests or num_requests < 1:
        raise ValueError(f"num_requests must be an integer >= 1, got {num_requests!r}")
    q = params or QPARTParams()
    zeta = np.asarray(sample_channel_gain(1.0, rng, size=int(num_requests)), dtype=float)
    # an exact zero draw (probability ~2^-53) would give R = 0; keep the rate positive
    zeta = np.maximum(zeta, np.finfo(float).tiny)
    gains, rates, decisions = [], [], []
    for z in zeta:
        ch = shannon_rate(bandwidth_hz, q.tx_power, path_gain, float(z), noise_psd_dbm_hz)
        d = select_partition(
            table,
            accuracy_demand,
            dataclasses.replace(q, rate=max(ch.rate, np.finfo(float).tiny)),
            memory_bits=memory_bits,
            input_bits=input_bits,
        )
        gains.append(ch.gain)
        rates.append(ch.rate)
        decisions.append(d)
    return OnlineDecisions(
        np.array(gains),
        np.array(rates),
        np.array([d.p for d in decisions], dtype=int),
        np.array([d.level for d in decisions]),
        np.array([d.cost.objective for d in decisions]),
        tuple(decisions),
    )
