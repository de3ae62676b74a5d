r"""QPART's bit allocation: noise measure and closed-form widths, eqs. (18)-(23), (27), (39)-(40).

Noise model: Zhou et al., "Adaptive Quantization for Deep Neural Network", AAAI 2018; weights
and the output activation of layer ``i`` share the width ``b_i``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from placement.baselines.qpart._checks import _arr, _pos
from placement.baselines.qpart.params import ALPHA

__all__ = ["noise_measure", "optimal_bits", "sequential_bits", "round_bits"]


def noise_measure(
    theta: Sequence[float] | np.ndarray, bits: Sequence[float] | np.ndarray, alpha: float = ALPHA
) -> float:
    r"""Accuracy-degradation measure of a bit allocation, the constraint of eq. (23).

    .. math::
        \sum_i m_i=\sum_{i=1}^{p}\theta_ie^{-\alpha b_i},\qquad
        \theta_i=\frac{p^W_i}{t^W_i}+\frac{p^A_i}{t^A_i}

    Args:
        theta: Layer sensitivities :math:`\theta_i`.
        bits: Bit widths :math:`b_i`.
        alpha: Decay per bit (default: :data:`ALPHA` = ln 4).

    Raises:
        ValueError: On mismatched lengths or negative ``theta``.
    """
    t, b = _arr("theta", theta), np.asarray(bits, dtype=float)
    if t.shape != b.shape:
        raise ValueError(f"theta and bits must have the same length, got {len(t)} and {len(b)}")
    return float(np.sum(t * np.exp(-alpha * b)))


def _check_bits_inputs(
    theta: Sequence[float] | np.ndarray, s: Sequence[float] | np.ndarray, C: float
) -> tuple[np.ndarray, np.ndarray, float]:
    t = _arr("theta", theta, positive=True)
    sa = _arr("s", s, positive=True)
    if t.shape != sa.shape or len(t) == 0:
        raise ValueError(
            f"theta and s must be non-empty and of equal length, got {len(t)} and {len(sa)}"
        )
    return t, sa, _pos("C", C)


def optimal_bits(
    theta: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray,
    C: float,
    *,
    integer: bool = False,
    b_min: int = 1,
    b_max: int = 32,
    alpha: float = ALPHA,
) -> np.ndarray:
    r"""Closed-form bit widths minimising the payload under the noise budget, QPART eq. (27) [M, D].

    Solves :math:`\min_{\mathbf b}\sum_is_ib_i` s.t. :math:`\sum_i\theta_ie^{-\alpha b_i}\le C`
    (eq. 28); the KKT point (eq. 39) with the constraint active is

    .. math::
        b_i^*=\frac1\alpha\ln\frac{\theta_iS_p}{C\,s_i},\qquad S_p=\sum_{j\le p}s_j,

    so that :math:`\theta_ie^{-\alpha b_i}/s_i=C/S_p` for every ``i``. The objective is
    linear and the constraint convex, hence this is the global continuous optimum. With
    ``integer=True`` the bits are rounded by :func:`round_bits` (ceil, then clip).

    Args:
        theta: Layer sensitivities :math:`\theta_i > 0`.
        s: Payload weights :math:`s_i > 0` (:func:`payload_weights`).
        C: Noise budget :math:`C(a) > 0`.
        integer: Round to integers (default: ``False``).
        b_min: Smallest integer width (default: ``1``).
        b_max: Largest integer width (default: ``32``; the paper's double storage allows 64).
        alpha: Decay per bit (default: ln 4).

    Returns:
        Bit widths, shape ``(p,)`` (float; integral values when ``integer``).

    Raises:
        ValueError: On non-positive inputs, mismatched lengths or ``b_min > b_max``.
    """
    t, sa, c = _check_bits_inputs(theta, s, C)
    b = np.log(t * sa.sum() / (c * sa)) / alpha
    return round_bits(b, b_min, b_max) if integer else b


def sequential_bits(
    theta: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray,
    C: float,
    alpha: float = ALPHA,
) -> np.ndarray:
    r"""Bit widths by the paper's sequential recursion (Algorithm 1 with eq. 40) [M, D].

    .. math::
        b_p=\frac1\alpha\ln\frac{\theta_pS_p}{C\,s_p},\qquad
        b_i=b_{i+1}+\frac1\alpha\ln\frac{\theta_i\,s_{i+1}}{\theta_{i+1}\,s_i}\quad(i=p-1..1)

    Equal to :func:`optimal_bits` up to rounding error.

    Args:
        theta: Layer sensitivities.
        s: Payload weights.
        C: Noise budget.
        alpha: Decay per bit (default: ln 4).

    Returns:
        Continuous bit widths, shape ``(p,)``.

    Raises:
        ValueError: As :func:`optimal_bits`.
    """
    t, sa, c = _check_bits_inputs(theta, s, C)
    n = len(t)
    b = np.empty(n)
    b[-1] = math.log(t[-1] * sa.sum() / (c * sa[-1])) / alpha
    for i in range(n - 2, -1, -1):
        b[i] = b[i + 1] + math.log(t[i] * sa[i + 1] / (t[i + 1] * sa[i])) / alpha
    return b


def round_bits(bits: Sequence[float] | np.ndarray, b_min: int = 1, b_max: int = 32) -> np.ndarray:
    r"""Integer bit widths :math:`\mathrm{clip}(\lceil b^*\rceil,b_{\min},b_{\max})` (spec 2.2) [D].

    Rounding up keeps the noise constraint satisfied; clipping at ``b_max`` may break it (only
    when the budget asks for more than ``b_max`` bits).

    Args:
        bits: Continuous widths.
        b_min: Smallest width (default: ``1``).
        b_max: Largest width (default: ``32``).

    Returns:
        Integral widths as floats.

    Raises:
        ValueError: If ``b_min < 1`` or ``b_min > b_max``.
    """
    if b_min < 1 or b_min > b_max:
        raise ValueError(f"need 1 <= b_min <= b_max, got b_min={b_min}, b_max={b_max}")
    b = np.asarray(bits, dtype=float)
    # Tolerance so that a value such as 4.0000000001 from round-off does not become 5.
    return np.clip(np.ceil(b - 1e-9), b_min, b_max)
