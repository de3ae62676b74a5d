r"""ORRIC: online resource allocation with colocated retraining and inference.

Cai, Zhou, Huang, "Online Resource Allocation for Edge Intelligence with Colocated Model
Retraining and Inference" (arXiv 2405.16029); specification and oracles in
``shared/specs/analytical.md`` section 1.

In every slot ``t`` an edge device with compute budget :math:`C_{(t)}` (MAC) serves
:math:`D_{(t)}` samples and picks one retraining configuration ``i`` (accuracy
:math:`A^T_i`, cost :math:`C^T_i` MAC per sample) and one inference configuration ``j``
(:math:`A^I_j`, :math:`C^I_j`). The offline problem (P) is

.. math::
    \max_{x,y}\ \sum_{t=1}^T f(\bar x_t)\,A^I_{j_t}\,D_{(t)},\qquad
    \bar x_t = \frac{\sum_{\tau<t} D_{(\tau)} A^T_{i_\tau}}{\sum_{\tau<t} D_{(\tau)}},\qquad
    C^T_{i_t} + C^I_{j_t} \le U_t = C_{(t)}/D_{(t)},

with :math:`\bar x_1 := 0` by default (the model starts at :math:`f(0)`; a parameter). ORRIC
solves the per-slot relaxation (Dt), :math:`\max V_t A^T_i + W_t A^I_j` under the slot budget,
with the coefficients of :func:`coefficients`, by pruning dominated configurations
(:func:`prune`) and a two-pointer sweep (:func:`select`), in :math:`O(M+N)` per slot after
sorting.

Decisions on the spec's open points (section 5): the ``t = 1`` convention is the parameter
``x1`` (default ``0``); the per-sample retraining MACs are inputs; the competitive-ratio
formulas are not implemented, only Corollary 1's condition (:func:`corollary1_condition`),
with ``alpha`` an input.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import numpy as np

from datagen.world import Device, Placement, Scenario

__all__ = [
    "Floats",
    "Policy",
    "POLICIES",
    "OrricRun",
    "prune",
    "select",
    "coefficients",
    "objective",
    "run",
    "decide",
    "focus_shift_coefficients",
    "brute_force_opt",
    "corollary1_condition",
    "retraining_share",
    "orric_scenario",
]

#: A list of numbers: a sequence or a 1-D array.
Floats = Sequence[float] | np.ndarray

Policy = Literal[
    "orric", "inference_only", "inference_greedy", "knowledge_distillation", "focus_shift"
]
POLICIES: tuple[str, ...] = (
    "orric",
    "inference_only",
    "inference_greedy",
    "knowledge_distillation",
    "focus_shift",
)


class OrricRun(NamedTuple):
    """Result of a multi-slot run.

    Attributes:
        choices: ``(i_t, j_t)`` per slot: 0-based indices into the retraining and inference
            lists as given.
        values: Per-slot (Dt) value :math:`V_t A^T_{i_t} + W_t A^I_{j_t}` with ORRIC's
            coefficients (``nan`` for brute force).
        V: ORRIC's :math:`V_t` per slot.
        W: ORRIC's :math:`W_t` per slot.
        objective: The objective of (P) for these choices.
    """

    choices: list[tuple[int, int]]
    values: list[float]
    V: list[float]
    W: list[float]
    objective: float


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _vector(name: str, values: Floats, *, nonneg: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of numbers, got {values!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers, got {arr.tolist()}")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (costs are MAC per sample), got {arr.tolist()}")
    return arr


def _pair(
    acc_name: str, acc: Floats, cost_name: str, cost: Floats
) -> tuple[np.ndarray, np.ndarray]:
    a = _vector(acc_name, acc)
    c = _vector(cost_name, cost, nonneg=True)
    if a.size != c.size:
        raise ValueError(
            f"{acc_name} and {cost_name} must have the same length (one entry per "
            f"configuration), got {a.size} and {c.size}"
        )
    return a, c


def _scalar(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


# --------------------------------------------------------------------------------------------
# Per-slot algorithm
# --------------------------------------------------------------------------------------------


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
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1 (the horizon), got {T!r}")
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= T:
        raise ValueError(f"t must be an integer slot in 1..T={T}, got {t!r}")
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


# --------------------------------------------------------------------------------------------
# Multi-slot problem (P)
# --------------------------------------------------------------------------------------------


def objective(
    choices: Sequence[tuple[int, int]],
    AT: Floats,
    AI: Floats,
    D: Floats,
    f: Callable[[float], float],
    x1: float = 0.0,
) -> float:
    r"""Objective of (P) for a sequence of choices.

    .. math::
        \sum_{t=1}^T f(\bar x_t)\,A^I_{j_t}\,D_{(t)},\qquad
        \bar x_t = \frac{\sum_{\tau<t} D_{(\tau)} A^T_{i_\tau}}{\sum_{\tau<t} D_{(\tau)}},
        \qquad \bar x_1 = x_1.

    Args:
        choices: ``(i_t, j_t)`` per slot (0-based).
        AT: Retraining accuracies.
        AI: Inference accuracies.
        D: Samples per slot, each ``> 0``.
        f: Validation accuracy as a function of the average retraining level.
        x1: The convention for the empty average of slot 1 (default: ``0.0``).

    Returns:
        The objective (accuracy-weighted samples).

    Raises:
        ValueError: If ``len(choices) != len(D)`` or an index is out of range.
    """
    d = _samples(D)
    if len(choices) != d.size:
        raise ValueError(f"choices must have one pair per slot ({d.size}), got {len(choices)}")
    total, acc_sum, d_sum = 0.0, 0.0, 0.0
    for t, (i, j) in enumerate(choices):
        if not (0 <= i < len(AT) and 0 <= j < len(AI)):
            raise ValueError(f"choice {(i, j)} of slot {t + 1} is out of range")
        xbar = x1 if t == 0 else acc_sum / d_sum
        total += float(f(xbar)) * float(AI[j]) * float(d[t])
        acc_sum += float(d[t] * AT[i])
        d_sum += d[t]
    return total


def _samples(D: Floats) -> np.ndarray:
    d = np.asarray(D, dtype=float)
    if d.ndim != 1 or d.size < 1:
        raise ValueError(f"D must list the samples of each slot, T = len(D) >= 1, got {D!r}")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"D must hold samples per slot > 0, got {d.tolist()}")
    return d


def _budgets(C: Floats, d: np.ndarray) -> np.ndarray:
    c = np.asarray(C, dtype=float)
    if c.shape != d.shape:
        raise ValueError(f"C must have one budget per slot ({d.size}), got {np.shape(c)}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"C must hold budgets >= 0 (MAC per slot), got {c.tolist()}")
    return c / d


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
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1 (the horizon), got {T!r}")
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= T:
        raise ValueError(f"t must be an integer slot in 1..T={T}, got {t!r}")
    w = _scalar("W1", W1)
    if w < 0:
        raise ValueError(f"W1 must be >= 0 (an inference weight), got {w}")
    full = math.fsum(1.0 / tau for tau in range(1, T))
    tail = math.fsum(1.0 / tau for tau in range(t, T))
    return (w * tail / full if full > 0 else 0.0), w


def decide(
    AT: Floats,
    CT: Floats,
    AI: Floats,
    CI: Floats,
    D: Floats,
    C: Floats,
    *,
    L: float,
    f_max: float,
    policy: Policy = "orric",
    D_min: float | None = None,
    D_max: float | None = None,
) -> OrricRun:
    r"""The choices of a policy over the horizon ``T = len(D)``, without scoring them.

    Every policy solves the per-slot problem (Dt), :math:`\max V_tA^T_i+W_tA^I_j` under the
    slot budget; they differ only in their coefficients. The paper presents the heuristics as
    the regimes of ORRIC's coefficients (spec 1.6); each is the corresponding limit:

    - ``"orric"``: the paper's :math:`V_t, W_t` (:func:`coefficients`), solved by
      :func:`select`.
    - ``"inference_greedy"`` ("limited resources, T small"): the limit
      :math:`V_t/W_t\to0^+`, as the harmonic tail of :math:`V_t` vanishes: the best inference
      configuration that fits, then the best retraining configuration in the leftover budget
      (lexicographic).
    - ``"focus_shift"`` ("limited resources, T large"): :func:`focus_shift_coefficients`,
      ORRIC's :math:`V_t` profile scaled to :math:`V_1=W_1`, solved by :func:`select`.
    - ``"knowledge_distillation"`` ("sufficient resources"): the limit
      :math:`V_t/W_t\to\infty`: retraining first regardless of its cost (the best retraining
      configuration that leaves room for the cheapest inference), then the best inference
      configuration in the leftover.
    - ``"inference_only"`` ("scarce resources"): :math:`V_t=0` with retraining fixed to the
      cheapest configuration (:math:`A^T=0` in the paper's lists): the best inference
      configuration that fits.

    With the paper's :math:`L=0.01`, :math:`V_t\le L\,H_{T-1}` is far below one step of
    :math:`W_tA^I` (spec oracle O3), so ORRIC then coincides with Inference-Greedy: that is the
    paper's own regime table, not a defect.

    Args:
        AT: Retraining accuracies (e.g. the sample ratios ``(0, 0.1, ..., 1)``).
        CT: Retraining costs (MAC per sample), ``>= 0``.
        AI: Normalised inference accuracies (max 1).
        CI: Inference costs (MAC per sample), ``>= 0``.
        D: Samples per slot, ``T = len(D) >= 1``.
        C: Compute budget per slot (MAC), so :math:`U_t = C_t / D_t`.
        L: Positive lower bound of :math:`f'(A^T_{\max})` (ORRIC only).
        f_max: :math:`f(A^T_{\max})`, the accuracy after full retraining.
        policy: One of :data:`POLICIES` (default: ``"orric"``).
        D_min: Lower bound of the samples per slot (default: ``None`` = ``min(D)``).
        D_max: Upper bound of the samples per slot (default: ``None`` = ``max(D)``).

    Returns:
        An :class:`OrricRun` whose ``objective`` is ``nan`` (score it with :func:`objective`
        or a measured accuracy table).

    Raises:
        ValueError: On invalid lists, ``T < 1``, an unknown policy, or a slot whose budget is
            below the cheapest pair of configurations (the message names the slot).
    """
    at, ct = _pair("AT", AT, "CT", CT)
    ai, ci = _pair("AI", AI, "CI", CI)
    d = _samples(D)
    U = _budgets(C, d)
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    T = d.size
    fm = _scalar("f_max", f_max)
    dmin = float(d.min()) if D_min is None else D_min
    dmax = float(d.max()) if D_max is None else D_max
    cheapest = ct.min() + ci.min()
    choices: list[tuple[int, int]] = []
    values: list[float] = []
    Vs: list[float] = []
    Ws: list[float] = []
    W1 = coefficients(1, T, L, dmin, dmax, float(ai.min()), fm, float(at.max()))[1]
    for t in range(1, T + 1):
        V, W = coefficients(t, T, L, dmin, dmax, float(ai.min()), fm, float(at.max()))
        u = float(U[t - 1])
        if u < cheapest:
            raise ValueError(
                f"budget of slot {t} is below the cheapest configuration pair: C[{t - 1}] / "
                f"D[{t - 1}] = {u} < min(CT) + min(CI) = {cheapest}; raise C[{t - 1}]"
            )
        pick: tuple[int, int] | None
        if policy == "orric":
            pick = select(V, W, u, at, ai, ct, ci)
        elif policy == "focus_shift":
            V, W = focus_shift_coefficients(t, T, W1)
            pick = select(V, W, u, at, ai, ct, ci)
        elif policy == "inference_only":
            V = 0.0
            i0 = int(min(range(ct.size), key=lambda k: (ct[k], -at[k], k)))
            sub = _lexicographic(ai, ci, at[[i0]], ct[[i0]], u)
            pick = None if sub is None else (i0, sub[0])
        elif policy == "inference_greedy":
            sub = _lexicographic(ai, ci, at, ct, u)
            pick = None if sub is None else (sub[1], sub[0])
        else:
            pick = _lexicographic(at, ct, ai, ci, u)
        assert pick is not None  # the budget check above guarantees a feasible pair
        choices.append(pick)
        values.append(float(V * at[pick[0]] + W * ai[pick[1]]))
        Vs.append(V)
        Ws.append(W)
    return OrricRun(choices, values, Vs, Ws, math.nan)


def run(
    AT: Floats,
    CT: Floats,
    AI: Floats,
    CI: Floats,
    D: Floats,
    C: Floats,
    *,
    f: Callable[[float], float],
    L: float,
    policy: Policy = "orric",
    f_max: float | None = None,
    D_min: float | None = None,
    D_max: float | None = None,
    x1: float = 0.0,
) -> OrricRun:
    r"""Run a policy over the horizon ``T = len(D)`` and score it on (P).

    The choices are those of :func:`decide` (see there for the policies: ORRIC and the four
    heuristics as limits of its coefficients); the objective is :func:`objective` with ``f``.

    Args:
        AT: Retraining accuracies (e.g. the sample ratios ``(0, 0.1, ..., 1)``).
        CT: Retraining costs (MAC per sample), ``>= 0``.
        AI: Normalised inference accuracies (max 1).
        CI: Inference costs (MAC per sample), ``>= 0``.
        D: Samples per slot, ``T = len(D) >= 1``.
        C: Compute budget per slot (MAC), so :math:`U_t = C_t / D_t`.
        f: Validation accuracy as a function of the average retraining level (used for the
            objective; ORRIC itself uses only ``f_max`` and ``L``).
        L: Positive lower bound of :math:`f'(A^T_{\max})`.
        policy: One of :data:`POLICIES` (default: ``"orric"``).
        f_max: :math:`f(A^T_{\max})` (default: ``None`` = ``f(max(AT))``).
        D_min: Lower bound of the samples per slot (default: ``None`` = ``min(D)``).
        D_max: Upper bound of the samples per slot (default: ``None`` = ``max(D)``).
        x1: Convention for :math:`\bar x_1` (default: ``0.0``).

    Returns:
        The :class:`OrricRun`.

    Raises:
        ValueError: On invalid lists, ``T < 1``, an unknown policy, or a slot whose budget is
            below the cheapest pair of configurations (the message names the slot).
    """
    at = _vector("AT", AT)
    fm = f(float(at.max())) if f_max is None else _scalar("f_max", f_max)
    r = decide(AT, CT, AI, CI, D, C, L=L, f_max=fm, policy=policy, D_min=D_min, D_max=D_max)
    return r._replace(objective=objective(r.choices, at, _vector("AI", AI), _samples(D), f, x1))


def brute_force_opt(
    AT: Floats,
    CT: Floats,
    AI: Floats,
    CI: Floats,
    D: Floats,
    C: Floats,
    *,
    f: Callable[[float], float],
    x1: float = 0.0,
    max_sequences: int = 2_000_000,
) -> OrricRun:
    r"""Offline optimum of (P) by enumeration, for short horizons.

    The inference choice of a slot does not affect later slots, so for each retraining
    sequence the best inference config of slot ``t`` is the feasible one maximising
    :math:`f(\bar x_t) A^I_j` (the largest feasible accuracy when ``f >= 0``). Only the
    :math:`M^T` retraining sequences are enumerated.

    Args:
        AT: Retraining accuracies.
        CT: Retraining costs (MAC per sample).
        AI: Inference accuracies.
        CI: Inference costs (MAC per sample).
        D: Samples per slot.
        C: Compute budget per slot (MAC).
        f: Validation accuracy as a function of the average retraining level.
        x1: Convention for the slot-1 average (default: ``0.0``).
        max_sequences: Refuse instances with more retraining sequences (default: 2e6).

    Returns:
        The optimal :class:`OrricRun` (``values``, ``V`` and ``W`` are ``nan``).

    Raises:
        ValueError: On invalid input, an infeasible slot, or ``M**T > max_sequences``.
    """
    at, ct = _pair("AT", AT, "CT", CT)
    ai, ci = _pair("AI", AI, "CI", CI)
    d = _samples(D)
    U = _budgets(C, d)
    T, M = d.size, at.size
    if M**T > max_sequences:
        raise ValueError(
            f"brute force needs M**T = {M}**{T} sequences > max_sequences={max_sequences}; "
            "shorten the horizon or raise max_sequences"
        )
    # per slot and retraining config: best / worst feasible inference config (None = infeasible)
    hi: list[list[int | None]] = []
    lo: list[list[int | None]] = []
    for t in range(T):
        hi_t: list[int | None] = []
        lo_t: list[int | None] = []
        for i in range(M):
            ok = np.nonzero(ct[i] + ci <= U[t])[0]
            hi_t.append(int(min(ok, key=lambda k: (-ai[k], ci[k], k))) if ok.size else None)
            lo_t.append(int(min(ok, key=lambda k: (ai[k], ci[k], k))) if ok.size else None)
        hi.append(hi_t)
        lo.append(lo_t)
    best_val = -math.inf
    best: list[tuple[int, int]] | None = None
    for seq in itertools.product(range(M), repeat=T):
        total, acc_sum, d_sum = 0.0, 0.0, 0.0
        picks: list[tuple[int, int]] = []
        for t, i in enumerate(seq):
            if hi[t][i] is None:
                break
            fx = f(x1 if t == 0 else acc_sum / d_sum)
            j = hi[t][i] if fx >= 0 else lo[t][i]
            assert j is not None
            total += fx * ai[j] * d[t]
            picks.append((i, j))
            acc_sum += d[t] * at[i]
            d_sum += d[t]
        else:
            if total > best_val + 1e-12:
                best_val, best = total, picks
    if best is None:
        raise ValueError("no feasible sequence: some slot's budget C[t]/D[t] is below every pair")
    nan = [math.nan] * T
    return OrricRun(best, list(nan), list(nan), list(nan), float(best_val))


def corollary1_condition(T: int, f_max: float, f0: float, alpha: float) -> bool:
    r"""Corollary 1's condition under which ORRIC's tight competitive ratio beats Inference-Only.

    .. math::
        T > \frac{f(A^T_{\max}) - f(0)}{\alpha\, f(0)}.

    The ratios themselves and the meaning of :math:`\alpha` are in the paper's theorems, which
    were not available (spec 1.7): only the condition is implemented.

    Args:
        T: Horizon, ``>= 1``.
        f_max: :math:`f(A^T_{\max})`.
        f0: :math:`f(0)`, ``> 0``.
        alpha: The corollary's :math:`\alpha`, ``> 0``.

    Returns:
        Whether the condition holds.

    Raises:
        ValueError: If ``T < 1``, ``f0 <= 0`` or ``alpha <= 0``.
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    f0, alpha, f_max = _scalar("f0", f0), _scalar("alpha", alpha), _scalar("f_max", f_max)
    if f0 <= 0:
        raise ValueError(f"f0 = f(0) must be > 0, got {f0}")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return T > (f_max - f0) / (alpha * f0)


# --------------------------------------------------------------------------------------------
# Integration with the simulator / surrogate
# --------------------------------------------------------------------------------------------


def retraining_share(retrain_cost: float, budget_per_sample: float) -> float:
    r"""Share of the device's compute that retraining takes: :math:`C^T_i / U_t`.

    In slot ``t`` retraining uses :math:`D_{(t)} C^T_i` of the :math:`C_{(t)} = D_{(t)} U_t`
    MAC budget; with the budget being the device's MAC/s over the slot, retraining reserves
    that fraction of its speed.

    Args:
        retrain_cost: :math:`C^T_i` (MAC per sample), ``>= 0``.
        budget_per_sample: :math:`U_t` (MAC per sample), ``> 0``.

    Returns:
        The share, in ``[0, 1)``.

    Raises:
        ValueError: If a cost is negative, the budget is not positive, or the share is
            ``>= 1`` (nothing left for inference).
    """
    c, u = _scalar("retrain_cost", retrain_cost), _scalar("budget_per_sample", budget_per_sample)
    if c < 0:
        raise ValueError(f"retrain_cost must be >= 0, got {c}")
    if u <= 0:
        raise ValueError(f"budget_per_sample must be > 0, got {u}")
    share = c / u
    if share >= 1:
        raise ValueError(
            f"retraining would take all the compute: retrain_cost / budget = {share} >= 1; "
            "pick a cheaper retraining config or raise the budget"
        )
    return share


def orric_scenario(
    resolution: int,
    reserved_share: float,
    *,
    arrival_rate: float,
    device: str | Device = "jetson_nano",
    profile: str = "mobilenet_v2",
    dataset: str = "cifar10",
    capacity: int = 10,
    scv: float = 0.0,
    sla: float = math.inf,
    name: str = "orric",
) -> Scenario:
    """An edge scenario for one ORRIC choice: inference at a resolution next to retraining.

    The device runs the whole model (one fragment) at the chosen input resolution, whose MACs
    set the service demand, while colocated retraining reserves ``reserved_share`` of its
    MAC/s (:func:`retraining_share`), so that the simulator or a surrogate judges the latency
    and loss of the choice under load.

    Args:
        resolution: Input resolution of the inference configuration (32, 28, 24 or 20 for
            ORRIC's CIFAR-10 MobileNetV2).
        reserved_share: Share of the device's compute taken by retraining, in [0, 1).
        arrival_rate: Inference requests per second.
        device: A catalog kind (:func:`datagen.catalog.get_device`) or a Device
            (default: ``"jetson_nano"``).
        profile: Zoo profile name (default: ``"mobilenet_v2"``).
        dataset: Zoo dataset option (default: ``"cifar10"``).
        capacity: Device capacity ``K`` when ``device`` is a kind (default: ``10``).
        scv: Service-time SCV (default: ``0.0``).
        sla: Deadline (s) (default: ``inf``).
        name: Service name (default: ``"orric"``).

    Returns:
        A one-device, one-service :class:`~datagen.world.Scenario`.

    Raises:
        ValueError: On an unknown profile, resolution or device kind, or an invalid share.
    """
    from datagen.catalog import get_device
    from datagen.splitting import make_service
    from datagen.zoo import get_profile

    prof = get_profile(profile, dataset=dataset, resolution=resolution)
    if isinstance(device, Device):
        dev = Device(**{**device.__dict__, "reserved_share": float(reserved_share)})
    else:
        dev = get_device(device, capacity=capacity, reserved_share=float(reserved_share))
    svc = make_service(name, prof, "layer", arrival_rate, sla, k=1, scv=scv)
    return Scenario((dev,), (svc,), Placement({name: (dev.name,)}))
