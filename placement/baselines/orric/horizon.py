"""ORRIC's multi-slot problem (P): the objective, the online policies and the offline optimum."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from datagen.validation import is_int
from placement.baselines.orric.instance import (
    POLICIES,
    Floats,
    OrricRun,
    Policy,
    _instance,
    _samples,
    _scalar,
    _vector,
)
from placement.baselines.orric.slot import (
    _lexicographic,
    coefficients,
    focus_shift_coefficients,
    select,
)

__all__ = ["objective", "decide", "run", "brute_force_opt", "corollary1_condition"]


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



def decide(
    AT: Floats, CT: Floats, AI: Floats, CI: Floats, D: Floats, C: Floats,
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
    at, ct, ai, ci, d, U = _instance(AT, CT, AI, CI, D, C)
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
    AT: Floats, CT: Floats, AI: Floats, CI: Floats, D: Floats, C: Floats,
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
        AT: Retraining accuracies; the instance (``AT`` to ``C``) is that of :func:`decide`.
        CT: Retraining costs.
        AI: Inference accuracies.
        CI: Inference costs.
        D: Samples per slot.
        C: Budget per slot.
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
    AT: Floats, CT: Floats, AI: Floats, CI: Floats, D: Floats, C: Floats,
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
        AT: Retraining accuracies, as in :func:`decide`.
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
    at, ct, ai, ci, d, U = _instance(AT, CT, AI, CI, D, C)
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
    if not is_int(T) or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    f0, alpha, f_max = _scalar("f0", f0), _scalar("alpha", alpha), _scalar("f_max", f_max)
    if f0 <= 0:
        raise ValueError(f"f0 = f(0) must be > 0, got {f0}")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return T > (f_max - f0) / (alpha * f0)
