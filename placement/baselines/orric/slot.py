"""ORRIC's per-slot problem (Dt): pruning, the two-pointer sweep and the coefficients."""

from __future__ import annotations

import math

import numpy as np

from datagen.validation import is_int
from placement.baselines.orric.instance import Floats, _pair, _scalar

__all__ = ["prune", "select", "coefficients", "focus_shift_coefficients"]




def prune(costs: Floats, profits: Floats) -> list[int]:
    r"""Drop dominated configurations: keep those strictly better than every cheaper one.

    Sort by (cost ascending, profit descending, index) and keep a configuration iff its profit
    exceeds every profit kept so far, so that along the result both cost and profit are
    strictly ascending. :math:`O(n \log n)`.

    Args:
        costs: Cost of each configuration (MAC per sample), ``>= 0``.
        profits: Profit of each configuration (any finite numbers).

    Returns:
        Indices into the given lists of the kept configurations, in ascending cost.

    Raises:
        ValueError: On empty, mismatched, non-finite or negative-cost input.
    """
    p, c = _pair("profits", profits, "costs", costs)
    order = sorted(range(c.size), key=lambda k: (c[k], -p[k], k))
    kept: list[int] = []
    best = -math.inf
    for k in order:
        if p[k] > best:
            kept.append(k)
            best = p[k]
    return kept


def select(
    V: float,
    W: float,
    U: float,
    AT: Floats,
    AI: Floats,
    CT: Floats,
    CI: Floats,
) -> tuple[int, int] | None:
    r"""ORRIC's Algorithm 1: the best pair of (Dt) under the per-sample budget ``U``.

    .. math::
        \max_{i,j}\ V A^T_i + W A^I_j \quad\text{s.t.}\quad C^T_i + C^I_j \le U.

    Both lists are pruned on profit (:func:`prune`), so that cost and profit ascend. Then
    ``i`` sweeps the retraining list upwards while ``j`` sweeps the inference list
    downwards: for each ``i`` the best ``j`` is the largest feasible one, and that ``j`` does
    not grow with ``i``. ``i`` advances after *every* feasible pair (the stall fix), the best
    value starts at :math:`-\infty` (so zero-valued pairs count), and ties keep the first pair
    found (the cheapest retraining).

    Args:
        V: Retraining coefficient :math:`V_t`.
        W: Inference coefficient :math:`W_t`.
        U: Per-sample budget :math:`U_t = C_{(t)}/D_{(t)}` (MAC per sample).
        AT: Retraining accuracies :math:`A^T_i`.
        AI: Inference accuracies :math:`A^I_j`.
        CT: Retraining costs :math:`C^T_i` (MAC per sample), ``>= 0``.
        CI: Inference costs :math:`C^I_j` (MAC per sample), ``>= 0``.

    Returns:
        ``(i, j)``, 0-based indices into ``AT``/``CT`` and ``AI``/``CI`` as given, or
        ``None`` if no pair fits the budget.

    Raises:
        ValueError: On mismatched lengths, negative costs or non-finite numbers.
    """
    at, ct = _pair("AT", AT, "CT", CT)
    ai, ci = _pair("AI", AI, "CI", CI)
    V, W, U = _scalar("V", V), _scalar("W", W), _scalar("U", U)
    rows = prune(ct, V * at)
    cols = prune(ci, W * ai)
    i, j = 0, len(cols) - 1
    best: tuple[int, int] | None = None
    K = -math.inf
    while i < len(rows) and j >= 0:
        r, c = rows[i], cols[j]
        if ct[r] + ci[c] <= U:
            value = V * at[r] + W * ai[c]
            if value > K:
                best, K = (r, c), value
            i += 1
        else:
            j -= 1
    return best


def _check_slot(t: int, T: int) -> None:
    """Check the horizon ``T >= 1`` and the slot ``1 <= t <= T`` (integers, not booleans).

    Raises:
        ValueError: If ``T`` is not an integer ``>= 1`` or ``t`` not an integer in ``1..T``.
    """
    if not is_int(T) or T < 1:
        raise ValueError(f"T must be an integer >= 1 (the horizon), got {T!r}")
    if not is_int(t) or not 1 <= t <= T:
        raise ValueError(f"t must be an integer slot in 1..T={T}, got {t!r}")


def coefficients(
    t: int,
    T: int,
    L: float,
    D_min: float,
    D_max: float,
    AI_min: float,
    f_max: float,
    AT_max: float,
) -> tuple[float, float]:
    r"""ORRIC's (Dt) coefficients for slot ``t`` of ``T``.

    .. math::
        V_t = L\,\frac{D_{\min} A^I_{\min}}{D_{\max}} \sum_{\tau=t}^{T-1} \frac{1}{\tau},\qquad
        W_1 = f(A^T_{\max}) - L\,A^T_{\max},\qquad W_t = f(A^T_{\max})\ (t > 1).

    :math:`V_T = 0` (retraining in the last slot is worthless) and :math:`V_t` decreases in
    ``t`` (the "focus shift").

    Args:
        t: Slot, ``1 <= t <= T``.
        T: Horizon, ``>= 1``.
        L: Positive lower bound of :math:`f'(A^T_{\max})`.
        D_min: Smallest number of samples per slot, ``> 0``.
        D_max: Largest number of samples per slot, ``>= D_min``.
        AI_min: Smallest normalised inference accuracy.
        f_max: :math:`f(A^T_{\max})`, the accuracy reached by full retraining.
        AT_max: Largest retraining accuracy :math:`A^T_{\max}`.

    Returns:
        ``(V_t, W_t)``.

    Raises:
        ValueError: If ``T < 1``, ``t`` is outside ``1..T``, ``L < 0``, or the sample bounds
            are not ``0 < D_min <= D_max``.
    """
    _check_slot(t, T)
    L = _scalar("L", L)
    if L < 0:
        raise ValueError(f"L must be >= 0 (a lower bound of f'(AT_max)), got {L}")
    D_min, D_max = _scalar("D_min", D_min), _scalar("D_max", D_max)
    if not 0 < D_min <= D_max:
        raise ValueError(f"need 0 < D_min <= D_max (samples per slot), got {D_min}, {D_max}")
    AI_min, f_max, AT_max = (
        _scalar("AI_min", AI_min),
        _scalar("f_max", f_max),
        _scalar("AT_max", AT_max),
    )
    tail = math.fsum(1.0 / tau for tau in range(t, T))
    V = L * D_min * AI_min / D_max * tail
    W = f_max - L * AT_max if t == 1 else f_max
    return V, W



def _lexicographic(
    a1: np.ndarray, c1: np.ndarray, a2: np.ndarray, c2: np.ndarray, U: float
) -> tuple[int, int] | None:
    """Best ``a1`` that leaves room for the cheapest second config, then the best ``a2``."""
    room = U - c2.min()
    ok1 = np.nonzero(c1 <= room)[0]
    if ok1.size == 0:
        return None
    first = min(ok1, key=lambda k: (-a1[k], c1[k], k))
    ok2 = np.nonzero(c2 <= U - c1[first])[0]
    second = min(ok2, key=lambda k: (-a2[k], c2[k], k))
    return int(first), int(second)


def focus_shift_coefficients(t: int, T: int, W1: float) -> tuple[float, float]:
    r"""Focus-Shift's (Dt) coefficients: ORRIC's :math:`V_t` profile at the scale :math:`V_1=W_1`.

    .. math::
        V^{FS}_t = W_1\,\frac{\sum_{\tau=t}^{T-1} 1/\tau}{\sum_{\tau=1}^{T-1} 1/\tau},
        \qquad W^{FS}_t = W_1.

    ORRIC's :math:`V_t` (:func:`coefficients`) is the harmonic tail times
    :math:`L D_{\min} A^I_{\min}/D_{\max}`. The paper's Focus-Shift is ORRIC in the regime
    "limited resources, T large", where the tail (:math:`\approx\ln T`) has grown until
    retraining weighs as much as inference in the first slot; this is that regime's
    coefficient profile, normalised so that :math:`V_1 = W_1`: retraining first, then the
    focus shifts to inference along ORRIC's own profile, reaching :math:`V_T = 0`.
    (``T = 1`` gives :math:`V_1 = 0`.)

    Args:
        t: Slot, ``1 <= t <= T``.
        T: Horizon, ``>= 1``.
        W1: Inference weight (ORRIC's :math:`W_1`), ``>= 0``.

    Returns:
        ``(V_t, W_t)``.

    Raises:
        ValueError: If ``T < 1``, ``t`` is outside ``1..T`` or ``W1 < 0``.
    """
    _check_slot(t, T)
    w = _scalar("W1", W1)
    if w < 0:
        raise ValueError(f"W1 must be >= 0 (an inference weight), got {w}")
    full = math.fsum(1.0 / tau for tau in range(1, T))
    tail = math.fsum(1.0 / tau for tau in range(t, T))
    return (w * tail / full if full > 0 else 0.0), w
