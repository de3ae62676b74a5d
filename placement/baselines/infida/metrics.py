r"""INFIDA's metrics: NTAG and model updates (spec 3.8)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from placement.baselines.infida.network import Allocation

__all__ = ["ntag", "model_updates"]


def ntag(
    gains: Sequence[float] | np.ndarray, requests: Sequence[Sequence[float]] | np.ndarray
) -> float:
    r"""Normalised time-averaged gain, INFIDA spec 3.8 [S wording, R formula].

    .. math::
        \mathrm{NTAG}=\frac{\frac1T\sum_tG_t}{\bar\lambda}=\frac{\sum_tG_t}{\sum_t\lVert
        \mathbf r_t\rVert_1}\quad\text{(1-second slots)}

    Args:
        gains: Per-slot gains, shape ``(T,)``.
        requests: Per-slot requests, shape ``(T, R)``.

    Raises:
        ValueError: On mismatched ``T`` or no requests at all.
    """
    g = np.asarray(gains, dtype=float)
    if g.ndim != 1 or len(g) < 1:
        raise ValueError(f"gains must be 1-D and cover T >= 1 slots, got shape {g.shape}")
    ra = np.asarray(requests, dtype=float)
    if len(ra) != len(g):
        raise ValueError(f"requests must cover the same T={len(g)} slots, got {len(ra)}")
    total = float(ra.sum())
    if total <= 0:
        raise ValueError("requests must contain at least one request to normalise by")
    return float(g.sum()) / total


def model_updates(
    allocations: Sequence[Allocation], *, count_initial: bool = False, per_slot: bool = False
) -> float:
    r"""Model fetches, INFIDA spec 3.8 [R].

    .. math::
        \mathrm{MU}=\sum_{t}\sum_{v,m}\mathbb 1\{x^v_{t,m}=1,\ x^v_{t-1,m}=0\}

    Args:
        allocations: Integral allocations per slot.
        count_initial: Count the first slot's models as fetched from :math:`\boldsymbol\omega`
            (default: ``False``).
        per_slot: Return the average per slot instead of the total (default: ``False``).

    Returns:
        The count (an ``int`` value) or the per-slot average.
    """
    if not allocations:
        raise ValueError("allocations must cover T >= 1 slots")
    total = 0
    prev = {v: np.zeros_like(np.asarray(a)) for v, a in allocations[0].items()}
    for t, x in enumerate(allocations):
        if t > 0 or count_initial:
            total += sum(int(np.sum((np.asarray(x[v]) > 0.5) & (prev[v] < 0.5))) for v in x)
        prev = {v: np.asarray(a) for v, a in x.items()}
    return total / len(allocations) if per_slot else total
