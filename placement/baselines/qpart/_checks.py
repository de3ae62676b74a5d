"""Input checks shared by the QPART modules (private)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from datagen.validation import is_real


def _arr(name: str, value: Sequence[float] | np.ndarray, *, positive: bool = False) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {a.tolist()}")
    if positive and np.any(a <= 0):
        raise ValueError(f"{name} must be > 0 element-wise, got {a.tolist()}; pass positive values")
    if not positive and np.any(a < 0):
        raise ValueError(f"{name} must be >= 0 element-wise, got {a.tolist()}")
    return a


def _number(name: str, value: float, *, positive: bool) -> float:
    """``value`` as a finite float, ``> 0`` (``positive``) or ``>= 0``, or a ValueError."""
    if not is_real(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or (v <= 0 if positive else v < 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, "
                         f"got {value!r}")
    return v


def _pos(name: str, value: float) -> float:
    return _number(name, value, positive=True)


def _nonneg(name: str, value: float) -> float:
    return _number(name, value, positive=False)
