r"""QPART's uniform asymmetric quantizer, eqs. (9)-(10)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["QuantGrid", "quantization_grid", "quantize"]


class QuantGrid(NamedTuple):
    """A uniform asymmetric quantization grid (eq. 9)."""

    delta: float
    r"""Step :math:`\Delta`."""
    zero_point: int
    """Zero point :math:`z`."""
    levels: int
    """Number of levels :math:`2^b`."""


def quantization_grid(q_min: float, q_max: float, bits: int) -> QuantGrid:
    r"""Uniform asymmetric grid for the range ``[q_min, q_max]``, QPART eq. (9) [R, M].

    .. math::
        \mathcal Q_b=\{\Delta(k-z):k=0..2^b-1\},\quad
        \Delta=\frac{q_{\max}-q_{\min}}{2^b-1},\quad z=\mathrm{round}(-q_{\min}/\Delta)

    The range is widened to include 0 so that zero is exactly representable; a degenerate
    range gets :math:`\Delta=1`.

    Args:
        q_min: Smallest value to represent.
        q_max: Largest value to represent.
        bits: Bit width ``b >= 1``.

    Returns:
        The :class:`QuantGrid`.

    Raises:
        ValueError: If ``bits < 1`` or ``q_min > q_max``.
    """
    if int(bits) != bits or bits < 1:
        raise ValueError(f"bits must be an integer >= 1, got {bits!r}")
    if q_min > q_max:
        raise ValueError(f"q_min must be <= q_max, got {q_min} > {q_max}")
    lo, hi = min(float(q_min), 0.0), max(float(q_max), 0.0)
    levels = 2 ** int(bits)
    delta = (hi - lo) / (levels - 1) if hi > lo else 1.0
    return QuantGrid(delta, int(round(-lo / delta)), levels)


def quantize(
    x: np.ndarray, bits: int, q_min: float | None = None, q_max: float | None = None
) -> np.ndarray:
    r"""Quantize-dequantize an array on the grid of eq. (9), QPART eq. (10) [R, M].

    .. math::
        Q(x)=\Delta\,\big(\mathrm{clip}(\lfloor x/\Delta\rceil+z,\,0,\,2^b-1)-z\big)

    Args:
        x: Values to quantize.
        bits: Bit width ``b >= 1``.
        q_min: Range minimum (default: ``x.min()``).
        q_max: Range maximum (default: ``x.max()``).

    Returns:
        The dequantized values, same shape as ``x``.

    Raises:
        ValueError: If ``bits < 1``.
    """
    xa = np.asarray(x, dtype=float)
    g = quantization_grid(
        float(xa.min()) if q_min is None else q_min,
        float(xa.max()) if q_max is None else q_max,
        bits,
    )
    k = np.clip(np.rint(xa / g.delta) + g.zero_point, 0, g.levels - 1)
    return g.delta * (k - g.zero_point)
