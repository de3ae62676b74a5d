r"""INFIDA's serving cost, allocation gain and subgradient (spec 3.2-3.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from placement.baselines.infida.network import (
    _TOL,
    Allocation,
    InferenceNetwork,
    RequestType,
    _capacities,
    _effective,
)

__all__ = ["served_amounts", "serving_cost", "gain", "subgradient"]


def _checked(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None,
    name: str = "x",
) -> tuple[dict[str, np.ndarray], list[tuple[RequestType, np.ndarray, float]]]:
    """Check the requests, then the allocation ``name``, then the capacities.

    Returns:
        The checked allocation and, per request type, ``(type, ranked capacities, requests)``.
    """
    ra = net.check_requests(r)
    xa = net.check_allocation(x, name)
    return xa, list(zip(net.request_types, _capacities(net, capacities), ra))


def served_amounts(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    r"""Requests served by each ranked candidate when the cheapest allocated models serve first.

    .. math::
        \text{served}^k_\rho=\min\Big\{r_\rho-\sum_{k'<k}z^{k'}_\rho,\ z^k_\rho\Big\}^+
        ,\qquad \text{served}^{K_\rho}_\rho=r_\rho-\sum_{k<K_\rho}\text{served}^k_\rho

    Args:
        net: The network.
        r: Requests per type in the slot, shape ``(R,)``.
        x: Allocation (fractional allowed).
        capacities: Per-type ranked capacities :math:`l_t` (default: the candidates' ones).

    Returns:
        One array per request type, in ranked order; each sums to :math:`r_\rho`.
    """
    xa, per_type = _checked(net, r, x, capacities)
    out = []
    for rt, lam, rho in per_type:
        z = _effective(net, rt, lam, xa)
        reach = np.minimum(np.cumsum(z[:-1]), rho)
        served = np.diff(np.concatenate(([0.0], reach)))
        out.append(np.append(served, rho - (reach[-1] if len(reach) else 0.0)))
    return out


def serving_cost(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
) -> float:
    r"""Serving cost of a slot, INFIDA spec 3.2 [S].

    .. math::
        C(\mathbf r_t,\mathbf l_t,\mathbf x)=\sum_\rho\sum_{k=1}^{K_\rho}\gamma^k_\rho
        \min\Big\{r^t_\rho-\sum_{k'<k}z^{k'}_\rho,\ z^k_\rho\Big\}\,
        \mathbb 1\Big\{\sum_{k'<k}z^{k'}_\rho<r^t_\rho\Big\}

    with the repository (rank :math:`K_\rho`) absorbing what is left.

    Args:
        net: The network.
        r: Requests per type, shape ``(R,)``.
        x: Allocation (fractional allowed: :math:`z=y\,l`).
        capacities: Per-type ranked capacities (default: static ones).

    Returns:
        The cost (same unit as the candidates' costs, times requests).
    """
    served = served_amounts(net, r, x, capacities)
    return float(sum(float(rt.costs @ s) for rt, s in zip(net.request_types, served)))


def gain(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    x: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
    form: Literal["difference", "telescoped"] = "difference",
) -> float:
    r"""Allocation gain over the repository-only allocation, INFIDA spec 3.2 [S, D].

    .. math::
        G=C(\mathbf r,\mathbf l,\boldsymbol\omega)-C(\mathbf r,\mathbf l,\mathbf x)
         =\sum_\rho\sum_{k=1}^{K_\rho-1}(\gamma^{k+1}_\rho-\gamma^k_\rho)
          \big(Z^k_\rho(\mathbf x)-Z^k_\rho(\boldsymbol\omega)\big),
        \quad Z^k_\rho=\min\Big\{r_\rho,\sum_{k'\le k}z^{k'}_\rho\Big\}

    Both forms are equal (summation by parts); the telescoped one shows that :math:`G` is a
    weighted sum of threshold potentials, hence concave in a fractional :math:`\mathbf y`.

    Args:
        net: The network.
        r: Requests per type, shape ``(R,)``.
        x: Allocation (fractional allowed).
        capacities: Per-type ranked capacities (default: static ones).
        form: ``"difference"`` or ``"telescoped"`` (default: ``"difference"``).

    Returns:
        The gain (>= 0).

    Raises:
        ValueError: On an unknown ``form`` or invalid inputs.
    """
    if form == "difference":
        return serving_cost(net, r, net.empty_allocation(), capacities) - serving_cost(
            net, r, x, capacities
        )
    if form != "telescoped":
        raise ValueError(f"form must be 'difference' or 'telescoped', got {form!r}")
    xa, per_type = _checked(net, r, x, capacities)
    omega = net.empty_allocation()
    total = 0.0
    for rt, lam, rho in per_type:
        gam = rt.costs
        zx = np.minimum(np.cumsum(_effective(net, rt, lam, xa))[:-1], rho)
        zw = np.minimum(np.cumsum(_effective(net, rt, lam, omega))[:-1], rho)
        total += float(np.diff(gam) @ (zx - zw))
    return total


def subgradient(
    net: InferenceNetwork,
    r: Sequence[float] | np.ndarray,
    y: Allocation,
    capacities: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    r"""A subgradient of the gain at :math:`\mathbf y`, INFIDA spec 3.3 [S].

    .. math::
        g^v_{t,m}=\sum_\rho l^{t,v}_{\rho,m}\big(\gamma^{K^*_\rho(\mathbf y)}_\rho-
        C^v_{\mathbf p,m}\big)\,\mathbb 1\{\kappa_\rho(v,m)<K^*_\rho(\mathbf y)\},\quad
        K^*_\rho=\min\Big\{k\le K_\rho-1:\sum_{k'\le k}z^{k'}_\rho\ge r_\rho\Big\}

    (:math:`K^*_\rho=K_\rho` if no such ``k``). Cost :math:`O(\sum_\rho K_\rho)`.

    Args:
        net: The network.
        r: Requests per type, shape ``(R,)``.
        y: Fractional allocation.
        capacities: Per-type ranked capacities (default: static ones).

    Returns:
        Node -> subgradient vector over the models (zeros for pairs on no path).
    """
    ya, per_type = _checked(net, r, y, capacities, "y")
    g = {v: np.zeros(len(net.models)) for v in net.nodes}
    nodes = net.nodes
    for rt, lam, rho in per_type:
        node_i, model_i, gam = net._index[rt.name]
        cum = np.cumsum(_effective(net, rt, lam, ya))[:-1]
        hit = np.flatnonzero(cum >= rho - _TOL)
        kstar = int(hit[0]) if len(hit) else len(gam) - 1  # 0-based rank
        for k in range(kstar):
            if node_i[k] >= 0 and lam[k] > 0:
                g[nodes[node_i[k]]][model_i[k]] += lam[k] * (gam[kstar] - gam[k])
    return g
