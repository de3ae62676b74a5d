r"""INFIDA's regret-optimal step size and regret bound (spec 3.7)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from placement.baselines.infida.network import _check_period, _finite

__all__ = ["optimal_step_size", "regret_bound"]


class _RegretTerms(NamedTuple):
    """The instance quantities both regret formulas use (spec 3.7)."""

    d: float
    r""":math:`D`, the budgets' entropy term (see :func:`optimal_step_size`)."""
    s_min: float
    """Smallest model size over all nodes."""
    s_max: float
    """Largest model size over all nodes."""
    n_nodes: int
    r""":math:`|\mathcal V|`, the number of nodes."""
    n_models: int
    r""":math:`|\mathcal M|`, the most models of one node."""


def _regret_terms(sizes: Mapping[str, np.ndarray], budgets: Mapping[str, float]) -> _RegretTerms:
    if set(sizes) != set(budgets) or not sizes:
        raise ValueError("sizes and budgets must name the same, non-empty set of nodes")
    d = 0.0
    for v, s in sizes.items():
        tot = float(np.sum(s))
        b = min(float(budgets[v]), tot)
        if b <= 0:
            raise ValueError(f"budgets[{v!r}] must be > 0, got {budgets[v]}")
        d += b * math.log(tot / b)
    allsz = np.concatenate([np.asarray(s, dtype=float) for s in sizes.values()])
    n_models = max(len(s) for s in sizes.values())
    return _RegretTerms(d, float(allsz.min()), float(allsz.max()), len(sizes), n_models)


def optimal_step_size(
    num_request_types: int,
    max_capacity: float,
    cost_gap: float,
    sizes: Mapping[str, np.ndarray],
    budgets: Mapping[str, float],
    T: int,
) -> float:
    r"""Step size minimising INFIDA's regret bound, spec 3.7 [D].

    .. math::
        \eta^*=\frac{s_{\min}}{R\,L_{\max}\,\Delta_C}\sqrt{\frac{2D}{s_{\max}|\mathcal V|
        |\mathcal M|\,T}},\quad D=\sum_v\min\{b^v,\lVert s^v\rVert_1\}\ln\frac{\lVert s^v
        \rVert_1}{\min\{b^v,\lVert s^v\rVert_1\}}

    Args:
        num_request_types: :math:`R`.
        max_capacity: :math:`L_{\max}` (requests per slot).
        cost_gap: :math:`\Delta_C`, largest cost gap between repository and cheapest model.
        sizes: Node -> model sizes.
        budgets: Node -> budget.
        T: Horizon ``>= 1``.

    Returns:
        :math:`\eta^*` (``0.0`` when every budget holds every model: nothing to learn).

    Raises:
        ValueError: On ``T < 1`` or non-positive ``R``, :math:`L_{\max}`, :math:`\Delta_C`.
    """
    T = _check_period("T", T)
    for name, val in (
        ("num_request_types", num_request_types),
        ("max_capacity", max_capacity),
        ("cost_gap", cost_gap),
    ):
        if _finite(name, val) <= 0 or math.isinf(val):
            raise ValueError(f"{name} must be finite and > 0, got {val!r}")
    t = _regret_terms(sizes, budgets)
    scale = t.s_min / (num_request_types * max_capacity * cost_gap)
    return scale * math.sqrt(2.0 * t.d / (t.s_max * t.n_nodes * t.n_models * T))


def regret_bound(
    num_request_types: int,
    max_capacity: float,
    cost_gap: float,
    sizes: Mapping[str, np.ndarray],
    budgets: Mapping[str, float],
    T: int,
) -> float:
    r"""INFIDA's :math:`\psi`-regret bound at :math:`\eta^*`, spec 3.7 [S].

    .. math::
        \psi\frac{R\,L_{\max}\Delta_C}{s_{\min}}\sqrt{2\,s_{\max}|\mathcal V||\mathcal M|\,D\,T},
        \qquad\psi=1-\tfrac1e

    Args:
        num_request_types: :math:`R`.
        max_capacity: :math:`L_{\max}`.
        cost_gap: :math:`\Delta_C`.
        sizes: Node -> model sizes.
        budgets: Node -> budget.
        T: Horizon ``>= 1``.

    Returns:
        The bound (gain units); :math:`O(\sqrt T)`.
    """
    T = _check_period("T", T)
    t = _regret_terms(sizes, budgets)
    psi = 1.0 - 1.0 / math.e
    g = num_request_types * max_capacity * cost_gap
    return psi * g / t.s_min * math.sqrt(2.0 * t.s_max * t.n_nodes * t.n_models * t.d * T)
