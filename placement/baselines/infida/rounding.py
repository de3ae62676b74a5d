r"""Size-weighted dependent rounding (DepRound) of a fractional allocation (spec 3.6)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from placement.baselines.infida.network import _TOL, BudgetMode, _finite

__all__ = ["depround"]


def depround(
    y: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray | None,
    rng: np.random.Generator,
    budget: BudgetMode = "strict",
    size_budget: float | None = None,
) -> np.ndarray:
    r"""Dependent rounding of a fractional allocation, size-weighted (spec 3.6) [S use, D variant].

    While two coordinates :math:`i\ne j` are fractional:

    .. math::
        a=\min\Big(1-y_i,\ \frac{s_j}{s_i}y_j\Big),\quad c=\min\Big(y_i,\ \frac{s_j}{s_i}(1-y_j)
        \Big);\quad
        \begin{cases}y_i\mathrel{+}=a,\ y_j\mathrel{-}=\frac{s_i}{s_j}a & \text{w.p. }
        \frac{c}{a+c}\\ y_i\mathrel{-}=c,\ y_j\mathrel{+}=\frac{s_i}{s_j}c & \text{otherwise}
        \end{cases}

    Each step keeps :math:`\sum s_my_m` and :math:`\mathbb E[y]`, and makes one coordinate
    integral. ``"strict"`` pairs the coordinates in a random order (one permutation per call),
    so which coordinate is left over is not tied to its index; ``"expected"`` pairs the two
    lowest-index fractional coordinates, as spec 3.6 does. With unit sizes and an integral budget
    nothing fractional remains. Otherwise one coordinate :math:`k` may remain, and the
    integral part then weighs :math:`\sum s_my_m-s_ky_k`:

    * ``budget="strict"`` (default): :math:`k` is drawn as a Bernoulli of :math:`y_k` only if
      it still fits (integral part :math:`+\,s_k\le` ``size_budget``), otherwise it is dropped.
      The result never exceeds ``size_budget``; :math:`k`'s marginal is biased down by at
      most :math:`y_k` (when the fractional point saturates the budget, as INFIDA's equality
      projection does, :math:`k` is always dropped).
    * ``budget="expected"``: :math:`k` is always a Bernoulli draw (exact marginals, spec O8),
      so the size can exceed the budget by less than :math:`s_{\max}`. Exact marginals and a
      hard budget cannot both hold in general (e.g. sizes (1, 2), budget 2,
      :math:`y=(0.5, 0.75)`): use this mode only to study the textbook rounding.

    Args:
        y: Fractional allocation in [0, 1], shape ``(M,)``.
        s: Sizes :math:`s_m>0`, shape ``(M,)`` (default: ``None`` = unit sizes, the classic
            DepRound).
        rng: Random generator.
        budget: ``"strict"`` or ``"expected"`` (default: ``"strict"``).
        size_budget: Budget :math:`b` the result must respect in ``"strict"`` mode (size units)
            (default: ``None`` = :math:`\sum_ms_my_m`, the fractional point's own size).

    Returns:
        A 0/1 vector (float dtype), shape ``(M,)``; in ``"strict"`` mode
        :math:`\sum_ms_mx_m\le` ``size_budget``.

    Raises:
        ValueError: On entries outside [0, 1], mismatched lengths, non-positive sizes, an
            unknown ``budget``, or a ``size_budget`` below the fractional size
            :math:`\sum_ms_my_m`.
    """
    ya = np.array(y, dtype=float)
    if ya.ndim != 1 or np.any(ya < -_TOL) or np.any(ya > 1 + _TOL) or not np.all(np.isfinite(ya)):
        raise ValueError(f"y must be a 1-D vector in [0, 1], got {ya.tolist()}")
    sa = np.ones_like(ya) if s is None else np.asarray(s, dtype=float)
    if sa.shape != ya.shape or np.any(sa <= 0):
        raise ValueError(f"s must have the shape of y and be > 0, got {sa.tolist()}")
    if budget not in ("expected", "strict"):
        raise ValueError(f"budget must be 'expected' or 'strict', got {budget!r}")
    ya = np.clip(ya, 0.0, 1.0)
    size = float(sa @ ya)
    limit = size if size_budget is None else _finite("size_budget", size_budget)
    if limit < size - _TOL * max(1.0, size):
        raise ValueError(
            f"size_budget={size_budget!r} is below the fractional size sum(s * y)={size:.6g}; "
            "project y onto the budget first (mirror_step) or raise size_budget"
        )

    def snap(k: int) -> None:
        if ya[k] < _TOL:
            ya[k] = 0.0
        elif ya[k] > 1 - _TOL:
            ya[k] = 1.0

    for k in range(len(ya)):
        snap(k)
    # the textbook variant pairs the lowest-index coordinates (spec O8); the strict one pairs
    # in a random order so that the dropped leftover is not always the same model
    order = np.arange(len(ya)) if budget == "expected" else rng.permutation(len(ya))
    while True:
        frac = order[(ya[order] > 0.0) & (ya[order] < 1.0)]
        if len(frac) < 2:
            break
        i, j = int(frac[0]), int(frac[1])
        ratio = sa[j] / sa[i]
        a = min(1.0 - ya[i], ratio * ya[j])
        c = min(ya[i], ratio * (1.0 - ya[j]))
        if rng.random() < c / (a + c):
            ya[i] += a
            ya[j] -= a / ratio
        else:
            ya[i] -= c
            ya[j] += c / ratio
        snap(i)
        snap(j)
    for k in np.flatnonzero((ya > 0.0) & (ya < 1.0)).tolist():
        up = rng.random() < ya[k]
        if budget == "strict":
            ya[k] = 0.0  # the integral part alone decides whether k still fits
            up = up and float(sa @ ya) + sa[k] <= limit + _TOL * max(1.0, limit)
        ya[k] = float(up)
    return ya
