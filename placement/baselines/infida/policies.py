r"""Allocation policies over a request trace: INFIDA, the refreshed greedy and the optimum.

Spec 3.4 (INFIDA) and 3.8 (greedy baseline, offline optimum).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from placement.baselines.infida.gain import gain, subgradient
from placement.baselines.infida.metrics import model_updates, ntag
from placement.baselines.infida.mirror import initial_allocation, mirror_step
from placement.baselines.infida.network import (
    _TOL,
    Allocation,
    BudgetMode,
    InferenceNetwork,
    ProjectionMode,
    _check_period,
)
from placement.baselines.infida.rounding import depround

__all__ = [
    "PolicyRun",
    "greedy_allocation",
    "best_allocation",
    "run_infida",
    "run_greedy",
]

# --------------------------------------------------------------------------------------------
# Baselines and offline optimum (spec 3.8)
# --------------------------------------------------------------------------------------------


def _gain_rows(
    net: InferenceNetwork,
    r: np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None,
) -> float:
    rows = r.reshape(-1, len(net.request_types))
    return sum(gain(net, row, x, capacities) for row in rows)


def greedy_allocation(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    capacities: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    r"""Cost-benefit greedy allocation (INFIDA's greedy baseline, spec 3.8) [R].

    Starting from :math:`\boldsymbol\omega`, repeatedly add the feasible pair with the largest

    .. math::
        \frac{G(\mathbf x+\mathbf e^v_m)-G(\mathbf x)}{s^v_m}

    until no feasible pair has a positive gain. Ties go to the first node, then the first model.

    Args:
        net: The network.
        r: Requests, shape ``(R,)``, or a window of slots ``(W, R)`` whose gains are summed.
        capacities: Per-type ranked capacities (default: static ones).

    Returns:
        An integral allocation.
    """
    ra = np.asarray(r, dtype=float)
    for row in ra.reshape(-1, len(net.request_types)) if ra.size else []:
        net.check_requests(row)
    x = net.empty_allocation()
    used = {v: 0.0 for v in net.nodes}
    current = _gain_rows(net, ra, x, capacities)
    while True:
        best, best_ratio, best_gain = None, 0.0, current
        for v in net.nodes:
            for m in range(len(net.models)):
                s = net.sizes[v][m]
                if x[v][m] == 1.0 or used[v] + s > net.budgets[v] + _TOL:
                    continue
                x[v][m] = 1.0
                gnew = _gain_rows(net, ra, x, capacities)
                x[v][m] = 0.0
                ratio = (gnew - current) / s
                if ratio > best_ratio + 1e-12:
                    best, best_ratio, best_gain = (v, m), ratio, gnew
        if best is None:
            return x
        x[best[0]][best[1]] = 1.0
        used[best[0]] += net.sizes[best[0]][best[1]]
        current = best_gain


def best_allocation(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    capacities: Sequence[np.ndarray] | None = None,
    max_combinations: int = 200_000,
) -> tuple[dict[str, np.ndarray], float]:
    """Best integral allocation by brute force (small instances; the regret benchmark).

    Args:
        net: The network.
        r: Requests ``(R,)`` or a trace ``(T, R)``: maximises the summed gain (the best static
            allocation in hindsight).
        capacities: Per-type ranked capacities (default: static ones).
        max_combinations: Refuse larger searches (default: ``200_000``).

    Returns:
        ``(allocation, gain)``; ties go to the first allocation in enumeration order.

    Raises:
        ValueError: If the search space exceeds ``max_combinations``.
    """
    ra = np.asarray(r, dtype=float)
    per_node = []
    for v in net.nodes:
        s, b = net.sizes[v], net.budgets[v]
        opts = [
            np.array(bits, dtype=float)
            for bits in itertools.product((0, 1), repeat=len(net.models))
            if float(s @ np.array(bits)) <= b + _TOL
        ]
        per_node.append(opts)
    total = math.prod(len(o) for o in per_node)
    if total > max_combinations:
        raise ValueError(
            f"brute force would try {total} allocations > max_combinations={max_combinations}"
        )
    best: dict[str, np.ndarray] = net.empty_allocation()
    best_gain = -math.inf
    for combo in itertools.product(*per_node):
        x = dict(zip(net.nodes, combo))
        gx = _gain_rows(net, ra, x, capacities)
        if gx > best_gain + 1e-12:
            best, best_gain = {v: a.copy() for v, a in x.items()}, gx
    return best, float(best_gain)


# --------------------------------------------------------------------------------------------
# Runners
# --------------------------------------------------------------------------------------------


class PolicyRun(NamedTuple):
    """Trajectory of an allocation policy over a request trace."""

    allocations: list[dict[str, np.ndarray]]
    """Integral allocation used in each slot."""
    gains: np.ndarray
    """Gain of the integral allocation per slot, shape ``(T,)``."""
    fractional: list[dict[str, np.ndarray]]
    r"""Fractional state per slot (INFIDA's :math:`\mathbf y_t`; equal to ``allocations`` for
    greedy)."""
    fractional_gains: np.ndarray
    """Gain of the fractional state per slot, shape ``(T,)``."""
    ntag: float
    """Normalised time-averaged gain (:func:`ntag`)."""
    updates: int
    """Model fetches (:func:`model_updates`)."""


def _check_trace(
    net: InferenceNetwork, requests: Sequence[Sequence[float]] | np.ndarray
) -> np.ndarray:
    ra = np.asarray(requests, dtype=float)
    if ra.ndim != 2 or ra.shape[1] != len(net.request_types):
        raise ValueError(f"requests must have shape (T, {len(net.request_types)}), got {ra.shape}")
    if ra.shape[0] < 1:
        raise ValueError(f"requests must cover T >= 1 slots, got T={ra.shape[0]}")
    for row in ra:
        net.check_requests(row)
    return ra


def run_infida(
    net: InferenceNetwork,
    requests: Sequence[Sequence[float]] | np.ndarray,
    eta: float,
    rng: np.random.Generator,
    *,
    refresh: int = 1,
    budget: BudgetMode = "strict",
    projection: ProjectionMode = "equality",
    capacities: Sequence[np.ndarray] | None = None,
) -> PolicyRun:
    r"""Run INFIDA at every node over a request trace (spec 3.4).

    .. code-block:: text

        y_1 = initial_allocation
        for t = 1..T:
            if (t - 1) % refresh == 0: x_t = DepRound(y_t, s)   # else x_t = x_{t-1}
            g_t = subgradient(y_t);  y_{t+1} = PROJECT(y_t * exp(eta g_t / s), s, b)

    Args:
        net: The network.
        requests: Trace :math:`\mathbf r_t`, shape ``(T, R)``, ``T >= 1``.
        eta: Step size (see :func:`optimal_step_size`).
        rng: Random generator for DepRound.
        refresh: Slots between physical re-allocations :math:`B` (default: ``1``).
        budget: DepRound budget handling (:func:`depround`); the default ``"strict"`` keeps
            every physical allocation within each node's budget (default: ``"strict"``).
        projection: Feasible set (default: ``"equality"``).
        capacities: Static per-type ranked capacities (default: the candidates' ones).

    Returns:
        The :class:`PolicyRun`.

    Raises:
        ValueError: On ``T < 1``, a bad ``refresh`` or ``eta``, or mismatched shapes.
    """
    ra = _check_trace(net, requests)
    period = _check_period("refresh", refresh)
    y = initial_allocation(net)
    x: dict[str, np.ndarray] = net.empty_allocation()
    xs, ys, gx, gy = [], [], [], []
    for t, r in enumerate(ra):
        if t % period == 0:
            x = {
                v: depround(y[v], net.sizes[v], rng, budget, net.budgets[v])
                for v in net.nodes
            }
        xs.append(x)
        ys.append(y)
        gx.append(gain(net, r, x, capacities))
        gy.append(gain(net, r, y, capacities))
        y = mirror_step(y, subgradient(net, r, y, capacities), net, eta, projection)
    return PolicyRun(xs, np.array(gx), ys, np.array(gy), ntag(gx, ra), int(model_updates(xs)))


def run_greedy(
    net: InferenceNetwork,
    requests: Sequence[Sequence[float]] | np.ndarray,
    *,
    refresh: int = 8,
    capacities: Sequence[np.ndarray] | None = None,
) -> PolicyRun:
    r"""Run the greedy baseline with refresh period :math:`B` (spec 3.8) [R].

    Slots ``0..B-1`` use :math:`\boldsymbol\omega` (nothing observed yet); at every slot
    ``t = kB`` (``k >= 1``) each node re-runs :func:`greedy_allocation` on the requests of
    slots ``t-B..t-1``.

    Args:
        net: The network.
        requests: Trace, shape ``(T, R)``, ``T >= 1``.
        refresh: Refresh period :math:`B` (default: ``8``; the paper uses 4, 8, 16).
        capacities: Static per-type ranked capacities (default: the candidates' ones).

    Returns:
        The :class:`PolicyRun` (fractional fields equal the integral ones).
    """
    ra = _check_trace(net, requests)
    period = _check_period("refresh", refresh)
    x = net.empty_allocation()
    xs, gx = [], []
    for t, r in enumerate(ra):
        if t > 0 and t % period == 0:
            x = greedy_allocation(net, ra[t - period : t], capacities)
        xs.append(x)
        gx.append(gain(net, r, x, capacities))
    g = np.array(gx)
    return PolicyRun(xs, g, xs, g, ntag(g, ra), int(model_updates(xs)))
